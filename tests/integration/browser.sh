#!/usr/bin/env bash
# A real browser against a real authd: headless Chromium (Debian's /usr/bin/chromium)
# driven by playwright-core registers on the Chinese page, is verified by an operator
# (LoA 2), logs in through app1 on the Chinese login page (switching to English and
# back), enrols TOTP on /account, is stepped up to LoA 3 by app2 (min LoA 3) through
# /login/totp, logs out (RP-initiated, back-channel tokens to both apps) and then needs
# the login page again. The node side (browser and the two apps) is
# tests/node/browser.mjs. Screenshots of every step are kept in
# $YH_SRCDIR/tests/artifacts/browser/ (printed at the end).
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser jose
SCRIPT=$YH_SRCDIR/tests/node/browser.mjs
SHOTS=$YH_SRCDIR/tests/artifacts/browser

make_tmp browser
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"

PORT=$(free_port)
RPPORT=$(free_port)
ISSUER=http://127.0.0.1:$PORT
RP=http://127.0.0.1:$RPPORT
S=$TMP/state
SECRET1=$(openssl rand -hex 24)
SECRET2=$(openssl rand -hex 24)

# The first start creates the state; the apps are added while authd is stopped.
start_authd
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add app1 --redirect-uri "$RP/app1/cb" --secret "$SECRET1" \
  --post-logout-redirect-uri "$RP/app1/bye" --backchannel-logout-uri "$RP/app1/bcl" \
  --scope openid profile --name "App One"
ctl_or_die client add app2 --redirect-uri "$RP/app2/cb" --secret "$SECRET2" \
  --post-logout-redirect-uri "$RP/app2/bye" --backchannel-logout-uri "$RP/app2/bcl" \
  --scope openid profile --min-loa 3 --name "App Two"
start_authd

mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
cat >"$TMP/config.json" <<EOF
{
  "issuer": "$ISSUER",
  "rp_port": $RPPORT,
  "authctl": "$AUTHCTL",
  "state_dir": "$S",
  "shots_dir": "$SHOTS",
  "user": {"name": "王小明", "id_number": "11010519491231002X", "phone": "13800138000",
           "password": "Chang Cheng 1987!"},
  "apps": {
    "app1": {"client_id": "app1", "client_secret": "$SECRET1"},
    "app2": {"client_id": "app2", "client_secret": "$SECRET2"}
  }
}
EOF

rc=0
run_node "$SCRIPT" "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "browser scenario" || fail "browser scenario: node exited $rc"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact" || fail "audit verify"
for ev in register login.success totp.enrol login.stepup logout; do
  grep -q "\"event\":\"$ev\"" "$S/audit.log" && ok "audit: $ev" || fail "audit has no $ev line"
done
grep -qF 'Chang Cheng 1987!' "$S/audit.log" "$TMP/authd.log" && fail "the password reached a log" ||
  ok "no password in the logs"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
echo "screenshots: $SHOTS"
if command -v fc-list >/dev/null && [[ -z $(fc-list :lang=zh 2>/dev/null) ]]; then
  echo "note: no Chinese font installed (fonts-noto-cjk or fonts-wqy-zenhei): the screenshots show boxes for Chinese text"
fi
if [[ $FAILS -ne 0 ]]; then
  echo "--- authd log (tail) ---"
  tail -40 "$TMP/authd.log"
  exit 1
fi
exit 0
