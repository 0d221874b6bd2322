#!/usr/bin/env bash
# Two builds of authd side by side on this machine: A (BENCH_A_BUILD, e.g. a release
# build of the commit before a change) and B (YH_BUILD, the change), each with its own
# state directory under BENCH_STATE_DIR (both on the same file system), the same apps and
# the same wrk runs, alternating A, B within each round so that the other load on a
# shared machine falls on both alike. Prints each round (rate, p99, and the CPU time authd
# and its keyd spent per request, from /proc over the run) and the median of the rounds
# with the ratio B/A:
#
#   cc          client_credentials grants/s (every grant waits for its audit line's
#               fdatasync); also audit lines per fdatasync call (the calls counted with
#               perf stat on the syscalls:sys_enter_fdatasync tracepoint; "-" without
#               perf)
#   discovery   GET /.well-known/openid-configuration
#   jwks        GET /jwks
#   introspect  POST /introspect of one access token of bench-svc (client_secret_basic)
#   refresh     refresh_token grants/s with rotation (bench-web, client_secret_basic), each
#               answer's new token chained into the next request (bench_oidc_refresh.lua);
#               the tokens are minted after each start by bench_oidc_flows.mjs (one
#               password login, then code flows; node), every grant waits for its
#               token.issue line's fdatasync as cc does
#
# Not run by `./run bench` (it needs a second build):
#   git archive BASE | tar -x -C /tmp/base && (cd /tmp/base && meson setup b --buildtype=release && ninja -C b authd/authd authctl/authctl)
#   BENCH_A_BUILD=/tmp/base/b YH_BUILD=build-bench bash tests/bench/ab/bench_ab.sh
# Never passes or fails on time; non-zero only when something does not work.
#
# Environment: BENCH_SECONDS [10], BENCH_CONNECTIONS [32], BENCH_WRK_THREADS [2],
# BENCH_ROUNDS [3], BENCH_STATE_DIR [/tmp], BENCH_SCENARIOS ["cc discovery jwks
# introspect"], BENCH_KEEP=1 keeps the temp dir, BENCH_A_CONF / BENCH_B_CONF (lines added
# to side A's / B's authd.conf, e.g. "http.threads = 4": two settings of one build, with
# BENCH_A_BUILD the same as YH_BUILD).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../../.." && pwd)
B_BUILD=${YH_BUILD:-build-bench}
A_BUILD=${BENCH_A_BUILD:?set BENCH_A_BUILD to the build to compare with}
DUR=${BENCH_SECONDS:-10}
CONN=${BENCH_CONNECTIONS:-32}
WT=${BENCH_WRK_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-cc discovery jwks introspect refresh}"
FORM_LUA=$SRC/tests/bench/peer/form.lua
RT_LUA=$SRC/tests/bench/bench_oidc_refresh.lua
FLOWS=$SRC/tests/bench/bench_oidc_flows.mjs

die() { echo "bench_ab: $*" >&2; exit 1; }
for tool in wrk curl python3 openssl; do
	command -v "$tool" >/dev/null || die "$tool is not installed (./run deps)"
done
for b in "$A_BUILD" "$B_BUILD"; do
	[[ -x $b/authd/authd && -x $b/authctl/authctl ]] || die "authd/authctl not built in $b"
