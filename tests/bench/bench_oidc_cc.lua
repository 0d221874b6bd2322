-- wrk script for tests/bench/bench_oidc.sh: POST /token grant_type=client_credentials.
-- The client authenticates with client_secret_basic: the Authorization header is given
-- on wrk's command line (-H). Every response should be 200; wrk counts the others as
-- "Non-2xx or 3xx responses".
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

-- BENCH_PACE_MS (set by bench_oidc.sh for the "half load" runs): each connection waits this
-- long after a response before its next request, so the offered rate is about
-- connections / pace instead of as fast as authd answers: the latency of a loaded but not
-- saturated server, not the queueing of a saturated one.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace and pace > 0 then
	function delay()
		return pace
	end
end
