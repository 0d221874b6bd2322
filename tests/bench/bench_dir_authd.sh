#!/usr/bin/env bash
# authd on its two directory backends in the same run: SQLite (the default) and OpenLDAP
# (directory.backend = ldap, on a throwaway slapd started by tests/integration/slapd.sh
# with the shipped schema and indexes). For each backend, a release authd on a free
# loopback port (log.level = warn, the default password hashing: argon2id t=2,
# 19 MiB, unless BENCH_ARGON2_* say otherwise), the same apps and users; both run at
# once, and each figure is measured on sqlite then straight away on ldap:
#
#   login     password logins/s: each a fresh browser, GET /login (CSRF cookie + token),
#             then POST /login with the person's ID number -> 303 with a session cookie;
#             BENCH_LOGIN_CONNECTIONS chains (node, bench_oidc_flows.mjs login). The
#             directory: the person by the ID number's blind index, the credential, the
#             last-login update
#   sso       authorization code flow round trips/s: GET /authorize with a session cookie
#             -> 302 with a code -> POST /token (openid profile: an ID token);
#             BENCH_CONNECTIONS chains (node, bench_oidc_flows.mjs sso). The directory:
#             the consent, and the person, staff mandate and legacy links for the ID token
#   refresh   refresh_token grants/s with rotation (openid profile: a new ID token, so the
#             same directory reads as the code's redemption); wrk, BENCH_CONNECTIONS
#             connections (bench_oidc_refresh.lua)
#
# client_credentials is left out: it never reads the directory, so both backends give
# the same figure (bench_oidc.sh measures it). Prints each figure with its p50/p99 for
# sqlite and for ldap, the ratio ldap/sqlite, and the CPU slapd used during each ldap
# measurement. Never passes or fails on time: the exit status is non-zero only when
# something does not work. Without slapd the ldap half is skipped (said so).
#
# Environment (defaults in brackets): BENCH_SECONDS [10], BENCH_CONNECTIONS [32],
# BENCH_LOGIN_CONNECTIONS [8], BENCH_WRK_THREADS [2], BENCH_USERS [4] (users for the
# sessions and refresh tokens; as many more for the logins), BENCH_SESSIONS [8],
# BENCH_ARGON2_T, BENCH_ARGON2_M_KIB (unset: authd's defaults), BENCH_KEEP=1 (keep the
# temporary directory, path printed).
set -euo pipefail

