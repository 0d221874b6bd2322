#!/usr/bin/env bash
# authd beside a peer: Glewlwyd, the C OpenID Connect server Debian ships (package
# glewlwyd, 2.7.5 in Debian 12). `./run bench peer` installs it and runs this script.
#
# Both servers run on this machine, each on a free 127.0.0.1 port with its state in a
# private temp dir, both signing with ES256 and keeping their state on disk:
#   authd     a release build (YH_BUILD), log.level = warn; every grant waits for its audit
#             line's fdatasync
#   Glewlwyd  its own config file and its own SQLite database, created from the schema the
#             package ships; one OpenID Connect plugin instance with an ES256 key made by
#             rnbyc; tokens, codes and refresh tokens are rows in that database (SQLite's
#             defaults: each insert is a synced transaction). The system's glewlwyd
#             service is never started, read or called.
# Each server gets the same apps: bench-svc (confidential, client_credentials) and bench-web
# (confidential, code + refresh_token, client_secret_basic), and a user logged in once who
# has consented to bench-web.
#
# Scenarios, each `wrk -t2 -c32 -d10s` against both servers:
#   cc          POST token endpoint, grant_type=client_credentials (one ES256 signature)
#   discovery   GET the discovery document
#   introspect  POST introspection endpoint (RFC 7662), token = one access token of bench-svc
#   refresh     POST token endpoint, grant_type=refresh_token, rotating: each response's new
#               refresh token chained into the next request (../bench_oidc_refresh.lua)
#   code        the code flow of a logged-in user: GET the authorization endpoint with the
#               session cookie -> 302 with a code -> POST token endpoint with the code
#               (PKCE S256); counted in round trips (code_flow.lua)
# Rounds alternate the servers (each scenario: authd, then Glewlwyd), three rounds; printed
# per round and as medians of the rounds with the ratio authd/Glewlwyd.
#
# Never passes or fails on time: the exit status is non-zero only when something does not
# work (a server does not start, a grant is refused, an answer that is not 200/302).
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]      duration of each measurement
#   BENCH_CONNECTIONS [32]  wrk connections
#   BENCH_WRK_THREADS [2]   wrk threads
#   BENCH_ROUNDS [3]        rounds
#   BENCH_STATE_DIR [/tmp]  where both keep their state (a fresh dir inside it): authd's
#                           state dir and Glewlwyd's SQLite database; /dev/shm shows both
#                           without the disk's flushes
#   BENCH_KEEP=1            keep the temp dir (configs, logs, databases)
set -euo pipefail

BUILD=${YH_BUILD:-build}
SRC=$(cd "$(dirname "$0")/../../.." && pwd)
AUTHD=$BUILD/authd/authd
AUTHCTL=$BUILD/authctl/authctl
HERE=$SRC/tests/bench/peer
FLOWS=$SRC/tests/bench/bench_oidc_flows.mjs
RT_LUA=$SRC/tests/bench/bench_oidc_refresh.lua
FORM_LUA=$HERE/form.lua
CODE_LUA=$HERE/code_flow.lua

