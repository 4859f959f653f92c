#!/usr/bin/env bash
# Benchmarks, as reported by `make bench` (which installs wrk, starts the local
# PostgreSQL cluster, builds the assets and exports the database URLs first).
#
#   1. HTTP: builds the server and runs `carepass dev` on 127.0.0.1 with
#      CAREPASS_BENCH=1 against a throwaway database (created here, dropped on
#      exit), signs in as the demo trust administrator, then drives each
#      endpoint with wrk and prints requests/s, p50, p99 and the ratio to the
#      raw pgx floor (req/s of the endpoint / req/s of /_bench/pgx).
#   2. Authorization: the policy package's Go benchmark of one decision with
#      10 and 10,000 tenants loaded, and the ratio between the two.
#   3. Passport: the record package's Go benchmark of one holder's passport
#      read (60 competency records, 300 history entries) against a raw
#      single-row pgx query on the same pool, and their ratio.
#   4. Offline verification of one carer passport QR payload (Go benchmark).
#   5. Training: the public calendar's month view with 500 sessions in the
#      tenant against a one-row tenant transaction, and bookings per second
#      onto one session under contention (Go benchmarks).
#   6. Compliance matrix: the carehome package's Go benchmark of one home's
#      matrix, 500 staff by 60 required competencies, against a one-row
#      tenant transaction in the same run.
#   7. Tenant growth: one tenant's heavy pages (holders list, a passport,
#      the calendar's month, and any pages the benchmark adds) in a
#      synthetic population of 10 tenants and of SCALE_BENCH_TENANTS, the
#      measured tenant the same in both (`carepass seed scale`'s loader; Go
#      benchmark in cmd/carepass), and the ratio of each page's best time.
#
# The public verify endpoint (POST /api/v1/verify) is measured with a valid
# code of a seeded passport; the server runs with verification throttling
# raised out of the way (VERIFY_PER_MINUTE, VERIFY_PER_SECOND) so that the
# row measures the endpoint, not the limiter's refusals.
#
# The targets printed at the end are informational: a MISS does not fail the
# run. The exit status is non-zero only when something failed to run, or when
# a load run saw errors or error responses (that row is marked FAIL).
#
# Needs DATABASE_URL and MIGRATION_DATABASE_URL (postgres:// URLs) and
# ADMIN_DATABASE_URL (a role that may create databases; without it the
# migration role is used, which then needs CREATEDB).
#
# Knobs (environment):
#   BENCH_DURATION      measured time per endpoint, wrk syntax     (10s)
#   BENCH_CONNECTIONS   open connections                          (16)
#   BENCH_THREADS       wrk threads, at most the connections       (2)
#   BENCH_WARMUP        unmeasured load before each endpoint; 0 = none (2s)
#   BENCH_PORT          the server's port on 127.0.0.1     (a free one)
#   BENCH_GO_BENCHTIME  go test -benchtime for the Go benchmarks  (1s)
#   SCALE_BENCH_TENANTS tenants of the grown population           (1000)
#   SCALE_BENCH_HOLDERS holders per other tenant, on average      (20)
#   SCALE_BENCH_RECORDS competency records per holder             (25)
#   SCALE_BENCH_ROUNDS  rounds alternating the two populations    (3)
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
THREADS="${BENCH_THREADS:-2}"
WARMUP="${BENCH_WARMUP:-2s}"
GO_BENCHTIME="${BENCH_GO_BENCHTIME:-1s}"
START_TIMEOUT=90 # seconds for the server to migrate, seed and answer /readyz
STOP_TIMEOUT=15  # seconds between SIGTERM and SIGKILL
WRK_TIMEOUT=10s  # a response slower than this counts as a wrk timeout error

HOST=127.0.0.1 # all benchmark traffic goes here, nowhere else
TENANT=wrenford-childrens
SIGNIN_EMAIL=tenant-admin.trust@demo.carepass.example
DEMO_PASSWORD="${CAREPASS_DEMO_PASSWORD:-carepass-demo-2026}"
LUA="$REPO/scripts/bench/report.lua"

# --- checks -------------------------------------------------------------------

