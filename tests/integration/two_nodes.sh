#!/usr/bin/env bash
# Two authd processes on one redis-server, as behind a load balancer: one state
# directory (directory, keys, clients), one Redis for sessions, one issuer. A person logs
# in through node 1, gets a code through node 2 at once (single sign-on, no login page)
# and redeems it at node 1 (likewise a pushed request and a device code); logs out through node 2, and node 1 refuses the session at
# once (/authorize and /account send the browser to /login). Then the fault: Redis
# stopped mid-run gives 503 with a JSON error (POST /token, refresh, /readyz) and
# neither process dies; Redis started again on the same port, the service comes back by
# itself (bounded wait): a new login works, and logout still reaches the other node.
# The "browser" is curl with a cookie jar; cookies are per host, not per port, so the
# one jar serves both nodes as a browser's would behind one host name.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
REDIS=$(command -v redis-server) || { echo "FAIL: redis-server not installed"; exit 1; }

make_tmp 2nodes
PID1= PID2= RPID=
PIDS_TO_STOP="PID1 PID2 RPID"
LOGS="authd1 authd2 redis"
HTTP_MAX_TIME=15

P1=$(free_port)
P2=$(free_port)
RPORT=$(free_port)
N1=http://127.0.0.1:$P1
N2=http://127.0.0.1:$P2
ISSUER=$N1
S=$TMP/state
CB=http://127.0.0.1:9/cb          # nothing listens: the flow stops at the redirect
SECRET=$(openssl rand -hex 24)
ID=11010519491231002X
PW='Chang Cheng 1987!'

# ---- redis-server, by pid
start_redis() {
  "$REDIS" --save "" --appendonly no --bind 127.0.0.1 --port "$RPORT" --daemonize no \
    --dir "$TMP" >>"$TMP/redis.log" 2>&1 &
  RPID=$!
  for _ in $(seq 1 200); do
    [[ $(redis-cli -h 127.0.0.1 -p "$RPORT" ping 2>/dev/null) == PONG ]] && return 0
    kill -0 "$RPID" 2>/dev/null || break
    sleep 0.05
  done
  die "redis-server did not start on port $RPORT"
}
stop_redis() {
  kill -TERM "$RPID"
  wait "$RPID" 2>/dev/null
  RPID=
}

# ---- the two nodes
cat >"$TMP/authd.conf" <<EOF
# both nodes: one issuer (the load balancer's name), one Redis
issuer = $ISSUER
session.backend = redis
session.redis_host = 127.0.0.1
session.redis_port = $RPORT
session.redis_prefix = yh2n:
EOF
start_node() {  # start_node N PORT: sets PIDN
  "$AUTHD" -c "$TMP/authd.conf" -d "$S" -l "127.0.0.1:$2" 2>>"$TMP/authd$1.log" &
  local pid=$!
  eval "PID$1=$pid"
  wait_ready "http://127.0.0.1:$2/healthz" "$pid" || die "authd node $1 did not start"
}
stop_node() {  # stop_node N: SIGTERM, returns its exit status
  local pid
  eval "pid=\$PID$1"
  kill -TERM "$pid"
  wait "$pid"
  local rc=$?
  eval "PID$1="
  return $rc
}

# ---- HTTP as a browser: one jar, "jar" (cookies are per host, so it serves both nodes);
# lib.sh's req jar METHOD URL gives STATUS, BODY, LOCATION, CTYPE.
# raw BASE METHOD PATH COOKIE [curl args...]: a request with an explicit cookie, no jar.
raw() {
  local base=$1 method=$2 path=$3 cookie=$4
  shift 4
  req - "$method" "$base$path" ${cookie:+-H "Cookie: $cookie"} "$@"
}
# logout BASE: RP-initiated logout without an id_token_hint, as a user does it: the
# confirmation page, then its form (CSRF token included).
logout() {
  local base=$1 tok
  req jar GET "$base/logout?client_id=app1"
  [[ $STATUS == 200 && $BODY == *'name="confirm"'* ]] || { LOGOUT_STATUS="no confirmation page: $STATUS"; return; }
  tok=$(form_value csrf)
  req jar POST "$base/logout" --data-urlencode confirm=1 --data-urlencode "csrf=$tok" \
    --data-urlencode client_id=app1
}
jar_sid() { jar_value jar yh_sid; }
jget() {  # jget JSON KEY: a top-level string (or number) value of a JSON object
  python3 -c 'import sys,json;v=json.loads(sys.argv[1]).get(sys.argv[2],"");print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1" "$2" 2>/dev/null
}

