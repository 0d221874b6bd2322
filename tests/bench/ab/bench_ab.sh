#!/usr/bin/env bash
# Two builds of authd side by side on this machine: A (BENCH_A_BUILD, e.g. a release
# build of the commit before a change) and B (YH_BUILD, the change), each with its own
# state directory under BENCH_STATE_DIR (both on the same file system), the same apps and
# the same wrk runs, alternating A, B within each round so that the other load on a
# shared machine falls on both alike. Prints each round and the median of the rounds
# with the ratio B/A:
#
#   cc          client_credentials grants/s (every grant waits for its audit line's
#               fdatasync); also audit lines per fdatasync call (the calls counted with
#               perf stat on the syscalls:sys_enter_fdatasync tracepoint; "-" without
#               perf)
#   discovery   GET /.well-known/openid-configuration
#   jwks        GET /jwks
#   introspect  POST /introspect of one access token of bench-svc (client_secret_basic)
#
# Not run by `./run bench` (it needs a second build):
#   git archive BASE | tar -x -C /tmp/base && (cd /tmp/base && meson setup b --buildtype=release && ninja -C b authd/authd authctl/authctl)
#   BENCH_A_BUILD=/tmp/base/b YH_BUILD=build-bench bash tests/bench/ab/bench_ab.sh
# Never passes or fails on time; non-zero only when something does not work.
#
# Environment: BENCH_SECONDS [10], BENCH_CONNECTIONS [32], BENCH_WRK_THREADS [2],
# BENCH_ROUNDS [3], BENCH_STATE_DIR [/tmp], BENCH_SCENARIOS ["cc discovery jwks
# introspect"], BENCH_KEEP=1 keeps the temp dir.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../../.." && pwd)
B_BUILD=${YH_BUILD:-build-bench}
A_BUILD=${BENCH_A_BUILD:?set BENCH_A_BUILD to the build to compare with}
DUR=${BENCH_SECONDS:-10}
CONN=${BENCH_CONNECTIONS:-32}
WT=${BENCH_WRK_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-cc discovery jwks introspect}"
FORM_LUA=$SRC/tests/bench/peer/form.lua

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

# setup SIDE BUILD: the state directory, config and apps of one side (authd stopped after).
declare -A ISS SVC AT
setup() {
	local side=$1 b=$2 port
	AUTHD=$b/authd/authd
	AUTHCTL=$b/authctl/authctl
	mkdir -p "$TMP/$side"
	echo "log.level = warn" >"$TMP/$side/authd.conf"
	port=$(bench_free_port)
	ISS[$side]=http://127.0.0.1:$port
	bench_authd_start "$TMP/$side/authd.conf" "$TMP/$side/state" "$port"
	bench_authd_apps "$TMP/$side/authd.conf" "$TMP/$side/state" "${ISS[$side]}" http://127.0.0.1:9/cb
	SVC[$side]="Basic $(printf '%s:%s' bench-svc "$SVC_SECRET" | base64 -w0)"
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

RES=$TMP/results   # round|scenario|side|rate|p99|lines per flush
: >"$RES"
measure() {   # measure ROUND SCEN SIDE URL [wrk options...] [-- script args...]
	local round=$1 scen=$2 side=$3 url=$4 out rps p99 bad f0 f1 l0 l1 lpf=- opts=() args=()
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
	if [[ $scen == cc && -n $PERF ]]; then
		perf stat -x, -e syscalls:sys_enter_fdatasync -p "$AUTHD_PID" -o "$out.perf" -- \
			sleep "$DUR" >/dev/null 2>&1 &
		pst=$!
	fi
	wrk -t"$WT" -c"$CONN" -d"${DUR}s" --timeout 10s --latency "${opts[@]}" "$url" "${args[@]}" >"$out" 2>&1 ||
		die "wrk failed: $(cat "$out")"
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
	echo "$round|$scen|$side|$rps|$p99|$lpf" >>"$RES"
	printf '  %-10s %s %8s/s  p99 %8s ms  lines/fdatasync %s\n' "$scen" "$side" "$rps" "$p99" "$lpf"
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
    for side in "AB":
        v = [float(r[3]) for r in rows if r[1] == s and r[2] == side]
        med[side] = statistics.median(v) if v else 0
        l = [float(r[5]) for r in rows if r[1] == s and r[2] == side and r[5] != "-"]
        lpf[side] = "%.1f" % statistics.median(l) if l else "-"
    ratio = med["B"] / med["A"] if med["A"] else float("nan")
    extra = "  lines/fdatasync A %s B %s" % (lpf["A"], lpf["B"]) if s == "cc" else ""
    print("  %-10s A %9.0f/s  B %9.0f/s  B/A %.2fx%s" % (s, med["A"], med["B"], ratio, extra))
PYEOF
