#!/usr/bin/env bash
# The service-hall counter in a real browser at 375 px (tests/node/counter.mjs, headless
# Chromium, with an app driven by openid-client): a staff member of a government agency
# logs in (the password, then the TOTP code: LoA 3), searches a citizen by ID number,
# sees them masked, has a mistyped re-entry refused and records the in-person check; the
# citizen's next sign-in to the app (acr_values loa:4, TOTP step-up) gets acr
# urn:yihao:loa:4 where the one before the counter got loa:2. No counter page scrolls
# sideways. Both persons' TOTP are enrolled with curl first (lib.sh enrol), the staff
# member's before `authctl staff add`; node gets their keys. Here: the staff session was
# at LoA 3, the directory holds LoA 4 with method counter and the staff member as
# verifier, counter.verify is audited, the audit chain verifies. Screenshots: $YH_BUILD/tests/integration/counter_browser/.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser openid-client jose
SCRIPT=$YH_SRCDIR/tests/node/counter.mjs
SHOTS=$YH_BUILD/tests/integration/counter_browser

make_tmp counter-browser
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"
PORT=$(free_port)
RPPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
GOV=11350100003000014R
UNIT=综合受理窗口
STAFF_ID=$(id_number 11010119800101123)
STAFF_PW='Staff password 2026!'
CIT_ID=$(id_number 35010219900202345)
CIT_NAME=林美华
CIT_PW='Citizen password 2026!'
SECRET=$(openssl rand -hex 24)

start_authd
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add app1 --secret "$SECRET" --redirect-uri "http://127.0.0.1:$RPPORT/cb" \
  --scope openid profile --name "App One"
uid_staff=$(printf '%s\n' "$STAFF_PW" | ctl user add --id-number "$STAFF_ID" --name 陈建国 \
  --password-stdin) || die "user add staff"
uid_cit=$(printf '%s\n' "$CIT_PW" | ctl user add --id-number "$CIT_ID" --name "$CIT_NAME" \
  --password-stdin) || die "user add citizen"
for u in "$uid_staff" "$uid_cit"; do
  ctl_or_die user verify "$u" --loa 2 --by registry --evidence "registry check"
done
ctl_or_die org add --uscc "$GOV" --name 某市政务服务中心
start_authd

login_form st "$STAFF_ID" "$STAFF_PW"
[[ $STATUS == 303 ]] || die "staff login: $STATUS"
enrol st staff || die "staff TOTP enrolment"
ctl_or_die staff add --id-number "$STAFF_ID" --org "$GOV" --unit "$UNIT"
login_form ct "$CIT_ID" "$CIT_PW"
[[ $STATUS == 303 ]] || die "citizen login: $STATUS"
enrol ct cit || die "citizen TOTP enrolment"

mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
cat >"$TMP/config.json" <<JSON
{
  "issuer": "$BASE",
  "shots_dir": "$SHOTS",
  "rp_port": $RPPORT,
  "app": {"client_id": "app1", "client_secret": "$SECRET"},
  "unit": "$UNIT",
  "staff": {"id_number": "$STAFF_ID", "password": "$STAFF_PW", "seed": "$(cat "$TMP/staff.seed")",
            "last_step": $(cat "$TMP/staff.step")},
  "citizen": {"id_number": "$CIT_ID", "name": "$CIT_NAME", "password": "$CIT_PW",
              "seed": "$(cat "$TMP/cit.seed")", "last_step": $(cat "$TMP/cit.step")}
}
JSON
rc=0
run_node "$SCRIPT" "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "browser at 375 px" || fail "browser: node exited $rc"

ev=$(sqlite3 "$S/directory.db" "select loa || '|' || method || '|' || verifier from loa_event
  where person_uid = '$uid_cit' order by rowid desc limit 1")
[[ $ev == "4|counter|user:$uid_staff" ]] &&
  ok "the directory: LoA 4, method counter, the staff member as verifier" || fail "LoA history: '$ev'"
[[ $(sqlite3 "$S/directory.db" "select count(*) from loa_event where person_uid = '$uid_cit'
  and loa = 4") == 1 ]] && ok "the refused re-entry wrote nothing" || fail "more than one LoA 4 event"
[[ $(audit_count login.stepup "\"actor\":\"user:$uid_staff\"" '"loa":3') == 1 ]] &&
  ok "the staff member's session was at LoA 3 (login.stepup)" ||
  fail "login.stepup: $(grep login.stepup "$S/audit.log")"
[[ $(audit_count counter.verify "\"actor\":\"user:$uid_staff\"" "\"person\":\"$uid_cit\"" '"applied"') == 1 ]] &&
  ok "counter.verify audited with the staff member as actor" ||
  fail "counter.verify: $(grep counter.verify "$S/audit.log")"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
expect_rc 0 "authctl audit verify" "$AUTHCTL" -d "$S" audit verify "$S/audit.log"
echo "screenshots: $SHOTS"
((FAILS)) && show_logs
finish "counter_browser: all checks passed"