DUR=${BENCH_SECONDS:-10}
CONN=${BENCH_CONNECTIONS:-32}
WT=${BENCH_WRK_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
NRT=$((CONN + WT))       # refresh tokens one refresh run needs (see bench_oidc_refresh.lua)

die() { echo "bench_peer: $*" >&2; exit 1; }
for tool in wrk node curl python3 openssl sqlite3 glewlwyd rnbyc; do
	command -v "$tool" >/dev/null || die "$tool is not installed (./run bench peer installs what this needs)"
done
[[ -x $AUTHD && -x $AUTHCTL ]] || die "authd/authctl not built in $BUILD"
((CONN >= WT && CONN % WT == 0)) || die "BENCH_CONNECTIONS must be a multiple of BENCH_WRK_THREADS"
GL_SCHEMA=$(dpkg -L glewlwyd 2>/dev/null | grep -E '/init\.sqlite3\.sql(\.gz)?$' | head -n1) || true
[[ -n $GL_SCHEMA && -f $GL_SCHEMA ]] || die "the glewlwyd package's SQLite schema (init.sqlite3.sql) is missing"
GL_LIBDIR=/usr/lib/glewlwyd
GL_VERSION=$(dpkg-query -W -f='${Version}' glewlwyd)

TMP=$(mktemp -d /tmp/yh-bench-peer-XXXXXX)
STATE=$TMP
[[ -z ${BENCH_STATE_DIR:-} ]] || STATE=$(mktemp -d "$BENCH_STATE_DIR/yh-bench-peer-XXXXXX")
AUTHD_PID=
GL_PID=
FAILED=0
cleanup() {
	local p
	for p in "$AUTHD_PID" "$GL_PID"; do
		if [[ -n $p ]] && kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "bench_peer: kept $TMP $STATE"; else rm -rf "$TMP" "$STATE"; fi
}
trap cleanup EXIT
# shellcheck source=../lib/authd.sh
. "$SRC/tests/bench/lib/authd.sh"

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
CB=http://127.0.0.1:9/cb
# One PKCE pair for every code request, on both servers. Glewlwyd's authorization endpoint
# first sends every browser to its login page (a static page whose script finds the session
# valid and sends the browser back with g_continue added); G_AUTH_QUERY asks for that second
# step directly, so Glewlwyd's round trip here is one request shorter than a browser's.
VERIFIER=$(openssl rand -hex 32)
CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
AUTH_QUERY="response_type=code&client_id=bench-web&redirect_uri=$(python3 -c \
	'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$CB")&scope=openid&state=bench&nonce=bench&code_challenge=$CHALLENGE&code_challenge_method=S256"

echo "bench_peer: $(nproc) CPU cores, $DUR s per measurement, $CONN connections, $WT wrk threads, $ROUNDS rounds"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews both servers alike)"

# ---- authd ---------------------------------------------------------------------------------
A_PORT=$(bench_free_port)
A_ISS=http://127.0.0.1:$A_PORT
A_STATE=$STATE/authd
A_CONF=$TMP/authd.conf
echo "log.level = warn" >"$A_CONF"
bench_authd_start "$A_CONF" "$A_STATE" "$A_PORT"
bench_authd_apps "$A_CONF" "$A_STATE" "$A_ISS" "$CB"
A_SVC=$(basic bench-svc "$SVC_SECRET")
A_WEB=$(basic bench-web "$WEB_SECRET")
A_PW="Bench-pass-$(openssl rand -hex 6)"
printf '%s\n' "$A_PW" | bench_authctl "$A_CONF" "$A_STATE" user add \
	--id-number "$(bench_id_number 11010119900307001)" --name "测试1" --phone 13812340001 \
	--username bench1 --password-stdin
mkdir -p "$TMP/a"
cat >"$TMP/a/prepare.json" <<EOF
{"issuer": "$A_ISS", "out": "$TMP/a", "client_id": "bench-web", "client_secret": "$WEB_SECRET",
 "redirect_uri": "$CB", "users": [{"username": "bench1", "password": "$A_PW"}], "sessions": 1,
 "refresh_tokens": $((ROUNDS * NRT)), "concurrency": 4, "seconds": 1}
EOF
node "$FLOWS" prepare "$TMP/a/prepare.json" >"$TMP/a/prepare.out" ||
	{ tail -20 "$TMP/authd.log" >&2; die "authd: could not log in and mint refresh tokens"; }
A_COOKIE="yh_sid=$(head -n1 "$TMP/a/sessions.txt")"
curl -sf -H "Authorization: $A_SVC" -d grant_type=client_credentials "$A_ISS/token" >"$TMP/a/at.json" ||
	die "authd: client_credentials refused"
A_AT=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/a/at.json")

