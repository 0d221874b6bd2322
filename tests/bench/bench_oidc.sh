#!/usr/bin/env bash
# authd OpenID Connect benchmark. Starts a release authd on a free loopback port
# (log.level = warn), registers two apps and a few users, then measures in the same run:
#
#   baseline  the ES256 signing limit of this machine: bench_jws's JWS ES256 sign rate
#             (the token/ code authd signs with, one thread) x CPU cores; openssl speed's
#             raw ECDSA P-256 rate is printed beside it for reference
#   fsync     appends + fdatasync/s in the state directory, one thread: authd writes and
#             flushes an audit line before answering every grant (group commit: the
#             grants waiting for one flush are all in the next), beside the signing limit;
#             again with a spinning process per core (how much the flush slows when the
#             cores are busy, as they are while wrk runs)
#   cc        client_credentials grants/s, wrk, 32 connections, client_secret_basic; then
#             with 4 x 32 connections: each grant waits for its audit line's flush, so the
#             rate with 32 clients is bounded by that wait, and more clients share a flush
#   refresh   refresh_token grants/s with rotation, wrk, 32 connections, each response's
#             new refresh token chained into the next request (bench_oidc_refresh.lua)
#   half      cc and refresh again, offered at about half the rate just measured (each
#             wrk connection pauses between requests): latency when authd is loaded but
#             not saturated (at full speed the p99 is mostly queueing for the 2 cores
#             that authd shares with wrk)
#   sso       full SSO round trips/s: GET /authorize with a session cookie -> 302 with a
#             code -> POST /token; 32 concurrent chains (node, bench_oidc_flows.mjs)
#   discovery GET /.well-known/openid-configuration/s, wrk, 32 connections
#   introspect POST /introspect/s of one access token (client_secret_basic), wrk
#   tmpfs     cc again with the audit log on /dev/shm (authd restarted on the same state):
#             the same run without the disk's flush
#   argon2    argon2id alone with the configured parameters, through libargon2 (the
#             library authd links) on workers.threads threads in parallel
#   login     password logins/s: each a fresh browser, GET /login (CSRF cookie + token) then
#             POST /login -> 303 with a session cookie; 8 concurrent chains
#   storm     cc and refresh again while a login burst (32 browsers at once, the worker
#             queue always full) runs in parallel
#
# and prints a table: each figure, its p50/p99 latency, the CPU authd used (in cores),
# and its ratio to the signing limit. Never passes or fails on time: the exit status is
# non-zero only when something does not work (authd does not start, a flow is refused).
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]        duration of each measurement
#   BENCH_CONNECTIONS [32]    connections / concurrent chains for token grants and SSO
#   BENCH_LOGIN_CONNECTIONS [8]   concurrent browsers in the login measurement
#   BENCH_BURST_CONNECTIONS [32]  concurrent browsers in the login burst
#   BENCH_SESSIONS [8]        login sessions the SSO chains share (round robin); each costs
#                             a password login during setup
#   BENCH_WRK_THREADS [2]     wrk threads
#   BENCH_USERS [4]           users the logins and SSO sessions are spread over
#   BENCH_HTTP_THREADS, BENCH_WORKERS, BENCH_WORKERS_NICE   authd http.threads /
#                             workers.threads / workers.nice (unset: authd's defaults)
#   BENCH_ARGON2_T, BENCH_ARGON2_M_KIB, BENCH_ARGON2_P   password.argon2_* (unset: the
#                             production defaults 2 / 19456 / 1)
#   BENCH_AUDIT_FILE          audit.file (e.g. on /dev/shm, to see the cost of the disk flush)
#   BENCH_KEEP=1              keep the state directory and logs (path printed)
set -euo pipefail

