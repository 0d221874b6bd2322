#!/usr/bin/env bash
# Account recovery (忘记密码) by SMS code against a real authd with the file SMS driver,
# driven by curl, with a back-channel logout receiver (lib.sh's start_receiver):
#
#  - without an SMS gateway /login/forgot has no form and POST is refused;
#  - with one: ID number, name and the account's verified phone get a code; any other
#    combination (an unregistered ID number, the wrong name, another phone) gets the
#    same page and no message;
#  - the code with a new password: the password changes, every session of the person
#    ends (two browsers) with a back-channel logout token to the app, the old password
#    stops working, the new one works; the code does not work twice; a wrong code
#    changes nothing; everything is audited with the phone masked, never the ID number;
#  - the times of a request for a code and of a reset attempt with a wrong code, for a
#    registered and an unregistered ID number: medians printed, gross differences fail.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sms_lib.sh"
need_authd
make_tmp smsrec
PID= RPID=
PIDS_TO_STOP="PID RPID"

PORT=$(free_port)
RPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ISSUER=$BASE
S=$TMP/state
OUT=$TMP/sms.jsonl
CB=http://127.0.0.1:9/cb
ID=$(id_number 11010519491231002)
NOBODY_ID=$(id_number 11010519600101003)
PHONE=13800138000
OLD_PW='Old password 2026!'
NEW_PW='New password 2027!'

# rc_post JAR ACTION ID NAME PHONE [CODE PASSWORD]: the recovery form as a browser fills
# it (GET, then POST with its csrf).
rc_post() {
  local tok
  req "$1" GET '/login/forgot'
  tok=$(form_value csrf)
  req "$1" POST /login/forgot --data-urlencode "csrf=$tok" --data-urlencode "action=$2" \
    --data-urlencode "id_number=$3" --data-urlencode "name=$4" --data-urlencode "phone=$5" \
    --data-urlencode "code=${6:-}" --data-urlencode "password=${7:-}" \
    --data-urlencode "password2=${7:-}"
}
page_core() { sed -E 's/name="(csrf|id_number|name|phone)" value="[^"]*"/\1/g' "$TMP/body"; }

start_receiver "$RPORT" "$TMP/bodies.txt"
start_authd
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add app1 --public --redirect-uri "$CB" --scope openid profile \
  --backchannel-logout-uri "http://127.0.0.1:$RPORT/bcl" --name "App One"
printf '%s\n' "$OLD_PW" | ctl_or_die user add --id-number "$ID" --name 王小明 --phone "$PHONE" \
  --password-stdin

# ---- no gateway: no online reset
start_authd
req x GET /login/forgot
[[ $STATUS == 200 && $BODY == *'目前还不能在网上找回或重置密码'* && $BODY != *'name="code"'* ]] &&
  ok "without an SMS gateway: the counter's way, no form" || fail "GET /login/forgot: $STATUS"
req x POST /login/forgot -d action=send
[[ $STATUS == 404 ]] && ok "without an SMS gateway: POST refused" || fail "POST without gateway: $STATUS"
stop_authd || fail "authd did not stop"

cat >"$TMP/authd.conf" <<EOF
state_dir = $S
http.listen = 127.0.0.1:$PORT
sms.driver = file
sms.file = $OUT
sms.resend_interval = 10s
sms.max_per_address = 1000
EOF
start_authd -c "$TMP/authd.conf"

# ---- two sessions of the person, one known to app1
login_form b1 "$ID" "$OLD_PW"
[[ $STATUS == 303 ]] || fail "login 1: $STATUS"
authorize_code b1 "openid%20profile" || fail "no code for app1"
login_form b2 "$PHONE" "$OLD_PW"
[[ $STATUS == 303 ]] || fail "login 2: $STATUS"

# ---- asking for a code: the right details, and three wrong ones, one page
req r GET /login/forgot
[[ $STATUS == 200 && $BODY == *'name="id_number"'* && $BODY == *'value="reset"'* ]] &&
  ok "with an SMS gateway: the recovery form" || fail "recovery form: $STATUS"
rc_post r send "$ID" 王小明 "$PHONE"
[[ $STATUS == 200 && $BODY == *'验证码已发送至该账号已验证的手机'* ]] && ok "the right details: the page" ||
  fail "send: $STATUS"
page_core >"$TMP/p0.html"
CODE=$(last_code "$PHONE" 1)
[[ $CODE =~ ^[0-9]{6}$ ]] && grep -q '您正在找回账号' "$OUT" && ok "a recovery code went to the verified phone" ||
  fail "no recovery code: $(cat "$OUT" 2>/dev/null)"
n=0
for args in "$NOBODY_ID 王小明 13900139001" "$ID 李四 13900139002" "$ID 王小明 13900139003"; do
  n=$((n + 1))
  read -r a_id a_name a_phone <<<"$args"
  rc_post "w$n" send "$a_id" "$a_name" "$a_phone"
  page_core >"$TMP/p$n.html"
  [[ $STATUS == 200 ]] && diff -q "$TMP/p0.html" "$TMP/p$n.html" >/dev/null &&
    ok "wrong details $n: the very same page" || fail "wrong details $n: $STATUS $(diff "$TMP/p0.html" "$TMP/p$n.html" | head -3)"
