#!/usr/bin/env bash
# Slow clients (slowloris) over raw sockets, the per-address cap off as behind a load
# balancer: 1,100 connections that trickle their request head one byte a second are
# each closed once http.head_timeout (3 s here) has passed since their first byte,
# although every byte would restart the idle timeout (30 s); five that trickle a body
# are closed after http.body_timeout and logged as 408; meanwhile a normal client's
# GET /healthz is answered within a second (the default http.max_connections holds
# them all). A head sent in two parts within the deadline, and a keep-alive connection
# idle for longer than the head deadline between two requests, are served. Then, with
# a small http.max_connections, authd says in its log that the limit is reached.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp http-slow
S=$TMP/state
PORT=$(free_port)
HEAD=3
NSLOW=1100
cat >"$TMP/authd.conf" <<EOF
http.head_timeout = ${HEAD}s
http.body_timeout = ${HEAD}s
http.connection_timeout = 30s
http.max_connections_per_ip = 0
EOF
start_authd -c "$TMP/authd.conf" -d "$S" -l "127.0.0.1:$PORT"

# The load, and what the clients saw, one "key value..." line each (times in seconds
# from each connection's first byte).
"$PY" - "$PORT" "$NSLOW" "$HEAD" <<'PY' >"$TMP/slow.out"
import resource, selectors, socket, sys, threading, time

port, nslow, head = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
NBODY = 5
t0 = time.monotonic()

def get(path_bytes, timeout=5.0):
    """One request on a new connection: (status or 0, seconds)."""
    t = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.sendall(path_bytes)
        data = s.recv(4096)
        s.close()
        return int(data.split()[1]) if data else 0, time.monotonic() - t
    except (OSError, ValueError, IndexError):
        return 0, time.monotonic() - t

def status_of(s):
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    n = 0
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    while len(body) < n:
        d = s.recv(4096)
        if not d:
            break
        body += d
    return data.split()[1].decode() if data else "none"

GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

def legit_slow(out):
    """A head in two parts, one second apart: within the deadline."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        time.sleep(1.0)
        s.sendall(b"Host: x\r\n\r\n")
        out["legit_slow"] = status_of(s)
        s.close()
    except OSError as e:
        out["legit_slow"] = "error:" + type(e).__name__

def keepalive(out):
    """Two requests on one connection with head+1.5 s of silence between them."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(GET)
        a = status_of(s)
        time.sleep(head + 1.5)
        s.sendall(GET)
        out["keepalive"] = a + " " + status_of(s)
        s.close()
    except OSError as e:
        out["keepalive"] = "error:" + type(e).__name__

def prober(out, alive_fn):
    """GET /healthz every 0.25 s while the slow connections are all still open."""
    worst, fails, n, alive_min = 0.0, 0, 0, None
    time.sleep(1.0)
    while time.monotonic() - t0 < 1.0 + (head - 1.5):
        a = alive_fn()
        alive_min = a if alive_min is None else min(alive_min, a)
        st, secs = get(GET)
        n += 1
        worst = max(worst, secs)
        fails += st != 200
        time.sleep(0.25)
    out["probe"] = "%d %d %.3f" % (n, fails, worst)
    out["alive_at_probe"] = str(alive_min)

sel = selectors.DefaultSelector()
conns = {}                  # socket -> [kind, start, closed_at]
def open_slow(kind, first):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    conns[s] = [kind, None, None, first]
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)