# ---- Glewlwyd ------------------------------------------------------------------------------
G_PORT=$(bench_free_port)
G_BASE=http://127.0.0.1:$G_PORT
G_API=$G_BASE/api
G_ISS=$G_API/oidc
mkdir -p "$TMP/g/modules-none"
G_DB=$STATE/glewlwyd.db
if [[ $GL_SCHEMA == *.gz ]]; then zcat "$GL_SCHEMA"; else cat "$GL_SCHEMA"; fi | sqlite3 "$G_DB" ||
	die "could not create Glewlwyd's database from $GL_SCHEMA"
rnbyc -j -g EC256 -k bench-es256 -a ES256 -n 0 -x -o "$TMP/g/key.jwks" -p "$TMP/g/key.pub.jwks" >/dev/null 2>&1 ||
	die "rnbyc could not make the ES256 key"
# The packaged schema's administrator (admin / password) provisions this private instance,
# which listens on 127.0.0.1 only and is deleted with the temp dir.
cat >"$TMP/g/glewlwyd.conf" <<EOF
port=$G_PORT
bind_address="127.0.0.1"
external_url="$G_BASE"
login_url="login.html"
api_prefix="api"
static_files_path="/usr/share/glewlwyd/webapp/"
log_mode="console"
log_level="WARNING"
cookie_domain="127.0.0.1"
cookie_secure=0
session_expiration=86400
session_key="GLEWLWYD2_SESSION_ID"
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="$GL_LIBDIR/user"
user_middleware_module_path="$TMP/g/modules-none"
client_module_path="$GL_LIBDIR/client"
user_auth_scheme_module_path="$GL_LIBDIR/scheme"
plugin_module_path="$GL_LIBDIR/plugin"
hash_algorithm="SHA512"
database = { type = "sqlite3"; path = "$G_DB"; };
EOF
glewlwyd -c "$TMP/g/glewlwyd.conf" >"$TMP/glewlwyd.log" 2>&1 &
GL_PID=$!
bench_wait_up "$G_BASE/config" "$GL_PID" "$TMP/glewlwyd.log" "glewlwyd"

# gl_call JAR METHOD PATH JSON: one JSON call to Glewlwyd's API with the cookie jar JAR;
# dies unless it answers 200.
gl_call() {
	local code
	code=$(curl -s -o "$TMP/g/last.json" -w '%{http_code}' -c "$1" -b "$1" -X "$2" \
		-H 'Content-Type: application/json' --data-binary "$4" "$G_API$3") || true
	[[ $code == 200 ]] || { tail -5 "$TMP/glewlwyd.log" >&2; die "glewlwyd: $2 $3: HTTP $code $(head -c 300 "$TMP/g/last.json")"; }
}
ADMIN=$TMP/g/admin.jar
gl_call "$ADMIN" POST /auth/ '{"username":"admin","password":"password"}'
G_SVC_SECRET=$(openssl rand -hex 24)
G_WEB_SECRET=$(openssl rand -hex 24)
G_PW="Bench-pass-$(openssl rand -hex 6)"
python3 - "$G_ISS" "$TMP/g/key.jwks" >"$TMP/g/plugin.json" <<'EOF'
import json, sys
params = {
    "iss": sys.argv[1], "jwks-private": open(sys.argv[2]).read(), "default-kid": "bench-es256",
    "access-token-duration": 600, "refresh-token-duration": 1209600, "code-duration": 600,
    "refresh-token-rolling": True, "refresh-token-one-use": "always",
    "allow-non-oidc": True, "auth-type-code-enabled": True, "auth-type-client-enabled": True,
    "auth-type-refresh-enabled": True, "auth-type-token-enabled": False,
    "auth-type-none-enabled": False, "auth-type-password-enabled": False,
    "pkce-allowed": True, "introspection-revocation-allowed": True,
    "introspection-revocation-allow-target-client": True, "subject-type": "public",
    "scope": [],
}
print(json.dumps({"module": "oidc", "name": "oidc", "display_name": "OpenID Connect",
                  "parameters": params}))
