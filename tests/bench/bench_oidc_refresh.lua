-- wrk script for tests/bench/bench_oidc.sh: POST /token grant_type=refresh_token with
-- rotation. Every refresh token is single-use, so the requests chain: each response's
-- new refresh_token goes into the thread's queue and the next request (whichever
-- connection sends it) takes the oldest token from that queue. With one token per
-- connection to begin with, every connection always finds one (wrk sends a connection's
-- next request only after its response was handled). wrk calls request() once on the
-- first thread before the run to check the request; that token is never sent, so the
-- first thread gets one spare token (bench_oidc.sh mints connections + threads tokens).
--
--   wrk -tT -cC ... -H "Authorization: Basic ..." -s bench_oidc_refresh.lua URL -- FILE T
-- FILE holds the refresh tokens, one a line; they are dealt round robin to the T threads.
-- done() prints "refresh_errors N starved M": responses without a new token, and
-- requests sent without a token (each of those breaks a chain).
wrk.method = "POST"
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

local threads = {}
local nthreads = 0

function setup(thread)
	nthreads = nthreads + 1
	thread:set("tid", nthreads)
	table.insert(threads, thread)
end

local q, head, tail = {}, 1, 0

function init(args)
	local file, nt = args[1], tonumber(args[2])
	local i = 0
	for line in io.lines(file) do
		if line ~= "" then
			if i % nt == tid - 1 then
				tail = tail + 1
				q[tail] = line
			end
			i = i + 1
		end
	end
	bad = 0
	starved = 0
end

function request()
	local tok = "none"
	if head <= tail then
		tok = q[head]
		q[head] = nil
		head = head + 1
	else
		starved = starved + 1
	end
	return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. tok)
end

function response(status, headers, body)
	if status == 200 then
		local t = body:match('"refresh_token":"([^"]+)"')
		if t then
			tail = tail + 1
			q[tail] = t
			return
		end
	end
	bad = bad + 1
end

function done(summary, latency, requests)
	local b, s = 0, 0
	for _, t in ipairs(threads) do
		b = b + (t:get("bad") or 0)
		s = s + (t:get("starved") or 0)
	end
	io.write(string.format("refresh_errors %d starved %d\n", b, s))
end
