-- wrk script for scripts/bench.sh.
--
-- Adds the session cookie from BENCH_COOKIE (when set) to every request, posts
-- BENCH_BODY (when set) as JSON, and
-- at the end prints one machine-readable line with exact figures:
--
--   BENCH requests=N duration_us=N bytes=N p50_us=N p99_us=N connect=N read=N write=N status=N timeout=N
--
-- "status" counts responses with a status of 400 or above (wrk's "Non-2xx or
-- 3xx responses"). There is deliberately no per-response hook: defining one
-- makes wrk parse every response into Lua, which would slow the load
-- generator on the cheap floors and distort the ratios.

local cookie = os.getenv("BENCH_COOKIE")
if cookie ~= nil and cookie ~= "" then
	wrk.headers["Cookie"] = cookie
end

-- BENCH_BODY (when set) makes every request a POST of that JSON body.
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
	wrk.method = "POST"
	wrk.body = body
	wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
		summary.requests, summary.duration, summary.bytes,
		latency:percentile(50), latency:percentile(99),
		e.connect, e.read, e.write, e.status, e.timeout))
end