duration_ok() { [[ $1 =~ ^[1-9][0-9]*[smh]?$ ]]; }
duration_ok "$DURATION" || die "BENCH_DURATION must be a wrk duration such as 10s or 1m, not '$DURATION'"
[[ $WARMUP == 0 ]] || duration_ok "$WARMUP" || die "BENCH_WARMUP must be a wrk duration such as 2s, or 0, not '$WARMUP'"
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS must be a positive whole number, not '$CONNECTIONS'"
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "BENCH_THREADS must be a positive whole number, not '$THREADS'"
((THREADS <= CONNECTIONS)) || THREADS="$CONNECTIONS" # wrk needs a connection per thread
[[ $GO_BENCHTIME =~ ^[1-9][0-9]*(x|s|ms)$ ]] || die "BENCH_GO_BENCHTIME must be a go test -benchtime such as 1s or 100000x, not '$GO_BENCHTIME'"

for tool in go wrk curl psql awk; do
	have "$tool" || die "$tool is not on PATH (make bench installs wrk; psql comes with PostgreSQL's client)"
done
[[ -f $LUA ]] || die "missing $LUA"
[[ -n ${DATABASE_URL:-} && -n ${MIGRATION_DATABASE_URL:-} ]] ||
	die "DATABASE_URL and MIGRATION_DATABASE_URL must be set (run it as: make bench)"

# url_part URL FIELD: one part of a postgres:// URL (scheme, user, authority, query).
url_part() {
	local url="$1" rest
	[[ $url =~ ^(postgres|postgresql)://[^/?]+(/[^?]*)?(\?.*)?$ ]] ||
		die "expected a postgres://user:password@host:port/database URL, got something else (key=value strings are not supported here)"
	rest="${url#*://}"
	case "$2" in
	scheme) echo "${url%%://*}" ;;
	authority) echo "${rest%%[/?]*}" ;;
	user)
		rest="${rest%%[/?]*}"
		[[ $rest == *@* ]] || die "the database URL names no user"
		rest="${rest%@*}"
		echo "${rest%%:*}"
		;;
	query)
		if [[ $url == *\?* ]]; then echo "?${url#*\?}"; else echo ""; fi
		;;
	esac
}

# with_db URL NAME: URL with its database replaced by NAME (same user, password, host, options).
with_db() {
	printf '%s://%s/%s%s\n' "$(url_part "$1" scheme)" "$(url_part "$1" authority)" "$2" "$(url_part "$1" query)"
}

# Checked here, in this shell: die inside a $(...) below would only end the subshell.
url_part "$DATABASE_URL" user >/dev/null
url_part "$MIGRATION_DATABASE_URL" user >/dev/null

# --- cleanup ------------------------------------------------------------------

WORK="$(mktemp -d "${TMPDIR:-/tmp}/carepass-bench.XXXXXX")"
SERVER_PID=""
CHILD_PID=""
SERVER_LOG="$WORK/server.log"
BENCH_DB=""
CREATE_URL=""

# stop_server: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL. Returns the
# server's exit status (non-zero also when it had to be killed).
stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	local pid="$SERVER_PID" status=0 i
	SERVER_PID=""
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		note "the server did not stop within ${STOP_TIMEOUT}s of SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return 1
	fi
	wait "$pid" 2>/dev/null || status=$?
	return "$status"
}

# run_child CMD...: run CMD in the background and wait for it. A signal to this
# script then ends the run at once (cleanup stops CMD) instead of after CMD.
run_child() {
	local status=0
	"$@" &
	CHILD_PID=$!
	wait "$CHILD_PID" || status=$?
	CHILD_PID=""
	return "$status"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $CHILD_PID ]]; then
		kill -TERM "$CHILD_PID" 2>/dev/null || true
		wait "$CHILD_PID" 2>/dev/null || true
	fi
	stop_server || true
	if [[ -n $BENCH_DB ]]; then
		psql "$CREATE_URL" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$BENCH_DB\" WITH (FORCE)" >/dev/null 2>"$WORK/drop.err" ||
			{ note "could not drop database $BENCH_DB:"; cat "$WORK/drop.err" >&2; }
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

server_log_tail() {
	[[ -s $SERVER_LOG ]] || return 0
	note "last lines of the server log:"
	tail -n 20 "$SERVER_LOG" | cut -c1-400 >&2
}

# --- build, database, server --------------------------------------------------

cd "$REPO"
echo "building carepass..." >&2
go build -o "$WORK/carepass" ./cmd/carepass

