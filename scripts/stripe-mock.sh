#!/usr/bin/env bash
# stripe-mock (Stripe's own mock of its API) for the billing tests, on a free local port.
#
#   scripts/stripe-mock.sh start    start it in the background (installing it first when missing);
#                                   fine if it already runs. Prints STRIPE_API_BASE=http://127.0.0.1:<port>
#   scripts/stripe-mock.sh stop     stop it (fine if it is not running)
#   scripts/stripe-mock.sh status   say whether it runs; exit 3 when it does not
#   scripts/stripe-mock.sh env      print the lines of .data/stripe-mock.env
#
# The binary is built with `go install` at the pinned version into .data/bin (as
# scripts/deps.sh does). It listens for HTTP on 127.0.0.1 only, on a port the system
# chooses (CAREPASS_STRIPE_MOCK_PORT picks one instead). Its pid, port and log are in
# .data/stripe-mock.{pid,port,log}; .data/stripe-mock.env holds STRIPE_API_BASE, e.g.
#   scripts/stripe-mock.sh start >/dev/null; set -a; . .data/stripe-mock.env; set +a
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODULE=github.com/stripe/stripe-mock
VERSION=v0.203.0 # keep in step with GO_TOOLS in scripts/deps.sh
DATA_DIR="$REPO/.data"
BIN="$DATA_DIR/bin/stripe-mock"
PID_FILE="$DATA_DIR/stripe-mock.pid"
PORT_FILE="$DATA_DIR/stripe-mock.port"
LOG_FILE="$DATA_DIR/stripe-mock.log"
ENV_FILE="$DATA_DIR/stripe-mock.env"
SOCK_FILE="$DATA_DIR/stripe-mock.sockdir"
PORT="${CAREPASS_STRIPE_MOCK_PORT:-0}"

if ! [[ $PORT =~ ^[0-9]+$ ]] || ((PORT > 65535)); then
	die "CAREPASS_STRIPE_MOCK_PORT must be a TCP port number (or 0 for any free port), not '$PORT'"
fi

usage() {
	echo "usage: scripts/stripe-mock.sh start|stop|status|env" >&2
	exit 2
}

# installed: is $BIN built from $MODULE at $VERSION?
installed() {
	[[ -x $BIN ]] || return 1
	go version -m "$BIN" 2>/dev/null | awk -v m="$MODULE" -v v="$VERSION" \
		'$1 == "mod" && $2 == m && $3 == v { found = 1 } END { exit !found }'
}

install() {
	installed && return 0
	have go || die "go is not on PATH (Go is expected at /usr/local/go/bin)"
	mkdir -p "$DATA_DIR/bin"
	local log
	log="$(mktemp)"
	# Outside the repo, so the project's go.mod plays no part in the build.
	if ! (cd / && GOBIN="$DATA_DIR/bin" go install "$MODULE@$VERSION") >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		die "go install $MODULE@$VERSION failed (output above)"
	fi
	rm -f "$log"
	installed || die "$BIN was built but does not report $MODULE $VERSION"
}

# running: does the recorded pid belong to a live stripe-mock?
running() {
	[[ -f $PID_FILE ]] || return 1
	local pid
	pid="$(cat "$PID_FILE")"
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# The pid may have been reused by another program since.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'stripe-mock'
}

answers() { # PORT: does something answer HTTP there?
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_env() { # PORT
	local tmp
	tmp="$(mktemp "$DATA_DIR/.stripe-mock.env.XXXXXX")"
	echo "STRIPE_API_BASE=http://127.0.0.1:$1" >"$tmp"
	mv -f "$tmp" "$ENV_FILE"
}

# lock: one start or stop at a time (several test runs may share the tree).
lock() {
	exec 9>"$DATA_DIR/.stripe-mock.lock"
	flock -w 60 9 || die "another scripts/stripe-mock.sh has held $DATA_DIR/.stripe-mock.lock for a minute"
}

cmd_start() {
	mkdir -p "$DATA_DIR"
	lock
	if running && [[ -f $PORT_FILE ]] && answers "$(cat "$PORT_FILE")"; then
		write_env "$(cat "$PORT_FILE")"
		cat "$ENV_FILE"
		return 0
	fi
	install
	if running; then
		kill "$(cat "$PID_FILE")" 2>/dev/null || true # alive but not answering
	fi
	forget
	# -http-addr alone would also start HTTPS on :12112; a Unix socket keeps
	# that off the network (its path must be short, hence the temp folder).
	local sockdir
	sockdir="$(mktemp -d "${TMPDIR:-/tmp}/carepass-stripe-mock.XXXXXX")"
	echo "$sockdir" >"$SOCK_FILE"
	: >"$LOG_FILE"
	local starter=()
	have setsid && starter=(setsid)
	# In its own session, with no tie to this shell's output or lock, so it
	# outlives the make or go test that started it.
	"${starter[@]}" "$BIN" -http-addr "127.0.0.1:$PORT" -https-unix "$sockdir/https.sock" \
		</dev/null >"$LOG_FILE" 2>&1 9>&- &
	local pid=$!
	echo "$pid" >"$PID_FILE"
	local port="" i
	for ((i = 0; i < 100; i++)); do
		port="$(sed -n -E 's/^Listening for HTTP at address: 127\.0\.0\.1:([0-9]+)$/\1/p' "$LOG_FILE" | head -n1)"
		[[ -n $port ]] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [[ -z $port ]]; then
		kill "$pid" 2>/dev/null || true
		rm -f "$PID_FILE"
		cat "$LOG_FILE" >&2
		die "stripe-mock did not start (log above, in ${LOG_FILE#"$REPO"/})"
	fi
	echo "$port" >"$PORT_FILE"
	running || die "stripe-mock started but its pid $pid is not the server (see ${LOG_FILE#"$REPO"/})"
	write_env "$port"
	cat "$ENV_FILE"
}

# forget: remove the files of a server that is gone.
forget() {
	if [[ -f $SOCK_FILE ]]; then
		local d
		d="$(cat "$SOCK_FILE")"
		[[ $d == */carepass-stripe-mock.* && -d $d ]] && rm -rf "$d"
	fi
	rm -f "$PID_FILE" "$PORT_FILE" "$ENV_FILE" "$SOCK_FILE"
}

cmd_stop() {
	[[ -d $DATA_DIR ]] || { echo "stripe-mock is not running"; return 0; }
	lock
	if ! running; then
		forget
		echo "stripe-mock is not running"
		return 0
	fi
	local pid i
	pid="$(cat "$PID_FILE")"
	kill "$pid"
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
	forget
	echo "stripe-mock stopped"
}

cmd_status() {
	if running && [[ -f $PORT_FILE ]]; then
		echo "stripe-mock $VERSION running on 127.0.0.1:$(cat "$PORT_FILE") (pid $(cat "$PID_FILE"))"
		return 0
	fi
	echo "stripe-mock is not running (start it: scripts/stripe-mock.sh start)"
	return 3
}

cmd_env() {
	[[ -f $ENV_FILE ]] || die "$ENV_FILE does not exist (run: scripts/stripe-mock.sh start)"
	cat "$ENV_FILE"
}

[[ $# -eq 1 ]] || usage
case "$1" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*) usage ;;
esac
