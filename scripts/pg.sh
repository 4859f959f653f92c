#!/usr/bin/env bash
# A private PostgreSQL cluster for development and tests, under .data/ in this repo.
#
#   scripts/pg.sh start    start the cluster (creating it, its roles and database the first time)
#   scripts/pg.sh stop     stop it (fine if it is not running)
#   scripts/pg.sh status   say whether it runs; exit 3 when it does not
#   scripts/pg.sh env      print the lines of .data/pg.env
#
# The cluster listens on 127.0.0.1:${CAREPASS_PG_PORT:-54329} only. Its superuser is
# "postgres"; carepass_owner owns the database "carepass" and runs migrations;
# carepass_app is the server's login (no BYPASSRLS, owns nothing). Passwords are
# generated on first start and kept in .data/pg.env (mode 600) as URLs:
#   DATABASE_URL            the server's role, carepass_app
#   MIGRATION_DATABASE_URL  the owner role, carepass_owner
#   ADMIN_DATABASE_URL      the superuser, for test helpers that create and mark
#                           template databases (never give it to the server)
#
# initdb refuses to run as root, so as root the cluster belongs to the OS user
# "postgres" (or a system user "carepass-db" made for it). When that user cannot
# reach the repo (a repo under /root, say), the data lives in
# /var/tmp/carepass-pg-<hash of the repo path> and .data/pg links to it.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${CAREPASS_PG_PORT:-54329}"
DATA_DIR="$REPO/.data"
PG_LINK="$DATA_DIR/pg"
ENV_FILE="$DATA_DIR/pg.env"
DB_NAME=carepass
OWNER_ROLE=carepass_owner
APP_ROLE=carepass_app
SUPER_ROLE=postgres

if ! [[ $PORT =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT > 65535)); then
	die "CAREPASS_PG_PORT must be a TCP port number, not '$PORT'"
fi

usage() {
	echo "usage: scripts/pg.sh start|stop|status|env" >&2
	exit 2
}

# --- server binaries --------------------------------------------------------

