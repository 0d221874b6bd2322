#!/usr/bin/env bash
# QR-code login from the mobile app: a browser (a curl cookie jar) asks for a QR request
# on the login page; the mobile app, holding an access token of the person with scope
# qr_login (got through the code flow), scans it (and sees where the browser is) and
# confirms over the HTTP API; the browser is then logged in, and a code flow from it
# shows amr qr and an acr no higher than the app's. The refusals: a QR code used twice,
# one expired, a confirm with another person's token, a confirm before a scan, a token
# without qr_login, a token of the mobile app once it is disabled, a browser that did not
# make the request claiming it; the audit lines.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd

make_tmp qr
PID=
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
CB=http://127.0.0.1:9/cb
PASSWORD='Sun-Ba-2026!pw'
PASSWORD2='Li-Jiu-2026!pw'
LIFETIME=10

cat >"$CONF" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
login.qr_lifetime = ${LIFETIME}s
CONF

start_authd -c "$CONF"
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add mobile --public --redirect-uri "$CB" --scope openid qr_login
ctl_or_die client add app1 --public --redirect-uri "$CB" --scope openid profile
printf '%s\n' "$PASSWORD" | ctl_or_die user add --id-number "$(id_number 11010119910411123)" \
  --name 孙八 --phone 13812340008 --username sunba --password-stdin
printf '%s\n' "$PASSWORD2" | ctl_or_die user add --id-number "$(id_number 11010119920512123)" \
  --name 李九 --phone 13812340009 --username lijiu --password-stdin
start_authd -c "$CONF"

jfield() { "$PY" -c 'import sys,json;v=json.load(open(sys.argv[1]));[v:=v.get(k,{}) for k in sys.argv[2].split(".")];print(v if v!={} else "")' "$TMP/body" "$1" 2>/dev/null; }

# app_token JAR USER PASSWORD CLIENT SCOPE: logs USER in in JAR and runs the code flow
# for CLIENT; AT the access token, IDT the ID token.
app_token() {
  login_form "$1" "$2" "$3"
  [[ $STATUS == 303 ]] || { fail "login of $2: $STATUS"; return 1; }
  authorize_code "$1" "$5" "$4" || return 1
  fetch "$BASE/token" -X POST -d grant_type=authorization_code -d "client_id=$4" \
    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "code_verifier=$VERIFIER"
  AT=$(jfield access_token)
  IDT=$(jfield id_token)
  [[ $STATUS == 200 && -n $AT ]] || { fail "token for $4: $STATUS $BODY"; return 1; }
}

app_token phone sunba "$PASSWORD" mobile "openid%20qr_login" || die "no app token"
MOBILE_AT=$AT
APP_ACR=$(jwt_claim "$AT" acr)
app_token other lijiu "$PASSWORD2" mobile "openid%20qr_login" || die "no second app token"
OTHER_AT=$AT
app_token phone sunba "$PASSWORD" app1 "openid%20profile" || die "no app1 token"
NOSCOPE_AT=$AT