BUILD=${YH_BUILD:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
AUTHD=$BUILD/authd/authd
AUTHCTL=$BUILD/authctl/authctl
FLOWS=$SRC/tests/bench/bench_oidc_flows.mjs
RT_LUA=$SRC/tests/bench/bench_oidc_refresh.lua

DUR=${BENCH_SECONDS:-10}
CONN=${BENCH_CONNECTIONS:-32}
LCONN=${BENCH_LOGIN_CONNECTIONS:-8}
WT=${BENCH_WRK_THREADS:-2}
NUSERS=${BENCH_USERS:-4}
NSESS=${BENCH_SESSIONS:-8}
TICK=$(getconf CLK_TCK)

die() { echo "bench_dir_authd: $*" >&2; exit 1; }
for tool in wrk node curl python3 openssl; do
	command -v "$tool" >/dev/null || die "$tool is not installed (./run deps)"
done
[[ -x $AUTHD && -x $AUTHCTL ]] || die "authd/authctl not built in $BUILD"
((CONN >= WT && CONN % WT == 0)) || die "BENCH_CONNECTIONS must be a multiple of BENCH_WRK_THREADS"

TMP=$(mktemp -d /tmp/yh-bench-dir-authd-XXXXXX)
ROOT=$TMP
CB=http://127.0.0.1:9/cb
declare -A PIDS=() ISSUERS=() SECRETS=() USERS=() LUSERS=() ERRS=()
cleanup() {
	local p
	for p in "${PIDS[@]}" ${AUTHD_PID:-}; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	[[ ! -d $TMP/slapd ]] || slapd_stop "$TMP/slapd"
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "bench_dir_authd: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
# shellcheck source=lib/authd.sh
. "$SRC/tests/bench/lib/authd.sh"
# shellcheck source=../integration/slapd.sh
. "$SRC/tests/integration/slapd.sh"

# slapd's user+system CPU ticks (0 when it is not running).
slapd_ticks() {
	if [[ -n ${SLAPD_PID:-} && -r /proc/$SLAPD_PID/stat ]]; then
		awk '{ print $14 + $15 }' "/proc/$SLAPD_PID/stat"
	else echo 0; fi
}

# Results: one line per figure in $RES: backend|figure|rate|p50|p99|slapd cores|note
RES=$TMP/results
: >"$RES"

# record BACKEND FIGURE RATE P50 P99 TICKS0 SECONDS NOTE: one line of $RES, echoed.
record() {
	local cores=-
	[[ $1 != ldap ]] || cores=$(awk -v a="$6" -v b="$(slapd_ticks)" -v k="$TICK" -v s="$7" \
		'BEGIN { printf "%.2f", (b - a) / k / s }')
	echo "$1|$2|$3|$4|$5|$cores|$8" >>"$RES"
	printf '  %-7s %-34s %8s/s  p50 %8s ms  p99 %8s ms  slapd %5s cores  %s\n' "$1" "$2" "$3" \
		"$4" "$5" "$cores" "$8"
}

# flow BACKEND FIGURE MODE CONCURRENCY USERS_JSON: one node run (bench_oidc_flows.mjs).
flow() {
	local t0 k0 out=$TMP/$1-$3.json
	bench_flows_cfg "$TMP/$1-$3.cfg.json" "${ISSUERS[$1]}" "$TMP/$1" bench-web "${SECRETS[$1]}" \
		"$CB" "$5" "$NSESS" $((CONN + WT)) "$4" "$DUR"
	k0=$(slapd_ticks)
	t0=$(date +%s.%N)
	node "$FLOWS" "$3" "$TMP/$1-$3.cfg.json" >"$out" || die "$1: $3 load failed"
	read -r rate p50 p99 note <<<"$(python3 - "$out" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
note = "" if not j["errors"] else "%d errors! first: %s" % (j["errors"], j["first_error"])
if j.get("busy"):
    note += " %d answered 503 busy with Retry-After" % j["busy"]
print("%.1f %.2f %.2f %s" % (j["rate"], j["p50_ms"], j["p99_ms"], note))
EOF
)"
	record "$1" "$2" "$rate" "$p50" "$p99" "$k0" "$(awk -v t="$t0" -v n="$(date +%s.%N)" 'BEGIN { print n - t }')" "$note"
}

# setup NAME: authd on directory NAME (sqlite or ldap) started, with the apps, the users
# and the sessions and refresh tokens of the flows; it runs until the end.
setup() {
	local name=$1 conf=$ROOT/$1/authd.conf s=$ROOT/$1/state port i pw idn users= lusers=
	local TMP=$ROOT/$1     # bench_authd_start and bench_authctl keep their logs in TMP
	mkdir -p "$s"
	port=$(bench_free_port)
	ISSUER=http://127.0.0.1:$port
	{
		echo "log.level = warn"
		[[ -z ${BENCH_ARGON2_T:-} ]] || echo "password.argon2_t_cost = $BENCH_ARGON2_T"
		[[ -z ${BENCH_ARGON2_M_KIB:-} ]] || echo "password.argon2_m_cost_kib = $BENCH_ARGON2_M_KIB"
		if [[ $name == ldap ]]; then
			echo "directory.backend = ldap"
			echo "directory.ldap_uris = $SLAPD_URI"
			echo "directory.ldap_base = $SLAPD_SUFFIX"
			echo "directory.ldap_bind_dn = $SLAPD_ADMIN_DN"
			echo "directory.ldap_password = $SLAPD_ADMIN_PW"
		fi
	} >"$conf"
	if [[ $name == ldap ]]; then bench_authctl "$conf" "$s" directory init; fi
	bench_authd_start "$conf" "$s" "$port"
	PIDS[$name]=$AUTHD_PID
	bench_authd_apps "$conf" "$s" "$ISSUER" "$CB"
	ISSUERS[$name]=$ISSUER
	SECRETS[$name]=$WEB_SECRET
	# Two sets of users, as in bench_oidc.sh: the sessions and refresh chains on the first,
	# the logins on the second (a login burst would evict the chains' sessions). Each logs
	# in with the ID number, the identifier whose blind index the directory is searched by.
	for i in $(seq 1 $((2 * NUSERS))); do
		pw="Bench-pass-$i-$(openssl rand -hex 4)"
		idn=$(bench_id_number "$(printf '11010119900307%03d' "$i")")
		printf '%s\n' "$pw" | bench_authctl "$conf" "$s" user add --id-number "$idn" \
			--name "测试$i" --phone "1381234$(printf '%04d' "$i")" --username "bench$i" --password-stdin
		if ((i <= NUSERS)); then users+="${users:+,}{\"username\":\"$idn\",\"password\":\"$pw\"}"
		else lusers+="${lusers:+,}{\"username\":\"$idn\",\"password\":\"$pw\"}"; fi
	done
	USERS[$name]=$users
	LUSERS[$name]=$lusers
	bench_flows_cfg "$TMP/prepare.json" "$ISSUER" "$TMP" bench-web "$WEB_SECRET" "$CB" \
		"$users" "$NSESS" $((CONN + WT)) "$CONN" "$DUR"
	node "$FLOWS" prepare "$TMP/prepare.json" >"$TMP/prepare.out" ||
		{ tail -20 "$TMP/authd.log" >&2; die "$name: could not log in and mint refresh tokens"; }
}

# refresh NAME: the refresh grants of authd on NAME (wrk).
refresh() {
	local name=$1 out=$ROOT/$1-refresh.txt t0 k0
	k0=$(slapd_ticks)
	t0=$(date +%s.%N)
	wrk -t"$WT" -c"$CONN" -d"${DUR}s" --timeout 10s --latency -s "$RT_LUA" \
		-H "Authorization: Basic $(printf '%s:%s' bench-web "${SECRETS[$name]}" | base64 -w0)" \
		"${ISSUERS[$name]}/token" -- "$ROOT/$name/refresh.txt" "$WT" >"$out" 2>&1 ||
		die "wrk failed: $(cat "$out")"
	read -r rate p50 p99 note <<<"$(bench_wrk_figures "$out")"
	record "$name" "refresh_token (rotating), $CONN conn" "$rate" "$p50" "$p99" "$k0" \
		"$(awk -v t="$t0" -v n="$(date +%s.%N)" 'BEGIN { print n - t }')" "$note"
}

echo "bench_dir_authd: $(nproc) CPU cores, $DUR s per measurement"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine skews every figure alike)"
BACKENDS=(sqlite)
if slapd_missing; then
	echo "  ldap    skipped: slapd is not installed (apt-get install slapd ldap-utils)"