find_bindir() {
	local d
	if have pg_config; then
		d="$(pg_config --bindir 2>/dev/null || true)"
		if [[ -n $d && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
			echo "$d"
			return 0
		fi
	fi
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -V -r); do
		if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

BINDIR=""
pg_version() { "$BINDIR/pg_ctl" --version | awk '{print $3}'; }

# resolve_bindir PGDATA INSTALL: set BINDIR, preferring the version that made the
# cluster; with INSTALL=yes, install Debian's postgresql when there is none.
resolve_bindir() {
	local pgdata="$1" may_install="$2" ver=""
	if [[ -f $pgdata/PG_VERSION ]]; then
		ver="$(cat "$pgdata/PG_VERSION")"
		if [[ -x /usr/lib/postgresql/$ver/bin/pg_ctl ]]; then
			BINDIR="/usr/lib/postgresql/$ver/bin"
			return 0
		fi
	fi
	if ! BINDIR="$(find_bindir)"; then
		[[ $may_install == yes ]] || die "no PostgreSQL server binaries found (install Debian's postgresql package)"
		if ! can_be_root; then
			die "no PostgreSQL server binaries found; install them as root: apt-get update && apt-get install -y postgresql"
		fi
		note "installing PostgreSQL server (Debian package postgresql)"
		apt_install postgresql
		BINDIR="$(find_bindir)" || die "postgresql installed, but no initdb found under /usr/lib/postgresql/*/bin"
	fi
	if [[ -n $ver ]]; then
		local have_ver
		have_ver="$(pg_version | cut -d. -f1)"
		if [[ $have_ver != "$ver" ]]; then
			die "the cluster in $pgdata was made by PostgreSQL $ver, but only $have_ver is installed; install postgresql-$ver or remove $PG_LINK (and its data) to start afresh"
		fi
	fi
}

# --- who runs the server, and where its data lives ---------------------------

IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1
DB_USER=""
PGDATA_REAL=""
LOG_FILE=""

# as_db CMD...: run CMD as the cluster's OS user, from / (the caller's cwd may be
# unreachable for that user), without the lock's file descriptor (a server started
# here would otherwise hold the lock for as long as it runs).
as_db() {
	if [[ $IS_ROOT -eq 1 && $DB_USER != root ]]; then
		(cd / && exec runuser -u "$DB_USER" -- "$@") 9>&-
	else
		(cd / && exec "$@") 9>&-
	fi
}

ensure_db_user() {
	if id -u postgres >/dev/null 2>&1; then
		DB_USER=postgres
	elif id -u carepass-db >/dev/null 2>&1; then
		DB_USER=carepass-db
	else
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --comment "carepass development database" carepass-db \
			|| die "could not create the system user carepass-db"
		DB_USER=carepass-db
	fi
}

relocated_dir() {
	local h
	h="$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
	echo "/var/tmp/carepass-pg-$h"
}

# locate_cluster create: set DB_USER, PGDATA_REAL and LOG_FILE; with create=yes,
# make the data folder (empty) when there is none.
locate_cluster() {
	local create="$1"
	if [[ -L $PG_LINK ]]; then
		PGDATA_REAL="$(readlink "$PG_LINK")"
		[[ $PGDATA_REAL == /* ]] || PGDATA_REAL="$DATA_DIR/$PGDATA_REAL"
		LOG_FILE="$PGDATA_REAL/carepass-server.log"
	else
		PGDATA_REAL="$PG_LINK"
		LOG_FILE="$DATA_DIR/pg.log"
	fi

	if [[ -d $PGDATA_REAL ]]; then
		local owner
		owner="$(stat -c %U "$PGDATA_REAL")"
		if [[ $IS_ROOT -eq 1 ]]; then
			if [[ $owner == root ]]; then
				# An empty folder left by an earlier failed start: hand it over.
				[[ -z $(ls -A "$PGDATA_REAL") ]] || die "$PGDATA_REAL belongs to root; PostgreSQL cannot run as root. Remove it to start afresh."
				ensure_db_user
				chown "$DB_USER:" "$PGDATA_REAL"
				chmod 700 "$PGDATA_REAL"
			else
				DB_USER="$owner"
			fi
		else
			DB_USER="$(id -un)"
			if [[ $owner != "$DB_USER" ]]; then
				die "the cluster in $PGDATA_REAL belongs to '$owner'; run this as root or as '$owner', or remove $PG_LINK to make one of your own"
			fi
		fi
		return 0
	fi

	[[ $create == yes ]] || return 1

	if [[ -L $PG_LINK ]]; then
		# The link is there but its target went away (/var/tmp cleaned): make it again.
		[[ $IS_ROOT -eq 1 ]] || die "$PG_LINK points to $PGDATA_REAL, which is gone; remove the link"
		ensure_db_user
		install -d -m 700 -o "$DB_USER" -g "$(id -gn "$DB_USER")" "$PGDATA_REAL"
		return 0
	fi

	if [[ $IS_ROOT -eq 0 ]]; then
		DB_USER="$(id -un)"
		(umask 077 && mkdir -p "$PGDATA_REAL")
		return 0
	fi

	ensure_db_user
	local group
	group="$(id -gn "$DB_USER")"
	if runuser -u "$DB_USER" -- test -x "$DATA_DIR" 2>/dev/null; then
		install -d -m 700 -o "$DB_USER" -g "$group" "$PGDATA_REAL"
	else
		local target
		target="$(relocated_dir)"
		if [[ -e $target ]]; then
			[[ -d $target && ! -L $target ]] || die "$target exists and is not a folder; remove it"
			[[ -z $(ls -A "$target") ]] || die "$target already holds data (from an earlier copy of this repo?); remove it to start afresh"
		fi
		note "user $DB_USER cannot reach $DATA_DIR; keeping the cluster in $target (linked from $PG_LINK)"
		install -d -m 700 -o "$DB_USER" -g "$group" "$target"
		ln -s "$target" "$PG_LINK"
		PGDATA_REAL="$target"
		LOG_FILE="$target/carepass-server.log"
	fi
}

# --- pg.env ------------------------------------------------------------------

url() { # role password database
	printf 'postgres://%s:%s@127.0.0.1:%s/%s?sslmode=disable' "$1" "$2" "$PORT" "$3"
}

# password_from_env KEY: the password inside KEY's URL in pg.env, or nothing.
password_from_env() {
	[[ -f $ENV_FILE ]] || return 0
	sed -n -E "s#^$1=postgres://[^:]+:([^@]*)@.*#\\1#p" "$ENV_FILE" | head -n1
}

new_password() {
	local pw=""
	while ((${#pw} < 20)); do
		pw="$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')"
	done
	printf '%s' "$pw"
}

write_env() { # super owner app
	local tmp
	tmp="$(mktemp "$DATA_DIR/.pg.env.XXXXXX")"
	chmod 600 "$tmp"
	{
		echo "DATABASE_URL=$(url "$APP_ROLE" "$3" "$DB_NAME")"
		echo "MIGRATION_DATABASE_URL=$(url "$OWNER_ROLE" "$2" "$DB_NAME")"
		echo "ADMIN_DATABASE_URL=$(url "$SUPER_ROLE" "$1" postgres)"
	} >"$tmp"
	mv -f "$tmp" "$ENV_FILE"
}

# --- server state ------------------------------------------------------------

is_initialised() { [[ -f $PGDATA_REAL/PG_VERSION ]]; }

is_running() {
	is_initialised || return 1
	local rc=0
	as_db "$BINDIR/pg_ctl" status -D "$PGDATA_REAL" >/dev/null 2>&1 || rc=$?
	[[ $rc -eq 0 ]]
}

running_port() { sed -n 4p "$PGDATA_REAL/postmaster.pid" 2>/dev/null || true; }

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Unix socket in the data folder when its path fits (about 100 bytes), else TCP only.
socket_dir() {
	local sock="$PGDATA_REAL/.s.PGSQL.$PORT"
	if ((${#sock} <= 100)); then echo "$PGDATA_REAL"; else echo ""; fi
}

SU_PW=""
# admin_sql SQL: run one statement as the superuser (SQL on stdin: no password in argv).
admin_sql() {
	local sock
	sock="$(socket_dir)"
	if [[ -n $sock ]]; then
		printf '%s\n' "$1" | as_db "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -At \
			-h "$sock" -p "$PORT" -U "$SUPER_ROLE" -d postgres -f -
	else
		[[ -n $SU_PW ]] || die "the cluster has no Unix socket (path too long) and the superuser password is not in $ENV_FILE; remove $PG_LINK to start afresh"
		printf '%s\n' "$1" | PGPASSWORD="$SU_PW" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -At \
			-h 127.0.0.1 -p "$PORT" -U "$SUPER_ROLE" -d postgres -f -
	fi
}

write_server_conf() {
	local sock tmp
	sock="$(socket_dir)"
	tmp="$(mktemp)"
	{
		echo "# Written by scripts/pg.sh at every start; edit that script, not this file."
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $PORT"
		echo "unix_socket_directories = '${sock//\'/\'\'}'"
		echo "unix_socket_permissions = 0700"
	} >"$tmp"
	as_db tee "$PGDATA_REAL/carepass.conf" <"$tmp" >/dev/null
	rm -f "$tmp"
}

# ensure_log: the server log must exist and be writable by the cluster's user.
ensure_log() {
	[[ -e $LOG_FILE ]] && return 0
	(umask 077 && : >"$LOG_FILE")
	if [[ $IS_ROOT -eq 1 ]]; then chown "$DB_USER:" "$LOG_FILE"; fi
}

init_cluster() {
	if [[ -n $(ls -A "$PGDATA_REAL") ]]; then
		die "$PGDATA_REAL is not empty but holds no cluster (a failed first start?); remove what is in it and start again"
	fi
	local pwfile
	pwfile="$(mktemp)"
	printf '%s\n' "$SU_PW" >"$pwfile"
	[[ $IS_ROOT -eq 1 ]] && chown "$DB_USER" "$pwfile"
	local log
	log="$(mktemp)"
	if ! as_db "$BINDIR/initdb" -D "$PGDATA_REAL" -U "$SUPER_ROLE" --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$log" 2>&1; then
		rm -f "$pwfile"
		cat "$log" >&2
		rm -f "$log"
		die "initdb failed (output above)"
	fi
	rm -f "$pwfile" "$log"
	# Settings for a throwaway loopback cluster: durability traded for speed.
	as_db tee -a "$PGDATA_REAL/postgresql.conf" >/dev/null <<-'CONF'

		# --- carepass development cluster (scripts/pg.sh) ---
		# Loopback-only dev/test cluster: losing it on a crash is acceptable,
		# so skip the disk flushes that make creating test databases slow.
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_connections = 200
		include_if_exists = 'carepass.conf'
	CONF
}

ROLE_CREATED=0
# ensure_role NAME ATTRIBUTES PASSWORD: create the role when missing (sets ROLE_CREATED).
ensure_role() {
	local exists
	exists="$(admin_sql "SELECT 1 FROM pg_roles WHERE rolname = '$1';")"
	ROLE_CREATED=0
	if [[ -z $exists ]]; then
		admin_sql "CREATE ROLE $1 $2 PASSWORD '$3';" >/dev/null
		ROLE_CREATED=1
	fi
}

# lock: one start or stop at a time per repo (several people or makes may share a tree).
lock() {
	exec 9>"$DATA_DIR/.pg.lock"
	flock -w 120 9 || die "another scripts/pg.sh has held $DATA_DIR/.pg.lock for 2 minutes"
}

cmd_start() {
	mkdir -p "$DATA_DIR"
	lock
	locate_cluster yes
	resolve_bindir "$PGDATA_REAL" yes

	local pw_owner pw_app env_is_new=0
	SU_PW="$(password_from_env ADMIN_DATABASE_URL)"
	pw_owner="$(password_from_env MIGRATION_DATABASE_URL)"
	pw_app="$(password_from_env DATABASE_URL)"
	if [[ -z $SU_PW || -z $pw_owner || -z $pw_app ]]; then
		env_is_new=1
		[[ -n $SU_PW ]] || SU_PW="$(new_password)"
		[[ -n $pw_owner ]] || pw_owner="$(new_password)"
		[[ -n $pw_app ]] || pw_app="$(new_password)"
	fi

	if ! is_initialised; then
		note "creating a PostgreSQL cluster in $PGDATA_REAL"
		init_cluster
	elif ((env_is_new)) && [[ -z $(socket_dir) ]]; then
		die "$ENV_FILE is missing or incomplete, and without a Unix socket (the path $PGDATA_REAL is too long for one) the passwords cannot be reset; remove $PG_LINK (and $ENV_FILE) to start afresh"
	fi

	if is_running; then
		local p
		p="$(running_port)"
		if [[ -n $p && $p != "$PORT" ]]; then
			die "the cluster already runs on port $p, not $PORT; run 'scripts/pg.sh stop' first to change port"
		fi
	else
		if port_in_use "$PORT"; then
			die "port $PORT on 127.0.0.1 is taken by another program; set CAREPASS_PG_PORT to a free port (e.g. CAREPASS_PG_PORT=54339 make test)"
		fi
		write_server_conf
		ensure_log
		local out
		if ! out="$(as_db "$BINDIR/pg_ctl" start -w -t 60 -s -D "$PGDATA_REAL" -l "$LOG_FILE" 2>&1)"; then
			[[ -z $out ]] || printf '%s\n' "$out" >&2
			tail -n 20 "$LOG_FILE" >&2 || true
			die "PostgreSQL did not start (log: $LOG_FILE). If port $PORT is in use, set CAREPASS_PG_PORT to a free port."
		fi
	fi

	# Roles and database: created once per cluster; passwords re-applied only when pg.env was (re)made.
	ensure_role "$OWNER_ROLE" "LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS" "$pw_owner"
	if ((!ROLE_CREATED && env_is_new)); then
		admin_sql "ALTER ROLE $OWNER_ROLE PASSWORD '$pw_owner';" >/dev/null
	fi
	ensure_role "$APP_ROLE" "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS" "$pw_app"
	if ((!ROLE_CREATED && env_is_new)); then
		admin_sql "ALTER ROLE $APP_ROLE PASSWORD '$pw_app';" >/dev/null
	fi
	if ((env_is_new)); then
		admin_sql "ALTER ROLE $SUPER_ROLE PASSWORD '$SU_PW';" >/dev/null
	fi
	local db_exists
	db_exists="$(admin_sql "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME';")"
	if [[ -z $db_exists ]]; then
		admin_sql "CREATE DATABASE $DB_NAME OWNER $OWNER_ROLE;" >/dev/null
	fi

	write_env "$SU_PW" "$pw_owner" "$pw_app"
	echo "PostgreSQL $(pg_version) on 127.0.0.1:$PORT (data: $PGDATA_REAL); URLs in ${ENV_FILE#"$REPO"/}"
}

cmd_stop() {
	[[ -d $DATA_DIR ]] && lock
	if ! locate_cluster no || ! is_initialised; then
		echo "no cluster in $PG_LINK"
		return 0
	fi
	resolve_bindir "$PGDATA_REAL" no
	if ! is_running; then
		echo "PostgreSQL is not running"
		return 0
	fi
	as_db "$BINDIR/pg_ctl" stop -m fast -w -t 60 -s -D "$PGDATA_REAL"
	echo "PostgreSQL stopped"
}

cmd_status() {
	if ! locate_cluster no || ! is_initialised; then
		echo "no cluster in $PG_LINK (run: scripts/pg.sh start)"
		return 3
	fi
	resolve_bindir "$PGDATA_REAL" no
	if is_running; then
		echo "PostgreSQL running on 127.0.0.1:$(running_port) (pid $(sed -n 1p "$PGDATA_REAL/postmaster.pid"), data: $PGDATA_REAL, user: $DB_USER)"
		return 0
	fi
	echo "PostgreSQL stopped (data: $PGDATA_REAL)"
	return 3
}

cmd_env() {
	[[ -f $ENV_FILE ]] || die "$ENV_FILE does not exist yet (run: scripts/pg.sh start)"
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
