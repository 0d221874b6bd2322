#!/usr/bin/env bash
# HTTP/1.1 message framing (RFC 9112 section 6), over raw sockets: a request whose body
# length is ambiguous (Content-Length with Transfer-Encoding, two Content-Lengths, a
# field name with whitespace before the colon, a folded field, a CR inside a value, a
# transfer coding other than chunked) is answered 400 (501 for a coding authd does not
# implement) with Connection: close, the connection is closed after that one response,
# and the request smuggled behind it (GET /metrics) is neither answered nor seen by a
# handler. Well-formed keep-alive, pipelined and chunked requests still share a
# connection.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp http-framing
S=$TMP/state
PORT=$(free_port)
start_authd -d "$S" -l "127.0.0.1:$PORT"

# One case a line: NAME|STATUS|ERROR|close or keep|RESPONSES|REQUEST (\r \n escapes).
# STATUS and ERROR are those of the first response; RESPONSES is how many come back.
SMUGGLED='GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'
cat >"$TMP/cases" <<EOF
length and chunked|400|bad_request|close|1|POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SMUGGLED
chunked and length|400|bad_request|close|1|POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n$SMUGGLED
two different lengths|400|bad_request|close|1|POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 38\r\n\r\n$SMUGGLED
two equal lengths|400|bad_request|close|1|POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello
space before the colon|400|bad_request|close|1|GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n$SMUGGLED
tab before the colon|400|bad_request|close|1|GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n$SMUGGLED
folded field|400|bad_request|close|1|GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\n
folded transfer-encoding|400|bad_request|close|1|GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n$SMUGGLED
CR inside a value|400|bad_request|close|1|GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n
identity, chunked|501|not_implemented|close|1|POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n$SMUGGLED
gzip alone|400|bad_request|close|1|POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n$SMUGGLED
chunked, gzip|400|bad_request|close|1|POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n$SMUGGLED
chunked twice|400|bad_request|close|1|POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SMUGGLED
chunked in HTTP/1.0|400|bad_request|close|1|POST /token HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SMUGGLED
pipelined keep-alive|200|-|keep|2|GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n
chunked body, then another request|400|invalid_request|keep|2|POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n
chunked followed by a space|400|bad_request|close|1|POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked \r\n\r\n0\r\n\r\n$SMUGGLED
Chunked in any case|400|invalid_request|keep|2|POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  CHUNKED\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n
length body, then another request|400|invalid_request|keep|2|POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n
EOF

# Sends each case on its own connection; prints "ok: ..." or "FAIL: ..." per case.
"$PY" - "$PORT" "$TMP/cases" <<'PY' >"$TMP/results"
import socket, sys, time, json

port, cases = int(sys.argv[1]), sys.argv[2]

def parse(buf):
    """The complete responses at the start of buf: (status, headers, body) each."""
    out = []
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out
        lines = buf[:end].decode("latin1").split("\r\n")
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        if len(buf) < end + 4 + n:
            return out
        out.append((int(lines[0].split()[1]), hdrs, buf[end + 4:end + 4 + n]))
        buf = buf[end + 4 + n:]

def exchange(raw, want, keep):
    """Sends raw; reads until the server closes (3 s at most) or, for a keep-alive
    case, until want responses came and 0.5 s more passed without another."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(raw)
    buf, closed = b"", False
    limit = time.monotonic() + 3.0
    while time.monotonic() < limit:
        s.settimeout(max(0.01, limit - time.monotonic()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not d:
            closed = True
            break
        buf += d
        if keep and len(parse(buf)) >= want:
            limit = min(limit, time.monotonic() + 0.5)
    s.close()
    return parse(buf), closed

for line in open(cases):
    name, status, error, mode, count, req = line.rstrip("\n").split("|", 5)
    raw = req.encode("latin1").decode("unicode_escape").encode("latin1")
    resps, closed = exchange(raw, int(count), mode == "keep")
    got = []
    if not resps:
        got.append("no response within 3 s")
    else:
        st, hdrs, body = resps[0]
        try:
            err = json.loads(body).get("error", "-")
        except ValueError:
            err = "(not JSON)"
        if st != int(status) or (error != "-" and err != error):
            got.append("first response %d %s, want %s %s" % (st, err, status, error))
        if mode == "close" and hdrs.get("connection", "").lower() != "close":
            got.append("no 'Connection: close' header")
    if len(resps) != int(count):
        got.append("%d responses, want %s (statuses %s)" % (len(resps), count,
                   [r[0] for r in resps]))
    if (mode == "close") != closed:
        got.append("connection %s" % ("closed" if closed else "left open"))
    if got:
        print("FAIL: %s: %s" % (name, "; ".join(got)))
    else:
        print("ok: %s: %s %s, %s response(s), connection %s" % (name, status, error, count,
              "closed" if mode == "close" else "kept"))
PY
while IFS= read -r line; do
  case $line in
    ok:*) ok "${line#ok: }" ;;
    *) fail "${line#FAIL: }" ;;
  esac
done <"$TMP/results"
[[ -s $TMP/results ]] || fail "the raw-socket client printed nothing"
n=$(wc -l <"$TMP/cases")
[[ $(grep -c '' "$TMP/results") == "$n" ]] || fail "only $(grep -c '' "$TMP/results") of $n cases ran"

# Nothing smuggled behind a refused request got to a handler: the access log never
# names /metrics (no case asks for it in the open).
if grep -q 'path=/metrics' "$TMP/authd.log"; then
  fail "a smuggled request reached a handler: $(grep -m1 'path=/metrics' "$TMP/authd.log")"
else
  ok "no smuggled GET /metrics reached a handler"
fi
check_healthz "authd still answers normally"
check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"
no_sanitizer_in "sanitizer report in the authd log" "$TMP/authd.log"
finish "http_framing: all checks passed" "http_framing: "