AUTHZ="/authorize?response_type=code&client_id=app1&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20profile"
# authorize BASE: GET /authorize (new state each time); STATE is what was sent.
authorize() {
  STATE=$(openssl rand -hex 8)
  req jar GET "$1$AUTHZ&state=$STATE&nonce=n$STATE"
}
# Asserts the last response is the redirect to the app with a code; sets CODE.
got_code() {
  CODE=
  if [[ $STATUS == 302 && $LOCATION == "$CB?"* && $(qparam "$LOCATION" state) == "$STATE" ]]; then
    CODE=$(qparam "$LOCATION" code)
    [[ -n $CODE && $(qparam "$LOCATION" iss) == "$ISSUER" ]] && return 0
  fi
  return 1
}
# login BASE: the whole browser login for app1 through node BASE, consent included;
# ends with CODE set (or a failure).
login() {
  local base=$1 next tok
  authorize "$base"
  [[ $STATUS == 302 && $LOCATION == /login\?* ]] || { fail "login via $base: /authorize gave $STATUS '$LOCATION'"; return 1; }
  req jar GET "$base$LOCATION"
  tok=$(form_value csrf)
  [[ $STATUS == 200 && -n $tok ]] || { fail "login via $base: GET /login $STATUS"; return 1; }
  next=$(form_value next)
  req jar POST "$base/login" --data-urlencode "csrf=$tok" --data-urlencode "next=$next" \
    --data-urlencode "username=$ID" --data-urlencode "password=$PW"
  [[ $STATUS == 303 && $LOCATION == /authorize\?* ]] || { fail "login via $base: POST /login gave $STATUS '$LOCATION'"; return 1; }
  req jar GET "$base$LOCATION"
  if [[ $STATUS == 302 && $LOCATION == /consent\?* ]]; then
    req jar GET "$base$LOCATION"
    tok=$(form_value csrf)
    next=$(form_value next)
    req jar POST "$base/consent" --data-urlencode "csrf=$tok" --data-urlencode "next=$next" \
      --data-urlencode "action=allow"
    [[ $STATUS == 30[23] && $LOCATION == /authorize\?* ]] || { fail "consent via $base: $STATUS '$LOCATION'"; return 1; }
    req jar GET "$base$LOCATION"
  fi
  got_code || { fail "login via $base: no code: $STATUS '$LOCATION'"; return 1; }
}
# token BASE CODE: redeems a code with client_secret_basic; TOKEN_STATUS, TOKEN_BODY.
token() {
  raw "$1" POST /token "" -u "app1:$SECRET" --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$2" --data-urlencode "redirect_uri=$CB"
  TOKEN_STATUS=$STATUS TOKEN_BODY=$BODY
}

# ---- set-up: Redis, the state (first start creates it), the app and the person
start_redis
"$AUTHD" -c "$TMP/authd.conf" -d "$S" -t >>"$TMP/authd1.log" 2>&1 || die "authd -t refuses the config"
start_node 1 "$P1"
stop_node 1 || die "node 1 did not stop cleanly"
"$AUTHCTL" -d "$S" client add app1 --redirect-uri "$CB" --secret "$SECRET" \
  --scope openid profile offline_access --name "App One" >>"$TMP/ctl.log" 2>&1 ||
  die "authctl client add: $(cat "$TMP/ctl.log")"
"$AUTHCTL" -d "$S" client add kiosk --public --grant device_code --scope openid \
  >>"$TMP/ctl.log" 2>&1 || die "authctl client add kiosk: $(cat "$TMP/ctl.log")"
