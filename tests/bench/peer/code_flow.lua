-- wrk script for tests/bench/peer/bench_peer.sh: the authorization code flow of a user who
-- is logged in and has consented, as two requests: GET the authorization endpoint with a
-- session cookie (-> 302 to the redirect URI with a code), then POST the code to the token
-- endpoint (client_secret_basic, PKCE S256 with one fixed verifier). Each thread keeps a
-- queue of codes: request() redeems the oldest code if there is one, otherwise asks for a
-- new one, so every connection alternates between the two kinds as codes come back.
--
--   wrk ... -s code_flow.lua URL -- AUTH_PATH TOKEN_PATH QUERY COOKIE BASIC REDIRECT VERIFIER
-- AUTH_PATH?QUERY is the authorization request (response_type=code, client_id, redirect_uri,
-- scope, code_challenge...); COOKIE the session's Cookie header value; BASIC the client's
-- Authorization header value for the token request.
-- done() prints "code_flow codes N tokens M errors E": codes received, token responses
-- with an id_token, and every other answer. One round trip = one code + one token.
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

local q, head, tail = {}, 1, 0
local last = nil

function init(args)
	auth_path, token_path, query, cookie, basic, redirect, verifier =
		args[1], args[2], args[3], args[4], args[5], args[6], args[7]
	codes, tokens, errors = 0, 0, 0
end

local function urlencode(s)
	return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
	if head <= tail then
		local code = q[head]
		q[head] = nil
		head = head + 1
		return wrk.format("POST", token_path,
			{ ["Authorization"] = basic, ["Content-Type"] = "application/x-www-form-urlencoded" },
			"grant_type=authorization_code&code=" .. urlencode(code) .. "&redirect_uri=" ..
			urlencode(redirect) .. "&code_verifier=" .. verifier)
	end
	return wrk.format("GET", auth_path .. "?" .. query, { ["Cookie"] = cookie })
end

function response(status, headers, body)
	if status == 302 then
		local loc = headers["Location"] or headers["location"] or ""
		local code = loc:match("[?&]code=([^&#]+)")
		if code and loc:sub(1, #redirect) == redirect then
			code = code:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
			tail = tail + 1
			q[tail] = code
			codes = codes + 1
			return
		end
	elseif status == 200 and body:find('"id_token"', 1, true) then
		tokens = tokens + 1
		return
	end
	errors = errors + 1
end

function done(summary, latency, requests)
	local c, t, e = 0, 0, 0
	for _, th in ipairs(threads) do
		c = c + (th:get("codes") or 0)
		t = t + (th:get("tokens") or 0)
		e = e + (th:get("errors") or 0)
	end
	io.write(string.format("code_flow codes %d tokens %d errors %d\n", c, t, e))
end
