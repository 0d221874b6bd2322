#!/usr/bin/env bash
# Phone verification at registration with an SMS gateway (the file driver), against a
# real authd driven by curl:
#
#  - with sms.driver set, /register has a code field and a button that sends a code to
#    the phone typed (the other fields are kept); registering needs the code;
#  - a wrong code, a code of another purpose (an SMS login code for the same phone in
#    the same browser) and a code from another browser are refused, nothing is created;
#  - the right code creates the person with the phone verified: the phone then logs in
#    by password and by SMS code; the code does not register a second time;
#  - on the account page the number changes only with a code sent to the new one (not
#    with a wrong code, nor with one asked for in another login session), and the new
#    number is stored verified.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sms_lib.sh"
need_authd
make_tmp smsreg
PID=

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
OUT=$TMP/sms.jsonl
PHONE=13700137000
REG_ID=$(id_number 11010119900307123)
REG2_ID=$(id_number 11010119910408234)
OWNER_ID=$(id_number 11010119800101123)
PW='Registered by SMS 2026!'

cat >"$TMP/authd.conf" <<EOF
state_dir = $S
http.listen = 127.0.0.1:$PORT
sms.driver = file
sms.file = $OUT
sms.resend_interval = 10s
EOF
start_authd -c "$TMP/authd.conf"
stop_authd || die "authd did not stop cleanly"
printf '%s\n' 'Owner of a phone 1!' | ctl_or_die user add --id-number "$OWNER_ID" --name 机主 \
  --phone 13800138000 --password-stdin
start_authd -c "$TMP/authd.conf"

# ---- the form asks for the code
req r GET '/register?next=%2Faccount'
[[ $STATUS == 200 && $BODY == *'name="sms_code"'* && $BODY == *'value="send_code"'* ]] &&
  ok "/register has the SMS code field and its button" || fail "no SMS code on /register"
reg_post r "" "$REG_ID" "$PHONE" "$PW"
[[ $STATUS == 400 && $BODY == *'请获取并填写短信验证码'* ]] && ok "no code: refused, the field says why" ||
  fail "registration without a code: $STATUS"
reg_post r send_code "$REG_ID" "not a phone" "$PW"
[[ $STATUS == 400 && $(lines "$PHONE") == 0 ]] && ok "a code for a malformed phone: refused" ||
  fail "send_code with a bad phone: $STATUS"

# ---- a login code of the same phone in the same browser is not a verification code
sms_post r send 13800138000
LOGIN_CODE=$(last_code 13800138000 1)
[[ -n $LOGIN_CODE ]] || fail "no login code for 13800138000"
reg_post r send_code "$REG_ID" 13800138000 "$PW"
[[ $STATUS == 429 ]] && ok "the phone's resend interval holds across purposes" || fail "resend: $STATUS"
reg_post r "" "$REG_ID" 13800138000 "$PW" "$LOGIN_CODE"
[[ $STATUS == 400 && $BODY == *'验证码错误、已使用或已过期'* ]] &&
  ok "a login code does not verify a phone at registration" || fail "wrong purpose: $STATUS"

# ---- the code for the registrant's phone
reg_post r send_code "$REG_ID" "+86 137 0013 7000" "$PW"
[[ $STATUS == 200 && $BODY == *'验证码已发送至您填写的手机号码'* && $BODY == *'注册人'* ]] &&
  ok "send_code: the code is sent, the form keeps what was typed" || fail "send_code: $STATUS"
CODE=$(last_code "$PHONE" 1)
[[ $CODE =~ ^[0-9]{6}$ ]] && ok "a 6-digit code went to $PHONE" || fail "no code in $OUT"
grep -F "\"phone\":\"$PHONE\"" "$OUT" | grep -q '您正在验证手机号码' &&
  ok "the verification message's text" || fail "message: $(tail -1 "$OUT")"
