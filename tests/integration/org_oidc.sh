#!/usr/bin/env bash
# Acting for an enterprise through OIDC (scope org), against a real authd driven by curl:
#
#  - an enterprise with a legal representative and an agent (authctl org add / agent add,
#    the agent for the purposes tax and social); an app registered with scope org, and
#    an enterprise's own system registered with --org for client_credentials;
#  - the agent logs in to the app: after consent, /authorize shows the choice page (the
#    enterprise listed, "self", a CSRF token); choosing the enterprise gives a code whose
#    ID token, access token and /userinfo carry yh_org with role agent and the scopes,
#    and token.issue in the audit log names the enterprise;
#  - choosing self gives no yh_org; a person with no relation gets a code without any
#    page; a forged choice (an organization the agent has no relation to) is refused
#    with a 403 page and no redirect; the choice without the page's CSRF token is
#    refused;
#  - after `authctl org agent remove`, the refresh of the enterprise's grant fails with
#    invalid_grant;
#  - the enterprise's system gets yh_org {uscc, name, kind} by client_credentials.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/org_lib.sh"
need_authd
command -v openssl >/dev/null || { echo "FAIL: the openssl command is not installed"; exit 1; }
make_tmp orgoidc
PID=

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb
ENT=91350100123456788Q      # the enterprise
OTHER=933501002345678942    # an organization the agent has nothing to do with
REP=$(id_number 11010519491231002)
AG=$(id_number 11010119900307001)
NOB=$(id_number 11010119900307003)
PW='Org oidc test 2026!'
SECRET=org-app-secret-0123456789abcdef-0123
APP=orgapp
SYSSECRET=org-sys-secret-0123456789abcdef-0123

start_authd
stop_authd || die "authd did not stop cleanly"
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$REP" --name 法人甲 --password-stdin
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$NOB" --name 路人丙 --password-stdin
uid_ag=$(printf '%s\n' "$PW" | ctl user add --id-number "$AG" --name 经办人乙 --password-stdin) ||
  die "user add agent"
ctl_or_die user verify "$uid_ag" --loa 2 --by staff1 --evidence "counter check"
ctl_or_die org add --uscc "$ENT" --name 星海贸易有限公司 --legal-rep "$REP"
ctl_or_die org add --uscc "$OTHER" --name 某合作社 --kind social_organization
ctl_or_die org agent add "$ENT" --id-number "$AG" --scope tax --scope social
ctl_or_die client add orgapp --secret "$SECRET" --redirect-uri "$CB" \
  --scope openid profile org --grant authorization_code refresh_token --name 企业办事
ctl client add orgsys --secret "$SYSSECRET" --grant client_credentials --scope profile \
  --org 91350100000000000X >/dev/null 2>&1 && fail "client add --org accepted an unknown code" ||
  ok "client add --org refuses an organization that is not in the directory"
ctl_or_die client add orgsys --secret "$SYSSECRET" --grant client_credentials --scope profile \
  --org "$ENT"
start_authd

# ---- the agent: the page, the enterprise
login_form ag "$AG" "$PW"
[[ $STATUS == 303 ]] || die "agent login: $STATUS"
to_page ag
if [[ $STATUS == 200 ]] && grep -q "name=\"org\" value=\"$ENT\"" "$TMP/body" &&
   grep -q 'name="org" value="self"' "$TMP/body" && ! grep -q "$OTHER" "$TMP/body" &&
   grep -q '以法人身份办理' "$TMP/body"; then
  ok "the agent gets the choice page listing the enterprise and self"
else
  fail "choice page: $STATUS $(head -c 300 "$TMP/body")"
fi
cp "$TMP/body" "$TMP/page.html"
choose ag "$ENT"
redeem || die "no tokens for the enterprise"
[[ $(jwt_org "$IDT" 'o["uscc"], o["role"], o["scopes"], o["kind"]') == \
   "('$ENT', 'agent', ['tax', 'social'], 'enterprise')" ]] &&
  ok "the ID token carries yh_org: the enterprise, role agent, its scopes" ||
  fail "ID token yh_org: $(jwt_org "$IDT" o)"