BUILD=${YH_BUILD:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
AUTHD=$BUILD/authd/authd
AUTHCTL=$BUILD/authctl/authctl
JWS=$BUILD/tests/bench/bench_jws
FLOWS=$SRC/tests/bench/bench_oidc_flows.mjs
CC_LUA=$SRC/tests/bench/bench_oidc_cc.lua
RT_LUA=$SRC/tests/bench/bench_oidc_refresh.lua
FORM_LUA=$SRC/tests/bench/peer/form.lua
GET_LUA=$SRC/tests/bench/bench_get.lua

DUR=${BENCH_SECONDS:-10}
CONN=${BENCH_CONNECTIONS:-32}
LCONN=${BENCH_LOGIN_CONNECTIONS:-8}
BURST=${BENCH_BURST_CONNECTIONS:-32}
NSESS=${BENCH_SESSIONS:-8}
WT=${BENCH_WRK_THREADS:-2}
NUSERS=${BENCH_USERS:-4}
CORES=$(nproc)
TICK=$(getconf CLK_TCK)

die() { echo "bench_oidc: $*" >&2; exit 1; }
for tool in wrk node curl python3 openssl; do
	command -v "$tool" >/dev/null || die "$tool is not installed (./run deps)"
done
[[ -x $AUTHD && -x $AUTHCTL ]] || die "authd/authctl not built in $BUILD"
((CONN >= WT && CONN % WT == 0)) || die "BENCH_CONNECTIONS must be a multiple of BENCH_WRK_THREADS"

TMP=$(mktemp -d /tmp/yh-bench-oidc-XXXXXX)
PID=
BG=()
cleanup() {
	PID=${PID:-${AUTHD_PID:-}}   # authd may have died while starting
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
	if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "bench_oidc: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
# shellcheck source=lib/authd.sh
. "$SRC/tests/bench/lib/authd.sh"

calc() { awk "BEGIN { printf \"%.${2:-0}f\", $1 }"; }

# CPU accounting: authd's user+system ticks, and the machine's busy/total ticks.
cpu_snap() {
	local a
	a=$(awk '{ print $14 + $15 }' "/proc/$PID/stat")
	awk -v a="$a" '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i;
		print a, t - $5 - $6, t; exit }' /proc/stat
}
# cpu_delta "SNAP0" "SNAP1" SECONDS -> "authd_cores machine_busy_pct"
cpu_delta() {
	read -r a0 b0 t0 <<<"$1"
	read -r a1 b1 t1 <<<"$2"
	awk -v a="$((a1 - a0))" -v b="$((b1 - b0))" -v t="$((t1 - t0))" -v s="$3" -v k="$TICK" \
		'BEGIN { printf "%.2f %.0f", a / k / s, (t > 0 ? 100 * b / t : 0) }'
}

# ---- the signing limit -------------------------------------------------------------------
echo "bench_oidc: $CORES CPU cores, $DUR s per measurement, $CONN connections"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine skews every figure alike)"
JWS_1=
if [[ -x $JWS ]]; then
	JWS_1=$("$JWS" 0.25 | awk '$1 == "ES256" { print $3; exit }')