done
sleep 0.3
[[ $(wc -l <"$OUT") == 1 ]] && ok "no message for the wrong details" || fail "messages: $(cat "$OUT")"
[[ $(audit_count recover.request '"result":"no_match"') == 3 ]] && ok "audit: 3 requests without a match" ||
  fail "recover.request no_match: $(audit_count recover.request '"result":"no_match"')"

# ---- a wrong code changes nothing; the right one resets
WRONG=$(printf '%06d' $(((10#$CODE + 1) % 1000000)))
rc_post r reset "$ID" 王小明 "$PHONE" "$WRONG" "$NEW_PW"
[[ $STATUS == 400 && $BODY == *'验证码错误、已使用或已过期'* ]] && ok "a wrong code: refused" ||
  fail "wrong code: $STATUS"
rc_post r reset "$ID" 王小明 "$PHONE" "$CODE" "short"
[[ $STATUS == 400 ]] && ok "a password the rules refuse: refused before the code is used" ||
  fail "short password: $STATUS"
req b1 GET /account
[[ $STATUS == 200 ]] || fail "session 1 before the reset: $STATUS"
rc_post r reset "$ID" 王小明 "$PHONE" "$CODE" "$NEW_PW"
[[ $STATUS == 200 && $BODY == *'您的新密码已生效'* ]] && ok "the right code: the password is reset" ||
  fail "reset: $STATUS"
wait_bodies 1 && grep -q logout_token "$TMP/bodies.txt" && ok "app1 got a back-channel logout token" ||
  fail "no back-channel logout: $(cat "$TMP/bodies.txt")"
req b1 GET /account
[[ $STATUS == 30[23] && $LOCATION == /login* ]] && ok "session 1 ended" || fail "session 1: $STATUS"
req b2 GET /account
[[ $STATUS == 30[23] && $LOCATION == /login* ]] && ok "session 2 ended" || fail "session 2: $STATUS"
login_form n "$ID" "$OLD_PW"
[[ $STATUS == 200 && -z $(jar_value n yh_sid) ]] && ok "the old password no longer works" ||
  fail "old password: $STATUS"
login_form n "$ID" "$NEW_PW"
[[ $STATUS == 303 ]] && ok "the new password works" || fail "new password: $STATUS"
rc_post r reset "$ID" 王小明 "$PHONE" "$CODE" "Another pass 2028!"
[[ $STATUS == 400 ]] && ok "the code does not work twice" || fail "code reuse: $STATUS"
grep -F '"event":"password.recover"' "$S/audit.log" | grep -q '"sessions_ended":2' &&
  ok "audit: password.recover, 2 sessions ended" || fail "password.recover: $(grep -F password.recover "$S/audit.log")"
grep -F '"recover.' "$S/audit.log" | grep -q "${ID:0:6}" && fail "an ID number in the audit log" ||
  ok "no ID number in the recovery audit lines"

# ---- timing: a registered ID number vs an unregistered one
N=9
: >"$TMP/t_send_k"; : >"$TMP/t_send_u"; : >"$TMP/t_reset_k"; : >"$TMP/t_reset_u"
for i in $(seq 1 $N); do
  pid=$(id_number "1101011990020$((1000 + i))")
  printf '%s\n' "Timing person $i!" | ctl user add --id-number "$pid" --name 计时 \
    --phone "1360013600$i" --password-stdin >/dev/null || fail "user add $i"
done
# time_rc JAR ACTION ID PHONE [CODE]: the POST's time in ms.
time_rc() {
  local tok t
  req "$1" GET /login/forgot
  tok=$(form_value csrf)
  sleep 0.2     # what an earlier request left to the worker pool is done
  t=$(curl -s -o /dev/null -w '%{time_total}' -b "$TMP/$1.jar" -c "$TMP/$1.jar" \
    --data-urlencode "csrf=$tok" --data-urlencode "action=$2" --data-urlencode "id_number=$3" \
    --data-urlencode "name=计时" --data-urlencode "phone=$4" --data-urlencode "code=${5:-}" \
    --data-urlencode "password=$NEW_PW" --data-urlencode "password2=$NEW_PW" "$BASE/login/forgot")
  "$PY" -c 'import sys;print(round(float(sys.argv[1])*1000,2))' "$t"
}
# Registered and unregistered alternate in going first, so that neither always follows
# the other's message (sent from the worker pool while the next request runs).
for i in $(seq 1 $N); do
  k=$(id_number "1101011990020$((1000 + i))") u=$(id_number "1101011990030$((1000 + i))")
  for w in $( ((i % 2)) && echo "k u" || echo "u k"); do
    if [[ $w == k ]]; then time_rc tk send "$k" "1360013600$i" >>"$TMP/t_send_k"
    else time_rc tu send "$u" "1350013500$i" >>"$TMP/t_send_u"; fi
  done
  for w in $( ((i % 2)) && echo "u k" || echo "k u"); do
    if [[ $w == k ]]; then time_rc tk reset "$k" "1360013600$i" 000000 >>"$TMP/t_reset_k"
    else time_rc tu reset "$u" "1350013500$i" 000000 >>"$TMP/t_reset_u"; fi
  done
done
sms_compare "asking for a recovery code" "$TMP/t_send_k" "$TMP/t_send_u" \
  "registered ID number" "unregistered ID number"
sms_compare "a reset with a wrong code" "$TMP/t_reset_k" "$TMP/t_reset_u" \
  "registered ID number" "unregistered ID number"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact" || fail "audit verify"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "sms_recover: all checks passed"
