#!/usr/bin/env bash
# A legal representative manages the organization's agents on the account page, against a
# real authd driven by curl:
#
#  - the legal representative (real-name verified) sees a section for the enterprise
#    (name, credit code, role); before a TOTP enrolment the add form is replaced by a note;
#  - adding an agent with a password session is sent through the TOTP step-up (loa=3),
#    whose way back carries until and scopes but never the ID number or the name; back on
#    the page the form keeps them;
#  - after the step-up: an unknown ID number and a known one with another name get the
#    same message; a person at LoA 1, oneself, a deregistered organization are refused;
#    the form without its CSRF token and a person who is not the representative get 403;
#  - the agent is added (a name written with a space matches), appears in
#    `authctl org agent list` and on the page, a second grant is refused; the audit
#    names the representative;
#  - the agent logs in to an app asking for scope org, picks the enterprise and gets
#    yh_org with role agent; the representative ends the grant on the page and the app's
#    back-channel logout endpoint receives a logout token for the agent's session; the
#    refresh token is refused;
#  - authd runs with a legal-person registry (registry_stub.py): the grant above is
#    checked with it (a registry.check audit line naming the representative); when the
#    registry does not confirm the organization, or does not answer, the page refuses the
#    grant and says why.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/org_lib.sh"
need_authd
command -v openssl >/dev/null || { echo "FAIL: the openssl command is not installed"; exit 1; }
make_tmp orgagents
PID= RPID= GPID=
PIDS_TO_STOP="PID RPID GPID"
LOGS="authd receiver ctl registry"

PORT=$(free_port)
RPORT=$(free_port)
GPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb
ENT=91350100123456788Q      # the enterprise
GONE=933501002345678942     # an organization of the same representative, deregistered
REP=$(id_number 11010519491231002)
AG=$(id_number 11010119900307001)
LOW=$(id_number 11010119900307003)
NOREP=$(id_number 11010119900307004)
UNKNOWN=$(id_number 11010119900307005)
PW='Org agents page 2026!'
SECRET=org-app-secret-0123456789abcdef-0123
APP=orgapp

check() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
# alert: the text of the alert box of the last page ("" when none).
alert() { grep -oE '<div class="alert" role="alert">[^<]*' "$TMP/body" | sed 's/.*>//'; }
# add_agent JAR ID NAME [curl args...]: posts the add form of the last page.
add_agent() {
  local jar=$1 id=$2 name=$3 tok
  shift 3
  tok=$(form_value csrf)
  req "$jar" POST /account/org/agent/add --data-urlencode "csrf=$tok" \
    --data-urlencode "org=$ENT" --data-urlencode "id_number=$id" \
    --data-urlencode "name=$name" "$@"
}

start_receiver "$RPORT" "$TMP/bodies.txt"
CONF=$TMP/authd.conf
umask 077
printf 'yihao:%s\n' "orgpw-$(openssl rand -hex 8)" >"$TMP/org.cred"
echo match >"$TMP/mode"
cat >"$CONF" <<EOC
state_dir = $S
registry.org.url = http://127.0.0.1:$GPORT/org
registry.org.timeout = 1
registry.org.auth = basic
registry.org.credentials_file = $TMP/org.cred
registry.org.match_field = data.result
registry.org.match_value = 一致
registry.org.mismatch_value = 不一致
EOC
"$PY" "$(dirname "$0")/registry_stub.py" "$GPORT" "$TMP/mode" "$TMP/requests" \
  >>"$TMP/registry.log" 2>&1 &
GPID=$!
wait_ready "http://127.0.0.1:$GPORT/" "$GPID" || die "the stub registry did not start"
start_authd
stop_authd || die "authd did not stop cleanly"
uid_rep=$(printf '%s\n' "$PW" | ctl user add --id-number "$REP" --name 法人甲 --password-stdin) ||
  die "user add rep"
uid_ag=$(printf '%s\n' "$PW" | ctl user add --id-number "$AG" --name 经办人乙 --password-stdin) ||
  die "user add agent"
