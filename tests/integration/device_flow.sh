#!/usr/bin/env bash
# The device authorization grant (RFC 8628) for kiosks and shared screens: discovery,
# POST /device_authorization, the approval page /device (login first, the form's CSRF
# token bound to the session, approve and deny), the device_code grant at /token and its
# refusals: authorization_pending, slow_down for a poll too soon, a device code polled
# by another client, reused after success, refused, expired, a user code that names
# nothing; the audit lines; a GET another site started only fills in the form (no lookup
# that counts against the person); then a kiosk with node's openid-client
# (tests/node/device_flow.mjs) polls while the person approves over HTTP; new requests
# per address are limited (429 slow_down).
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd

make_tmp device
PID=
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
CB=http://127.0.0.1:9/cb
PASSWORD='Qian-Qi-2026!pw'
GT=urn:ietf:params:oauth:grant-type:device_code
LIFETIME=20

cat >"$CONF" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
oidc.device_lifetime = ${LIFETIME}s
oidc.device_interval = 1s
http.trusted_proxies = 127.0.0.1
CONF

start_authd -c "$CONF"
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add kiosk --public --grant device_code refresh_token --scope openid profile --name 大厅自助机
ctl_or_die client add kiosk2 --public --grant device_code --scope openid
ctl_or_die client add kiosk3 --public --grant device_code --scope openid --legacy-source shebao --legacy-required
ctl_or_die client add app1 --public --redirect-uri "$CB" --scope openid profile
printf '%s\n' "$PASSWORD" | ctl_or_die user add --id-number "$(id_number 11010119900307123)" \
  --name 钱七 --phone 13812340007 --username qianqi --password-stdin
ctl client show kiosk | grep -q '"device_code"' && ok "authctl: a kiosk with the device_code grant and no redirect URI" ||
  fail "authctl: grant not shown: $(ctl client show kiosk)"
start_authd -c "$CONF"

jfield() { "$PY" -c 'import sys,json;v=json.load(open(sys.argv[1])).get(sys.argv[2],"");print(v if not isinstance(v,list) else " ".join(v))' "$TMP/body" "$1" 2>/dev/null; }

# authz CLIENT [SCOPE]: POST /device_authorization; DC, UC, STATUS, BODY.
authz() {
  fetch "$BASE/device_authorization" -X POST -d "client_id=$1" --data-urlencode "scope=${2:-openid profile}"
  DC=$(jfield device_code)
  UC=$(jfield user_code)
}

# poll CLIENT DEVICE_CODE: POST /token; STATUS, ERR (the error code), BODY.
poll() {
  fetch "$BASE/token" -X POST -d "grant_type=$GT" -d "client_id=$1" --data-urlencode "device_code=$2"
  ERR=$(jfield error)
}

# approve JAR USER_CODE ACTION: the approval page for USER_CODE and its form posted with
# ACTION (approve or deny); STATUS... of the POST.
approve() {
  req "$1" GET "/device?user_code=$2"
  [[ $STATUS == 200 ]] || { fail "approval page for $2: $STATUS '$LOCATION'"; return 1; }
  req "$1" POST /device --data-urlencode "csrf=$(form_value csrf)" \
    --data-urlencode "user_code=$2" --data-urlencode "action=$3"
}

# discovery
fetch "$BASE/.well-known/openid-configuration"
[[ $(jfield device_authorization_endpoint) == "$BASE/device_authorization" &&
   " $(jfield grant_types_supported) " == *" $GT "* ]] &&
  ok "discovery: device_authorization_endpoint and the device_code grant" || fail "discovery: $BODY"

