#!/usr/bin/env bash
# authd's connection limits against idle and slow clients: a connection that sends
# nothing, or stops half way through its request line, is closed after
# http.connection_timeout; one address holds at most http.max_connections_per_ip
# connections at once; and authd answers normally once those are gone. Body limits per
# route: with the default caps (http.max_body 64 KiB, http.max_body_preauth 16 KiB) a
# 20 KB POST to /login, /register or /token, where nobody is authenticated yet, gets 413
# (announced by Content-Length) or its connection cut (chunked), while the same body to
# an account-page form is read and answered as usual, and a small login POST is not 413.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp http-limits
S=$TMP/state
PORT=$(free_port)
cat >"$TMP/authd.conf" <<EOF
http.connection_timeout = 2s
http.max_connections_per_ip = 4
EOF
start_authd -c "$TMP/authd.conf" -d "$S" -l "127.0.0.1:$PORT"

# probe MODE: opens connections to authd and reports what it saw, one word per line.
#   idle     one connection, nothing sent: seconds until authd closed it
#   partial  one connection, half a request line sent: seconds until closed
#   cap      5 idle connections at once: how many authd kept open after 0.5 s
probe() {
  python3 - "$PORT" "$1" <<'PY'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]

def closed_after(s, limit=10.0):
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while s.recv(4096):
            pass
    except (socket.timeout, ConnectionResetError):
        if time.monotonic() - t0 >= limit:
            return "open"
    return "%.1f" % (time.monotonic() - t0)

if mode in ("idle", "partial"):
    s = socket.create_connection(("127.0.0.1", port))
    if mode == "partial":
        s.sendall(b"GET /healthz HT")
    print(closed_after(s))
elif mode == "cap":
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    time.sleep(0.5)
    alive = 0
    for s in conns:
        s.setblocking(False)
        try:
            alive += s.recv(1) != b""
        except BlockingIOError:
            alive += 1
        except ConnectionResetError:
            pass
    print(alive)
    for s in conns:
        s.close()
PY
}

t=$(probe idle)
[[ $t != open ]] && awk -v t="$t" 'BEGIN { exit !(t >= 1.5 && t <= 5) }' &&
	ok "an idle connection is closed after the 2 s timeout ($t s)" ||
	fail "idle connection: closed after '$t' s, want about 2"
t=$(probe partial)
[[ $t != open ]] && awk -v t="$t" 'BEGIN { exit !(t >= 1.5 && t <= 5) }' &&
	ok "a connection stalled inside its request line is closed after the timeout ($t s)" ||
	fail "stalled request: closed after '$t' s, want about 2"
n=$(probe cap)
[[ $n == 4 ]] && ok "one address keeps at most 4 connections (5 tried)" ||
	fail "per-address cap: $n of 5 connections kept open, want 4"
check_healthz "authd answers again once the idle connections are gone"

# ---- body limits per route
BASE=http://127.0.0.1:$PORT
head -c 20000 /dev/zero | tr '\0' 'a' | sed 's/^/pad=/' >"$TMP/big.form"
for path in /login /register /token; do
  req - POST "$path" --data-binary @"$TMP/big.form"
  [[ $STATUS == 413 && $BODY == *request_too_large* ]] &&
    ok "POST $path with a 20 KB body (under http.max_body): 413" ||
    fail "POST $path with a 20 KB body: $STATUS $BODY"
done
req - POST /login --data-binary @"$TMP/big.form" -H 'Transfer-Encoding: chunked'
[[ $STATUS != 2* && $STATUS != 3* && $STATUS != 400 ]] &&
  ok "POST /login with a 20 KB chunked body: cut off ($STATUS)" ||
  fail "POST /login with a 20 KB chunked body was read: $STATUS"
req - POST /account/app/revoke --data-binary @"$TMP/big.form"
[[ $STATUS == 303 ]] && ok "POST /account/app/revoke with the same body: read (303 to log in)" ||
  fail "POST /account/app/revoke with a 20 KB body: $STATUS $BODY"
req - POST /login --data 'csrf=x&username=a&password=b'
[[ $STATUS == 400 ]] && ok "a small POST /login is read (400: no CSRF cookie)" ||
  fail "a small POST /login: $STATUS"
grep -q 'path=/login status=413' "$TMP/authd.log" && ok "the access log has the 413" ||
  fail "no 413 for /login in the access log"
check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"
no_sanitizer_in "sanitizer report in the authd log" "$TMP/authd.log"
finish "http_limits: all checks passed" "http_limits: "
