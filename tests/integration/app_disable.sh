#!/usr/bin/env bash
# An app disabled with `authctl client disable` is refused everywhere authd serves it,
# and `authctl client enable` restores it, against a real authd driven by curl:
#
#  - before: a confidential OIDC app gets an access and a refresh token by the code flow
#    (both active at /introspect, the access token good at /userinfo, the refresh token
#    refreshes), and a CAS app's service ticket is taken at /cas/login, so every check
#    below can fail;
#  - disabled: /authorize shows a page (403, no redirect to the app), /token answers 401
#    invalid_client (RFC 6749 5.2) for the code, refresh_token and client_credentials
#    grants, /introspect, /revoke and /par answer invalid_client, /userinfo refuses the
#    access token, the device approval page refuses a code the app got before (403,
#    the same words, no form to approve), and so does the consent page for a person who
#    has not consented to the app yet (no consent to record, no "deny" redirect to it),
#    /cas/login shows a page and /cas/serviceValidate refuses the ticket taken before;
#    client show says disabled, clients.json holds "disabled": true; a second disable
#    succeeds and changes nothing; an unknown app is exit 1;
#  - enabled again: /authorize redirects with a code, the old refresh token refreshes,
#    introspection answers, a new CAS ticket validates; "disabled" is gone from the file.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
command -v openssl >/dev/null || { echo "FAIL: the openssl command is not installed"; exit 1; }
make_tmp appdisable
PID=

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb          # nothing listens: the flow stops at the redirect
SVC=http://127.0.0.1:9/casapp
ID=$(id_number 11010119800404123)
PW='Disable app test 2026!'
SECRET1=app-one-secret-0123456789abcdef-0123

check() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
# token ARGS...: POST /token as app1 (client_secret_basic).
token() { req - POST /token -H "Authorization: $(basic app1 "$SECRET1")" "$@"; }
refresh() { token --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$1"; }
introspect() { req - POST /introspect -H "Authorization: $(basic app1 "$SECRET1")" --data-urlencode "token=$1"; }
fail_code() {
  "$PY" - "$TMP/body" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
e = ET.parse(sys.argv[1]).getroot().find(".//{http://www.yale.edu/tp/cas}authenticationFailure")
print("" if e is None else e.get("code", ""))
PYEOF
}
cas_ticket() {
  req jar GET "/cas/login?service=$(enc "$SVC")"
  TICKET=
  if [[ $STATUS == 302 && $LOCATION == "$SVC"[?\&]ticket=ST-* ]]; then TICKET=${LOCATION##*ticket=}; fi
}
validate() { fetch "$BASE/cas/serviceValidate?service=$(enc "$SVC")&ticket=$(enc "$1")"; }
# toggle disable|enable ID: authctl client disable|enable, then waits past the registry's
# re-read interval.
toggle() { ctl_or_die client "$1" "$2"; sleep 1.2; }

start_authd
ctl_or_die client add app1 --secret "$SECRET1" --redirect-uri "$CB" --scope openid profile \
  --grant authorization_code refresh_token client_credentials device_code --name "App One"
ctl_or_die client add casapp --cas-service "$SVC"
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$ID" --name 李停用 --password-stdin
ID2=$(id_number 11010119800404234)
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$ID2" --name 王停用 --password-stdin
sleep 1.2

login_form jar "$ID" "$PW"
[[ $STATUS == 303 && $LOCATION == /account ]] || die "login: $STATUS '$LOCATION'"
authorize_code jar "openid%20profile" app1 || die "no code for app1"
token --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER"
AT=$(jget access_token) RT=$(jget refresh_token)
[[ $STATUS == 200 && -n $AT && -n $RT ]] || die "/token for app1: $STATUS $BODY"
introspect "$RT"
check "before: the refresh token is active" "$STATUS|$(jget active)" "200|true"
req - GET /userinfo -H "Authorization: Bearer $AT"
check "before: /userinfo takes the access token" "$STATUS" 200
refresh "$RT"
RT=$(jget refresh_token)
[[ $STATUS == 200 && -n $RT ]] && ok "before: the refresh token refreshes" || fail "refresh before: $STATUS $BODY"
AT=$(jget access_token)
cas_ticket
[[ -n $TICKET ]] && ok "before: a CAS ticket for casapp" || die "CAS login before: $STATUS '$LOCATION'"
T_OLD=$TICKET
req - POST /device_authorization -H "Authorization: $(basic app1 "$SECRET1")" \
  --data-urlencode "scope=openid profile"
UC=$(jget user_code)
[[ $STATUS == 200 && -n $UC ]] && ok "before: a device code for app1" || die "device_authorization: $STATUS $BODY"

# ---- disabled
toggle disable app1
toggle disable casapp
ctl client show app1 | grep -q '"disabled": *true' && ok "client show: disabled" ||
  fail "client show: $(ctl client show app1)"
grep -q '"client_id":"app1".*"disabled":true' "$S/clients.json" && ok "clients.json: \"disabled\": true" ||
  fail "clients.json: $(grep app1 "$S/clients.json")"
cp "$S/clients.json" "$TMP/before-again.json"
ctl_or_die client disable app1
cmp -s "$S/clients.json" "$TMP/before-again.json" && ok "disable twice: succeeds, nothing written" ||
  fail "a second disable changed the file"
expect_rc 1 "disable an unknown app: exit 1" "$AUTHCTL" -d "$S" client disable no_such_app
authorize_visit jar "client_id=app1&scope=openid"
check "disabled: /authorize answers a page" "$STATUS" 403
[[ -z $LOCATION ]] && grep -q 此应用已被平台管理员停用 "$TMP/body" &&
  ok "disabled: /authorize says so, no redirect to the app" ||
  fail "disabled /authorize: '$LOCATION' $(grep -o '<main>.*' "$TMP/body" | head -c 300)"
refresh "$RT"
check "disabled: refresh_token grant" "$STATUS|$(jget error)" "401|invalid_client"
token --data-urlencode grant_type=client_credentials
check "disabled: client_credentials grant" "$STATUS|$(jget error)" "401|invalid_client"
token --data-urlencode grant_type=authorization_code --data-urlencode "code=nonsense" \
  --data-urlencode "redirect_uri=$CB"
check "disabled: authorization_code grant" "$STATUS|$(jget error)" "401|invalid_client"
[[ $(header WWW-Authenticate) == Basic* ]] && ok "disabled: invalid_client with a Basic challenge" ||
  fail "no WWW-Authenticate: '$(header WWW-Authenticate)'"
introspect "$RT"
check "disabled: /introspect" "$STATUS|$(jget error)" "401|invalid_client"
req - GET /userinfo -H "Authorization: Bearer $AT"
check "disabled: /userinfo refuses the access token" "$STATUS" 401
req - POST /revoke -H "Authorization: $(basic app1 "$SECRET1")" --data-urlencode "token=$RT"
check "disabled: /revoke" "$STATUS|$(jget error)" "401|invalid_client"
req - POST /par -H "Authorization: $(basic app1 "$SECRET1")" --data-urlencode response_type=code \
  --data-urlencode "redirect_uri=$CB" --data-urlencode scope=openid
check "disabled: /par" "$STATUS|$(jget error)" "401|invalid_client"
cas_ticket
check "disabled: /cas/login answers a page" "$STATUS|$TICKET" "403|"
grep -q 此应用已被平台管理员停用 "$TMP/body" && ok "disabled: the CAS page says so" || fail "CAS page"
validate "$T_OLD"
check "disabled: a ticket taken before is refused" "$(fail_code)" UNAUTHORIZED_SERVICE
login_form jar2 "$ID2" "$PW"
[[ $STATUS == 303 ]] || fail "login of a second person: $STATUS"
req jar2 GET "/consent?next=$(enc "/authorize?response_type=code&client_id=app1&redirect_uri=$(enc "$CB")&scope=openid%20profile&state=s1")"
check "disabled: the consent page answers 403" "$STATUS" 403
grep -q 此应用已被平台管理员停用 "$TMP/body" && ! grep -q 'name="action"' "$TMP/body" &&
  ok "disabled: the consent page says so, nothing to allow or deny" ||
  fail "disabled consent page: $(grep -o '<main>.*' "$TMP/body" | head -c 300)"
req jar GET "/device?user_code=$UC"
check "disabled: the device approval page answers 403" "$STATUS" 403
grep -q 此应用已被平台管理员停用 "$TMP/body" && ! grep -q 'name="action"' "$TMP/body" &&
  ok "disabled: the device page says so, no approval form" ||
  fail "disabled device page: $(grep -o '<main>.*' "$TMP/body" | head -c 300)"

# ---- enabled again
toggle enable app1
toggle enable casapp
grep -q '"disabled"' "$S/clients.json" && fail "enable left \"disabled\" in the file" ||
  ok "enabled: \"disabled\" gone from clients.json"
authorize_code jar "openid%20profile" app1 && ok "enabled: /authorize redirects with a code" ||
  fail "enabled: no code"
refresh "$RT"
RT2=$(jget refresh_token)
[[ $STATUS == 200 && -n $RT2 ]] && ok "enabled: the refresh token refreshes again" ||
  fail "refresh after enable: $STATUS $BODY"
introspect "$RT2"
check "enabled: /introspect answers" "$STATUS|$(jget active)" "200|true"
cas_ticket
validate "$TICKET"
[[ -n $TICKET && $(xml_text user) != "" ]] && ok "enabled: a new CAS ticket validates" ||
  fail "CAS after enable: $STATUS $(head -c 300 "$TMP/body")"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "app_disable: all checks passed"
