#!/usr/bin/env bash
# The http SMS driver against a stand-in SMS platform on loopback (sms_stub.py), through
# the phone verification of /register, which waits for the platform:
#
#  - success: the request is the configured template (JSON body with the phone, the
#    text and the credential, a bearer header), the code it carries registers;
#  - the platform refuses (its own error code), or does not answer in sms.timeout: the
#    person is told the message could not be sent, the code that went nowhere does not
#    work (nothing half-done), the audit line says why (and the platform's message);
#  - a 500 is tried once more, and the second attempt's success counts;
#  - an SMS login whose message the platform refuses answers as any other (no
#    enumeration) and the audit line says why.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sms_lib.sh"
need_authd
make_tmp smsgw
PID= SPID=
PIDS_TO_STOP="PID SPID"

PORT=$(free_port)
SP=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
PW='Registered by SMS 2026!'

printf 's3cret-token\n' >"$TMP/sms.cred"
chmod 600 "$TMP/sms.cred"
cat >"$TMP/authd.conf" <<EOF
state_dir = $S
http.listen = 127.0.0.1:$PORT
sms.driver = http
sms.url = http://127.0.0.1:$SP/send
sms.format = json
sms.body = {"mobile":"{phone}","content":"{text}","apikey":"{credential}"}
sms.auth = bearer
sms.credentials_file = $TMP/sms.cred
sms.timeout = 1s
sms.success_field = code
sms.success_value = OK
sms.error_field = message
EOF
echo ok >"$TMP/mode"
"$PY" "$(dirname "$0")/sms_stub.py" "$SP" "$TMP/mode" "$TMP/requests" >>"$TMP/stub.log" 2>&1 &
SPID=$!
wait_ready "http://127.0.0.1:$SP/" "$SPID" || die "the stub SMS platform did not start"
mode() { echo "$1" >"$TMP/mode"; }
# sent FIELD PHONE: FIELD (mobile, content, apikey, or auth / ctype of the request) of the
# last request for PHONE the platform received.
sent() {
  "$PY" - "$TMP/requests" "$1" "$2" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    b = json.loads(r["body"])
    if b.get("mobile") == sys.argv[3]:
        last = dict(b, auth=r["auth"], ctype=r["ctype"])
print(last.get(sys.argv[2], "") if last else "")
EOF
}
code_of() { sent content "$1" | grep -oE '[0-9]{6}' | head -1; }
last_send() { grep -F '"event":"sms.send"' "$S/audit.log" | tail -1; }

start_authd -c "$TMP/authd.conf"
stop_authd || die "authd did not stop cleanly"
printf '%s\n' 'Known person 2026!' | ctl_or_die user add --id-number "$(id_number 11010119800101123)" \
  --name 机主 --phone 13600000009 --password-stdin
start_authd -c "$TMP/authd.conf"

# ---- success: the request as configured, the code registers
reg_post a send_code "$(id_number 11010119900101001)" 13700000001 "$PW"
[[ $STATUS == 200 && $BODY == *'验证码已发送至您填写的手机号码'* ]] && ok "ok: the person is told the code is sent" ||
  fail "ok: $STATUS"
[[ $(sent auth 13700000001) == 'Bearer s3cret-token' && $(sent ctype 13700000001) == application/json* &&
   $(sent apikey 13700000001) == s3cret-token && $(sent content 13700000001) == 【一号】* ]] &&
  ok "the request: bearer header, JSON body with phone, text and credential" ||
  fail "request: $(tail -1 "$TMP/requests")"
CODE=$(code_of 13700000001)
reg_post a "" "$(id_number 11010119900101001)" 13700000001 "$PW" "$CODE"
[[ $STATUS == 200 && $BODY == *'注册申请已提交'* ]] && ok "the code sent through the platform registers" ||
  fail "registration with the platform's code: $STATUS"
last_send | grep -q '"result":"sent"' && ok "audit: sms.send sent" || fail "audit: $(last_send)"
grep -q s3cret-token "$S/audit.log" "$TMP/authd.log" && fail "the credential was logged" ||
  ok "the credential is in neither the audit log nor authd's log"

# ---- the platform refuses
mode refuse
reg_post b send_code "$(id_number 11010119900101002)" 13700000002 "$PW"
[[ $STATUS == 502 && $BODY == *'短信发送失败'* ]] && ok "refused: the person is told the message was not sent" ||
  fail "refuse: $STATUS"
last_send | grep '"result":"failed"' | grep -F 'E101' | grep -q '签名不存在' &&
  ok "audit: sms.send failed, the platform's code and message" || fail "audit: $(last_send)"
CODE=$(code_of 13700000002)
mode ok
reg_post b "" "$(id_number 11010119900101002)" 13700000002 "$PW" "$CODE"
[[ $STATUS == 400 ]] && ok "the undelivered code does not work" || fail "undelivered code: $STATUS"

# ---- the platform does not answer in time
mode timeout
T0=$(date +%s%N)
reg_post c send_code "$(id_number 11010119900101003)" 13700000003 "$PW"
T=$((($(date +%s%N) - T0) / 1000000))
[[ $STATUS == 502 && $BODY == *'短信发送失败'* ]] && ok "timeout: the person is told (after ${T} ms)" ||
  fail "timeout: $STATUS"
((T < 5000)) && ok "two attempts of sms.timeout 1 s: answered in under 5 s" || fail "timeout took $T ms"
last_send | grep '"result":"failed"' | grep -q '"attempts":2' && last_send | grep -qi 'timed out\|timeout' &&
  ok "audit: sms.send failed after 2 attempts, timed out" || fail "audit: $(last_send)"
CODE=$(code_of 13700000003)
mode ok
reg_post c "" "$(id_number 11010119900101003)" 13700000003 "$PW" "$CODE"
[[ $STATUS == 400 ]] && ok "the code of the timed-out message does not work" || fail "timed-out code: $STATUS"
ctl user show "$(id_number 11010119900101003)" >/dev/null 2>&1 && fail "a person was created" ||
  ok "nothing created after the failures"

# ---- a 500, then success on the retry
mode 500once
reg_post d send_code "$(id_number 11010119900101004)" 13700000004 "$PW"
[[ $STATUS == 200 ]] && last_send | grep '"result":"sent"' | grep -q '"attempts":2' &&
  ok "a 500 is tried again, and the retry's success counts" || fail "500once: $STATUS $(last_send)"

# ---- an SMS login whose message is refused: the same page, the audit says why
mode refuse
sms_post e send 13600000009
[[ $STATUS == 200 && $BODY == *'验证码已通过短信发送'* ]] &&
  ok "SMS login: the page does not tell a refused message (no enumeration)" || fail "login send: $STATUS"
for _ in $(seq 1 100); do last_send | grep -q '"purpose":"login"' && break; sleep 0.05; done
last_send | grep '"purpose":"login"' | grep '"result":"failed"' | grep -q E101 &&
  ok "audit: the login message's failure and its cause" || fail "audit: $(last_send)"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "sms_gateway: all checks passed"