# A throwaway database: the developer's data is never touched.
BENCH_DB="carepass_bench_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
OWNER="$(url_part "$MIGRATION_DATABASE_URL" user)"
[[ $OWNER =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "unexpected role name in MIGRATION_DATABASE_URL"
if [[ -n ${ADMIN_DATABASE_URL:-} ]]; then
	CREATE_URL="$ADMIN_DATABASE_URL"
else
	CREATE_URL="$MIGRATION_DATABASE_URL"
fi
if ! psql "$CREATE_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$BENCH_DB\" OWNER \"$OWNER\"" >/dev/null 2>"$WORK/create.err"; then
	cat "$WORK/create.err" >&2
	BENCH_DB=""
	die "could not create the benchmark database (ADMIN_DATABASE_URL, or a migration role with CREATEDB, is needed)"
fi

# port_free PORT: nothing accepts connections on HOST:PORT.
port_free() { ! (: <"/dev/tcp/$HOST/$1") 2>/dev/null; }
if [[ -n ${BENCH_PORT:-} ]]; then
	if ! [[ $BENCH_PORT =~ ^[1-9][0-9]{0,4}$ ]] || ((BENCH_PORT > 65535)); then
		die "BENCH_PORT must be a TCP port number, not '$BENCH_PORT'"
	fi
	port_free "$BENCH_PORT" || die "port $BENCH_PORT on $HOST is already in use"
	PORT="$BENCH_PORT"
else
	PORT=""
	for _ in {1..50}; do
		p=$((20000 + RANDOM % 20000))
		if port_free "$p"; then
			PORT="$p"
			break
		fi
	done
	[[ -n $PORT ]] || die "found no free port on $HOST"
fi
BASE="http://$HOST:$PORT"

APP_URL="$(with_db "$DATABASE_URL" "$BENCH_DB")"
OWNER_URL="$(with_db "$MIGRATION_DATABASE_URL" "$BENCH_DB")"
echo "starting the server on $HOST:$PORT (database $BENCH_DB)..." >&2
env -u ADMIN_DATABASE_URL \
	CAREPASS_ENV=development CAREPASS_BENCH=1 CAREPASS_DEMO_PASSWORD="$DEMO_PASSWORD" \
	VERIFY_PER_MINUTE=1000000000 VERIFY_PER_SECOND=1000000000 \
	ADDR="$HOST" PORT="$PORT" \
	DATABASE_URL="$APP_URL" MIGRATION_DATABASE_URL="$OWNER_URL" \
	"$WORK/carepass" dev >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

deadline=$((SECONDS + START_TIMEOUT))
until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/readyz" || true) == 200 ]]; do
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		SERVER_PID=""
		server_log_tail
		die "the server exited during startup"
	fi
	if ((SECONDS >= deadline)); then
		server_log_tail
		die "the server was not ready within ${START_TIMEOUT}s ($BASE/readyz)"
	fi
	sleep 0.2
done

# --- sign in ------------------------------------------------------------------

JAR="$WORK/cookies"
code="$(curl -s -c "$JAR" -b "$JAR" -o "$WORK/signin.html" -w '%{http_code}' "$BASE/signin")"
[[ $code == 200 ]] || die "GET /signin answered $code"
csrf="$(sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' "$WORK/signin.html" | head -n 1)"
[[ -n $csrf ]] || die "the sign-in page has no _csrf field"
code="$(curl -s -c "$JAR" -b "$JAR" -o /dev/null -w '%{http_code}' \
	--data-urlencode "_csrf=$csrf" --data-urlencode "email=$SIGNIN_EMAIL" \
	--data-urlencode "password=$DEMO_PASSWORD" --data-urlencode "next=/" "$BASE/signin")"
[[ $code == 303 ]] || die "POST /signin as $SIGNIN_EMAIL answered $code, not 303"
# Cookie-jar lines: domain flag path secure expiry name value (HttpOnly ones start "#HttpOnly_").
session="$(awk -F'\t' '$6 == "carepass_session" { print $7 }' "$JAR" | tail -n 1)"
[[ -n $session ]] || die "signing in set no carepass_session cookie"
COOKIE="carepass_session=$session"

# A valid carer passport code, from the demo tenant's passports.
curl -s -b "$JAR" -o "$WORK/passports.json" "$BASE/api/v1/t/$TENANT/carer-passports?state=active" ||
	die "could not list the demo carer passports"
PASSPORT_CODE="$(grep -o '"code":"[0-9A-Z-]*"' "$WORK/passports.json" | head -n 1 | cut -d'"' -f4)"
[[ -n $PASSPORT_CODE ]] || die "the demo tenant has no active carer passport to verify"
VERIFY_BODY="{\"code\":\"$PASSPORT_CODE\"}"

# --- load ---------------------------------------------------------------------

# Rows: label, path, whether the session cookie is sent, and a JSON body to
# POST (none: GET).
ROWS=(
	"noop floor|/_bench/noop|no|"
	"pgx floor|/_bench/pgx|no|"
	"tenant /me|/api/v1/t/$TENANT/me|yes|"
	"tenant /members|/api/v1/t/$TENANT/members|yes|"
	"public verify|/api/v1/verify|no|$VERIFY_BODY"
)
declare -A RPS P50 P99 RESULT
FAILURES=()

fail_row() {
	RESULT[$1]=FAIL
	FAILURES+=("$1 (${2}): $3")
}

# bench_row LABEL PATH AUTH BODY: check one response, warm up, measure.
bench_row() {
	local label="$1" path="$2" auth="$3" body="$4" url="$BASE$2" cookie="" code size out line
	local -a post=()
	local requests=0 duration_us=0 bytes=0 p50=0 p99=0 connect=0 rd=0 wr=0 status=0 timeout=0 kv fields
	[[ $auth == yes ]] && cookie="$COOKIE"
	[[ -n $body ]] && post=(-H "Content-Type: application/json" --data-binary "$body")
	RESULT[$label]=ok
	if [[ -n $body ]]; then echo "  $label: POST $path $body" >&2; else echo "  $label: GET $path" >&2; fi

	# One checked response first; wrk then must see responses of the same size.
	if ! out="$(curl -s -o /dev/null -w '%{http_code} %{size_header} %{size_download}' \
		${cookie:+-H "Cookie: $cookie"} "${post[@]}" --max-time 10 "$url")"; then
		fail_row "$label" "$path" "curl could not fetch it"
		return 0
	fi
	read -r code size bytes <<<"$out"
	size=$((size + bytes))
	if [[ $code != 200 ]]; then
		fail_row "$label" "$path" "answered $code before the load run"
		return 0
	fi

	if [[ $WARMUP != 0 ]]; then
		run_child env BENCH_COOKIE="$cookie" BENCH_BODY="$body" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" \
			--timeout "$WRK_TIMEOUT" -s "$LUA" "$url" >"$WORK/warmup.out" 2>&1 || true
	fi
	if ! run_child env BENCH_COOKIE="$cookie" BENCH_BODY="$body" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
		--timeout "$WRK_TIMEOUT" -s "$LUA" "$url" >"$WORK/wrk.out" 2>&1; then
		fail_row "$label" "$path" "wrk failed: $(tr '\n' ' ' <"$WORK/wrk.out")"
		return 0
	fi
	line="$(grep '^BENCH ' "$WORK/wrk.out" | tail -n 1)"
	if [[ -z $line ]]; then
		fail_row "$label" "$path" "wrk printed no summary: $(tr '\n' ' ' <"$WORK/wrk.out")"
		return 0
	fi
	read -r -a fields <<<"${line#BENCH }"
	for kv in "${fields[@]}"; do
		case "${kv%%=*}" in
		requests) requests="${kv#*=}" ;;
		duration_us) duration_us="${kv#*=}" ;;
		bytes) bytes="${kv#*=}" ;;
		p50_us) p50="${kv#*=}" ;;
		p99_us) p99="${kv#*=}" ;;
		connect) connect="${kv#*=}" ;;
		read) rd="${kv#*=}" ;;
		write) wr="${kv#*=}" ;;
		status) status="${kv#*=}" ;;
		timeout) timeout="${kv#*=}" ;;
		esac
	done
	if ((requests == 0 || duration_us == 0)); then
		fail_row "$label" "$path" "no request completed"
		return 0
	fi
	RPS[$label]="$(awk -v n="$requests" -v us="$duration_us" 'BEGIN { printf "%.1f", n / (us / 1e6) }')"
	P50[$label]="$(awk -v us="$p50" 'BEGIN { printf "%.2f", us / 1000 }')"
	P99[$label]="$(awk -v us="$p99" 'BEGIN { printf "%.2f", us / 1000 }')"

	if ((status > 0)); then
		fail_row "$label" "$path" "$status of $requests responses were 4xx/5xx (non-2xx)"
	fi
	if ((connect + rd + wr + timeout > 0)); then
		fail_row "$label" "$path" "socket errors: connect $connect, read $rd, write $wr, timeout $timeout"
	fi
	# wrk counts no 3xx as an error; a redirect (say, to the sign-in page) or
	# any other different answer shows up as a different average size.
	if ! awk -v b="$bytes" -v n="$requests" -v s="$size" 'BEGIN { a = b / n; exit !(a > s * 0.95 && a < s * 1.05) }'; then
		fail_row "$label" "$path" "responses averaged $((bytes / requests)) bytes but the checked 200 response has $size: some answers were not that response (redirects?)"
	fi
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		SERVER_PID=""
		server_log_tail
		die "the server exited during the load run of $path"
	fi
}