fi
OSSL_1=$(openssl speed -seconds 1 ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ { print int($(NF-1)) }')
if [[ -n $JWS_1 ]]; then
	SIGN_1=$JWS_1
	SIGN_WHAT="JWS ES256 sign (bench_jws: token/'s signing path, 1 thread)"
else
	SIGN_1=$OSSL_1
	SIGN_WHAT="raw ECDSA P-256 sign (openssl speed, 1 process; bench_jws not built)"
fi
[[ -n $SIGN_1 && $SIGN_1 -gt 0 ]] || die "could not measure the ES256 signing rate"
LIMIT=$((SIGN_1 * CORES))
echo "$SIGN_WHAT: $SIGN_1/s; x $CORES cores = signing limit $LIMIT signatures/s"
echo "raw ECDSA P-256 sign of a digest (openssl speed, 1 process, reference): ${OSSL_1:-?}/s"

# ---- authd, apps and users ----------------------------------------------------------------
PORT=$(bench_free_port)
ISSUER=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
{
	echo "log.level = warn"
	[[ -n ${BENCH_HTTP_THREADS:-} ]] && echo "http.threads = $BENCH_HTTP_THREADS"
	[[ -n ${BENCH_WORKERS:-} ]] && echo "workers.threads = $BENCH_WORKERS"
	[[ -n ${BENCH_WORKERS_NICE:-} ]] && echo "workers.nice = $BENCH_WORKERS_NICE"
	[[ -n ${BENCH_ARGON2_T:-} ]] && echo "password.argon2_t_cost = $BENCH_ARGON2_T"
	[[ -n ${BENCH_ARGON2_M_KIB:-} ]] && echo "password.argon2_m_cost_kib = $BENCH_ARGON2_M_KIB"
	[[ -n ${BENCH_ARGON2_P:-} ]] && echo "password.argon2_parallelism = $BENCH_ARGON2_P"
	[[ -n ${BENCH_AUDIT_FILE:-} ]] && echo "audit.file = $BENCH_AUDIT_FILE"
	true
} >"$CONF"
"$AUTHD" -c "$CONF" -d "$S" -T >"$TMP/effective.conf" 2>&1 ||
	die "authd -T: $(head -3 "$TMP/effective.conf")"
effective() { awk -v k="$1" '$1 == k && $2 == "=" { print $3 }' "$TMP/effective.conf"; }
T_COST=$(effective password.argon2_t_cost)
M_COST=$(effective password.argon2_m_cost_kib)
P_COST=$(effective password.argon2_parallelism)
WORKERS=$(effective workers.threads)
HTHREADS=$(effective http.threads)
# 0 = authd's default (authd_config.c, resolve_threads): 8 per CPU, at least 16.
((HTHREADS > 0)) || HTHREADS=$((8 * CORES > 16 ? 8 * CORES : 16))
AUDIT_FILE=$(effective audit.file)
[[ -n $AUDIT_FILE && $AUDIT_FILE != "(unset)" ]] || AUDIT_FILE=$S/audit.log
[[ -n $T_COST && -n $M_COST && -n $P_COST && -n $WORKERS ]] ||
	die "cannot read the effective configuration (authd -T)"

bench_authd_start "$CONF" "$S" "$PORT"
PID=$AUTHD_PID
ctl() { bench_authctl "$CONF" "$S" "$@"; }
CB=http://127.0.0.1:9/cb
bench_authd_apps "$CONF" "$S" "$ISSUER" "$CB"
# Two sets of users: those whose sessions carry the SSO chains and the refresh tokens, and
# those the login measurements log in over and over. Kept apart because a user's 33rd
# session evicts the oldest (sess max_per_user), and an ended session revokes the refresh
# tokens issued in it: a login burst on the same users would break the refresh chains.
USERS_JSON=
LOGIN_USERS_JSON=
for i in $(seq 1 $((2 * NUSERS))); do
	pw="Bench-pass-$i-$(openssl rand -hex 4)"
	printf '%s\n' "$pw" | ctl user add --id-number "$(bench_id_number "$(printf '11010119900307%03d' "$i")")" \
		--name "测试$i" --phone "1381234$(printf '%04d' "$i")" --username "bench$i" --password-stdin
	u="{\"username\":\"bench$i\",\"password\":\"$pw\"}"
	if ((i <= NUSERS)); then USERS_JSON+="${USERS_JSON:+,}$u"
	else LOGIN_USERS_JSON+="${LOGIN_USERS_JSON:+,}$u"; fi
done
SVC_BASIC="Authorization: Basic $(printf '%s:%s' bench-svc "$SVC_SECRET" | base64 -w0)"
WEB_BASIC="Authorization: Basic $(printf '%s:%s' bench-web "$WEB_SECRET" | base64 -w0)"

flows_cfg() {   # flows_cfg FILE CONCURRENCY SECONDS [GRACE [USERS]]
	bench_flows_cfg "$1" "$ISSUER" "$TMP" bench-web "$WEB_SECRET" "$CB" "${5:-$USERS_JSON}" \
		"$NSESS" $((3 * (CONN + WT))) "$2" "$3" "${4:-2}"
}
flows_cfg "$TMP/prepare.json" "$CONN" "$DUR"
t0=$(date +%s.%N)
node "$FLOWS" prepare "$TMP/prepare.json" >"$TMP/prepare.out" ||
	{ tail -20 "$TMP/authd.log" >&2; die "could not log in and mint refresh tokens (see above)"; }
echo "setup: $NUSERS users (and $NUSERS more for the login runs), $NSESS sessions (password logins), $((3 * (CONN + WT))) refresh tokens" \
	"in $(calc "$(date +%s.%N) - $t0" 1) s; argon2id t=$T_COST m=${M_COST}KiB p=$P_COST," \
	"$WORKERS worker threads"
head -n $((CONN + WT)) "$TMP/refresh.txt" >"$TMP/refresh1.txt"
sed -n "$((CONN + WT + 1)),$((2 * (CONN + WT)))p" "$TMP/refresh.txt" >"$TMP/refresh2.txt"
tail -n $((CONN + WT)) "$TMP/refresh.txt" >"$TMP/refresh3.txt"

# ---- measurements ------------------------------------------------------------------------
# Results: one line per figure in $TMP/results: name|rate|p50|p99|cores|busy|signs|note
RES=$TMP/results
: >"$RES"

# authd's own view of /token latency: yh_http_request_duration_seconds{route="/token"}
# (first request byte to response sent, audit flush included) scraped before and after a
# run. srv_p99 BEFORE AFTER prints the run's p99 interpolated within its histogram bucket
# (as Prometheus' histogram_quantile does) and the share of requests answered within
# 10 ms. The gap to wrk's p99 is time outside authd: the load generator's own waits
# for a CPU and the kernel's socket queues.
srv_snap() { curl -s "$ISSUER/metrics" >"$1"; }
srv_p99() {
	python3 - "$1" "$2" "${WRK_PATH:-/token}" "${WRK_METHOD:-POST}" <<'PYEOF'
import re, sys
def buckets(path):
    b = {}
    pre = 'yh_http_request_duration_seconds_bucket{route="%s",method="%s",le="' % (sys.argv[3], sys.argv[4])
    for line in open(path):
        m = re.match(re.escape(pre) + r'([^"]+)"\} (\d+)', line)
        if m:
            b[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] = int(m.group(2))
    return b
a, z = buckets(sys.argv[1]), buckets(sys.argv[2])
les = sorted(z)
cum = [z[le] - a.get(le, 0) for le in les]
total = cum[-1] if cum else 0
if total == 0:
    print("- -"); sys.exit()
want, prev_le, prev_c, p99 = 0.99 * total, 0.0, 0, les[-1]
for le, c in zip(les, cum):
    if c >= want:
        p99 = le if le == float("inf") else prev_le + (le - prev_le) * (want - prev_c) / max(c - prev_c, 1)
        break
    prev_le, prev_c = le, c
within = dict(zip(les, cum)).get(0.01, 0) / total
print("%s %.1f%%" % ("%.2f" % (p99 * 1000) if p99 != float("inf") else ">10000", 100 * within))
PYEOF
}

# run_wrk NAME SIGNS LUA HEADER [ARGS...]: one wrk run, its figures appended to $RES.
# WRK_PATH (default /token) and WRK_METHOD (default POST) name the endpoint.
run_wrk() {
	local name=$1 signs=$2 lua=$3 hdr=$4 out=$TMP/wrk-$(( $(wc -l <"$RES") + 1 )).txt
	local s0 s1 t0 rps p50 p99 note args=()
	shift 4
	(($# == 0)) || args=(-- "$@")
	srv_snap "$TMP/m0"
	t0=$(date +%s.%N)
	s0=$(cpu_snap)
	BENCH_PACE_MS=${PACE_MS:-} wrk -t"$WT" -c"$CONN" -d"${DUR}s" --timeout 10s --latency -H "$hdr" -s "$lua" \
		"$ISSUER${WRK_PATH:-/token}" "${args[@]}" >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
	s1=$(cpu_snap)
	srv_snap "$TMP/m1"
	read -r sp99 s10 <<<"$(srv_p99 "$TMP/m0" "$TMP/m1")"
	read -r rps p50 p99 note <<<"$(bench_wrk_figures "$out")"
	echo "$name|$rps|$p50|$p99|$(cpu_delta "$s0" "$s1" "$(calc "$(date +%s.%N) - $t0" 3)" | tr ' ' '|')|$signs|$note|$sp99|$s10" >>"$RES"
	printf '  %-44s %7s/s  p50 %7s ms  p99 %7s ms  (in authd: p99 %s ms, %s within 10 ms)  %s\n' \
		"$name" "$rps" "$p50" "$p99" "$sp99" "$s10" "$note"
}
# run_flow NAME SIGNS MODE: one node run, its figures appended to $RES.
run_flow() {
	local name=$1 signs=$2 mode=$3 conc=$4 out=$TMP/flow-$3.json s0 s1 t0 j users=$USERS_JSON
	[[ $mode != login ]] || users=$LOGIN_USERS_JSON
	flows_cfg "$TMP/$mode.json" "$conc" "$DUR" 2 "$users"
	t0=$(date +%s.%N)
	s0=$(cpu_snap)
	node "$FLOWS" "$mode" "$TMP/$mode.json" >"$out" || die "$mode load failed"
	s1=$(cpu_snap)
	j=$(cat "$out")
	flow_line "$name" "$signs" "$j" "$(cpu_delta "$s0" "$s1" "$(calc "$(date +%s.%N) - $t0" 3)")"
}
flow_line() {   # NAME SIGNS JSON "CORES BUSY"
	python3 - "$@" >>"$RES" <<'EOF'
import json, sys
name, signs, j, cpu = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4].split()
note = "" if not j["errors"] else "%d errors! first: %s " % (j["errors"], j["first_error"])
if j.get("busy"):
    note += "%d answered 503 busy with Retry-After (p99 %.2f ms) " % (j["busy"], j["busy_p99_ms"])
if j.get("unfinished"):
    note += "%d still waiting at the end (counted in p99 with their age then)" % j["unfinished"]
print("|".join([name, "%.1f" % j["rate"], "%.2f" % j["p50_ms"], "%.2f" % j["p99_ms"],
                cpu[0], cpu[1], signs, note]))
EOF
	IFS='|' read -r n rps p50 p99 _ _ _ note <<<"$(tail -n1 "$RES")"
	printf '  %-44s %7s/s  p50 %7s ms  p99 %7s ms  %s\n' "$n" "$rps" "$p50" "$p99" "$note"
}

# The audit disk's flush rate: 200-byte appends, each followed by fdatasync, one thread;
# once on an idle machine, once with a spinning process per core. During a wrk run the
# cores are busy too, and on a virtual machine the flush then takes longer (its
# completion waits for a CPU): that longer flush is what every grant waits for.
fsync_rate() {
	python3 - "$(dirname "$AUDIT_FILE")" <<'EOF'
import os, sys, time
path = os.path.join(sys.argv[1], ".bench-fsync")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
line, n, end = b"x" * 199 + b"\n", 0, time.perf_counter() + 1.0
s = time.perf_counter()
while time.perf_counter() < end:
    os.write(fd, line); os.fdatasync(fd); n += 1
el = time.perf_counter() - s
os.close(fd); os.unlink(path)
print("%.0f" % (n / el))
EOF
}
FSYNC=$(fsync_rate)
SPIN=()
for _ in $(seq "$(nproc)"); do
	timeout 5 sh -c 'while :; do :; done' &
	SPIN+=($!)
done
FSYNC_BUSY=$(fsync_rate)
kill "${SPIN[@]}" 2>/dev/null || true
wait "${SPIN[@]}" 2>/dev/null || true
echo "audit disk: $FSYNC appends+fdatasync/s (one thread; $FSYNC_BUSY/s with every core kept" \
	"busy) in $(dirname "$AUDIT_FILE");" \
	"authd: $HTHREADS HTTP threads, each waits for the audit flush before answering a grant"

echo "measuring (each $DUR s):"
run_wrk "client_credentials, $CONN conn" 1 "$CC_LUA" "$SVC_BASIC"
# Four times the clients: each grant waits about a millisecond for its audit line's
# flush (the commit window and the disk's fdatasync). With $CONN clients the wait, not
# the CPU, bounds the rate; more clients in flight share each flush.
CONN=$((CONN * 4)) run_wrk "client_credentials, $((CONN * 4)) conn" 1 "$CC_LUA" "$SVC_BASIC"
run_wrk "refresh_token (rotating), $CONN conn" 2 "$RT_LUA" "$WEB_BASIC" "$TMP/refresh1.txt" "$WT"
run_flow "SSO round trip (authorize+token), $CONN chains" 2 sso "$CONN"
# Read-only endpoints: a static document and an introspection (one ES256 verification,
# no write, no audit line).
WRK_PATH=/.well-known/openid-configuration WRK_METHOD=GET \
	run_wrk "discovery document, $CONN conn" 0 "$GET_LUA" "Accept: application/json"
AT=$(curl -sf -u "bench-svc:$SVC_SECRET" -d grant_type=client_credentials "$ISSUER/token" |
	python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])') || die "no access token to introspect"
WRK_PATH=/introspect run_wrk "introspection (RFC 7662), $CONN conn" 0 "$FORM_LUA" "$SVC_BASIC" "token=$AT"

# The same grants offered at about half the rate just measured (each connection pausing
# between requests): the latency a loaded server gives when it is not saturated. At full
# speed the load generators and authd share the machine's cores, and the p99 above is
# mostly time spent queued for a CPU.
rate_of() { awk -F'|' -v n="$1" '$1 == n { print int($2) }' "$RES"; }
half_pace() { awk -v r="$1" -v c="$CONN" 'BEGIN { printf "%d", (r > 0 ? 2000 * c / r : 10) }'; }
CC_RATE=$(rate_of "client_credentials, $CONN conn")
RT_RATE=$(rate_of "refresh_token (rotating), $CONN conn")
PACE_MS=$(half_pace "$CC_RATE") run_wrk "client_credentials at half load (~$((CC_RATE / 2))/s)" 1 "$CC_LUA" "$SVC_BASIC"
PACE_MS=$(half_pace "$RT_RATE") run_wrk "refresh_token at half load (~$((RT_RATE / 2))/s)" 2 "$RT_LUA" "$WEB_BASIC" "$TMP/refresh3.txt" "$WT"

# argon2id alone: the same parameters through libargon2 on $WORKERS threads (ctypes
# releases the GIL around the call, so the threads hash in parallel like authd's workers).
A2=$(python3 - "$T_COST" "$M_COST" "$P_COST" "$WORKERS" 3 <<'EOF' || echo "0 0"
import ctypes, ctypes.util, os, sys, threading, time
t, m, p, w, secs = (int(x) for x in sys.argv[1:6])
lib = ctypes.CDLL(ctypes.util.find_library("argon2") or "libargon2.so.1")
f = lib.argon2id_hash_raw
f.argtypes = [ctypes.c_uint32] * 3 + [ctypes.c_char_p, ctypes.c_size_t] * 3
counts = [0] * w
def run(i):
    out = ctypes.create_string_buffer(32)
    pw, salt = b"Bench-pass-2026", os.urandom(16)
    end = time.perf_counter() + secs
    while time.perf_counter() < end or counts[i] == 0:
        if f(t, m, p, pw, len(pw), salt, len(salt), out, 32) != 0:
            raise SystemExit("argon2id_hash_raw failed")
        counts[i] += 1
s = time.perf_counter()
th = [threading.Thread(target=run, args=(i,)) for i in range(w)]
for x in th: x.start()
for x in th: x.join()
el = time.perf_counter() - s
print("%.2f %.1f" % (sum(counts) / el, 1000 * el * w / sum(counts)))
EOF
)
read -r A2_RATE A2_MS <<<"$A2"
printf '  %-44s %7s/s  (%s ms per hash per thread)\n' "argon2id alone, $WORKERS threads" "$A2_RATE" "$A2_MS"
run_flow "password login (GET+POST /login), $LCONN chains" 0 login "$LCONN"

# The storm: logins in the background for the whole time, the token grants measured again.
flows_cfg "$TMP/storm.json" "$BURST" $((3 * DUR + 3)) 0 "$LOGIN_USERS_JSON"
node "$FLOWS" login "$TMP/storm.json" >"$TMP/flow-storm.json" 2>&1 &
BG+=($!)
sleep 2      # let the worker queue fill
echo "  (a login burst of $BURST browsers runs from here on)"
run_wrk "client_credentials during login burst" 1 "$CC_LUA" "$SVC_BASIC"
run_wrk "refresh_token during login burst" 2 "$RT_LUA" "$WEB_BASIC" "$TMP/refresh2.txt" "$WT"
PACE_MS=$(half_pace "$CC_RATE") run_wrk "cc at half load (~$((CC_RATE / 2))/s) during the burst" 1 "$CC_LUA" "$SVC_BASIC"
wait "${BG[0]}" || die "the login burst failed: $(cat "$TMP/flow-storm.json")"
BG=()
flow_line "password login during the burst (whole run)" 0 "$(cat "$TMP/flow-storm.json")" "- -"

kill -0 "$PID" 2>/dev/null || die "authd died during the run: $(tail -5 "$TMP/authd.log")"
errs=$(grep -c '"level":"error"' "$TMP/authd.log" || true)

# The same grants with the audit log on tmpfs: what the disk's flush costs, in the same
# run (authd restarted on the same state with audit.file in /dev/shm).
if [[ -z ${BENCH_AUDIT_FILE:-} && -d /dev/shm ]]; then
	SHM=$(mktemp -d /dev/shm/yh-bench-oidc-XXXXXX)
	kill -TERM "$PID"
	wait "$PID" || true
	PID=
	{ cat "$CONF"; echo "audit.file = $SHM/audit.log"; } >"$TMP/authd-shm.conf"
	bench_authd_start "$TMP/authd-shm.conf" "$S" "$PORT"
	PID=$AUTHD_PID
	run_wrk "client_credentials, audit log on tmpfs" 1 "$CC_LUA" "$SVC_BASIC"
	kill -0 "$PID" 2>/dev/null || die "authd died during the run: $(tail -5 "$TMP/authd.log")"
	errs=$((errs + $(grep -c '"level":"error"' "$TMP/authd.log" || true)))
	kill -TERM "$PID"
	wait "$PID" || true
	PID=
	rm -rf "$SHM"
fi

# ---- the table ---------------------------------------------------------------------------
echo
echo "bench_oidc results ($CORES cores; signing limit $LIMIT ES256 signatures/s = $SIGN_1/s x $CORES;"
echo "audit disk $FSYNC fdatasync/s, $FSYNC_BUSY/s with the cores busy; authd $HTHREADS HTTP threads," \
	"$WORKERS workers)"
printf '%-46s %9s %8s %8s %8s %6s %5s %5s %9s %8s\n' "figure" "rate/s" "p50 ms" "p99 ms" \
	"in authd" "authd" "busy" "signs" "vs limit" "per core"
printf '%-46s %9s %8s %8s %8s %6s %5s %5s %9s %8s\n' "ES256 signing limit" "$LIMIT" "-" "-" "-" \
	"-" "-" "1" "1.000" "1.000"
while IFS='|' read -r name rps p50 p99 cores busy signs note sp99 _; do
	if [[ $signs == 0 ]]; then
		vs="-"; pc="-"
	else
		vs=$(calc "$rps * $signs / $LIMIT" 3)
		pc=$( [[ $cores == - ]] && echo - || calc "($cores > 0 ? $rps * $signs / $cores / $SIGN_1 : 0)" 3)
	fi
	[[ $busy == - ]] || busy="$busy%"
	printf '%-46s %9s %8s %8s %8s %6s %5s %5s %9s %8s\n' "$name" "$rps" "$p50" "$p99" \
		"${sp99:--}" "$cores" "$busy" "$signs" "$vs" "$pc"
	[[ -z $note ]] || echo "    ^ $note"
done <"$RES"
printf '%-46s %9s\n' "argon2id alone ($WORKERS threads, t=$T_COST m=${M_COST}KiB)" "$A2_RATE"
LOGIN_RATE=$(awk -F'|' '$1 ~ /^password login \(GET/ { print $2 }' "$RES")
cat <<EOF

How to read it:
  rate/s    grants (or round trips, logins) completed per second
  p50, p99  latency seen by the load generator (wrk, node)
  in authd  p99 of the same requests by authd's own histogram (yh_http_request_duration_
            seconds: first request byte to response sent, audit flush included), so the
            time the generator itself waited for a CPU is left out
  authd     CPU authd used during the measurement, in cores (of $CORES); busy = the whole
            machine's CPU busy (the load generators, wrk and node, run on the same cores)
  signs     ES256 signatures per operation: client_credentials 1 (access token);
            refresh and the SSO round trip 2 (access token + ID token)
  vs limit  rate x signs / signing limit: the share of this machine's ES256 capacity the
            operation reaches (1.000 = nothing but signing, on every core)
  per core  rate x signs / authd's CPU cores / one core's sign rate: the same share per
            core authd actually got (the load generators take the rest)
  logins    password logins/s = $LOGIN_RATE beside argon2id alone = $A2_RATE hashes/s on the
            same $WORKERS worker threads: ratio $(calc "${LOGIN_RATE:-0} / (${A2_RATE:-0} > 0 ? $A2_RATE : 1)" 2)
            (a login is one argon2id verification plus the form, session and audit work);
            during the burst, a login that finds the hashing queue full is answered at once
            with 503 and Retry-After ("answered 503 busy"): not an error, and not in rate/s
  audit     every grant is answered only once its audit line is flushed, but waits with
            its connection suspended, holding no HTTP thread: the lines of every grant that
            arrived during one fdatasync share the next one ($FSYNC fdatasync/s alone here,
            one line each; $FSYNC_BUSY/s with every core busy, as they are under wrk).
            "audit log on tmpfs" is the same grant without the disk; "$((CONN * 4)) conn"
            the same grant with more clients waiting on each flush (with $CONN, the
            flush's wait leaves the cores partly idle). The access token
            is signed in keyd's batches meanwhile (yh_keyd_batched_signatures_total)
  read-only discovery (a document rendered once per configuration) and introspection
            (one ES256 verification, no write); their peer baseline is Glewlwyd in the same
            run: ./run bench peer
  authd logged $errs error lines during the run
EOF