printf '%s\n' "$PW" | "$AUTHCTL" -d "$S" user add --id-number "$ID" --name 王小明 \
  --phone 13800138000 --password-stdin >>"$TMP/ctl.log" 2>&1 || die "authctl user add: $(cat "$TMP/ctl.log")"
start_node 1 "$P1"
start_node 2 "$P2"
curl -s --max-time 5 "$N2/.well-known/openid-configuration" | grep -qF "\"issuer\":\"$ISSUER\"" &&
  ok "node 2 announces node 1's issuer (one issuer behind the balancer)" || fail "node 2 issuer"

# ---- log in through node 1, SSO through node 2, tokens across nodes
if login "$N1"; then
  ok "login through node 1: a code"
  token "$N1" "$CODE"
  [[ $TOKEN_STATUS == 200 ]] && ok "node 1 redeems its code" || fail "node 1 /token: $TOKEN_STATUS $TOKEN_BODY"
  SID1=$(jwt_claim "$(jget "$TOKEN_BODY" id_token)" sid)
fi
OLD=$(jar_sid)
[[ -n $OLD ]] || die "no yh_sid cookie after the login"

authorize "$N2"
if got_code; then
  ok "SSO through node 2: a code at once, no login page"
  token "$N1" "$CODE"
  [[ $TOKEN_STATUS == 200 ]] && ok "node 1 redeems node 2's code (one Redis, one issuer)" ||
    fail "node 1 /token with node 2's code: $TOKEN_STATUS $TOKEN_BODY"
  IDT=$(jget "$TOKEN_BODY" id_token)
  RT=$(jget "$TOKEN_BODY" refresh_token)
  [[ $(jwt_claim "$IDT" iss) == "$ISSUER" ]] && ok "ID token from node 2's code: iss $ISSUER" || fail "iss $(jwt_claim "$IDT" iss)"
  [[ -n $SID1 && $(jwt_claim "$IDT" sid) == "$SID1" ]] && ok "same session (sid) on both nodes" ||
    fail "sid differs: '$SID1' vs '$(jwt_claim "$IDT" sid)'"
  token "$N2" "$CODE"
  [[ $TOKEN_STATUS == 400 && $(jget "$TOKEN_BODY" error) == invalid_grant ]] &&
    ok "the code is single-use across nodes (node 2 refuses it after node 1)" ||
    fail "code replay at node 2: $TOKEN_STATUS $TOKEN_BODY"
else
  fail "SSO through node 2: $STATUS '$LOCATION' (expected a code at once)"
fi

# a request pushed at node 1 is taken at node 2 (the request_uri lives in Redis), once
STATE=$(openssl rand -hex 8)
raw "$N1" POST /par "" -u "app1:$SECRET" -d response_type=code \
  --data-urlencode "redirect_uri=$CB" -d scope=openid -d "state=$STATE"
PAR_URI=$(jget "$BODY" request_uri)
[[ $STATUS == 201 && -n $PAR_URI ]] && ok "node 1 /par: 201" || fail "node 1 /par: $STATUS $BODY"
req jar GET "$N2/authorize?client_id=app1&request_uri=$(enc "$PAR_URI")"
got_code && ok "node 2 /authorize takes node 1's pushed request" ||
  fail "node 2 /authorize by request_uri: $STATUS '$LOCATION'"
req jar GET "$N1/authorize?client_id=app1&request_uri=$(enc "$PAR_URI")"
[[ $STATUS == 400 && -z $LOCATION ]] && ok "the request_uri is single-use across nodes" ||
  fail "request_uri replay at node 1: $STATUS '$LOCATION'"

# a device code asked at node 1 is approved at node 2 and redeemed at node 1, once (the
# device flow's records live in Redis)
raw "$N1" POST /device_authorization "" -d client_id=kiosk -d scope=openid
DC=$(jget "$BODY" device_code)
UC=$(jget "$BODY" user_code)
req jar GET "$N2/device?user_code=$UC"
req jar POST "$N2/device" --data-urlencode "csrf=$(form_value csrf)" --data-urlencode "user_code=$UC" \
  --data-urlencode action=approve
