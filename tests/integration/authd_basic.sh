#!/usr/bin/env bash
# authd serves /healthz, /readyz and /metrics on a free loopback port, answers unknown
# paths and methods with JSON 404/405, carries the security headers on every response,
# refuses oversized requests, reports its process, worker pool and audit flush series
# (checked by promtool), logs JSON lines without query strings, keeps its keys
# across restarts and stops with exit 0 on SIGTERM.
set -u
. "$(dirname "$0")/lib.sh"
BUILD=${YH_BUILD:-build}
AUTHD=$BUILD/authd/authd
make_tmp
S=$TMP/state

# term_authd: SIGTERM to PID, expects exit 0 within about 5 seconds (a check).
term_authd() {
  local rc
  kill -TERM "$PID"
  for _ in $(seq 1 100); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$PID" 2>/dev/null; then
    fail "authd still running 5 s after SIGTERM"
    kill -KILL "$PID"
  fi
  wait "$PID"
  rc=$?
  PID=
  [[ $rc -eq 0 ]] && ok "SIGTERM: exit 0" || fail "SIGTERM: exit status $rc"
}

has_header() {  # has_header NAME VALUE-REGEX
  grep -qiE "^$1: $2"$'\r?$' "$HEADERS"
}

check_security_headers() {
  local what=$1
  has_header 'Content-Security-Policy' "default-src 'none'; frame-ancestors 'none'" ||
    fail "$what: Content-Security-Policy missing"
  has_header 'X-Content-Type-Options' 'nosniff' || fail "$what: X-Content-Type-Options missing"
  has_header 'Referrer-Policy' 'no-referrer' || fail "$what: Referrer-Policy missing"
  has_header 'X-Request-ID' '[0-9a-f]{16}' || fail "$what: X-Request-ID missing"
  if has_header 'Strict-Transport-Security' '.*'; then fail "$what: HSTS on plain HTTP"; fi
}

counter_value() {  # counter_value LABELS  -> value of yh_http_requests_total{LABELS}
  curl -s "$BASE/metrics" | awk -v k="yh_http_requests_total{$1}" '$1 == k { print $2 }'
}

[[ -x $AUTHD ]] || { echo "FAIL: $AUTHD not built"; exit 1; }
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
start_authd

# --- health and readiness
fetch "$BASE/healthz"
[[ $STATUS == 200 && $BODY == '{"status":"ok"}' ]] && ok "/healthz" ||
  fail "/healthz: $STATUS $BODY"
has_header 'Content-Type' 'application/json' || fail "/healthz: Content-Type"
has_header 'Cache-Control' 'no-store' || fail "/healthz: Cache-Control no-store"
check_security_headers /healthz
fetch "$BASE/readyz"
[[ $STATUS == 200 && $BODY == '{"status":"ok"}' ]] && ok "/readyz" ||
  fail "/readyz: $STATUS $BODY"
fetch "$BASE/healthz" -I
[[ $STATUS == 200 ]] && ok "HEAD /healthz" || fail "HEAD /healthz: $STATUS"

# --- router errors
fetch "$BASE/no/such/path"
[[ $STATUS == 404 && $BODY == '{"error":"not_found"}' ]] && ok "404 JSON" ||
  fail "404: $STATUS $BODY"
has_header 'Content-Type' 'application/json' || fail "404: Content-Type"
check_security_headers 404
fetch "$BASE/healthz" -X DELETE
[[ $STATUS == 405 && $BODY == '{"error":"method_not_allowed"}' ]] && ok "405 JSON" ||
  fail "405: $STATUS $BODY"
has_header 'Allow' 'GET, HEAD' || fail "405: Allow header"
check_security_headers 405

# --- limits
head -c 70000 /dev/zero >"$TMP/big"
fetch "$BASE/healthz" -X POST --data-binary @"$TMP/big"
[[ $STATUS == 413 ]] && ok "oversized body: 413" || fail "oversized body: $STATUS"
fetch "$BASE/healthz" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"
[[ $STATUS == 431 ]] && ok "oversized headers: 431" || fail "oversized headers: $STATUS"

# --- metrics: format, process series, and a counter that moves
fetch "$BASE/metrics"
[[ $STATUS == 200 ]] || fail "/metrics: $STATUS"
has_header 'Content-Type' 'text/plain; version=0\.0\.4.*' || fail "/metrics: Content-Type"
grep -q '^# TYPE yh_http_requests_total counter$' "$TMP/body" || fail "/metrics: counter TYPE line"
grep -q '^# TYPE yh_http_request_duration_seconds histogram$' "$TMP/body" ||
  fail "/metrics: histogram TYPE line"
grep -qE '^yh_http_request_duration_seconds_bucket\{route="/healthz",method="GET",le="\+Inf"\} [0-9]+$' \
  "$TMP/body" || fail "/metrics: +Inf bucket"
