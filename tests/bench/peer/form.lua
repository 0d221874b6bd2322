-- wrk script for tests/bench/peer/bench_peer.sh: POST one fixed form body, e.g.
-- "grant_type=client_credentials" to a token endpoint or "token=..." to an introspection
-- endpoint. The client's Authorization header is given on wrk's command line (-H).
--   wrk ... -s form.lua URL -- BODY
-- A server answering anything but 200 shows in wrk's "Non-2xx or 3xx responses".
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

function init(args)
	wrk.body = args[1]
end