echo "load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION per endpoint, ${WARMUP} warm-up first ($HOST only)..." >&2
for row in "${ROWS[@]}"; do
	IFS='|' read -r label path auth body <<<"$row"
	bench_row "$label" "$path" "$auth" "$body"
done

server_status=0
stop_server || server_status=$?
if ((server_status != 0)); then
	server_log_tail
	FAILURES+=("the server did not shut down cleanly after SIGTERM (exit status $server_status)")
fi

# --- authorization decision -----------------------------------------------------

echo "go test -bench of the authorization decision (./policy/)..." >&2
GO_OUT="$WORK/gobench.out"
go_ok=yes
# Built first and run directly (in the package folder, as go test does), so
# that an interrupt stops the benchmark process itself.
# (run_child runs it in a subshell, so the cd and exec stay there.)
policy_bench() {
	cd "$REPO/policy"
	exec "$WORK/policy.test" -test.run '^$' -test.bench 'Allowed|EnforceCold' -test.benchmem \
		-test.benchtime "$GO_BENCHTIME" -test.count 1
}
if ! go test -c -o "$WORK/policy.test" ./policy/ >"$GO_OUT" 2>&1 || ! run_child policy_bench >"$GO_OUT" 2>&1; then
	go_ok=no
	cat "$GO_OUT" >&2
	FAILURES+=("the policy benchmark (go test -bench ./policy/) failed (output above)")
