#!/usr/bin/env bash
# The legal representative adds an agent on the account page in a real browser at 375 px
# (tests/node/org_agents.mjs, headless Chromium): the section, the TOTP step-up on the
# way (no ID number or name in its URL), the form kept on the way back, the agent listed;
# no sideways scrolling. The representative's TOTP is enrolled with curl first (lib.sh
# enrol), the code for the step-up computed here. Screenshots:
# $YH_BUILD/tests/integration/org_agents_browser/ (printed at the end).
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser
SCRIPT=$YH_SRCDIR/tests/node/org_agents.mjs
SHOTS=$YH_BUILD/tests/integration/org_agents_browser

make_tmp orgagents-browser
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
ENT=91350100123456788Q
REP=$(id_number 11010519491231002)
AG=$(id_number 11010119900307001)
PW='Org agents browser 2026!'

start_authd
stop_authd || die "authd did not stop cleanly"
uid_rep=$(printf '%s\n' "$PW" | ctl user add --id-number "$REP" --name 法人甲 --password-stdin) ||
  die "user add rep"
uid_ag=$(printf '%s\n' "$PW" | ctl user add --id-number "$AG" --name 经办人乙 --password-stdin) ||
  die "user add agent"
for u in "$uid_rep" "$uid_ag"; do
  ctl_or_die user verify "$u" --loa 2 --by staff1 --evidence "counter check"
done
ctl_or_die org add --uscc "$ENT" --name 星海贸易有限公司 --legal-rep "$REP"
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
  "uscc": "$ENT",
  "rep": {"id_number": "$REP", "password": "$PW", "code": "$(fresh_code rep)"},
  "agent": {"id_number": "$AG", "name": "经办人乙"}
}
JSON
rc=0
run_node "$SCRIPT" "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "browser at 375 px" || fail "browser: node exited $rc"
[[ $(ctl org agent list "$ENT") == *"$uid_ag"* ]] && ok "authctl org agent list shows the agent" ||
  fail "the agent is not listed"

check_stop_authd
no_errors_in "authd logged errors:" "$TMP/authd.log"
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
echo "screenshots: $SHOTS"
finish "org_agents_browser: all checks passed"
