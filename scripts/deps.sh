#!/usr/bin/env bash
# Installs what the checks and tests need, when it is missing. Quiet on success.
#
#   scripts/deps.sh          test needs: Chromium, zbarimg and poppler's PDF tools (Debian packages) and the Go tools
#   scripts/deps.sh tools    the Go tools only (staticcheck, stripe-mock)
#   scripts/deps.sh bench    benchmark needs: wrk (Debian package)
#
# Go tools are built at pinned versions into .data/bin (the Makefile puts it first
# on PATH); a binary from another version or another Go toolchain is rebuilt.
# Debian packages are installed as root, or with sudo when it needs no password.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Pinned Go tools: binary name, package, module, version.
GO_TOOLS=(
	"staticcheck honnef.co/go/tools/cmd/staticcheck honnef.co/go/tools v0.8.2"
	"stripe-mock github.com/stripe/stripe-mock github.com/stripe/stripe-mock v0.203.0"
)
TOOLS_BIN="$REPO/.data/bin"
GO_VERSION=""

# go_tool_current BIN MODULE VERSION: is BIN built from MODULE@VERSION by this Go?
go_tool_current() {
	local bin="$1" module="$2" version="$3" info
	[[ -x $bin ]] || return 1
	info="$(go version -m "$bin" 2>/dev/null)" || return 1
	[[ $(head -n1 <<<"$info") == "$bin: $GO_VERSION" ]] || return 1
	awk -v m="$module" -v v="$version" '$1 == "mod" && $2 == m && $3 == v { found = 1 } END { exit !found }' <<<"$info"
}

install_go_tools() {
	have go || die "go is not on PATH (Go is expected at /usr/local/go/bin)"
	GO_VERSION="$(cd / && go env GOVERSION)"
	mkdir -p "$TOOLS_BIN"
	local spec name pkg module version log
	for spec in "${GO_TOOLS[@]}"; do
		read -r name pkg module version <<<"$spec"
		go_tool_current "$TOOLS_BIN/$name" "$module" "$version" && continue
		log="$(mktemp)"
		# Outside the repo, so the project's go.mod plays no part in the build.
		if ! (cd / && GOBIN="$TOOLS_BIN" go install "$pkg@$version") >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			die "go install $pkg@$version failed (output above)"
		fi
		rm -f "$log"
		go_tool_current "$TOOLS_BIN/$name" "$module" "$version" ||
			die "$TOOLS_BIN/$name was built but does not report $module $version"
	done
}

# need_debian PKG FILE...: queue PKG for installation when one of FILE is missing.
MISSING=()
need_debian() {
	local pkg="$1" f
	shift
	for f in "$@"; do
		if [[ ! -x $f ]]; then
			MISSING+=("$pkg")
			return 0
		fi
	done
}

install_debian() {
	((${#MISSING[@]} == 0)) && return 0
	apt_install "${MISSING[@]}"
}

what="${1:-test}"
case "$what" in
test)
	need_debian chromium /usr/bin/chromium
	need_debian zbar-tools /usr/bin/zbarimg
	need_debian poppler-utils /usr/bin/pdftotext /usr/bin/pdftoppm /usr/bin/pdfinfo
	install_debian
	install_go_tools
	;;
tools)
	install_go_tools
	;;
bench)
	need_debian wrk /usr/bin/wrk
	install_debian
	;;
*)
	echo "usage: scripts/deps.sh [test|tools|bench]" >&2
	exit 2
	;;
esac