# the device authorization response
authz kiosk
uri=$(jfield verification_uri)
full=$(jfield verification_uri_complete)
[[ $STATUS == 200 && ${#DC} -eq 43 && $UC =~ ^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$ &&
   $uri == "$BASE/device" && $full == "$BASE/device?user_code=$UC" &&
   $(jfield expires_in) == "$LIFETIME" && $(jfield interval) == 1 &&
   $(header Cache-Control) == *no-store* ]] &&
  ok "device_authorization: device_code, user code XXXX-XXXX, verification URIs, expires_in, interval" ||
  fail "device_authorization: $STATUS $BODY"
[[ $(audit_count device.authorize '"client_id":"kiosk"') -ge 1 ]] &&
  ok "audit: device.authorize" || fail "audit: no device.authorize line"
DC1=$DC UC1=$UC
# a code left to expire, made now so that its lifetime passes while the flows below run
# (a lifetime long enough for those flows on a loaded machine)
authz kiosk
DCX=$DC UCX=$UC TX=$(date +%s)
fetch "$BASE/device/qr?user_code=$UC1"
[[ $STATUS == 200 && $BODY == *'<svg'* && $BODY == *"$UC1"* && $BODY == *"$BASE/device?user_code=$UC1"* ]] &&
  ok "kiosk page /device/qr: the code and verification_uri_complete as an inline SVG QR code" ||
  fail "/device/qr: $STATUS"
fetch "$BASE/device/qr?user_code=%3Cscript%3E"
[[ $STATUS == 400 && $BODY != *'<svg'* ]] && ok "kiosk page: a malformed code gets no QR code" || fail "/device/qr bad: $STATUS"
fetch "$BASE/device_authorization" -X POST -d client_id=app1
[[ $STATUS == 400 && $(jfield error) == unauthorized_client ]] &&
  ok "device_authorization: an app without the grant gets unauthorized_client" || fail "app1: $STATUS $BODY"
fetch "$BASE/device_authorization" -X POST -d client_id=nobody
[[ $STATUS == 401 && $(jfield error) == invalid_client ]] &&
  ok "device_authorization: an unknown client gets invalid_client" || fail "nobody: $STATUS $BODY"
poll app1 "$DC1"
[[ $STATUS == 400 && $ERR == unauthorized_client ]] &&
  ok "token: the device_code grant for an app without it: unauthorized_client" || fail "app1 poll: $STATUS $BODY"

# polling: pending, too fast, another client
poll kiosk "$DC1"
[[ $STATUS == 400 && $ERR == authorization_pending ]] && ok "token: authorization_pending" ||
  fail "first poll: $STATUS $BODY"
poll kiosk "$DC1"
[[ $STATUS == 400 && $ERR == slow_down ]] && ok "token: a poll sooner than the interval gets slow_down" ||
  fail "fast poll: $STATUS $BODY"
sleep 1.2
poll kiosk "$DC1"
[[ $ERR == slow_down ]] && ok "token: the interval grew by 5 s after slow_down" ||
  fail "after 1.2 s: $STATUS $BODY"
poll kiosk2 "$DC1"
[[ $STATUS == 400 && $ERR == invalid_grant ]] && ok "token: another client polling the device code: invalid_grant" ||
  fail "kiosk2: $STATUS $BODY"
poll kiosk "AAAA$DC1"
[[ $STATUS == 400 && $ERR == invalid_grant ]] && ok "token: a malformed device code: invalid_grant" ||
  fail "malformed: $STATUS $BODY"

# the person: login first, then the approval page
req b GET "/device?user_code=$UC1"
[[ $STATUS == 302 && $LOCATION == /login\?next=* ]] && ok "approval page without a session: to /login" ||
  fail "no session: $STATUS '$LOCATION'"
through_login b qianqi "$PASSWORD"
[[ $STATUS == 303 && $LOCATION == "/device?user_code=$UC1" ]] && ok "login: back to the approval page" ||
  fail "login: $STATUS '$LOCATION'"
req b GET "$LOCATION"
[[ $STATUS == 200 && $BODY == *大厅自助机* && $BODY == *"$UC1"* && $BODY == *'value="approve"'* ]] &&
  ok "approval page: the app's name, the code, approve" || fail "page: $STATUS"
tok=$(form_value csrf)
req b POST /device --data-urlencode "csrf=A$tok" --data-urlencode "user_code=$UC1" --data-urlencode action=approve
[[ $STATUS == 400 ]] && ok "approval: a wrong CSRF token is refused" || fail "bad csrf: $STATUS"
req c GET "/device?user_code=$UC1"
req c POST /device --data-urlencode "csrf=$tok" --data-urlencode "user_code=$UC1" --data-urlencode action=approve
[[ $STATUS == 302 || $STATUS == 303 ]] && [[ $LOCATION == /login* ]] &&
  ok "approval: another browser without the session cannot post it" || fail "other browser: $STATUS '$LOCATION'"
poll kiosk "$DC1"
[[ $ERR == slow_down || $ERR == authorization_pending ]] && ok "token: nothing issued before the approval" ||
  fail "before approval: $STATUS $BODY"
req b POST /device --data-urlencode "csrf=$tok" --data-urlencode "user_code=${UC1,,}" --data-urlencode action=approve
[[ $STATUS == 200 ]] && ok "approval: approved (the code typed in lower case)" || fail "approve: $STATUS $BODY"
[[ $(audit_count device.approve '"client_id":"kiosk"') -eq 1 && $(audit_count consent.grant '"client_id":"kiosk"') -eq 1 ]] &&
  ok "audit: device.approve and consent.grant" || fail "audit: approve lines missing"
poll kiosk "$DC1"
at=$(jfield access_token)
idt=$(jfield id_token)
[[ $STATUS == 200 && -n $at && $(jwt_claim "$idt" aud) == kiosk && $(jwt_claim "$at" acr) == urn:yihao:loa:* &&
   $(jwt_claim "$at" amr) == *pwd* && -n $(jfield refresh_token) ]] &&
  ok "token: approved: access, ID and refresh tokens (acr and amr of the approving login)" ||
  fail "approved poll: $STATUS $BODY"
fetch "$BASE/userinfo" -H "Authorization: Bearer $at"
[[ $STATUS == 200 && $BODY == *钱七* ]] && ok "userinfo with the kiosk's access token" || fail "userinfo: $STATUS $BODY"
[[ $(audit_count token.issue '"grant":"device_code"') -eq 1 ]] && ok "audit: token.issue grant device_code" ||
  fail "audit: no token.issue"
poll kiosk "$DC1"
[[ $STATUS == 400 && $ERR == invalid_grant ]] && ok "token: the device code reused after success: invalid_grant" ||
  fail "reuse: $STATUS $BODY"
[[ $(audit_count token.replay "$GT") -eq 1 ]] && ok "audit: token.replay of the device code" || fail "audit: no replay line"
req b GET "/device?user_code=$UC1"
[[ $STATUS == 400 ]] && ok "approval page: a used code is refused" || fail "used code page: $STATUS"

# an app that takes only people with an account in its old system (as /authorize)
authz kiosk3 openid
req b GET "/device?user_code=$UC"
[[ $STATUS == 403 && $BODY != *'value="approve"'* ]] && ok "approval page: legacy_required without an old account: refused" ||
  fail "legacy_required: $STATUS"

# denied
authz kiosk
req b GET "/device?user_code=$UC"
req b POST /device --data-urlencode "csrf=$(form_value csrf)" --data-urlencode "user_code=$UC" --data-urlencode action=deny
[[ $STATUS == 200 ]] && ok "approval: denied" || fail "deny: $STATUS"
poll kiosk "$DC"
[[ $STATUS == 400 && $ERR == access_denied ]] && ok "token: refused: access_denied" || fail "denied poll: $STATUS $BODY"
poll kiosk "$DC"
[[ $STATUS == 400 && $ERR == invalid_grant ]] && ok "token: a refused code polled again: invalid_grant" ||
  fail "denied again: $STATUS $BODY"
[[ $(audit_count device.deny '"client_id":"kiosk"') -eq 1 && $(audit_count device.denied) -eq 1 ]] &&
  ok "audit: device.deny and device.denied" || fail "audit: deny lines missing"

# a user code that names nothing, a malformed one
req b GET "/device?user_code=BBBB-BBBB"
[[ $STATUS == 400 && $BODY == *'name="user_code"'* ]] && ok "approval page: an unknown code asks again" ||
  fail "unknown code: $STATUS"
req b GET "/device?user_code=AEIO-U123"
[[ $STATUS == 400 ]] && ok "approval page: a malformed code asks again" || fail "malformed code: $STATUS"
req b GET "/device?user_code=%00"
[[ $STATUS == 400 && $BODY == *'name="user_code"'* ]] && ok "approval page: a NUL in the code asks again (400)" ||
  fail "NUL code: $STATUS"
req b GET "/device?user_code=$(printf 'B%.0s' $(seq 1 65))"
[[ $STATUS == 400 && $BODY == *'name="user_code"'* ]] && ok "approval page: a code over 64 bytes asks again (400)" ||
  fail "long code: $STATUS"
# another site sending the person's browser to made-up codes (more than the ten wrong
# codes that lock the form) only fills in the form: their allowance is not spent
authz kiosk
for c in C D F G H J K L M N P Q; do
  req b GET "/device?user_code=BBBB-BBB$c" -H "Sec-Fetch-Site: cross-site"
  [[ $STATUS == 200 && $BODY == *"value=\"BBBB-BBB$c\""* ]] || break
done
[[ $STATUS == 200 ]] && ok "a GET another site started: the form filled in, no lookup" ||
  fail "cross-site GET: $STATUS"
req b GET "/device?user_code=$UC" -H "Sec-Fetch-Site: same-origin"
[[ $STATUS == 200 && $BODY == *'name="action" value="approve"'* ]] &&
  ok "... and the person's own lookup then still finds a real code" || fail "own lookup after cross-site GETs: $STATUS"

# expired
while (( $(date +%s) <= TX + LIFETIME )); do sleep 0.5; done
poll kiosk "$DCX"
[[ $STATUS == 400 && $ERR == expired_token ]] && ok "token: past expires_in: expired_token" || fail "expired: $STATUS $BODY"
req b GET "/device?user_code=$UCX"
[[ $STATUS == 400 ]] && ok "approval page: an expired user code is refused" || fail "expired page: $STATUS"

# a real kiosk: node openid-client polls while the person approves here
if command -v node >/dev/null && [[ -d $YH_SRCDIR/tests/node/node_modules/openid-client ]]; then
  (cd "$YH_SRCDIR/tests/node" && exec timeout -k 5 120 node device_flow.mjs "$BASE" kiosk "$TMP") \
    >"$TMP/node.out" 2>&1 &
  NODEPID=$!
  PIDS_TO_STOP="$PIDS_TO_STOP $NODEPID"
  for _ in $(seq 1 100); do [[ -f $TMP/user_code ]] && break; sleep 0.05; done
  NUC=$(sed -n 1p "$TMP/user_code" 2>/dev/null)
  NURI=$(sed -n 2p "$TMP/user_code" 2>/dev/null)
  [[ $NURI == "$BASE/device?user_code=$NUC" ]] || fail "node: verification_uri_complete '$NURI'"
  approve b "$NUC" approve
  [[ $STATUS == 200 ]] || fail "node's code approved: $STATUS"
  rc=0
  wait "$NODEPID" || rc=$?
  cat "$TMP/node.out"
  [[ $rc -eq 0 ]] && grep -q '"amr":\["pwd"\]' "$TMP/tokens.json" &&
    ok "node openid-client: device flow approved over HTTP, tokens received" ||
    fail "node openid-client exited $rc"
else
  fail "node or tests/node/node_modules/openid-client missing (npm ci in tests/node)"
fi

# new requests per address: OIDC_DEV_PER_ADDR (600) in 10 minutes, then 429 slow_down
# with Retry-After. Each request from another address of one IPv6 /64 (X-Forwarded-For
# through the trusted proxy 127.0.0.1): the /64 is one client.
n=0
for i in $(seq 1 620); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d client_id=kiosk -d scope=openid \
    -H "X-Forwarded-For: 2001:db8:5:6:$(printf '%x' "$i")::1" "$BASE/device_authorization")
  [[ $code == 200 ]] || break
  n=$((n + 1))
done
fetch "$BASE/device_authorization" -X POST -d client_id=kiosk -d scope=openid \
  -H "X-Forwarded-For: 2001:db8:5:6:ffff:ffff:ffff:ffff"
[[ $STATUS == 429 && $(jfield error) == slow_down && -n $(header Retry-After) && $n -lt 620 ]] &&
  ok "device authorization: limited per IPv6 /64 ($n from as many addresses, then 429 slow_down with Retry-After)" ||
  fail "device authorization limit: $STATUS after $n: $BODY"
fetch "$BASE/device_authorization" -X POST -d client_id=kiosk -d scope=openid \
  -H "X-Forwarded-For: 2001:db8:5:7::1"
[[ $STATUS == 200 ]] && ok "device authorization: another /64 is another client" ||
  fail "another /64: $STATUS $BODY"
fetch "$BASE/device_authorization" -X POST -d client_id=kiosk -d scope=openid
[[ $STATUS == 200 ]] && ok "device authorization: the proxy's own address is another client" ||
  fail "the proxy's own address: $STATUS $BODY"

no_errors_in "errors in authd's log" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
finish "device_flow: all checks passed"
