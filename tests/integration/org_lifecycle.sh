#!/usr/bin/env bash
# When a relation to an organization ends, the grants in which the person acts for it end
# at once, in a running authd (authctl asks it over the control socket):
#
#  - an agent of two organizations logs in once and holds, for the app orgapp (with a
#    back-channel logout receiver), a grant acting for the first organization, and for
#    the app selfapp a grant of their own (self);
#  - `authctl org agent remove`: orgapp's receiver gets a logout token for that session,
#    the refresh token fails (invalid_grant), userinfo with the old access token is
#    refused (401); selfapp's grant is untouched (refresh and userinfo work);
#  - the same for `authctl org deregister` of the second organization, whose credit code
#    is all digits: its audit lines (token.issue, org.deregister, org.grants.end) name it
#    by org_uid, since the log masks the code;
#  - with authd stopped, agent remove still ends the relation and says authd was not
#    reached.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/org_lib.sh"
need_authd
command -v openssl >/dev/null || { echo "FAIL: the openssl command is not installed"; exit 1; }
make_tmp orglife
PID= RPID=
PIDS_TO_STOP="PID RPID"
LOGS="authd receiver ctl"

PORT=$(free_port)
RPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
SOCK=$S/authd.sock
CB=http://127.0.0.1:9/cb
ENT=91350100123456788Q      # the enterprise: agent remove
COOP=933501002345678942     # all digits: deregister
AG=$(id_number 11010119900307001)
PW='Org lifecycle test 2026!'
SECRET=org-app-secret-0123456789abcdef-0123

start_receiver "$RPORT" "$TMP/bodies.txt"
# logout_claim N CLAIM: CLAIM of the logout token in the receiver's Nth body.
logout_claim() {
  local body
  body=$(sed -n "${1}p" "$TMP/bodies.txt")
  jwt_claim "$(qparam "http://x/?$body" logout_token)" "$2"
}
# org_grant ORG: orgapp's tokens for the agent acting for ORG (org_hint skips the page).
org_grant() {
  APP=orgapp
  to_page ag "&org_hint=$1"
  redeem || return 1
  [[ $(jwt_org "$AT" 'o["uscc"]') == "$1" ]] || { fail "no yh_org for $1"; return 1; }
}
# refresh_rt RT: POST /token refresh_token for APP.
refresh_rt() {
  req - POST /token -H "Authorization: $(basic "$APP" "$SECRET")" \
    --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$1"
}
# ends_grant N LABEL: after a relation ended: logout token N for orgapp naming the
# session of IDT, the refresh of RT fails, userinfo with AT is refused.
ends_grant() {
  local sid
  sid=$(jwt_claim "$IDT" sid)
  if wait_bodies "$1" && [[ $(logout_claim "$1" aud) == orgapp &&
     $(logout_claim "$1" sid) == "$sid" && -n $sid ]]; then
    ok "$2: orgapp gets a logout token for the session"
  else
    fail "$2: no logout token for orgapp sid '$sid': $(sed -n "${1}p" "$TMP/bodies.txt")"
  fi
  APP=orgapp
  refresh_rt "$RT"
  [[ $STATUS == 400 && $(jget error) == invalid_grant ]] && ok "$2: the refresh fails" ||
    fail "$2: refresh: $STATUS $BODY"
  req - GET /userinfo -H "Authorization: Bearer $AT"
  [[ $STATUS == 401 ]] && ok "$2: userinfo refuses the access token" ||
    fail "$2: userinfo: $STATUS $BODY"
}
# self_untouched LABEL: selfapp's grant still refreshes and its access token works.
self_untouched() {
  APP=selfapp
  refresh_rt "$RT_SELF"
  if [[ $STATUS == 200 ]]; then
    RT_SELF=$(jget refresh_token)
    req - GET /userinfo -H "Authorization: Bearer $(jget access_token)"
    [[ $STATUS == 200 ]] && ok "$1: the person's own grant for selfapp is untouched" ||
      fail "$1: selfapp userinfo: $STATUS $BODY"
  else
    fail "$1: selfapp refresh: $STATUS $BODY"
  fi
}

start_authd_socket
stop_authd || die "authd did not stop cleanly"
uid_ag=$(printf '%s\n' "$PW" | ctl user add --id-number "$AG" --name 经办人乙 --password-stdin) ||
  die "user add agent"
ctl_or_die user verify "$uid_ag" --loa 2 --by staff1 --evidence "counter check"
ctl_or_die org add --uscc "$ENT" --name 星海贸易有限公司
ctl_or_die org add --uscc "$COOP" --name 某合作社 --kind social_organization
ctl_or_die org agent add "$ENT" --id-number "$AG"
ctl_or_die org agent add "$COOP" --id-number "$AG"
for app in orgapp selfapp; do
  ctl_or_die client add "$app" --secret "$SECRET" --redirect-uri "$CB" \
    --scope openid profile org --grant authorization_code refresh_token \
    --backchannel-logout-uri "http://127.0.0.1:$RPORT/bcl" --name "$app"
done
start_authd_socket

login_form ag "$AG" "$PW"
[[ $STATUS == 303 ]] || die "agent login: $STATUS"
APP=selfapp
to_page ag
choose ag self
redeem || die "no tokens for selfapp"
[[ $(jwt_org "$AT" o) == None ]] || fail "selfapp's grant acts for an organization"
RT_SELF=$RT

# ---- agent remove
org_grant "$ENT" || die "no grant for the enterprise"
out=$(ctl org agent remove "$ENT" --id-number "$AG")
rc=$?
[[ $rc == 0 && $out == *'"grants_ended":1'* ]] && ok "agent remove ends one grant in authd" ||
  fail "agent remove: exit $rc '$out'"
ends_grant 1 "agent remove"
self_untouched "agent remove"

# ---- deregister (an all-digit credit code)
org_grant "$COOP" || die "no grant for the cooperative"
coop_uid=$(ctl org show "$COOP" | "$PY" -c 'import sys,json;print(json.load(sys.stdin)["uid"])')
out=$(ctl org deregister "$COOP")
rc=$?
[[ $rc == 0 && $out == *'"grants_ended":1'* ]] && ok "deregister ends the agent's grant in authd" ||
  fail "deregister: exit $rc '$out'"
ends_grant 2 "deregister"
self_untouched "deregister"
[[ $(wc -l <"$TMP/bodies.txt") == 2 ]] && ok "no other app got a logout token" ||
  fail "receiver bodies: $(cat "$TMP/bodies.txt")"
for ev in token.issue org.deregister org.grants.end; do
  [[ $(audit_count "$ev" "\"org_uid\":\"$coop_uid\"") -ge 1 ]] &&
    ok "$ev of the all-digit code names the organization by org_uid" ||
    fail "$ev has no org_uid $coop_uid"
done

# ---- authd not running: the directory change stands, authctl says so
ctl_or_die org agent add "$ENT" --id-number "$AG"
stop_authd || die "authd did not stop cleanly"
out=$(ctl org agent remove "$ENT" --id-number "$AG")
rc=$?
[[ $rc == 0 && $out == *'"grants_ended":null'* ]] &&
  tail -1 "$TMP/ctl.log" | grep -q 'authd is not running\|not running' &&
  ok "without authd: the relation ends, authctl says authd was not reached" ||
  fail "agent remove without authd: exit $rc '$out' $(tail -1 "$TMP/ctl.log")"
out=$(ctl org agent list "$ENT")
[[ $out == '[]' ]] && ok "the relation ended" || fail "agent list: $out"

finish "org_lifecycle: all checks passed"