[[ -n $DC && $STATUS == 200 ]] && ok "node 2 approves node 1's device code" || fail "device approval at node 2: $STATUS"
DEV=(-d grant_type=urn:ietf:params:oauth:grant-type:device_code -d client_id=kiosk --data-urlencode "device_code=$DC")
raw "$N1" POST /token "" "${DEV[@]}"
[[ $STATUS == 200 && -n $(jget "$BODY" access_token) ]] && ok "node 1 issues the tokens of the device code" ||
  fail "device poll at node 1: $STATUS $BODY"
raw "$N2" POST /token "" "${DEV[@]}"
[[ $STATUS == 400 && $(jget "$BODY" error) == invalid_grant ]] && ok "the device code is single-use across nodes" ||
  fail "device code replay at node 2: $STATUS $BODY"

# ---- log out through node 2; node 1 refuses the session at once
# Without a hint, a bare GET only asks: the session must survive it.
req jar GET "$N2/logout?client_id=app1"
raw "$N1" GET "$AUTHZ&state=notyet" "yh_sid=$(jar_sid)"
[[ $STATUS == 302 && $LOCATION == *code=* ]] && ok "a bare GET /logout only asks for confirmation" ||
  fail "a bare GET /logout ended the session: $STATUS '$LOCATION'"
logout "$N2"
[[ $STATUS == 200 || $STATUS == 302 || $STATUS == 303 ]] && ok "logout through node 2 (confirmed): $STATUS" ||
  fail "logout through node 2: $STATUS ${LOGOUT_STATUS:-}"
raw "$N1" GET "$AUTHZ&state=after" "yh_sid=$OLD"
[[ $STATUS == 302 && $LOCATION == /login\?* ]] && ok "node 1 /authorize refuses the ended session at once (-> /login)" ||
  fail "node 1 /authorize after logout on node 2: $STATUS '$LOCATION'"
raw "$N1" GET /account "yh_sid=$OLD"
[[ $STATUS == 30[23] && $LOCATION == /login* ]] && ok "node 1 /account refuses it too (-> /login)" ||
  fail "node 1 /account after logout on node 2: $STATUS '$LOCATION'"
raw "$N2" GET "$AUTHZ&state=after2" "yh_sid=$OLD"
[[ $STATUS == 302 && $LOCATION == /login\?* ]] && ok "node 2 refuses it as well" ||
  fail "node 2 /authorize after its logout: $STATUS '$LOCATION'"

# ---- fault: Redis stops mid-run
rm -f "$TMP/jar.jar"
login "$N1" && ok "second login through node 1 (before the fault)"
PENDING=$CODE
stop_redis
ok "redis-server stopped"
# A code redeemed while Redis is down: the store cannot be asked.
token "$N1" "${PENDING:-x}"
if [[ $TOKEN_STATUS == 503 && $(jget "$TOKEN_BODY" error) == temporarily_unavailable ]]; then
  ok "POST /token without Redis: 503 temporarily_unavailable"
else
  fail "POST /token without Redis: $TOKEN_STATUS $TOKEN_BODY (want 503 JSON temporarily_unavailable)"
fi
[[ $CTYPE == application/json* ]] && ok "  ... as JSON ($CTYPE)" || fail "POST /token without Redis: Content-Type '$CTYPE'"
# The OAuth error code is the contract; a description is a courtesy (noted, not failed).
[[ -n $(jget "$TOKEN_BODY" error_description) ]] && ok "  ... with a description: $(jget "$TOKEN_BODY" error_description)" ||
  fail "POST /token without Redis: no error_description ($TOKEN_BODY)"
if [[ -n ${RT:-} ]]; then
  raw "$N2" POST /token "" -u "app1:$SECRET" --data-urlencode grant_type=refresh_token \
    --data-urlencode "refresh_token=$RT"
  [[ $STATUS == 503 && $(jget "$BODY" error) == temporarily_unavailable ]] &&
    ok "refresh grant without Redis (node 2): 503 temporarily_unavailable" ||
    fail "refresh grant without Redis: $STATUS $BODY"