EOF
gl_call "$ADMIN" POST /mod/plugin/ "@$TMP/g/plugin.json"
gl_call "$ADMIN" POST /scope/ '{"name":"bench","display_name":"bench","description":"bench","password_required":false,"password_max_age":0,"scheme":{}}'
# Clients authenticate with the client_secret property (compared as it is stored, like
# authd's high-entropy secrets are checked by a digest, not a password hash); the
# alternative, a client "password", costs a PBKDF2 of 150000 iterations per request.
gl_call "$ADMIN" POST /client/ "{\"client_id\":\"bench-svc\",\"name\":\"Bench service\",\"confidential\":true,
	\"client_secret\":\"$G_SVC_SECRET\",\"token_endpoint_auth_method\":[\"client_secret_basic\"],
	\"scope\":[\"bench\"],\"authorization_type\":[\"client_credentials\"],\"redirect_uri\":[\"$CB\"],\"enabled\":true}"
gl_call "$ADMIN" POST /client/ "{\"client_id\":\"bench-web\",\"name\":\"Bench web app\",\"confidential\":true,
	\"client_secret\":\"$G_WEB_SECRET\",\"token_endpoint_auth_method\":[\"client_secret_basic\"],
	\"scope\":[\"openid\"],\"authorization_type\":[\"code\",\"refresh_token\"],\"redirect_uri\":[\"$CB\"],\"enabled\":true}"
gl_call "$ADMIN" POST /user/ "{\"username\":\"bench1\",\"name\":\"测试1\",\"password\":\"$G_PW\",\"scope\":[\"openid\"],\"enabled\":true}"
USER_JAR=$TMP/g/user.jar
gl_call "$USER_JAR" POST /auth/ "{\"username\":\"bench1\",\"password\":\"$G_PW\"}"
gl_call "$USER_JAR" PUT /auth/grant/bench-web '{"scope":"openid"}'
G_SID=$(awk '$6 == "GLEWLWYD2_SESSION_ID" { print $7 }' "$USER_JAR")
[[ -n $G_SID ]] || die "glewlwyd: no session cookie after the user's login"
G_COOKIE="GLEWLWYD2_SESSION_ID=$G_SID"
G_SVC=$(basic bench-svc "$G_SVC_SECRET")
G_WEB=$(basic bench-web "$G_WEB_SECRET")
G_CC_BODY="grant_type=client_credentials&scope=bench"
curl -sf -H "Authorization: $G_SVC" -d "$G_CC_BODY" "$G_ISS/token" >"$TMP/g/at.json" ||
	{ tail -5 "$TMP/glewlwyd.log" >&2; die "glewlwyd: client_credentials refused"; }
G_AT=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/g/at.json")

# mint_refresh AUTH_URL?QUERY TOKEN_URL COOKIE BASIC N OUT: N code flows with curl, one
# refresh token each into OUT.
mint_refresh() {
	local i loc code
	: >"$6"
	for ((i = 0; i < $5; i++)); do
		loc=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: $3" "$1")
		code=$(python3 -c 'import sys,urllib.parse as u;print(u.parse_qs(u.urlsplit(sys.argv[1]).query).get("code",[""])[0])' "$loc")
		[[ -n $code ]] || die "$1: no code in the redirect ($loc)"
		curl -s -H "Authorization: $4" --data-urlencode grant_type=authorization_code \
			--data-urlencode "code=$code" --data-urlencode "redirect_uri=$CB" \
			--data-urlencode "code_verifier=$VERIFIER" "$2" |
			python3 -c 'import json,sys;print(json.load(sys.stdin)["refresh_token"])' >>"$6" ||
			die "$2: the code was refused or no refresh token"
	done
}
G_AUTH_QUERY="$AUTH_QUERY&g_continue"
mint_refresh "$G_ISS/auth?$G_AUTH_QUERY" "$G_ISS/token" "$G_COOKIE" "$G_WEB" $((ROUNDS * NRT)) "$TMP/g/refresh.txt"
echo "authd $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo '?') on $A_ISS;" \
	"Glewlwyd $GL_VERSION on $G_BASE; state in $STATE ($(df --output=fstype "$STATE" | tail -n1))"

