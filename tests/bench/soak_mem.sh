#!/usr/bin/env bash
# Memory soak: does authd give its memory back once the records of a busy spell have
# expired? A release authd (memory session store) with short lifetimes
# (token.refresh_lifetime = 60 s, token.code_lifetime = 10 s) runs SOAK_FLOWS full code
# flows (GET /authorize with a session cookie -> 302 with a code -> POST /token, each
# starting a refresh-token family), in rounds of SOAK_ROUND_SECONDS, then waits until
# the records have expired and the sweep (every 30 s) has dropped them. Prints authd's
# resident size (VmRSS) idle before the load, at its peak (VmHWM) and after the TTLs,
# with the records the session store held at each point (yh_session_store_records),
# and the ratio after/idle (within 1.2 is the bar: memory back near idle once the TTLs
# passed).
#
# Never passes or fails on size; non-zero only when something does not work.
# Environment: SOAK_FLOWS [50000], SOAK_CONCURRENCY [32], SOAK_ROUND_SECONDS [10],
# SOAK_WAIT_MAX [240] (seconds to wait for the records to go), BENCH_KEEP=1.
set -euo pipefail

BUILD=${YH_BUILD:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
AUTHD=$BUILD/authd/authd
AUTHCTL=$BUILD/authctl/authctl
FLOWS=$SRC/tests/bench/bench_oidc_flows.mjs
NFLOWS=${SOAK_FLOWS:-50000}
CONC=${SOAK_CONCURRENCY:-32}
ROUND=${SOAK_ROUND_SECONDS:-10}
WAIT_MAX=${SOAK_WAIT_MAX:-240}

die() { echo "soak_mem: $*" >&2; exit 1; }
for tool in node curl python3 openssl; do
	command -v "$tool" >/dev/null || die "$tool is not installed (./run deps)"
done
[[ -x $AUTHD && -x $AUTHCTL ]] || die "authd/authctl not built in $BUILD"
TMP=$(mktemp -d /tmp/yh-soak-mem-XXXXXX)
AUTHD_PID=
cleanup() {
	if [[ -n $AUTHD_PID ]] && kill -0 "$AUTHD_PID" 2>/dev/null; then
		kill -TERM "$AUTHD_PID" 2>/dev/null || true
		wait "$AUTHD_PID" 2>/dev/null || true
	fi
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "soak_mem: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
# shellcheck source=lib/authd.sh
. "$SRC/tests/bench/lib/authd.sh"

PORT=$(bench_free_port)
ISSUER=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
printf 'log.level = warn\ntoken.refresh_lifetime = 60\ntoken.code_lifetime = 10\n' >"$CONF"
bench_authd_start "$CONF" "$S" "$PORT"
CB=http://127.0.0.1:9/cb
bench_authd_apps "$CONF" "$S" "$ISSUER" "$CB"
USERS=
for i in 1 2 3 4; do
	pw="Soak-pass-$i-$(openssl rand -hex 4)"
	printf '%s\n' "$pw" | bench_authctl "$CONF" "$S" user add \
		--id-number "$(bench_id_number "$(printf '11010119900308%03d' "$i")")" \
		--name "测试$i" --phone "1381235$(printf '%04d' "$i")" --username "soak$i" --password-stdin
	USERS+="${USERS:+,}{\"username\":\"soak$i\",\"password\":\"$pw\"}"
done
cat >"$TMP/flows.json" <<JSON
{"issuer": "$ISSUER", "out": "$TMP", "client_id": "bench-web", "client_secret": "$WEB_SECRET",
 "redirect_uri": "$CB", "users": [$USERS], "sessions": 8, "refresh_tokens": 1,
 "concurrency": $CONC, "seconds": $ROUND, "grace": 2}
JSON
node "$FLOWS" prepare "$TMP/flows.json" >"$TMP/prepare.out" || die "could not log in"

rss_kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$AUTHD_PID/status"; }
# records: yh_session_store_records, "-" from a build without it.
records() { curl -s "$ISSUER/metrics" | awk '$1 == "yh_session_store_records" { n = $2 } END { print (n == "" ? "-" : n) }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Idle: after setup, once the setup's own codes have expired and been swept.
sleep 45
IDLE_RSS=$(rss_kib VmRSS)
IDLE_REC=$(records)
echo "soak_mem: idle: RSS $(mib "$IDLE_RSS") MiB, $IDLE_REC records; running $NFLOWS code flows ($CONC chains)"
done_flows=0
t0=$(date +%s)
while ((done_flows < NFLOWS)); do
	node "$FLOWS" sso "$TMP/flows.json" >"$TMP/round.json" || die "sso load failed"
	read -r ok errs <<<"$(python3 -c 'import json,sys;j=json.load(open(sys.argv[1]));print(j["ok"],j["errors"])' "$TMP/round.json")"
	((errs == 0)) || die "flows failed: $(cat "$TMP/round.json")"
	done_flows=$((done_flows + ok))
done
PEAK_REC=$(records)
LOAD_RSS=$(rss_kib VmRSS)
echo "soak_mem: $done_flows flows in $(($(date +%s) - t0)) s; right after: RSS $(mib "$LOAD_RSS") MiB, $PEAK_REC records"
t1=$(date +%s)
while :; do
	sleep 5
	rec=$(records)
	# Without the gauge: the longest lifetime (60 s) and a sweep period (30 s), and more.
	if [[ $rec == - ]]; then (($(date +%s) - t1 >= 100)) && break; continue; fi
	if ((rec <= IDLE_REC + 16)) || (($(date +%s) - t1 >= WAIT_MAX)); then break; fi
done
# One more sweep period, so the sweep that dropped the last records has also trimmed.
sleep 31
AFTER_RSS=$(rss_kib VmRSS)
AFTER_REC=$(records)
PEAK_RSS=$(rss_kib VmHWM)
echo "soak_mem: after the TTLs ($(($(date +%s) - t1)) s): RSS $(mib "$AFTER_RSS") MiB, $AFTER_REC records"
printf 'memory after %d code flows: RSS idle %s MiB / peak %s MiB / after TTLs %s MiB (after/idle %.2f; goal <= 1.20); records idle %s / after the load %s / after TTLs %s\n' \
	"$done_flows" "$(mib "$IDLE_RSS")" "$(mib "$PEAK_RSS")" "$(mib "$AFTER_RSS")" \
	"$(awk -v a="$AFTER_RSS" -v i="$IDLE_RSS" 'BEGIN { print a / i }')" "$IDLE_REC" "$PEAK_REC" "$AFTER_REC"
