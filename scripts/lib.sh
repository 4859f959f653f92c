# shellcheck shell=bash
# Helpers shared by the scripts in this folder. Source it; do not run it.

# shellcheck disable=SC2034 # used by the scripts that source this file
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

note() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

have() {
	command -v "$1" >/dev/null 2>&1
}

# as_root CMD...: run CMD as root (directly, or with sudo that needs no password).
# Returns 2 without running anything when neither is possible.
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif have sudo && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 2
	fi
}

can_be_root() {
	[[ $(id -u) -eq 0 ]] || { have sudo && sudo -n true 2>/dev/null; }
}

_apt_lists_fresh() {
	# Package lists updated within the last hour count as fresh.
	[[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit 2>/dev/null) ]]
}

_apt_updated=0
_apt_update() {
	[[ $_apt_updated -eq 1 ]] && return 0
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q update
	_apt_updated=1
}

# apt_install PKG...: install Debian packages quietly; output is shown only on failure.
# 'apt-get update' runs at most once, and only when the package lists are stale
# or an install without it failed.
apt_install() {
	if ! can_be_root; then
		die "missing: $*. Install them as root: apt-get update && apt-get install -y $*"
	fi
	local log
	log="$(mktemp)"
	local cmd=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q -y install "$@")
	if _apt_lists_fresh && as_root "${cmd[@]}" >"$log" 2>&1; then
		rm -f "$log"
		return 0
	fi
	if ! { _apt_update && as_root "${cmd[@]}"; } >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		die "apt-get install $* failed (output above)"
	fi
	rm -f "$log"
}