uid_no=$(printf '%s\n' "$PW" | ctl user add --id-number "$NOREP" --name 路人丁 --password-stdin) ||
  die "user add norep"
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$LOW" --name 路人丙 --password-stdin
for u in "$uid_rep" "$uid_ag" "$uid_no"; do
  ctl_or_die user verify "$u" --loa 2 --by staff1 --evidence "counter check"
done
ctl_or_die org add --uscc "$ENT" --name 星海贸易有限公司 --legal-rep "$REP"
ctl_or_die org add --uscc "$GONE" --name 某合作社 --kind social_organization --legal-rep "$REP"
ctl_or_die org deregister "$GONE"
ctl_or_die client add orgapp --secret "$SECRET" --redirect-uri "$CB" \
  --scope openid profile org --grant authorization_code refresh_token --name 企业办事 \
  --backchannel-logout-uri "http://127.0.0.1:$RPORT/bcl"
start_authd -c "$CONF" -l "127.0.0.1:$PORT"

# ---- the section
login_form rep "$REP" "$PW"
[[ $STATUS == 303 ]] || die "rep login: $STATUS"
req rep GET /account
if [[ $STATUS == 200 ]] && grep -q "id=\"org-$ENT\"" "$TMP/body" && grep -q '星海贸易有限公司' "$TMP/body" &&
   grep -q '法定代表人' "$TMP/body" && grep -q '目前没有经办人' "$TMP/body" &&
   ! grep -q "$GONE" "$TMP/body"; then
  ok "the representative sees the enterprise's section (not the deregistered one)"
else
  fail "section: $STATUS $(grep -c org- "$TMP/body")"
fi
grep -q 'name="id_number"' "$TMP/body" && fail "the add form is shown without an authenticator" ||
  ok "without an authenticator the add form is replaced by a note"
enrol rep rep || die "TOTP enrolment"
req rep GET /account
grep -q 'action="/account/org/agent/add"' "$TMP/body" && ok "with an authenticator the add form is shown" ||
  fail "no add form"

# ---- no fresh LoA 3: the step-up, and back
add_agent rep "$AG" 经办人乙 --data-urlencode "until=2099-12-31" --data-urlencode "scopes=tax social"
if [[ $STATUS == 303 && $LOCATION == /login/totp\?*loa=3* && $LOCATION != *"$AG"* &&
      $(qparam "http://x$LOCATION" next) != *经办人乙* && $LOCATION == *2099-12-31* ]]; then
  ok "adding with a password session is sent through the step-up (no ID number, no name in the URL)"
else
  fail "add without step-up: $STATUS '$LOCATION'"
fi
[[ $(audit_count org.agent.add) == 0 ]] && ok "nothing was granted before the step-up" ||
  fail "org.agent.add before the step-up"
totp_step rep rep
[[ $STATUS == 303 && $LOCATION == "/account?aorg=$ENT&aorg_done=stepup"* ]] &&
  ok "after the code, back to the account page" || fail "step-up: $STATUS '$LOCATION'"
req rep GET "$LOCATION"
[[ $STATUS == 200 ]] && grep -q '身份已验证' "$TMP/body" && grep -q 'value="2099-12-31"' "$TMP/body" &&
  grep -q 'value="tax social"' "$TMP/body" && ok "the form keeps until and scopes" ||
  fail "after step-up: $STATUS"
cp "$TMP/body" "$TMP/form.html"

# ---- refusals
add_agent rep "$UNKNOWN" 经办人乙
check "an unknown ID number is refused" "$STATUS" 400
msg_unknown=$(alert)
cp "$TMP/form.html" "$TMP/body"
add_agent rep "$AG" 张三
check "a name that does not match is refused" "$STATUS" 400
[[ -n $msg_unknown && $(alert) == "$msg_unknown" ]] &&
  ok "unknown person and name mismatch get the same message ($msg_unknown)" ||
  fail "messages differ: '$msg_unknown' / '$(alert)'"
cp "$TMP/form.html" "$TMP/body"
add_agent rep "$LOW" 路人丙
[[ $STATUS == 400 && $(alert) == *实名认证* && $(alert) != "$msg_unknown" ]] &&
  ok "a person at LoA 1 is refused as not verified" || fail "LoA 1: $STATUS '$(alert)'"