fi
# ns_op NAME: ns/op of benchmark NAME (without the -GOMAXPROCS suffix).
ns_op() {
	awk -v name="$1" '
		{ n = $1; sub(/-[0-9]+$/, "", n) }
		n == name { for (i = 2; i < NF; i++) if ($(i + 1) == "ns/op") { print $i; exit } }
	' "$GO_OUT"
}
ns10="$(ns_op BenchmarkAllowed/tenants=10)"
ns10k="$(ns_op BenchmarkAllowed/tenants=10000)"
nscold="$(ns_op BenchmarkEnforceCold)"
if [[ $go_ok == yes && (-z $ns10 || -z $ns10k) ]]; then
	cat "$GO_OUT" >&2
	FAILURES+=("the policy benchmark printed no ns/op for tenants=10 and tenants=10000")
fi

# --- passport read -------------------------------------------------------------

echo "go test -bench of a passport read (./modules/record/)..." >&2
PASSPORT_OUT="$WORK/passport.out"
passport_bench() {
	cd "$REPO/modules/record"
	exec "$WORK/record.test" -test.run '^$' -test.bench 'PassportRead|PgxFloor' -test.benchmem \
		-test.benchtime "$GO_BENCHTIME" -test.count 1
}
if ! go test -c -o "$WORK/record.test" ./modules/record/ >"$PASSPORT_OUT" 2>&1 || ! run_child passport_bench >"$PASSPORT_OUT" 2>&1; then
	cat "$PASSPORT_OUT" >&2
	FAILURES+=("the passport benchmark (go test -bench ./modules/record/) failed (output above)")
fi
nspassport="$(GO_OUT="$PASSPORT_OUT" ns_op BenchmarkPassportRead)"
nsfloor="$(GO_OUT="$PASSPORT_OUT" ns_op BenchmarkPgxFloor)"