done
TMP=$(mktemp -d "${BENCH_STATE_DIR:-/tmp}/yh-bench-ab-XXXXXX")
AUTHD_PID=
cleanup() {
	if [[ -n $AUTHD_PID ]] && kill -0 "$AUTHD_PID" 2>/dev/null; then
		kill -TERM "$AUTHD_PID" 2>/dev/null || true
		wait "$AUTHD_PID" 2>/dev/null || true
	fi
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "bench_ab: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
# shellcheck source=../lib/authd.sh
. "$SRC/tests/bench/lib/authd.sh"

# setup SIDE BUILD: the state directory, config and apps of one side, and the person
# whose code flows give the refresh tokens (authd stopped after).
declare -A ISS SVC AT WEB
BENCH_PW=Bench-ab-$(openssl rand -hex 6)
setup() {
	local side=$1 b=$2 port extra
	AUTHD=$b/authd/authd
	AUTHCTL=$b/authctl/authctl
	mkdir -p "$TMP/$side"
	echo "log.level = warn" >"$TMP/$side/authd.conf"
	if [[ $side == A ]]; then extra=${BENCH_A_CONF:-}; else extra=${BENCH_B_CONF:-}; fi
	[[ -z $extra ]] || printf '%s\n' "$extra" >>"$TMP/$side/authd.conf"
	port=$(bench_free_port)
	ISS[$side]=http://127.0.0.1:$port
	bench_authd_start "$TMP/$side/authd.conf" "$TMP/$side/state" "$port"
	bench_authd_apps "$TMP/$side/authd.conf" "$TMP/$side/state" "${ISS[$side]}" http://127.0.0.1:9/cb
	SVC[$side]="Basic $(printf '%s:%s' bench-svc "$SVC_SECRET" | base64 -w0)"
	WEB[$side]="Basic $(printf '%s:%s' bench-web "$WEB_SECRET" | base64 -w0)"
	printf '%s\n' "$BENCH_PW" | bench_authctl "$TMP/$side/authd.conf" "$TMP/$side/state" user add \
		--id-number "$(bench_id_number 11010119900307001)" --name 测试 --username bench1 \
		--password-stdin
	cat >"$TMP/$side/flows.json" <<EOF
{"issuer": "${ISS[$side]}", "out": "$TMP/$side", "client_id": "bench-web",
 "client_secret": "$WEB_SECRET", "redirect_uri": "http://127.0.0.1:9/cb",
 "users": [{"username": "bench1", "password": "$BENCH_PW"}], "sessions": 1,
 "refresh_tokens": $((CONN + WT)), "concurrency": 1, "seconds": 1, "grace": 1}
EOF
	AT[$side]=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/cc.json")
	kill -TERM "$AUTHD_PID"
	wait "$AUTHD_PID" || true
	AUTHD_PID=
}
start() {   # start SIDE BUILD
	AUTHD=$2/authd/authd
	bench_authd_start "$TMP/$1/authd.conf" "$TMP/$1/state" "${ISS[$1]##*:}"
}
stop() {
	kill -TERM "$AUTHD_PID"
	wait "$AUTHD_PID" || true
	AUTHD_PID=
}
PERF=
if command -v perf >/dev/null && perf stat -e syscalls:sys_enter_fdatasync -- true >/dev/null 2>&1; then
	PERF=perf
fi
audit_lines() { wc -l <"$TMP/$1/state/audit.log"; }
# ticks: CPU ticks (user + system) of authd and its children (keyd) so far.
ticks() {
	local p t=0
	for p in "$AUTHD_PID" $(cat "/proc/$AUTHD_PID/task/"*/children 2>/dev/null); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)

RES=$TMP/results   # round|scenario|side|rate|p99|lines per flush|CPU us per request
: >"$RES"
measure() {   # measure ROUND SCEN SIDE URL [wrk options...] [-- script args...]
	local round=$1 scen=$2 side=$3 url=$4 out rps p99 bad f0 f1 l0 l1 lpf=- opts=() args=()
	local c0 c1 cpu
	shift 4
	while (($#)); do
		if [[ $1 == -- ]]; then args=("$@"); break; fi
		opts+=("$1")
		shift
	done
	out=$TMP/wrk-$round-$scen-$side.txt
	l0=$(audit_lines "$side")
	# fdatasync calls while wrk runs, counted by the kernel's tracepoint (perf stat),
	# the same way for both builds; without perf, "-".
	local pst=
	if [[ ($scen == cc || $scen == refresh) && -n $PERF ]]; then
		perf stat -x, -e syscalls:sys_enter_fdatasync -p "$AUTHD_PID" -o "$out.perf" -- \
			sleep "$DUR" >/dev/null 2>&1 &
		pst=$!
	fi
	c0=$(ticks)
	wrk -t"$WT" -c"$CONN" -d"${DUR}s" --timeout 10s --latency "${opts[@]}" "$url" "${args[@]}" >"$out" 2>&1 ||
		die "wrk failed: $(cat "$out")"
	c1=$(ticks)
	if [[ -n $pst ]]; then
		wait "$pst" || true
		l1=$(audit_lines "$side")
		f0=$(awk -F, '/fdatasync/ { print $1 }' "$out.perf")
		if [[ $f0 =~ ^[0-9]+$ ]] && ((f0 > 0)); then
			lpf=$(awk -v l=$((l1 - l0)) -v f="$f0" 'BEGIN { printf "%.1f", l / f }')
		fi
	fi
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	p99=$(bench_to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	[[ -z $bad ]] || die "$scen on $side: $bad answers not 200"
	if grep -q '^refresh_errors' "$out"; then
		read -r _ f0 _ f1 <<<"$(grep '^refresh_errors' "$out")"
		((f0 + f1 == 0)) || die "$scen on $side: $f0 refresh errors, $f1 starved chains"
	fi
	# CPU time authd (with keyd) spent per request answered, over the run.
	cpu=$(awk -v t="$((c1 - c0))" -v hz="$HZ" '/requests in/ { n = $1 }
		END { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }' "$out")
	echo "$round|$scen|$side|$rps|$p99|$lpf|$cpu" >>"$RES"
	printf '  %-10s %s %8s/s  p99 %8s ms  CPU %6s us/req  lines/fdatasync %s\n' "$scen" "$side" \
		"$rps" "$p99" "$cpu" "$lpf"
}

setup A "$A_BUILD"
setup B "$B_BUILD"
echo "bench_ab: A = $A_BUILD, B = $B_BUILD; state in $TMP ($(df --output=fstype "$TMP" | tail -n1));" \
	"$(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= ROUNDS; r++)); do
	echo "round $r (each $DUR s):"
	for side in A B; do
		if [[ $side == A ]]; then b=$A_BUILD; else b=$B_BUILD; fi
		start "$side" "$b"
		for scen in "${SCENARIOS[@]}"; do
			case $scen in
			cc) measure "$r" cc "$side" "${ISS[$side]}/token" -H "Authorization: ${SVC[$side]}" \
				-s "$FORM_LUA" -- grant_type=client_credentials ;;
			discovery) measure "$r" discovery "$side" "${ISS[$side]}/.well-known/openid-configuration" ;;
			jwks) measure "$r" jwks "$side" "${ISS[$side]}/jwks" ;;
			introspect) measure "$r" introspect "$side" "${ISS[$side]}/introspect" \
				-H "Authorization: ${SVC[$side]}" -s "$FORM_LUA" -- "token=${AT[$side]}" ;;
			refresh)
				# The session store is in memory: fresh tokens after each start.
				node "$FLOWS" prepare "$TMP/$side/flows.json" >"$TMP/$side/flows.out" 2>&1 ||
					die "could not mint refresh tokens: $(tail -3 "$TMP/$side/flows.out")"
				measure "$r" refresh "$side" "${ISS[$side]}/token" -H "Authorization: ${WEB[$side]}" \
					-s "$RT_LUA" -- "$TMP/$side/refresh.txt" "$WT" ;;
			*) die "unknown scenario $scen" ;;
			esac
		done
		stop
	done