fi
raw "$N1" GET /readyz ""
[[ $STATUS == 503 ]] && ok "/readyz without Redis: 503 ($BODY)" || fail "/readyz without Redis: $STATUS $BODY"
raw "$N1" GET "$AUTHZ&state=down" "yh_sid=$(jar_sid)"
# The app and its redirect URI are valid, so the app is told (RFC 6749 4.1.2.1).
[[ $STATUS == 302 && $LOCATION == *error=temporarily_unavailable* && $LOCATION == *state=down* ]] &&
  ok "/authorize with a cookie without Redis: redirect with error=temporarily_unavailable" ||
  fail "/authorize with a cookie without Redis: $STATUS '$LOCATION'"
echo "   /authorize without Redis answered: $STATUS $CTYPE $(printf '%s' "$BODY" | head -c 160 | tr '\n' ' ')"
# A password login needs the store (failure counters, the session): refused, not crashed.
rm -f "$TMP/jar.jar"
req jar GET "$N2/login?next=%2Faccount"
tok=$(form_value csrf)
echo "   GET /login without Redis answered: $STATUS $CTYPE"
req jar POST "$N2/login" --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
  --data-urlencode "username=$ID" --data-urlencode "password=$PW"
[[ $STATUS == 503 && -z $(jar_sid) ]] && ok "POST /login without Redis: 503, no session cookie ($CTYPE)" ||
  fail "POST /login without Redis: $STATUS '$LOCATION' (want 503)"
sleep 0.3
kill -0 "$PID1" 2>/dev/null && kill -0 "$PID2" 2>/dev/null && ok "both authd processes still run without Redis" ||
  fail "an authd process died without Redis"

# ---- Redis back on the same port: service resumes by itself
start_redis
ok "redis-server started again on port $RPORT"
back=
for _ in $(seq 1 150); do    # at most ~15 s
  raw "$N1" GET /readyz ""
  r1=$STATUS
  raw "$N2" GET /readyz ""
  if [[ $r1 == 200 && $STATUS == 200 ]]; then back=1; break; fi
  sleep 0.1
done
[[ -n $back ]] && ok "both nodes ready again by themselves" || fail "not ready 15 s after Redis came back: $r1 $STATUS"
rm -f "$TMP/jar.jar"
if login "$N2"; then
  ok "a new login works after Redis came back (node 2)"
  token "$N1" "$CODE"
  [[ $TOKEN_STATUS == 200 ]] && ok "node 1 redeems it" || fail "node 1 /token after recovery: $TOKEN_STATUS $TOKEN_BODY"
  NEW=$(jar_sid)
  authorize "$N1"
  got_code && ok "SSO through node 1 after recovery" || fail "SSO through node 1 after recovery: $STATUS '$LOCATION'"
  logout "$N1"
  raw "$N2" GET "$AUTHZ&state=after3" "yh_sid=$NEW"
  [[ $STATUS == 302 && $LOCATION == /login\?* ]] && ok "logout through node 1 reaches node 2 after recovery" ||
    fail "node 2 after logout on node 1 (after recovery): $STATUS '$LOCATION'"
fi

# ---- the end: clean stops, no crash, no sanitizer report
for n in 1 2; do
  pid_var=PID$n
  if kill -0 "${!pid_var}" 2>/dev/null; then
    stop_node "$n"
    rc=$?
    [[ $rc -eq 0 ]] && ok "node $n: exit 0 on SIGTERM" || fail "node $n exited $rc"
  else
    fail "node $n is not running at the end"
  fi
done
for n in 1 2; do
  no_sanitizer_in "sanitizer reports in node $n's log:" "$TMP/authd$n.log"
done
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact (both nodes wrote it)" ||
  fail "audit verify: $("$AUTHCTL" audit verify "$S/audit.log" 2>&1 | tail -3)"
if [[ $FAILS -ne 0 ]]; then
  show_logs
  exit 1
fi
exit 0