cp "$TMP/form.html" "$TMP/body"
add_agent rep "$REP" 法人甲
[[ $STATUS == 400 && $(alert) == *自己* ]] && ok "oneself is refused" || fail "self: $STATUS '$(alert)'"
cp "$TMP/form.html" "$TMP/body"
add_agent rep "$AG" 经办人乙 --data-urlencode "until=2020-01-01"
[[ $STATUS == 400 && $(alert) == *有效期* ]] && ok "a past end date is refused" ||
  fail "past until: $STATUS '$(alert)'"
req rep POST /account/org/agent/add --data-urlencode "org=$ENT" \
  --data-urlencode "id_number=$AG" --data-urlencode "name=经办人乙"
check "the form without its CSRF token gets 403" "$STATUS" 403
cp "$TMP/form.html" "$TMP/body"
tok=$(form_value csrf)
req rep POST /account/org/agent/add --data-urlencode "csrf=$tok" --data-urlencode "org=$GONE" \
  --data-urlencode "id_number=$AG" --data-urlencode "name=经办人乙"
[[ $STATUS == 400 ]] && grep -q '已注销或吊销' "$TMP/body" &&
  ok "a deregistered organization is refused" || fail "deregistered: $STATUS"
login_form norep "$NOREP" "$PW"
req norep GET /account
grep -q "org-$ENT" "$TMP/body" && fail "a non-representative sees the section" ||
  ok "a person who is not the representative sees no section"
ntok=$(form_value csrf)
req norep POST /account/org/agent/add --data-urlencode "csrf=$ntok" --data-urlencode "org=$ENT" \
  --data-urlencode "id_number=$AG" --data-urlencode "name=经办人乙"
check "a person who is not the representative posting the form gets 403" "$STATUS" 403
req norep POST /account/org/agent/end --data-urlencode "csrf=$ntok" --data-urlencode "org=$ENT" \
  --data-urlencode "relation=00000000000000000000000000000000"
check "... and posting the end form gets 403" "$STATUS" 403
[[ $(audit_count org.agent.add) == 0 ]] && ok "none of them granted anything" ||
  fail "org.agent.add after refusals"

# ---- the grant
cp "$TMP/form.html" "$TMP/body"
add_agent rep "$AG" '经办人 乙' --data-urlencode "scopes=tax, social"
[[ $STATUS == 303 && $LOCATION == "/account?aorg=$ENT&aorg_done=added"* ]] &&
  ok "the agent is added (the name compared by its matching key)" ||
  die "add: $STATUS '$LOCATION' $(alert)"
list=$(ctl org agent list "$ENT")
[[ $list == *"$uid_ag"* && $list == *'"scopes":"tax social"'* ]] &&
  ok "authctl org agent list shows the agent with the scopes" || fail "agent list: $list"
[[ $(audit_count registry.check "\"actor\":\"user:$uid_rep\"" '"result":"match"' '"via":"account"' '"org_uid":') == 1 ]] &&
  ok "the legal-person registry confirmed the enterprise first (registry.check)" ||
  fail "registry.check: $(grep registry.check "$S/audit.log")"
[[ $(audit_count org.agent.add "\"actor\":\"user:$uid_rep\"" "\"person\":\"$uid_ag\"") == 1 ]] &&
  ok "org.agent.add names the representative as actor" || fail "audit: $(grep org.agent.add "$S/audit.log")"
req rep GET "$LOCATION"
if grep -q '已添加经办人' "$TMP/body" && grep -q '经办人乙' "$TMP/body" &&
   grep -q "${AG:0:6}\*\*\*\*" "$TMP/body" && ! grep -q "$AG" "$TMP/body" &&
   grep -q '授权人：<span class="addr">法人甲</span>' "$TMP/body"; then
  ok "the page lists the agent with the ID number masked, granted by the representative"
else
  fail "agent not listed: $(grep -o 'class="device">[^/]*' "$TMP/body")"
fi
cp "$TMP/body" "$TMP/listed.html"
add_agent rep "$AG" 经办人乙
[[ $STATUS == 400 && $(alert) == *已是本单位的经办人* ]] && ok "a second current grant is refused" ||
  fail "duplicate: $STATUS '$(alert)'"