# the browser asks
qr_new b
[[ $STATUS == 303 && ${#T} -eq 43 && $LOCATION == /login/qr\?t=* ]] &&
  ok "login page: the QR button makes a request (a 256-bit token)" || fail "qr new: $STATUS '$LOCATION'"
[[ -n $(jar_value b yh_qr) ]] && ok "the browser got its yh_qr cookie" || fail "no yh_qr cookie"
QRPAGE=$LOCATION
req b GET "$QRPAGE"
[[ $STATUS == 200 && $BODY == *'<svg'* && $(header Refresh) == 3 && $BODY == *'href="/login/qr?t='* ]] &&
  ok "QR page: the code as inline SVG, a Refresh header and the 'scanned' link" || fail "qr page: $STATUS $(header Refresh)"
[[ $BODY == *"lang=en&amp;next=%2Faccount&amp;t=$T"* ]] && ok "QR page: the language switch keeps the request" ||
  fail "QR page: the language link loses the request"
[[ $(audit_count qr.create '"browser_ip":"127.0.0.1"') -eq 1 ]] && ok "audit: qr.create" || fail "audit: qr.create"

fetch "$BASE/qr?t=$T"
[[ $STATUS == 200 && $BODY != *"$T"* ]] && ok "the QR code's URL opened by a camera: a page saying to use the app" ||
  fail "GET /qr: $STATUS"

# refusals before the scan
qr_app confirm "$MOBILE_AT" "$T"
[[ $STATUS == 400 && $ERR == invalid_request ]] && ok "confirm without a scan: refused" || fail "confirm unscanned: $STATUS $BODY"
qr_app scan "$NOSCOPE_AT" "$T"
[[ $STATUS == 403 && $(header WWW-Authenticate) == *insufficient_scope* ]] &&
  ok "a token without qr_login: 403 insufficient_scope" || fail "no scope: $STATUS $BODY"
qr_app scan "not-a-token" "$T"
[[ $STATUS == 401 ]] && ok "a forged token: 401" || fail "forged token: $STATUS"
fetch "$BASE/qr/scan" -X POST --data-urlencode "t=$T"
[[ $STATUS == 401 ]] && ok "no token: 401" || fail "no token: $STATUS"

# the scan shows where the browser is
qr_app scan "$MOBILE_AT" "$T"
[[ $STATUS == 200 && $(jfield status) == scanned && $(jfield browser.address) == 127.0.0.1 &&
   -n $(jfield browser.created) ]] &&
  ok "scan: the browser's address and time shown to the person" || fail "scan: $STATUS $BODY"
req b GET "$QRPAGE"
[[ $STATUS == 200 && $BODY != *'<svg'* ]] && ok "QR page after the scan: confirm on the phone" ||
  fail "page after scan: $STATUS"
qr_app confirm "$OTHER_AT" "$T"
[[ $STATUS == 400 && $ERR == access_denied ]] && ok "confirm with another person's token: refused" ||
  fail "other person: $STATUS $BODY"
qr_app scan "$OTHER_AT" "$T"
[[ $STATUS == 400 && $ERR == access_denied ]] && ok "another person's scan of a scanned code: refused" || fail "other scan: $STATUS $BODY"

# another browser cannot claim it
req thief GET "$QRPAGE"
[[ $STATUS == 403 && -z $(jar_value thief yh_sid) ]] && ok "another browser: 403, no session" ||
  fail "other browser: $STATUS"
fetch "$BASE$QRPAGE" -H "Cookie: yh_qr=$(openssl rand -hex 22)"
[[ $STATUS == 403 ]] && ok "a browser with a made-up yh_qr: 403" || fail "made-up cookie: $STATUS"

# confirmed: the browser is logged in
qr_app confirm "$MOBILE_AT" "$T"
[[ $STATUS == 200 && $(jfield status) == confirmed ]] && ok "confirm: confirmed" || fail "confirm: $STATUS $BODY"
req thief GET "$QRPAGE"
[[ $STATUS == 403 ]] && ok "another browser still cannot claim the confirmed request" || fail "thief after confirm: $STATUS"
req b GET "$QRPAGE"
[[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value b yh_sid) ]] &&
  ok "the browser is logged in and sent on" || fail "claim: $STATUS '$LOCATION'"
req b GET /account
[[ $STATUS == 200 && $BODY == *孙八* ]] && ok "the account page shows the person" || fail "account: $STATUS"
[[ $(audit_count qr.scan '"client_id":"mobile"' '"browser_ip":"127.0.0.1"') -ge 1 &&
   $(audit_count qr.confirm '"client_id":"mobile"') -eq 1 &&
   $(audit_count login.success '"method":"qr"' '"client_id":"mobile"') -eq 1 ]] &&
  ok "audit: qr.scan, qr.confirm, login.success method qr with both sides" || fail "audit lines"

# the session as an app sees it
authorize_code b "openid%20profile" app1 || true
fetch "$BASE/token" -X POST -d grant_type=authorization_code -d client_id=app1 \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER"
idt=$(jfield id_token)
acr=$(jwt_claim "$idt" acr)
[[ $STATUS == 200 && $(jwt_claim "$idt" amr) == *qr* && -n $acr && ${acr##*:} -le ${APP_ACR##*:} ]] &&
  ok "code flow from the browser: amr has qr, acr $acr <= the app's $APP_ACR" ||
  fail "code flow: $STATUS amr=$(jwt_claim "$idt" amr) acr=$acr app=$APP_ACR"

# used twice
qr_app scan "$MOBILE_AT" "$T"
[[ $STATUS == 400 && $ERR == access_denied ]] && ok "a used QR code cannot be scanned again" || fail "rescan: $STATUS $BODY"
req b GET "$QRPAGE"
[[ $STATUS == 403 || $STATUS == 410 ]] && ok "a used QR code logs in nobody again" || fail "reclaim: $STATUS"

# denied
qr_new d
DPAGE=$LOCATION
qr_app scan "$MOBILE_AT" "$T"
qr_app deny "$MOBILE_AT" "$T"
[[ $STATUS == 200 && $(jfield status) == denied ]] && ok "deny: denied" || fail "deny: $STATUS $BODY"
req d GET "$DPAGE"
[[ $STATUS == 403 && -z $(jar_value d yh_sid) ]] && ok "a denied request logs in nobody" || fail "denied claim: $STATUS"
qr_app confirm "$MOBILE_AT" "$T"
[[ $STATUS == 400 && $ERR == access_denied ]] && ok "a denied request cannot be confirmed" || fail "confirm denied: $STATUS"
[[ $(audit_count qr.deny '"client_id":"mobile"') -eq 1 ]] && ok "audit: qr.deny" || fail "audit: qr.deny"

# the mobile app disabled: the access tokens it holds no longer scan
ctl_or_die client disable mobile
sleep 1.2
qr_new x
qr_app scan "$MOBILE_AT" "$T"
[[ $STATUS == 401 && $(header WWW-Authenticate) == *invalid_token* ]] &&
  ok "the mobile app disabled: its access token is refused (401 invalid_token)" ||
  fail "scan with a disabled app's token: $STATUS $BODY"
ctl_or_die client enable mobile
sleep 1.2

# expired
qr_new e
EPAGE=$LOCATION
sleep $((LIFETIME + 1))
qr_app scan "$MOBILE_AT" "$T"
[[ $STATUS == 400 && $ERR == invalid_request ]] && ok "an expired QR code cannot be scanned" || fail "expired scan: $STATUS $BODY"
req e GET "$EPAGE"
[[ $STATUS == 410 ]] && ok "an expired QR request's page says so" || fail "expired page: $STATUS"

no_errors_in "errors in authd's log" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
finish "qr_login: all checks passed"
