#!/usr/bin/env bash
# The device flow and the QR-code login in headless Chromium (tests/node/device_qr_browser.mjs):
# a kiosk (node's openid-client) polls while a phone-sized browser logs in and approves;
# a desktop browser shows the login page's QR code, the app (a token with qr_login got
# here with curl) scans and confirms, and the page, polling by itself without script,
# ends logged in. Screenshots: $YH_BUILD/tests/integration/device_qr_browser/.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser openid-client
SCRIPT=$YH_SRCDIR/tests/node/device_qr_browser.mjs
SHOTS=$YH_BUILD/tests/integration/device_qr_browser

make_tmp device-qr-browser
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
CB=http://127.0.0.1:9/cb
PW='Zhou-Shi-2026!pw'

cat >"$CONF" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
CONF

start_authd -c "$CONF"
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add kiosk --public --grant device_code --scope openid profile --name 大厅自助机
ctl_or_die client add mobile --public --redirect-uri "$CB" --scope openid qr_login
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$(id_number 11010119930613123)" \
  --name 周十 --phone 13812340010 --username zhoushi --password-stdin
start_authd -c "$CONF"

login_form phone zhoushi "$PW"
[[ $STATUS == 303 ]] || die "login: $STATUS"
authorize_code phone "openid%20qr_login" mobile || die "no code for the app"
fetch "$BASE/token" -X POST -d grant_type=authorization_code -d client_id=mobile \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER"
AT=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("access_token",""))' "$TMP/body")
[[ -n $AT ]] || die "no app token: $BODY"

mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
cat >"$TMP/config.json" <<JSON
{
  "issuer": "$BASE",
  "shots_dir": "$SHOTS",
  "kiosk": "kiosk",
  "user": {"username": "zhoushi", "password": "$PW"},
  "app_token": "$AT",
  "name": "周十"
}
JSON
rc=0
run_node "$SCRIPT" "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "Chromium: the device flow and the QR-code login" || fail "browser: node exited $rc"

check_stop_authd
no_errors_in "authd logged errors:" "$TMP/authd.log"
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
echo "screenshots: $SHOTS"
finish "device_qr_browser: all checks passed"