for _ in range(nslow):
    open_slow("head", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
for _ in range(NBODY):
    open_slow("body", b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: "
              b"application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n")

def alive():
    return sum(1 for c in conns.values() if c[0] == "head" and c[2] is None)

out = {}
threads = [threading.Thread(target=f, args=a) for f, a in
           ((legit_slow, (out,)), (keepalive, (out,)), (prober, (out, alive)))]
for t in threads:
    t.start()

next_tick = time.monotonic() + 1.0
end = time.monotonic() + head + 6.0
while time.monotonic() < end and any(c[2] is None for c in conns.values()):
    for key, ev in sel.select(timeout=0.05):
        s, c, now = key.fileobj, conns[key.fileobj], time.monotonic()
        if ev & selectors.EVENT_WRITE and c[1] is None:
            try:
                s.send(c[3])
                c[1] = now
            except OSError:
                c[1], c[2] = now, now
            sel.modify(s, selectors.EVENT_READ)
            continue
        if ev & selectors.EVENT_READ:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                c[2] = now
                sel.unregister(s)
    if time.monotonic() >= next_tick:
        next_tick += 1.0
        for s, c in conns.items():
            if c[1] is not None and c[2] is None:
                try:
                    s.send(b"a")
                except OSError:
                    pass
for t in threads:
    t.join()

for kind in ("head", "body"):
    cs = [c for c in conns.values() if c[0] == kind]
    started = sum(1 for c in cs if c[1] is not None)
    times = sorted(c[2] - c[1] for c in cs if c[1] is not None and c[2] is not None)
    print("%s %d %d %d %.2f %.2f" % (kind, len(cs), started, len(times),
          times[0] if times else -1, times[-1] if times else -1))
for k in ("probe", "alive_at_probe", "legit_slow", "keepalive"):
    print(k, out.get(k, "missing"))
PY
cat "$TMP/slow.out" | sed 's/^/  client: /'

# field KEY N: the Nth word after KEY in the client's output.
field() { awk -v k="$1" -v n="$2" '$1 == k { print $(n + 1) }' "$TMP/slow.out"; }
within() { awk -v t="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(t >= lo && t <= hi) }'; }

read -r n started closed first last <<<"$(field head 1) $(field head 2) $(field head 3) $(field head 4) $(field head 5)"
[[ ${started:-0} == "$NSLOW" ]] && ok "$NSLOW trickling connections opened" ||
  fail "only ${started:-0} of $NSLOW trickling connections got to send"
if [[ ${closed:-0} == "$NSLOW" ]] && within "$first" $((HEAD - 1)).9 $((HEAD + 3)) &&
   within "$last" $((HEAD - 1)).9 $((HEAD + 3)); then
  ok "each trickling head was cut after the ${HEAD} s head deadline ($first..$last s)"
else
  fail "trickling heads: ${closed:-0} of $NSLOW closed within $((HEAD + 6)) s, after $first..$last s (want all, after $HEAD..$((HEAD + 3)) s)"
fi
read -r n started closed first last <<<"$(field body 1) $(field body 2) $(field body 3) $(field body 4) $(field body 5)"
if [[ ${closed:-0} == "$n" ]] && within "$first" $((HEAD - 1)).9 $((HEAD + 3)) &&
   within "$last" $((HEAD - 1)).9 $((HEAD + 3)); then
  ok "each trickling body was cut after the ${HEAD} s body deadline ($first..$last s)"
else
  fail "trickling bodies: ${closed:-0} of ${n:-?} closed, after $first..$last s (want all, after $HEAD..$((HEAD + 3)) s)"
fi
read -r probes pfail worst <<<"$(field probe 1) $(field probe 2) $(field probe 3)"
alive=$(field alive_at_probe 1)
if [[ ${probes:-0} -ge 3 && ${pfail:-1} == 0 && $alive == "$NSLOW" ]] && within "$worst" 0 1; then
  ok "GET /healthz answered during the load ($probes tries, the slowest ${worst} s, $alive slow connections open)"
else
  fail "GET /healthz during the load: $pfail of $probes failed, slowest ${worst} s (want < 1 s), slow connections open: $alive"
fi
[[ $(field legit_slow 1) == 200 ]] && ok "a head sent in two parts within the deadline is served" ||
  fail "a head in two parts: $(field legit_slow 1)"
[[ "$(field keepalive 1) $(field keepalive 2)" == "200 200" ]] &&
  ok "a keep-alive connection idle longer than the head deadline serves its next request" ||
  fail "keep-alive after $((HEAD + 1)).5 s idle: $(field keepalive 1) $(field keepalive 2)"
n408=$(grep -c 'path=/token status=408' "$TMP/authd.log")
[[ $n408 == 5 ]] && ok "the cut bodies are logged as 408" || fail "408 in the access log: $n408, want 5"
grep -q 'request head took longer than' "$TMP/authd.log" &&
  ok "authd logged the cut connections" || fail "no log line about the cut connections"
check_healthz "authd answers normally afterwards"
check_stop_authd

# A small connection limit: reaching it is said in the log, and authd serves again
# once the connections close.
cat >"$TMP/small.conf" <<EOF
http.threads = 2
http.max_connections = 8
http.max_connections_per_ip = 0
EOF
start_authd -c "$TMP/small.conf" -d "$S" -l "127.0.0.1:$PORT"
"$PY" - "$PORT" <<'PY'
import socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(10)]
time.sleep(1.0)
for s in conns:
    s.close()
PY
grep -q 'connections open, the limit (http.max_connections)' "$TMP/authd.log" &&
  ok "reaching http.max_connections is logged" ||
  fail "no log line when http.max_connections was reached"
check_healthz "authd answers again once they are closed"
check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"
no_sanitizer_in "sanitizer report in the authd log" "$TMP/authd.log"
finish "http_slow_clients: all checks passed" "http_slow_clients: "
