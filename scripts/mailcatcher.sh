#!/usr/bin/env bash
# A local mail catcher for development: every email the dev server sends is
# delivered to it over SMTP and shown in its web inbox; nothing leaves the
# machine.
#
#   scripts/mailcatcher.sh start    start it in the background (fine if it already runs)
#   scripts/mailcatcher.sh stop     stop it
#
# SMTP on 127.0.0.1:${CAREPASS_SMTP_PORT:-1025} (the development default of
# SMTP_HOST/SMTP_PORT), inbox at http://127.0.0.1:${CAREPASS_MAIL_WEB_PORT:-1080}.
# The catcher is the maildev package from package.json's devDependencies.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SMTP_PORT="${CAREPASS_SMTP_PORT:-1025}"
WEB_PORT="${CAREPASS_MAIL_WEB_PORT:-1080}"
PID_FILE="$REPO/.data/mailcatcher.pid"
LOG_FILE="$REPO/.data/mailcatcher.log"
BIN="$REPO/node_modules/.bin/maildev"

running() {
	[[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

case "${1:-}" in
start)
	if running; then
		exit 0
	fi
	[[ -x $BIN ]] || die "the mail catcher is not installed: run 'make assets' (npm ci) first"
	mkdir -p "$REPO/.data"
	nohup "$BIN" --ip 127.0.0.1 --smtp "$SMTP_PORT" --web "$WEB_PORT" --web-ip 127.0.0.1 >"$LOG_FILE" 2>&1 &
	echo $! >"$PID_FILE"
	for _ in $(seq 50); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null; then
			note "mail catcher: SMTP 127.0.0.1:$SMTP_PORT, inbox http://127.0.0.1:$WEB_PORT"
			exit 0
		fi
		running || break
		sleep 0.2
	done
	cat "$LOG_FILE" >&2
	die "the mail catcher did not start (is port $SMTP_PORT or $WEB_PORT taken?)"
	;;
stop)
	if running; then
		kill "$(cat "$PID_FILE")"
	fi
	rm -f "$PID_FILE"
	;;
*)
	echo "usage: scripts/mailcatcher.sh start|stop" >&2
	exit 2
	;;
esac