done
echo "medians of $ROUNDS rounds:"
python3 - "$RES" <<'PYEOF'
import statistics, sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1])]
scens = []
for r in rows:
    if r[1] not in scens:
        scens.append(r[1])
for s in scens:
    med = {}
    lpf = {}
    cpu = {}
    for side in "AB":
        v = [float(r[3]) for r in rows if r[1] == s and r[2] == side]
        med[side] = statistics.median(v) if v else 0
        c = [float(r[6]) for r in rows if r[1] == s and r[2] == side]
        cpu[side] = statistics.median(c) if c else 0
        l = [float(r[5]) for r in rows if r[1] == s and r[2] == side and r[5] != "-"]
        lpf[side] = "%.1f" % statistics.median(l) if l else "-"
    ratio = med["B"] / med["A"] if med["A"] else float("nan")
    per_round = []
    for rnd in sorted({r[0] for r in rows if r[1] == s}, key=int):
        a = [float(r[3]) for r in rows if r[0] == rnd and r[1] == s and r[2] == "A"]
        b = [float(r[3]) for r in rows if r[0] == rnd and r[1] == s and r[2] == "B"]
        if a and b and a[0]:
            per_round.append("%.2f" % (b[0] / a[0]))
    extra = "  lines/fdatasync A %s B %s" % (lpf["A"], lpf["B"]) if s in ("cc", "refresh") else ""
    cratio = cpu["B"] / cpu["A"] if cpu["A"] else float("nan")
    print("  %-10s A %9.0f/s  B %9.0f/s  B/A %.2fx (rounds %s)  CPU/req A %.1f us B %.1f us B/A %.2f%s"
          % (s, med["A"], med["B"], ratio, " ".join(per_round), cpu["A"], cpu["B"], cratio, extra))
PYEOF
