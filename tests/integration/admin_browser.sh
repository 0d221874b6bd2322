#!/usr/bin/env bash
# The operators' console in a real browser at 375 px (tests/node/admin.mjs, headless
# Chromium): an operator (TOTP enrolled with curl before `authctl staff add
# --admin-role all`) logs in at LoA 3, decides a review case from
# idmerge (admin_setup.sh) in the console, searches a citizen by ID number, reveals
# their ID number and registers an app. No console page scrolls sideways. Here: the
# directory holds the decision by the operator, review.resolve, admin.people.reveal and
# admin.apps.add are audited with the operator as actor, the app's secret shown in the
# browser checks, the audit chain verifies. Screenshots: $YH_BUILD/tests/integration/admin_browser/.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 not installed"; exit 1; }
export CI=true
SCRIPT=$YH_SRCDIR/tests/node/admin.mjs
SHOTS=$YH_BUILD/tests/integration/admin_browser

make_tmp admin-browser
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
. "$(dirname "$0")/admin_setup.sh"
start_authd -c "$CFG"
login_form o "$OP_ID" "$OP_PW"
[[ $STATUS == 303 ]] || die "operator login: $STATUS"
enrol o op || die "operator TOTP enrolment"
ctl_or_die staff add --id-number "$OP_ID" --org "$GOV" --unit 数据管理科 --admin-role all

mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
cat >"$TMP/config.json" <<JSON
{
  "issuer": "$BASE",
  "shots_dir": "$SHOTS",
  "case": "$C_SEP",
  "org": "$GOV",
  "operator": {"id_number": "$OP_ID", "password": "$OP_PW", "seed": "$(cat "$TMP/op.seed")",
               "last_step": $(cat "$TMP/op.step")},
  "citizen": {"id_number": "$CIT_ID", "name": "$CIT_NAME"},
  "app": {"client_id": "browser_app", "redirect_uri": "http://127.0.0.1:9/cb",
          "secret_out": "$TMP/app.secret"}
}
JSON
rc=0
run_node "$SCRIPT" "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "browser at 375 px" || fail "browser: node exited $rc"

[[ $(sqlite3 "$DB" "select state || '|' || decided_by from review_case where id = '$C_SEP'") == \
  "separate|user:$OP_UID" ]] && ok "the directory: the case separate, decided by the operator" ||
  fail "the case: $(sqlite3 "$DB" "select state, decided_by from review_case where id = '$C_SEP'")"
[[ $(audit_count login.stepup "\"actor\":\"user:$OP_UID\"" '"loa":3') == 1 ]] &&
  ok "the operator's session was at LoA 3 (login.stepup)" || fail "login.stepup"
[[ $(audit_count review.resolve "\"actor\":\"user:$OP_UID\"" "\"case\":\"$C_SEP\"") == 1 ]] &&
  ok "review.resolve audited with the operator as actor" || fail "review.resolve"
[[ $(audit_count admin.people.reveal "\"actor\":\"user:$OP_UID\"" "\"person\":\"$CIT_UID\"") == 1 ]] &&
  ok "the reveal audited" || fail "admin.people.reveal"

[[ -s $TMP/app.secret ]] && "$AUTHCTL" -d "$S" client check-secret browser_app <"$TMP/app.secret" &&
  ok "the app registered in the browser: its secret checks" || fail "the app registered in the browser"
[[ $(audit_count admin.apps.add "\"actor\":\"user:$OP_UID\"" '"client_id":"browser_app"') == 1 ]] &&
  ok "the registration audited" || fail "admin.apps.add"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
expect_rc 0 "authctl audit verify" "$AUTHCTL" -d "$S" audit verify "$S/audit.log"
echo "screenshots: $SHOTS"
((FAILS)) && show_logs
finish "admin_browser: all checks passed"