# --- offline verification ------------------------------------------------------

echo "go test -bench of offline verification (./modules/credential/verify/)..." >&2
VERIFY_OUT="$WORK/verify.out"
verify_bench() {
	cd "$REPO/modules/credential/verify"
	exec "$WORK/verify.test" -test.run '^$' -test.bench 'VerifyOffline' -test.benchmem \
		-test.benchtime "$GO_BENCHTIME" -test.count 1
}
if ! go test -c -o "$WORK/verify.test" ./modules/credential/verify/ >"$VERIFY_OUT" 2>&1 || ! run_child verify_bench >"$VERIFY_OUT" 2>&1; then
	cat "$VERIFY_OUT" >&2
	FAILURES+=("the offline verification benchmark failed (output above)")
fi
nsverify="$(GO_OUT="$VERIFY_OUT" ns_op BenchmarkVerifyOffline)"

# --- training -------------------------------------------------------------------

echo "go test -bench of the training calendar and bookings (./modules/training/)..." >&2
TRAINING_OUT="$WORK/training.out"
training_bench() {
	cd "$REPO/modules/training"
	# Each booking needs a holder made beforehand: a fixed count, not a time.
	"$WORK/training.test" -test.run '^$' -test.bench 'BookOneSession|TxFloor' -test.benchtime 1000x -test.count 1 &&
		exec "$WORK/training.test" -test.run '^$' -test.bench 'CalendarMonth|CalendarFloor' -test.benchmem \
			-test.benchtime "$GO_BENCHTIME" -test.count 1
}
if ! go test -c -o "$WORK/training.test" ./modules/training/ >"$TRAINING_OUT" 2>&1 || ! run_child training_bench >"$TRAINING_OUT" 2>&1; then
	cat "$TRAINING_OUT" >&2
	FAILURES+=("the training benchmarks (go test -bench ./modules/training/) failed (output above)")
fi
nsmonth="$(GO_OUT="$TRAINING_OUT" ns_op BenchmarkCalendarMonth)"
nscalfloor="$(GO_OUT="$TRAINING_OUT" ns_op BenchmarkCalendarFloor)"
# metric NAME UNIT: the custom metric UNIT reported by benchmark NAME.
metric() {
	awk -v name="$1" -v unit="$2" '
		{ n = $1; sub(/-[0-9]+$/, "", n) }
		n == name { for (i = 2; i < NF; i++) if ($(i + 1) == unit) { print $i; exit } }
	' "$TRAINING_OUT"
}
bookings="$(metric BenchmarkBookOneSession bookings/s)"
txs="$(metric BenchmarkTxFloor tx/s)"

# --- compliance matrix --------------------------------------------------------

echo "go test -bench of the compliance matrix, 500 staff x 60 competencies (./modules/carehome/)..." >&2
MATRIX_OUT="$WORK/matrix.out"
matrix_bench() {
	cd "$REPO/modules/carehome"
	exec "$WORK/carehome.test" -test.run '^$' -test.bench 'BenchmarkMatrix$' -test.benchtime 20x -test.count 1
}
if ! go test -c -o "$WORK/carehome.test" ./modules/carehome/ >"$MATRIX_OUT" 2>&1 || ! run_child matrix_bench >"$MATRIX_OUT" 2>&1; then
	cat "$MATRIX_OUT" >&2
	FAILURES+=("the compliance matrix benchmark (go test -bench ./modules/carehome/) failed (output above)")
fi
matrix_ms="$(awk '$1 ~ /^BenchmarkMatrix(-[0-9]+)?$/ { for (i = 2; i < NF; i++) if ($(i + 1) == "ms/matrix") { print $i; exit } }' "$MATRIX_OUT")"
matrix_floor="$(awk '$1 ~ /^BenchmarkMatrix(-[0-9]+)?$/ { for (i = 2; i < NF; i++) if ($(i + 1) == "ms/floor") { print $i; exit } }' "$MATRIX_OUT")"
matrix_x="$(awk '$1 ~ /^BenchmarkMatrix(-[0-9]+)?$/ { for (i = 2; i < NF; i++) if ($(i + 1) == "x_floor") { print $i; exit } }' "$MATRIX_OUT")"

# --- tenant growth ------------------------------------------------------------

