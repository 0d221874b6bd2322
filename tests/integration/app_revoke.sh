#!/usr/bin/env bash
# "Revoke" on the account page's list of apps takes the app's tokens with it, against a
# real authd driven by curl:
#
#  - a person logs in (the session stays alive throughout) and a confidential app gets
#    an access and a refresh token by the code flow; a second app gets its own tokens;
#  - both access tokens work at /userinfo and are active at /introspect (asked by their
#    own app), so the checks below can fail;
#  - after "revoke" for the first app on /account, its access token gets 401 at
#    /userinfo and active:false at /introspect, and its refresh token invalid_grant,
#    while the second app's access token still works: the revoked families' access
#    tokens are on the session store's denylist, not only their refresh tokens;
#  - the audit trail has the consent.revoke with the number of families.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
command -v openssl >/dev/null || { echo "FAIL: the openssl command is not installed"; exit 1; }
make_tmp apprevoke
PID=

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb          # nothing listens: the flow stops at the redirect
ID=$(id_number 11010119800303123)
PW='Revoke app test 2026!'
SECRET1=app-one-secret-0123456789abcdef-0123
SECRET2=app-two-secret-0123456789abcdef-0123

# tokens CLIENT SECRET: the code flow for CLIENT with the jar's session; sets AT and RT.
tokens() {
  AT= RT=
  authorize_code jar "openid%20profile" "$1" || return 1
  req - POST /token -H "Authorization: $(basic "$1" "$2")" \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
    --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER"
  AT=$(jget access_token)
  RT=$(jget refresh_token)
  [[ $STATUS == 200 && -n $AT && -n $RT ]] || { fail "/token for $1: $STATUS $BODY"; return 1; }
}
# userinfo TOKEN: STATUS of GET /userinfo with the bearer token.
userinfo() { req - GET /userinfo -H "Authorization: Bearer $1"; }
# active CLIENT SECRET TOKEN: prints /introspect's "active" as asked by CLIENT.
active() {
  req - POST /introspect -H "Authorization: $(basic "$1" "$2")" --data-urlencode "token=$3"
  [[ $STATUS == 200 ]] || { echo "status $STATUS"; return; }
  jget active
}

start_authd
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add app1 --secret "$SECRET1" --redirect-uri "$CB" --scope openid profile \
  --grant authorization_code refresh_token --name "App One"
ctl_or_die client add app2 --secret "$SECRET2" --redirect-uri "$CB" --scope openid profile \
  --grant authorization_code refresh_token --name "App Two"
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$ID" --name 李撤销 --password-stdin
start_authd

login_form jar "$ID" "$PW"
[[ $STATUS == 303 && $LOCATION == /account ]] || die "login: $STATUS '$LOCATION'"
tokens app1 "$SECRET1" || die "no tokens for app1"
AT1=$AT RT1=$RT
tokens app2 "$SECRET2" || die "no tokens for app2"
AT2=$AT

# ---- before: both work
userinfo "$AT1"
[[ $STATUS == 200 ]] && ok "app1's access token works at /userinfo" || fail "app1 /userinfo before: $STATUS"
[[ $(active app1 "$SECRET1" "$AT1") == true ]] && ok "app1's access token is active" ||
  fail "app1 /introspect before: $(active app1 "$SECRET1" "$AT1")"
[[ $(active app1 "$SECRET1" "$RT1") == true ]] && ok "app1's refresh token is active" ||
  fail "app1 refresh /introspect before"

# ---- revoke app1 on the account page
req jar GET /account
TOK=$(form_value csrf)
[[ $STATUS == 200 && -n $TOK ]] || die "account page: $STATUS, csrf '$TOK'"
grep -q 'App One' "$TMP/body" && ok "the account page lists App One" || fail "App One not listed"
req jar POST /account/app/revoke --data-urlencode "csrf=$TOK" --data-urlencode client_id=app1
[[ $STATUS == 303 && $LOCATION == '/account?done=revoked' ]] && ok "revoke app1: 303 to /account" ||
  fail "revoke app1: $STATUS '$LOCATION'"
req jar GET /account
[[ $STATUS == 200 ]] && ok "the session lives on after revoking an app" || fail "account after revoke: $STATUS"

# ---- after: app1's tokens are dead, app2's are not
userinfo "$AT1"
[[ $STATUS == 401 ]] && ok "app1's access token gets 401 at /userinfo" ||
  fail "app1's access token at /userinfo after revoke: $STATUS"
[[ $(active app1 "$SECRET1" "$AT1") == false ]] && ok "app1's access token is inactive at /introspect" ||
  fail "app1 /introspect after revoke: $(active app1 "$SECRET1" "$AT1")"
[[ $(active app1 "$SECRET1" "$RT1") == false ]] && ok "app1's refresh token is inactive" ||
  fail "app1 refresh /introspect after revoke: $(active app1 "$SECRET1" "$RT1")"
req - POST /token -H "Authorization: $(basic app1 "$SECRET1")" \
  --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT1"
[[ $STATUS == 400 && $(jget error) == invalid_grant ]] && ok "app1's refresh token: invalid_grant" ||
  fail "app1 refresh after revoke: $STATUS $BODY"
userinfo "$AT2"
[[ $STATUS == 200 ]] && ok "app2's access token still works" || fail "app2 /userinfo after revoking app1: $STATUS"
[[ $(active app2 "$SECRET2" "$AT2") == true ]] && ok "app2's access token is still active" ||
  fail "app2 /introspect after revoking app1"
[[ $(audit_count consent.revoke '"client_id":"app1"' '"refresh_families":1') == 1 ]] &&
  ok "audit: consent.revoke of app1, one family" || fail "no consent.revoke line for app1"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "app_revoke: all checks passed"
