#!/usr/bin/env bash
# A person's SMS code flows in a real browser at 375 px (tests/node/sms_flows.mjs,
# headless Chromium) against authd with the file SMS driver: registration with the phone
# verified by its code, login by SMS code, logout, recovery of the forgotten password by
# SMS code with the ID number and name, login with the new password. Screenshots:
# $YH_BUILD/tests/integration/sms_browser/ (printed at the end).
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser
SCRIPT=$YH_SRCDIR/tests/node/sms_flows.mjs
SHOTS=$YH_BUILD/tests/integration/sms_browser

make_tmp sms-browser
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
ID=$(id_number 11010119900307123)

cat >"$TMP/authd.conf" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
sms.driver = file
sms.file = $TMP/sms.jsonl
sms.resend_interval = 10s
CONF
start_authd -c "$TMP/authd.conf"

mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
cat >"$TMP/config.json" <<JSON
{
  "issuer": "$BASE",
  "shots_dir": "$SHOTS",
  "sms_file": "$TMP/sms.jsonl",
  "wait_ms": 10000,
  "person": {"id_number": "$ID", "name": "短信用户", "phone": "13700137000",
             "password": "First password 2026!", "new_password": "Second password 2027!"}
}
JSON
rc=0
run_node "$SCRIPT" "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "browser at 375 px" || fail "browser: node exited $rc"
[[ $(audit_count password.recover) == 1 ]] && ok "audit: one password.recover" ||
  fail "password.recover audit lines: $(audit_count password.recover)"

check_stop_authd
no_errors_in "authd logged errors:" "$TMP/authd.log"
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
echo "screenshots: $SHOTS"
finish "sms_browser: all checks passed"