# ---- measurements --------------------------------------------------------------------------
RES=$TMP/results          # round|scenario|server|rate|p99 ms
: >"$RES"
# measure ROUND SCENARIO SERVER URL [-H HEADER] [-s LUA -- ARGS...]: one wrk run.
measure() {
	local round=$1 scen=$2 server=$3 url=$4 out rps p99 bad line
	shift 4
	out=$TMP/wrk-$round-$scen-$server.txt
	local args=() hdr=() lua=()
	while (($#)); do
		case $1 in
		-H) hdr+=(-H "$2"); shift 2 ;;
		-s) lua=(-s "$2"); shift 2 ;;
		--) shift; args=(-- "$@"); break ;;
		*) die "measure: $1" ;;
		esac
	done
	wrk -t"$WT" -c"$CONN" -d"${DUR}s" --timeout 10s --latency "${hdr[@]}" "${lua[@]}" "$url" "${args[@]}" \
		>"$out" 2>&1 || die "wrk failed: $(cat "$out")"
	rps=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$out")
	p99=$(bench_to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	line=
	if [[ -n $bad ]]; then line="$bad answers not 200/302!"; fi
	if grep -q 'Socket errors' "$out"; then line+=" $(grep 'Socket errors' "$out" | sed 's/^ *//')"; fi
	if grep -q '^refresh_errors' "$out"; then
		read -r _ re _ st <<<"$(grep '^refresh_errors' "$out")"
		((re + st == 0)) || line+=" $re refresh errors, $st starved chains!"
	fi
	if grep -q '^code_flow' "$out"; then
		read -r _ _ nc _ nt _ ne <<<"$(grep '^code_flow' "$out")"
		# round trips/s: tokens with an id_token over the run's duration
		rps=$(awk -v t="$nt" -v d="$(awk '/requests in/ { print $4 }' "$out" | tr -d 's,')" \
			'BEGIN { printf "%.1f", (d > 0 ? t / d : 0) }')
		((ne == 0)) || line+=" $ne code flow errors ($nc codes, $nt tokens)!"
	fi
	if [[ $line == *'!'* ]]; then FAILED=1; fi
	echo "$round|$scen|$server|$rps|$p99" >>"$RES"
	printf '  %-10s %-9s %8s/s  p99 %8s ms  %s\n' "$scen" "$server" "$rps" "$p99" "$line"
}
SCENARIOS=(cc discovery introspect refresh code)
for ((r = 1; r <= ROUNDS; r++)); do
	echo "round $r (each $DUR s):"
	sed -n "$(((r - 1) * NRT + 1)),$((r * NRT))p" "$TMP/a/refresh.txt" >"$TMP/a/refresh-$r.txt"
	sed -n "$(((r - 1) * NRT + 1)),$((r * NRT))p" "$TMP/g/refresh.txt" >"$TMP/g/refresh-$r.txt"
	for scen in "${SCENARIOS[@]}"; do
		case $scen in
		cc)
			measure "$r" cc authd "$A_ISS/token" -H "Authorization: $A_SVC" -s "$FORM_LUA" -- grant_type=client_credentials
			measure "$r" cc glewlwyd "$G_ISS/token" -H "Authorization: $G_SVC" -s "$FORM_LUA" -- "$G_CC_BODY" ;;
		discovery)
			measure "$r" discovery authd "$A_ISS/.well-known/openid-configuration"
			measure "$r" discovery glewlwyd "$G_ISS/.well-known/openid-configuration" ;;
		introspect)
			measure "$r" introspect authd "$A_ISS/introspect" -H "Authorization: $A_SVC" -s "$FORM_LUA" -- "token=$A_AT"
			measure "$r" introspect glewlwyd "$G_ISS/introspect" -H "Authorization: $G_SVC" -s "$FORM_LUA" -- "token=$G_AT" ;;
		refresh)
			measure "$r" refresh authd "$A_ISS/token" -H "Authorization: $A_WEB" -s "$RT_LUA" -- "$TMP/a/refresh-$r.txt" "$WT"
			measure "$r" refresh glewlwyd "$G_ISS/token" -H "Authorization: $G_WEB" -s "$RT_LUA" -- "$TMP/g/refresh-$r.txt" "$WT" ;;
		code)
			measure "$r" code authd "$A_ISS/authorize" -s "$CODE_LUA" -- /authorize /token "$AUTH_QUERY" "$A_COOKIE" "$A_WEB" "$CB" "$VERIFIER"
			measure "$r" code glewlwyd "$G_ISS/auth" -s "$CODE_LUA" -- /api/oidc/auth /api/oidc/token "$G_AUTH_QUERY" "$G_COOKIE" "$G_WEB" "$CB" "$VERIFIER" ;;
		esac
	done
	python3 - "$RES" "$r" <<'EOF'
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1])]
r = sys.argv[2]
got = {(s, v): float(x) for (rr, s, v, x, _) in rows if rr == r}
print("  round %s, authd/glewlwyd: " % r + ", ".join(
    "%s %.2f" % (s, got[(s, "authd")] / got[(s, "glewlwyd")]) if got.get((s, "glewlwyd")) else "%s -" % s
    for s in dict.fromkeys(s for (s, _) in got)))