grep -qE '^process_start_time_seconds [0-9]{10}$' "$TMP/body" || fail "/metrics: start time"
grep -qE '^yh_build_info\{version="[^"]+"\} 1$' "$TMP/body" || fail "/metrics: build info"
grep -qE '^yh_http_requests_total\{route="unmatched",method="any",code="404"\} [1-9]' \
  "$TMP/body" || fail "/metrics: 404 not counted"
# Every non-comment line is "name{labels} value" or "name value".
if grep -vE '^#|^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+$' "$TMP/body" | grep -q .; then
  fail "/metrics: malformed lines: $(grep -vE '^#|^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+$' "$TMP/body" | head -3)"
fi
LBL='route="/healthz",method="GET",code="200"'
before=$(counter_value "$LBL")
[[ $before =~ ^[0-9]+$ ]] || fail "/metrics: no healthz counter (got '$before')"
curl -s -o /dev/null "$BASE/healthz"
curl -s -o /dev/null "$BASE/healthz"
# Counted when the response is done, possibly on another thread: poll (bounded).
after=$before
for _ in $(seq 1 100); do
  after=$(counter_value "$LBL")
  [[ $after =~ ^[0-9]+$ ]] && ((after >= before + 2)) && break
  sleep 0.05
done
[[ $after =~ ^[0-9]+$ ]] && ((after == before + 2)) && ok "request counter $before -> $after" ||
  fail "request counter did not move by 2: $before -> $after"

# --- process, worker pool and audit flush series, read at each scrape
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/body"; }
fetch "$BASE/metrics"
for m in process_cpu_seconds_total:counter process_resident_memory_bytes:gauge \
    process_open_fds:gauge process_max_fds:gauge yh_workers_queue_depth:gauge \
    yh_workers_busy:gauge yh_workers_queue_capacity:gauge \
    yh_audit_flush_duration_seconds:histogram; do
  grep -qx "# TYPE ${m%%:*} ${m#*:}" "$TMP/body" || fail "/metrics: no TYPE ${m#*:} for ${m%%:*}"
done
cpu=$(metric process_cpu_seconds_total)
rss=$(metric process_resident_memory_bytes)
nfd=$(metric process_open_fds)
maxfd=$(metric process_max_fds)
"$PY" -c 'import sys; c, r = map(float, sys.argv[1:]); sys.exit(not (0 < c < 3600 and 1 << 20 < r < 1 << 34))' \
  "${cpu:-x}" "${rss:-x}" 2>/dev/null &&
  ok "process_cpu_seconds_total $cpu, process_resident_memory_bytes $rss" ||
  fail "process CPU or memory: cpu '$cpu' rss '$rss'"
real_fds=$(($(ls /proc/"$PID"/fd | wc -l)))
limit=$(awk '/^Max open files/ { print $4 }' /proc/"$PID"/limits)
[[ $nfd =~ ^[0-9]+$ ]] && ((nfd > 3 && nfd >= real_fds - 5 && nfd <= real_fds + 5)) &&
  ok "process_open_fds $nfd (/proc/$PID/fd has $real_fds)" ||
  fail "process_open_fds '$nfd', /proc/$PID/fd has $real_fds"
[[ $maxfd == "$limit" ]] && ok "process_max_fds $maxfd, the soft limit" ||
  fail "process_max_fds '$maxfd', soft limit $limit"
[[ $(metric yh_workers_queue_depth) == 0 && $(metric yh_workers_busy) == 0 &&
   $(metric yh_workers_queue_capacity) == 1024 ]] &&
  ok "idle worker pool: depth 0, busy 0, capacity 1024" ||
  fail "idle worker pool: $(grep '^yh_workers' "$TMP/body" | tr '\n' ' ')"
if command -v promtool >/dev/null; then
  out=$(promtool check metrics <"$TMP/body" 2>&1) && ok "promtool check metrics: no problems" ||
    fail "promtool check metrics: $out"
else
  fail "promtool missing (Debian's prometheus package has it)"
fi

# Failed logins (unknown accounts) hash a password on a worker and write an audit line
# each: with more at once than the pool's 2 threads, jobs wait in the queue; afterwards
# every line written is one observation of the flush histogram.
req j GET '/login?next=%2Faccount'
tok=$(form_value csrf)
peak=$TMP/peak
: >"$peak"
( for _ in $(seq 1 200); do
    curl -s "$BASE/metrics" | awk '$1 == "yh_workers_queue_depth" || $1 == "yh_workers_busy" { printf "%s=%s ", $1, $2 } END { print "" }' >>"$peak"
    sleep 0.01
  done ) &
SCRAPER=$!
LPIDS=()
for i in $(seq 1 8); do
  curl -s -o /dev/null -b "$TMP/j.jar" --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "username=nobody$i" --data-urlencode "password=wrong" "$BASE/login" &
  LPIDS+=($!)