else
	slapd_start "$TMP/slapd" >/dev/null || die "slapd did not start"
	BACKENDS+=(ldap)
fi
for be in "${BACKENDS[@]}"; do setup "$be"; done
# Both authds run from here on; each figure is measured on one backend, then at once on
# the other, so that a change in the machine's load between figures touches both alike.
for be in "${BACKENDS[@]}"; do flow "$be" "password login (ID number), $LCONN chains" login "$LCONN" "${LUSERS[$be]}"; done
for be in "${BACKENDS[@]}"; do flow "$be" "code flow (authorize+token), $CONN chains" sso "$CONN" "${USERS[$be]}"; done
for be in "${BACKENDS[@]}"; do refresh "$be"; done
for be in "${BACKENDS[@]}"; do
	kill -0 "${PIDS[$be]}" 2>/dev/null || die "$be: authd died during the run: $(tail -5 "$ROOT/$be/authd.log")"
	ERRS[$be]=$(grep -c '"level":"error"' "$ROOT/$be/authd.log" || true)
done

echo
echo "bench_dir_authd results (directory backends; ratio = ldap / sqlite)"
printf '%-42s %9s %8s %8s   %9s %8s %8s %6s   %6s\n' figure "sqlite/s" "p50 ms" "p99 ms" \
	"ldap/s" "p50 ms" "p99 ms" slapd ratio
while IFS='|' read -r be fig rate p50 p99 _ note; do
	[[ $be == sqlite ]] || continue
	IFS='|' read -r _ _ lrate lp50 lp99 lcores lnote <<<"$(awk -F'|' -v f="$fig" \
		'$1 == "ldap" && $2 == f' "$RES")"
	ratio=-
	[[ -z ${lrate:-} ]] || ratio=$(awk -v a="$lrate" -v b="$rate" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	printf '%-42s %9s %8s %8s   %9s %8s %8s %6s   %6s\n' "$fig" "$rate" "$p50" "$p99" \
		"${lrate:--}" "${lp50:--}" "${lp99:--}" "${lcores:--}" "$ratio"
	[[ -z $note ]] || echo "    ^ sqlite: $note"
	[[ -z ${lnote:-} ]] || echo "    ^ ldap: $lnote"
done <"$RES"
echo "  slapd = the CPU slapd used during the ldap measurement, in cores"
echo "  authd logged ${ERRS[sqlite]:-0} error lines on sqlite, ${ERRS[ldap]:--} on ldap"
