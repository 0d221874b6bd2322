#!/usr/bin/env bash
# What privilege separation costs the token endpoint, measured in one run: client_credentials
# grants/s (client_secret_basic: a secret hash, then one ES256 signature for the access
# token) with the keys in the HTTP process (keys.in_process = yes, for measurement only)
# and through the key holder keyd (the default), on the same state directory, in
# alternating runs (in process, keyd, in process, keyd, ...) so that a shared machine's
# load hits both alike; then bench_keyd's round-trip figures (a keyed MAC and an ES256
# signature, in process vs through keyd). Prints both rates and their ratio, and the CPU
# time each grant cost authd (its HTTP process plus keyd): on a machine shared with other
# work the rates swing with the neighbours' load, the CPU per grant much less. Never
# passes or fails on time: the exit status is non-zero only when something does not work.
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]       duration of each wrk run
#   BENCH_ROUNDS [2]         runs of each configuration
#   BENCH_CONNECTIONS [32]   wrk connections
#   BENCH_WRK_THREADS [2]    wrk threads
#   BENCH_STATE_PARENT [/dev/shm, else /tmp]  where the state directory (and the audit
#                            log) goes: on tmpfs the audit flush costs nothing, so the
#                            figures show the CPU path, where keyd's cost would show
set -euo pipefail

BUILD=${YH_BUILD:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
AUTHD=$BUILD/authd/authd
AUTHCTL=$BUILD/authctl/authctl
MICRO=$BUILD/tests/bench/bench_keyd
CC_LUA=$SRC/tests/bench/bench_oidc_cc.lua
DUR=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-2}
CONN=${BENCH_CONNECTIONS:-32}
WT=${BENCH_WRK_THREADS:-2}
PARENT=${BENCH_STATE_PARENT:-}
[[ -n $PARENT ]] || { [[ -d /dev/shm && -w /dev/shm ]] && PARENT=/dev/shm || PARENT=/tmp; }

die() { echo "bench_keyd: $*" >&2; exit 1; }
for tool in wrk curl python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed (./run deps)"
done
[[ -x $AUTHD && -x $AUTHCTL ]] || die "authd/authctl not built in $BUILD"

TMP=$(mktemp -d "$PARENT/yh-bench-keyd-XXXXXX")
PID=
cleanup() {
	if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
S=$TMP/state
SECRET=$(python3 -c 'import secrets;print(secrets.token_hex(24))')
BASIC="Authorization: Basic $(printf '%s:%s' bench-svc "$SECRET" | base64 -w0)"
printf 'log.level = warn\nkeys.in_process = yes\n' >"$TMP/inproc.conf"
printf 'log.level = warn\nkeys.in_process = no\n' >"$TMP/keyd.conf"

start() {   # start CONF
	${BENCH_AUTHD_PREFIX:-} "$AUTHD" -c "$1" -d "$S" -l "127.0.0.1:$PORT" 2>>"$TMP/authd.log" &
	PID=$!
	for _ in $(seq 1 200); do
		curl -sf -o /dev/null "$BASE/healthz" && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	tail -5 "$TMP/authd.log" >&2
	die "authd did not start"
}
stop() {
	kill -TERM "$PID"
	wait "$PID" || die "authd exited with an error: $(tail -3 "$TMP/authd.log")"
	PID=
}
# ticks: CPU ticks (user + system) of authd and its keyd, if any.
ticks() {
	local p t=0
	for p in "$PID" $(cat "/proc/$PID/task/$PID/children" 2>/dev/null); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}
# grants: one wrk run; prints "RATE CPU_US_PER_GRANT" (and dies on any non-200 answer).
grants() {
	local out=$TMP/wrk.txt t0 t1
	t0=$(ticks)
	wrk -t"$WT" -c"$CONN" -d"${DUR}s" --timeout 10s -H "$BASIC" -s "$CC_LUA" "$BASE/token" \
		>"$out" 2>&1 || die "wrk failed: $(cat "$out")"
	t1=$(ticks)
	grep -q 'Non-2xx' "$out" && die "non-200 answers: $(cat "$out")"
	awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '/^Requests:/ {}
		/requests in/ { n = $1 } /^Requests\/sec:/ { r = $2 }
		END { printf "%.0f %.1f", r, (n > 0 ? t * 1e6 / hz / n : 0) }' "$out"
}

start "$TMP/keyd.conf"
"$AUTHCTL" -d "$S" client add bench-svc --secret "$SECRET" --grant client_credentials \
	>/dev/null 2>>"$TMP/authd.log" || die "authctl client add"
for _ in $(seq 1 50); do
	[[ $(curl -s -o /dev/null -w '%{http_code}' -H "$BASIC" -d grant_type=client_credentials \
		"$BASE/token") == 200 ]] && break
	sleep 0.1
done
stop

echo "bench_keyd: $(nproc) CPUs; client_credentials grants (ES256), wrk -t$WT -c$CONN -d${DUR}s," \
	"$ROUNDS runs each, alternating; state and audit log in $PARENT"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine skews every figure alike)"
IN=() KD=() IN_CPU=() KD_CPU=()
for r in $(seq 1 "$ROUNDS"); do
	start "$TMP/inproc.conf"
	read -r rate cpu <<<"$(grants)"
	IN+=("$rate") IN_CPU+=("$cpu")
	stop
	start "$TMP/keyd.conf"
	read -r rate cpu <<<"$(grants)"
	KD+=("$rate") KD_CPU+=("$cpu")
	stop
	echo "  run $r: in process ${IN[-1]}/s (${IN_CPU[-1]} us CPU/grant), keyd ${KD[-1]}/s" \
		"(${KD_CPU[-1]} us CPU/grant)"
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.1f", s / NR }'; }
IN_M=$(mean "${IN[@]}") KD_M=$(mean "${KD[@]}")
IN_C=$(mean "${IN_CPU[@]}") KD_C=$(mean "${KD_CPU[@]}")
echo
printf 'client_credentials grants/s, keys in the HTTP process (keys.in_process = yes): %8.0f/s  %6.1f us CPU per grant\n' "$IN_M" "$IN_C"
printf 'client_credentials grants/s, keys in keyd (default):                         %8.0f/s  %6.1f us CPU per grant\n' "$KD_M" "$KD_C"
awk -v a="$IN_M" -v b="$KD_M" -v ca="$IN_C" -v cb="$KD_C" 'BEGIN {
	printf "ratio keyd / in process: %.3f in grants/s; %.3f in CPU per grant (%+.1f us, authd and keyd together)\n",
	    b / a, cb / ca, cb - ca }'
if [[ -x $MICRO ]]; then
	echo
	"$MICRO" 1
fi