reg_post other "" "$REG_ID" "$PHONE" "$PW" "$CODE"
[[ $STATUS == 400 ]] && ok "the code does not work in another browser" || fail "other browser: $STATUS"
WRONG=$(printf '%06d' $(((10#$CODE + 1) % 1000000)))
reg_post r "" "$REG_ID" "$PHONE" "$PW" "$WRONG"
[[ $STATUS == 400 && $BODY == *'验证码错误、已使用或已过期'* ]] && ok "a wrong code is refused" ||
  fail "wrong code: $STATUS"
ctl user show "$REG_ID" >/dev/null 2>&1 && fail "a person was created without the right code" ||
  ok "nothing created by the refused attempts"
reg_post r "" "$REG_ID" "$PHONE" "$PW" "$CODE"
[[ $STATUS == 200 && $BODY == *'注册申请已提交'* ]] && ok "the right code: registered" ||
  fail "registration with the code: $STATUS"
ctl user show "$REG_ID" >"$TMP/show.json" || fail "authctl user show"
grep -q '"phone_verified":true' "$TMP/show.json" && ok "the phone is stored verified" ||
  fail "authctl user show: $(cat "$TMP/show.json")"
[[ $(audit_count register.phone '"result":"verified"' '137****7000') == 1 ]] &&
  ok "audit: register.phone verified, phone masked" || fail "register.phone audit"
reg_post r "" "$REG2_ID" "$PHONE" "$PW" "$CODE"
[[ $STATUS == 400 && $BODY == *'验证码错误、已使用或已过期'* ]] &&
  ok "the code does not register twice" || fail "code reuse: $STATUS"

# ---- the verified phone is a login identifier: by password, and by SMS code
login_form p "$PHONE" "$PW"
[[ $STATUS == 303 && -n $(jar_value p yh_sid) ]] && ok "the verified phone logs in with the password" ||
  fail "phone login: $STATUS"
sleep 10.2
sms_post s send "$PHONE"
CODE2=$(last_code "$PHONE" 2)
sms_post s login "$PHONE" "$CODE2"
[[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value s yh_sid) ]] &&
  ok "the verified phone logs in by SMS code" || fail "SMS login after registration: $STATUS"

# ---- the account page: a new number, verified by its code
NEW=13700137009
ph_post() {  # ph_post JAR ACTION PHONE [CODE]: the account's phone form
  local tok
  req "$1" GET /account/phone
  tok=$(form_value csrf)
  req "$1" POST /account/phone --data-urlencode "csrf=$tok" --data-urlencode "action=$2" \
    --data-urlencode "phone=$3" --data-urlencode "code=${4:-}"
}
req s GET /account
[[ $BODY == *'href="/account/phone"'* ]] && ok "the account page links to the phone change" ||
  fail "no phone change link on /account"
req s GET /account/phone
[[ $STATUS == 200 && $BODY == *'137****7000'* && $BODY == *'value="change"'* ]] &&
  ok "GET /account/phone: the current number masked, the form" || fail "GET /account/phone: $STATUS"
ph_post s send "$NEW"
[[ $STATUS == 200 && $BODY == *'验证码已发送至新的手机号码'* ]] && ok "a code to the new number" ||
  fail "phone send: $STATUS"
PCODE=$(last_code "$NEW" 1)
ph_post p change "$NEW" "$PCODE"
[[ $STATUS == 400 ]] && ok "the code does not work in another login session" || fail "other session: $STATUS"
ph_post s change "$NEW" "$(printf '%06d' $(((10#$PCODE + 1) % 1000000)))"
[[ $STATUS == 400 ]] && ok "a wrong code does not change the number" || fail "wrong code: $STATUS"
ph_post s change "$NEW" "$PCODE"
[[ $STATUS == 303 && $LOCATION == '/account?done=phone' ]] && ok "the right code changes the number" ||
  fail "phone change: $STATUS '$LOCATION'"
ctl user show "$REG_ID" >"$TMP/show.json" || fail "authctl user show"
grep -q "137\*\*\*\*7009" "$TMP/show.json" && grep -q '"phone_verified":true' "$TMP/show.json" &&
  ok "the new number is stored verified" || fail "after the change: $(cat "$TMP/show.json")"
[[ $(audit_count phone.change '137****7009') == 1 ]] && ok "audit: phone.change, numbers masked" ||
  fail "phone.change audit"
login_form q "$NEW" "$PW"
[[ $STATUS == 303 ]] && ok "the new number logs in" || fail "new number login: $STATUS"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "sms_register: all checks passed"
