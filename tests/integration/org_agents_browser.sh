#!/usr/bin/env bash
# The legal representative adds an agent on the account page in a real browser at 375 px
# (tests/node/org_agents.mjs, headless Chromium): the section, the TOTP step-up on the
# way (no ID number or name in its URL), the form kept on the way back, the agent listed;
# no sideways scrolling. Then the agent signs in to an app asking for scope org (served
# by node with openid-client, with a back-channel logout URI), picks the enterprise on
# the choice page and the app gets yh_org; the representative ends the grant on the
# account page, the app gets a logout token for the agent's session and the grant's
# tokens are refused; neither the agent then nor a person with no relation sees the
# choice page. The representative's TOTP is enrolled with curl first (lib.sh enrol), the
# code for the step-up computed here. Here: the relation ended (authctl org agent list,
# the audit names the representative). Screenshots:
# $YH_BUILD/tests/integration/org_agents_browser/ (printed at the end).
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser openid-client jose
SCRIPT=$YH_SRCDIR/tests/node/org_agents.mjs
SHOTS=$YH_BUILD/tests/integration/org_agents_browser

make_tmp orgagents-browser
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"
PORT=$(free_port)
RPPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
ENT=91350100123456788Q
REP=$(id_number 11010519491231002)
AG=$(id_number 11010119900307001)
NOB=$(id_number 11010119900307003)
PW='Org agents browser 2026!'
SECRET=$(openssl rand -hex 24)

start_authd
stop_authd || die "authd did not stop cleanly"
uid_rep=$(printf '%s\n' "$PW" | ctl user add --id-number "$REP" --name 法人甲 --password-stdin) ||
  die "user add rep"
uid_ag=$(printf '%s\n' "$PW" | ctl user add --id-number "$AG" --name 经办人乙 --password-stdin) ||
  die "user add agent"
uid_nob=$(printf '%s\n' "$PW" | ctl user add --id-number "$NOB" --name 路人丙 --password-stdin) ||
  die "user add nobody"
for u in "$uid_rep" "$uid_ag" "$uid_nob"; do
  ctl_or_die user verify "$u" --loa 2 --by staff1 --evidence "counter check"
done
ctl_or_die org add --uscc "$ENT" --name 星海贸易有限公司 --legal-rep "$REP"
ctl_or_die client add orgapp --secret "$SECRET" --redirect-uri "http://127.0.0.1:$RPPORT/cb" \
  --scope openid profile org --grant authorization_code refresh_token --name 企业办事 \
  --backchannel-logout-uri "http://127.0.0.1:$RPPORT/bcl"
start_authd

login_form rep "$REP" "$PW"
[[ $STATUS == 303 ]] || die "rep login: $STATUS"
enrol rep rep || die "TOTP enrolment"

mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
cat >"$TMP/config.json" <<JSON
{
  "issuer": "$BASE",
  "shots_dir": "$SHOTS",
  "rp_port": $RPPORT,
  "app": {"client_id": "orgapp", "client_secret": "$SECRET"},
  "uscc": "$ENT",
  "org_name": "星海贸易有限公司",
  "rep": {"id_number": "$REP", "password": "$PW", "code": "$(fresh_code rep)"},
  "agent": {"id_number": "$AG", "name": "经办人乙", "password": "$PW"},
  "nobody": {"id_number": "$NOB", "password": "$PW"}
}
JSON
rc=0
run_node "$SCRIPT" "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "browser at 375 px" || fail "browser: node exited $rc"
[[ $(audit_count org.agent.add "\"actor\":\"user:$uid_rep\"" "\"person\":\"$uid_ag\"") == 1 &&
   $(audit_count org.agent.remove "\"actor\":\"user:$uid_rep\"") == 1 ]] &&
  ok "the audit names the representative for adding and ending the grant" ||
  fail "audit: $(grep -E 'org.agent.(add|remove)' "$S/audit.log")"
list=$(ctl org agent list "$ENT") && [[ $list != *"$uid_ag"* ]] && ok "authctl org agent list no longer shows the agent" ||
  fail "the agent is still listed"

check_stop_authd
no_errors_in "authd logged errors:" "$TMP/authd.log"
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
echo "screenshots: $SHOTS"
finish "org_agents_browser: all checks passed"
