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
YH_BUILD=$(cd "$YH_BUILD" && pwd) YH_SRCDIR=$(cd "$YH_SRCDIR" && pwd) || exit 1
AUTHD=$YH_BUILD/authd/authd
AUTHCTL=$YH_BUILD/authd/authctl
SCRIPT=$YH_SRCDIR/tests/node/browser.mjs
CHROMIUM=/usr/bin/chromium
SHOTS=$YH_SRCDIR/tests/artifacts/browser

# No silent skip: this check is part of the suite.
[[ -x $CHROMIUM ]] || { echo "FAIL: $CHROMIUM missing (apt-get install chromium)"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node not installed"; exit 1; }
[[ -d $YH_SRCDIR/tests/node/node_modules/playwright-core && -d $YH_SRCDIR/tests/node/node_modules/jose ]] ||
  { echo "FAIL: tests/node/node_modules lacks playwright-core or jose (npm ci in tests/node)"; exit 1; }
[[ -x $AUTHD && -x $AUTHCTL ]] || { echo "FAIL: authd/authctl not built in $YH_BUILD"; exit 1; }

TMP=$(mktemp -d /tmp/yh-browser-XXXXXX)
PID=
NODEPID=
cleanup() {
  if [[ -n $NODEPID ]] && kill -0 "$NODEPID" 2>/dev/null; then kill -KILL "$NODEPID"; wait "$NODEPID" 2>/dev/null; fi
  if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID"; wait "$PID" 2>/dev/null; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

PORT=$(free_port)
RPPORT=$(free_port)
while [[ $RPPORT == "$PORT" ]]; do RPPORT=$(free_port); done
ISSUER=http://127.0.0.1:$PORT
RP=http://127.0.0.1:$RPPORT
S=$TMP/state
SECRET1=$(openssl rand -hex 24)
SECRET2=$(openssl rand -hex 24)

start_authd() {
  "$AUTHD" -d "$S" -l "127.0.0.1:$PORT" 2>>"$TMP/authd.log" &
  PID=$!
  for _ in $(seq 1 300); do
    curl -s -o /dev/null --max-time 2 "$ISSUER/healthz" && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "FAIL: authd did not start; its log:"; cat "$TMP/authd.log"; exit 1
}
stop_authd() {
  kill -TERM "$PID"
  wait "$PID"
  local rc=$?
  PID=
  return $rc
}
ctl() { "$AUTHCTL" -d "$S" "$@" >>"$TMP/ctl.log" 2>&1 || { echo "FAIL: authctl $*"; cat "$TMP/ctl.log"; exit 1; }; }

# The first start creates the state; the apps are added while authd is stopped.
start_authd
stop_authd || { echo "FAIL: authd did not stop cleanly"; cat "$TMP/authd.log"; exit 1; }
ctl client add app1 --redirect-uri "$RP/app1/cb" --secret "$SECRET1" \
  --post-logout-redirect-uri "$RP/app1/bye" --backchannel-logout-uri "$RP/app1/bcl" \
  --scope openid profile --name "App One"
ctl client add app2 --redirect-uri "$RP/app2/cb" --secret "$SECRET2" \
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

# node runs in the background so that the trap can kill it by pid.
(cd "$YH_SRCDIR/tests/node" && exec timeout -k 5 240 node "$SCRIPT" "$TMP/config.json") &
NODEPID=$!
wait "$NODEPID"
rc=$?
NODEPID=
[[ $rc -eq 0 ]] && ok "browser scenario" || fail "browser scenario: node exited $rc"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
if grep -qE '"level":"error"|: error:' "$TMP/authd.log"; then
  fail "authd logged errors:"; grep -E '"level":"error"|: error:' "$TMP/authd.log" | head -20
fi
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact" || fail "audit verify"
for ev in register login.success totp.enrol login.stepup logout; do
  grep -q "\"event\":\"$ev\"" "$S/audit.log" && ok "audit: $ev" || fail "audit has no $ev line"
done
grep -qF 'Chang Cheng 1987!' "$S/audit.log" "$TMP/authd.log" && fail "the password reached a log" ||
  ok "no password in the logs"
stop_authd
rc=$?
[[ $rc -eq 0 ]] && ok "authd: exit 0 on SIGTERM" || fail "authd exited $rc"
if grep -qE 'Sanitizer|runtime error:' "$TMP/authd.log"; then
  fail "sanitizer reports in the authd log:"; grep -E -A5 'Sanitizer|runtime error:' "$TMP/authd.log" | head -40
fi
echo "screenshots: $SHOTS"
if command -v fc-list >/dev/null && [[ -z $(fc-list :lang=zh 2>/dev/null) ]]; then
  echo "note: no Chinese font installed (fonts-noto-cjk or fonts-wqy-zenhei): the screenshots show boxes for Chinese text"
fi
if [[ $fails -ne 0 ]]; then
  echo "--- authd log (tail) ---"
  tail -40 "$TMP/authd.log"
  exit 1
fi
exit 0