[[ $(jwt_org "$AT" 'o["uscc"], o["role"]') == "('$ENT', 'agent')" ]] &&
  ok "the access token carries yh_org" || fail "access token yh_org: $(jwt_org "$AT" o)"
[[ $(jwt_claim "$IDT" sub) =~ ^[A-Za-z0-9_-]{43}$ ]] && ok "sub stays the person's pairwise subject" ||
  fail "sub: $(jwt_claim "$IDT" sub)"
req - GET /userinfo -H "Authorization: Bearer $AT"
[[ $STATUS == 200 && $(body_org 'o["uscc"], o["role"]') == "('$ENT', 'agent')" ]] &&
  ok "/userinfo carries yh_org" || fail "/userinfo: $STATUS $BODY"
[[ $(audit_count token.issue "\"org\":\"${ENT:0:6}") -ge 1 ]] &&
  ok "token.issue records the enterprise acted for" || fail "no token.issue with the org"
RT_ENT=$RT

# ---- self: no yh_org
to_page ag
choose ag self
redeem && { [[ $(jwt_org "$IDT" o) == None && $(jwt_org "$AT" o) == None ]] &&
  ok "choosing self gives no yh_org" || fail "self: $(jwt_org "$IDT" o)"; }

# ---- forged choices
to_page ag
cp "$TMP/body" "$TMP/page2.html"
issued=$(audit_count token.issue)
choose ag "$OTHER"
[[ $STATUS == 403 && -z $LOCATION ]] && grep -q '未向应用签发任何凭证' "$TMP/body" &&
  ok "a forged org (no relation) is refused with a page, no redirect" ||
  fail "forged org: $STATUS '$LOCATION'"
cp "$TMP/page2.html" "$TMP/body"
choose ag "$ENT" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
[[ $STATUS == 400 && -z $LOCATION ]] && ok "a choice without the page's CSRF token is refused" ||
  fail "bad csrf: $STATUS '$LOCATION'"
[[ $(audit_count token.issue) == "$issued" ]] && ok "nothing was issued for them" ||
  fail "token.issue after forged choices"

# ---- org_hint skips the page; a hint the person does not hold shows it
to_page ag "&org_hint=$ENT"
[[ $STATUS == 302 && $LOCATION == "$CB?"*code=* ]] && ok "org_hint that holds skips the page" ||
  fail "org_hint: $STATUS '$LOCATION'"
to_page ag "&org_hint=$OTHER"
[[ $STATUS == 200 ]] && grep -q "name=\"org\" value=\"$ENT\"" "$TMP/body" &&
  ok "org_hint that does not hold is ignored: the page" || fail "foreign org_hint: $STATUS"

# ---- a person with no relation: no page
login_form nob "$NOB" "$PW"
to_page nob
redeem && { [[ $(jwt_org "$IDT" o) == None ]] && ok "a person with no relation gets no page and no yh_org" ||
  fail "nobody: yh_org $(jwt_org "$IDT" o)"; }

# ---- the relation ends: the refresh fails
req - POST /token -H "Authorization: $(basic orgapp "$SECRET")" \
  --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT_ENT"
[[ $STATUS == 200 ]] && RT_ENT=$(jget refresh_token) && ok "a refresh while the agent holds works" ||
  fail "refresh before: $STATUS $BODY"
ctl_or_die org agent remove "$ENT" --id-number "$AG"
req - POST /token -H "Authorization: $(basic orgapp "$SECRET")" \
  --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT_ENT"
[[ $STATUS == 400 && $(jget error) == invalid_grant ]] &&
  ok "after org agent remove the refresh fails with invalid_grant" || fail "refresh after: $STATUS $BODY"

# ---- the enterprise's own system
req - POST /token -H "Authorization: $(basic orgsys "$SYSSECRET")" \
  --data-urlencode grant_type=client_credentials
AT=$(jget access_token)
[[ $STATUS == 200 && $(jwt_org "$AT" 'o["uscc"], o["kind"], "role" in o') == "('$ENT', 'enterprise', False)" ]] &&
  ok "client_credentials of an --org app carry yh_org without a role" ||
  fail "client_credentials: $STATUS $(jwt_org "$AT" o)"

check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"
finish "org_oidc: all checks passed"