# ---- the agent acts for the enterprise
login_form ag "$AG" "$PW"
[[ $STATUS == 303 ]] || die "agent login: $STATUS"
to_page ag
choose ag "$ENT"
redeem || die "no tokens for the enterprise"
[[ $(jwt_org "$IDT" 'o["uscc"], o["role"], o["scopes"]') == "('$ENT', 'agent', ['tax', 'social'])" ]] &&
  ok "the agent gets yh_org with role agent and the scopes" || fail "yh_org: $(jwt_org "$IDT" o)"
sid=$(jwt_claim "$IDT" sid)

# ---- the representative ends the grant
cp "$TMP/listed.html" "$TMP/body"
rel=$(form_value relation)
tok=$(form_value csrf)
req rep POST /account/org/agent/end --data-urlencode "org=$ENT" --data-urlencode "relation=$rel"
check "ending without the CSRF token gets 403" "$STATUS" 403
req rep POST /account/org/agent/end --data-urlencode "csrf=$tok" --data-urlencode "org=$ENT" \
  --data-urlencode "relation=$rel"
[[ $STATUS == 303 && $LOCATION == "/account?aorg=$ENT&aorg_done=ended"* ]] &&
  ok "the representative ends the grant" || fail "end: $STATUS '$LOCATION'"
if wait_bodies 1; then
  body=$(sed -n 1p "$TMP/bodies.txt")
  lt=$(qparam "http://x/?$body" logout_token)
  [[ $(jwt_claim "$lt" aud) == orgapp && $(jwt_claim "$lt" sid) == "$sid" && -n $sid ]] &&
    ok "the app's back-channel logout endpoint gets a logout token for the agent's session" ||
    fail "logout token: aud $(jwt_claim "$lt" aud) sid $(jwt_claim "$lt" sid) want $sid"
else
  fail "no back-channel logout arrived"
fi
req - POST /token -H "Authorization: $(basic "$APP" "$SECRET")" \
  --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT"
[[ $STATUS == 400 && $(jget error) == invalid_grant ]] && ok "the agent's refresh token is refused" ||
  fail "refresh after end: $STATUS $BODY"
[[ $(ctl org agent list "$ENT") != *"$uid_ag"* ]] && ok "authctl org agent list no longer shows the agent" ||
  fail "agent still listed"
[[ $(audit_count org.agent.remove "\"actor\":\"user:$uid_rep\"") == 1 &&
   $(audit_count org.grants.end "\"actor\":\"user:$uid_rep\"" '"families":1') == 1 ]] &&
  ok "org.agent.remove and org.grants.end name the representative" ||
  fail "end audit: $(grep -E 'org.agent.remove|org.grants.end' "$S/audit.log")"
req rep POST /account/org/agent/end --data-urlencode "csrf=$tok" --data-urlencode "org=$ENT" \
  --data-urlencode "relation=$rel"
[[ $STATUS == 400 ]] && grep -q '已终止' "$TMP/body" && ok "ending it again says it has ended" ||
  fail "end again: $STATUS"

# ---- the legal-person registry refuses, or does not answer
req rep GET /account
echo mismatch >"$TMP/mode"
add_agent rep "$AG" 经办人乙
[[ $STATUS == 403 && $(alert) == *登记机关* ]] && ok "a registry mismatch refuses the grant" ||
  fail "registry mismatch: $STATUS '$(alert)'"
echo 500 >"$TMP/mode"
req rep GET /account
add_agent rep "$AG" 经办人乙
[[ $STATUS == 503 && $(alert) == *暂时无法核验* ]] && ok "an unavailable registry refuses the grant" ||
  fail "registry unavailable: $STATUS '$(alert)'"
[[ $(ctl org agent list "$ENT") != *"$uid_ag"* ]] && ok "nothing was granted then" ||
  fail "granted despite the registry"

# ---- English
req rep GET "/account?lang=en"
grep -q 'Organizations I act for\|Agents' "$TMP/body" && grep -q 'legal representative' "$TMP/body" &&
  ok "the section in English" || fail "English section"

check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"
no_sanitizer_in "sanitizer reports in the authd log" "$TMP/authd.log"
finish "org_agents_page: all checks passed"