done
wait "${LPIDS[@]}"
kill "$SCRAPER" 2>/dev/null; wait "$SCRAPER" 2>/dev/null
grep -qE 'yh_workers_queue_depth=[1-9]' "$peak" && grep -q 'yh_workers_busy=2 ' "$peak" &&
  ok "under 8 concurrent logins the queue depth rose: $(grep -oE 'yh_workers_queue_depth=[0-9]+' "$peak" | sort -t= -k2 -n | tail -1)" ||
  fail "queue depth never rose above 0: $(sort -u "$peak" | tr '\n' ';')"
fetch "$BASE/metrics"
lines=$(grep -vc '"event":"audit.checkpoint"' "$S/audit.log")
count=$(metric yh_audit_flush_duration_seconds_count)
inf=$(metric 'yh_audit_flush_duration_seconds_bucket{le="+Inf"}')
sum=$(metric yh_audit_flush_duration_seconds_sum)
((lines >= 8)) && [[ $count == "$lines" && $inf == "$lines" ]] &&
  "$PY" -c 'import sys; s = float(sys.argv[1]); sys.exit(not 0 < s < 60)' "$sum" &&
  ok "audit flush histogram: $count lines, $sum s in all" ||
  fail "audit flush histogram: count '$count' +Inf '$inf' sum '$sum', $lines lines in the log"
out=$(promtool check metrics <"$TMP/body" 2>&1) || fail "promtool check metrics after load: $out"

# --- access log: JSON lines, no query strings
curl -s -o /dev/null "$BASE/healthz?code=SECRETVALUE42"
for _ in $(seq 1 100); do grep -q 'path=/healthz status=200' "$TMP/authd.log" && break; sleep 0.05; done
if grep -q SECRETVALUE42 "$TMP/authd.log"; then fail "query string logged"; fi
if ! python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    o = json.loads(line)
    assert "ts" in o and "level" in o and "msg" in o, n
' "$TMP/authd.log"; then fail "log is not JSON lines"; else ok "log is JSON lines"; fi
grep -q '"msg":"http method=GET path=/healthz status=200 ' "$TMP/authd.log" ||
  fail "no access log line for /healthz"

# --- state: created 0700 with a 0600 key, kept across a restart
term_authd
mode=$(stat -c %a "$TMP/state")
[[ $mode == 700 ]] && ok "state dir 0700" || fail "state dir mode $mode"
key=$(ls "$TMP/state"/*.key 2>/dev/null | head -1)
if [[ -z $key ]]; then
  fail "no key file in the state dir"
else
  kmode=$(stat -c %a "$key")
  [[ $kmode == 600 ]] && ok "key file 0600" || fail "key file mode $kmode"
  sum1=$(sha256sum "$key")
  start_authd
  fetch "$BASE/readyz"
  [[ $STATUS == 200 ]] && ok "restart: ready" || fail "restart: /readyz $STATUS $BODY"
  [[ $(sha256sum "$key") == "$sum1" ]] || fail "restart replaced the key file"
  term_authd
fi
grep -q 'SIGTERM received' "$TMP/authd.log" || fail "no SIGTERM log line"

# --- HTTPS by libmicrohttpd itself, with HSTS (needs the openssl command)
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  chmod 600 "$TMP/key.pem"
  PORT=$(free_port)
  BASE=https://127.0.0.1:$PORT
  printf 'state_dir = state\nhttp.listen = 127.0.0.1:%s\ntls.cert_file = cert.pem\ntls.key_file = key.pem\nlog.format = text\n' \
    "$PORT" >"$TMP/tls.conf"
  "$AUTHD" -c "$TMP/tls.conf" 2>>"$TMP/authd.log" &
  PID=$!
  wait_ready "$BASE/healthz" "$PID" --cacert "$TMP/cert.pem"
  fetch "$BASE/healthz" --cacert "$TMP/cert.pem"
  [[ $STATUS == 200 ]] && ok "HTTPS /healthz" || fail "HTTPS /healthz: $STATUS"
  has_header 'Strict-Transport-Security' 'max-age=[0-9]+' || fail "HTTPS: no HSTS header"
  grep -q 'issuer https://127.0.0.1:' "$TMP/authd.log" || fail "HTTPS: issuer not https://"
  term_authd
fi

# The option table in docs/operations.md is the one authd prints (no drift).
if [[ -n ${YH_SRCDIR:-} ]]; then
  "$AUTHD" --config-reference >"$TMP/ref.md"
  sed -n '/<!-- generated by: authd --config-reference -->/,/^$/p' "$YH_SRCDIR/docs/operations.md" \
    | sed '1d;/^$/d' >"$TMP/doc.md"
  if diff -q "$TMP/ref.md" "$TMP/doc.md" >/dev/null; then ok "docs/operations.md option table is current"
  else fail "docs/operations.md option table differs from authd --config-reference: $(diff "$TMP/ref.md" "$TMP/doc.md" | head -5)"; fi
fi

if ((FAILS)); then
  echo "authd_basic: $FAILS check(s) failed; authd log:"
  tail -20 "$TMP/authd.log"
  exit 1
fi
echo "authd_basic: all checks passed"