EOF
done

kill -0 "$AUTHD_PID" 2>/dev/null || die "authd died during the run: $(tail -5 "$TMP/authd.log")"
kill -0 "$GL_PID" 2>/dev/null || die "glewlwyd died during the run: $(tail -5 "$TMP/glewlwyd.log")"

# ---- the table -----------------------------------------------------------------------------
echo
echo "bench_peer: medians of $ROUNDS rounds, wrk -t$WT -c$CONN -d${DUR}s each, ES256, state on $(df --output=fstype "$STATE" | tail -n1)"
python3 - "$RES" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1])]
names = {"cc": "client_credentials grants/s", "discovery": "discovery documents/s",
         "introspect": "introspections/s (RFC 7662)", "refresh": "refresh_token grants/s (rotating)",
         "code": "code flow round trips/s (authorize + token; p99 per request)"}
def rate(x):
    return "%.0f" % x if x >= 100 else "%.1f" % x
print("| scenario | authd | Glewlwyd | authd/Glewlwyd | authd p99 ms | Glewlwyd p99 ms |")
print("|---|---|---|---|---|---|")
for s in dict.fromkeys(r[1] for r in rows):
    med = {}
    for v in ("authd", "glewlwyd"):
        med[v] = (statistics.median(float(r[3]) for r in rows if r[1] == s and r[2] == v),
                  statistics.median(float(r[4]) for r in rows if r[1] == s and r[2] == v))
    ratio = "%.2f" % (med["authd"][0] / med["glewlwyd"][0]) if med["glewlwyd"][0] else "-"
    print("| %s | %s | %s | %s | %.1f | %.1f |" % (names.get(s, s), rate(med["authd"][0]),
          rate(med["glewlwyd"][0]), ratio, med["authd"][1], med["glewlwyd"][1]))
EOF
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
errs=$(grep -c '"level":"error"' "$TMP/authd.log" || true)
gerrs=$(grep -c ' ERROR: ' "$TMP/glewlwyd.log" || true)
echo "authd logged $errs error lines, Glewlwyd $gerrs"
((FAILED == 0)) || die "some requests were refused or failed (marked ! above)"