echo "go test -bench of one tenant's pages as the others grow (./cmd/carepass/, loads two synthetic populations)..." >&2
GROWTH_OUT="$WORK/growth.out"
growth_bench() {
	cd "$REPO/cmd/carepass"
	exec "$WORK/carepass.test" -test.run '^$' -test.bench 'TenantGrowth' -test.benchtime "$GO_BENCHTIME" -test.count 1
}
if ! go test -c -o "$WORK/carepass.test" ./cmd/carepass/ >"$GROWTH_OUT" 2>&1 || ! run_child growth_bench >"$GROWTH_OUT" 2>&1; then
	cat "$GROWTH_OUT" >&2
	FAILURES+=("the tenant growth benchmark (go test -bench TenantGrowth ./cmd/carepass/) failed (output above)")
fi
# growth_best SIZE PAGE: the lowest ns/op of PAGE at SIZE tenants over the rounds.
growth_best() {
	awk -v want="BenchmarkTenantGrowth/tenants=$1/$2" '
		{ n = $1; sub(/-[0-9]+$/, "", n); sub(/#[0-9]+$/, "", n) }
		n == want { for (i = 2; i < NF; i++) if ($(i + 1) == "ns/op" && (best == "" || $i + 0 < best + 0)) best = $i }
		END { print best }
	' "$GROWTH_OUT"
}
GROWN="${SCALE_BENCH_TENANTS:-1000}"
GROWTH_PAGES=()
while read -r page; do
	[[ -n $page ]] && GROWTH_PAGES+=("$page")
done < <(awk '/^BenchmarkTenantGrowth\/tenants=10\// { n = $1; sub(/-[0-9]+$/, "", n); sub(/#[0-9]+$/, "", n); sub(/.*\//, "", n); if (!seen[n]++) print n }' "$GROWTH_OUT")

# --- report -------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
pgx="${RPS[pgx floor]:-}"
[[ ${RESULT[pgx floor]} == ok ]] || pgx=""

echo
echo "Carepass benchmarks: $(nproc 2>/dev/null || echo '?') CPUs, $(go env GOVERSION), wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP), server and wrk on $HOST"
echo
printf '%-16s %-37s %10s %9s %9s %7s  %s\n' endpoint path 'req/s' 'p50 ms' 'p99 ms' 'x pgx' result
for row in "${ROWS[@]}"; do
	IFS='|' read -r label path auth body <<<"$row"
	r="${RPS[$label]:-}" x="-"
	[[ -n $r && -n $pgx ]] && x="$(ratio "$r" "$pgx")"
	printf '%-16s %-37s %10s %9s %9s %7s  %s\n' "$label" "$path" "${r:--}" "${P50[$label]:--}" "${P99[$label]:--}" "$x" "${RESULT[$label]}"
done
echo "x pgx = req/s / req/s of the pgx floor. /me and /members send the session of $SIGNIN_EMAIL."
echo
echo "Authorization decision, policy.Enforcers.Allowed (cached, 20 accounts per tenant):"
printf '  %-22s %12s ns/op\n' "tenants=10" "${ns10:--}" "tenants=10000" "${ns10k:--}" "cold casbin enforce" "${nscold:--}"
dratio="-"
[[ -n $ns10 && -n $ns10k ]] && dratio="$(ratio "$ns10k" "$ns10")"
printf '  %-22s %12s\n' "10000 / 10" "$dratio"

echo
echo "Passport read, 60 competency records and 300 history entries (record.Service.Passport, audited):"
printf '  %-22s %12s ns/op\n' "passport read" "${nspassport:--}" "pgx floor (SELECT 1)" "${nsfloor:--}"
pratio="-"
[[ -n $nspassport && -n $nsfloor ]] && pratio="$(awk -v a="$nsfloor" -v b="$nspassport" 'BEGIN { printf "%.4f", a / b }')"
printf '  %-22s %12s  (floor time / read time, as a throughput ratio)\n' "x pgx" "$pratio"

echo
echo "Offline verification of one carer passport QR (verify.Verify: Base45, zlib, COSE, Ed25519, status list):"
printf '  %-22s %12s ns/op\n' "verify offline" "${nsverify:--}"

echo
echo "Training: the public calendar's month view in a tenant with 500 sessions (training.Service.Calendar),"
echo "and bookings onto one session by 16 concurrent bookers (each takes the session's row lock):"
printf '  %-22s %12s ns/op\n' "month view" "${nsmonth:--}" "floor (tenant tx, 1 row)" "${nscalfloor:--}"
mratio="-"
[[ -n $nsmonth && -n $nscalfloor ]] && mratio="$(awk -v a="$nscalfloor" -v b="$nsmonth" 'BEGIN { printf "%.4f", a / b }')"
printf '  %-22s %12s  (floor time / month view time, as a throughput ratio)\n' "x floor" "$mratio"
printf '  %-22s %12s /s\n' "bookings, one session" "${bookings:--}" "floor (tenant tx, 16 at once)" "${txs:--}"

echo
echo "Compliance matrix of one home, 500 staff x 60 competencies (carehome.Service.Matrix, audited):"
printf '  %-22s %12s ms\n' "matrix" "${matrix_ms:--}" "floor (tenant tx, 1 row)" "${matrix_floor:--}"
printf '  %-22s %12s  (matrix time / floor time)\n' "x floor" "${matrix_x:--}"

echo
echo "Tenant growth: the reference tenant's pages (a care home of 250 holders, signed in as its administrator,"
echo "through the whole HTTP app) with 10 tenants in the database and with $GROWN; best of the rounds:"
grep '^loaded ' "$GROWTH_OUT" | sed 's/^/  /' || true
printf '  %-18s %14s %14s %8s\n' page "10 ns/op" "$GROWN ns/op" ratio
declare -A GROWTH_RATIO
for page in "${GROWTH_PAGES[@]}"; do
	few="$(growth_best 10 "$page")" many="$(growth_best "$GROWN" "$page")" r="-"
	[[ -n $few && -n $many ]] && r="$(ratio "$many" "$few")"
	GROWTH_RATIO[$page]="$r"
	printf '  %-18s %14s %14s %8s\n' "$page" "${few:--}" "${many:--}" "$r"
done

# verdict VALUE OP LIMIT: PASS or MISS (or n/a without a value).
verdict() {
	[[ -n $1 && $1 != - ]] || {
		echo "n/a"
		return
	}
	if awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { exit !(op == ">=" ? v >= l : v <= l) }'; then echo PASS; else echo MISS; fi
}
read_ratio="-"
if [[ -n $pgx && ${RESULT[tenant /members]} == ok && -n ${RPS[tenant /members]:-} ]]; then
	read_ratio="$(ratio "${RPS[tenant /members]}" "$pgx")"
fi
echo
echo "Targets (benchmarks, not tests; a MISS does not fail the run):"
printf '  %-58s %7s  %s\n' "tenant-scoped read (/members) >= 0.5x the pgx floor" "$read_ratio" "$(verdict "$read_ratio" '>=' 0.5)"
verify_ratio="-"
if [[ -n $pgx && ${RESULT[public verify]} == ok && -n ${RPS[public verify]:-} ]]; then
	verify_ratio="$(ratio "${RPS[public verify]}" "$pgx")"
fi
printf '  %-58s %7s  %s\n' "public verify endpoint, valid code >= 0.7x the pgx floor" "$verify_ratio" "$(verdict "$verify_ratio" '>=' 0.7)"
printf '  %-58s %7s  %s\n' "decision time at 10,000 tenants <= 1.5x the time at 10" "$dratio" "$(verdict "$dratio" '<=' 1.5)"
vus="-"
[[ -n $nsverify ]] && vus="$(awk -v n="$nsverify" 'BEGIN { printf "%.0f", n / 1000 }')"
printf '  %-58s %7s  %s\n' "offline verification of one QR <= 200 us" "$vus" "$(verdict "$vus" '<=' 200)"
printf '  %-58s %7s  %s\n' "compliance matrix, 500 staff x 60 competencies <= 100 ms" "${matrix_ms:--}" "$(verdict "${matrix_ms:--}" '<=' 100)"
for page in "${GROWTH_PAGES[@]}"; do
	printf '  %-58s %7s  %s\n' "$page at $GROWN tenants <= 1.5x at 10" "${GROWTH_RATIO[$page]}" "$(verdict "${GROWTH_RATIO[$page]}" '<=' 1.5)"
done

if ((${#FAILURES[@]} > 0)); then
	echo
	echo "FAILED:"
	printf '  %s\n' "${FAILURES[@]}"
	exit 1
fi
