#!/usr/bin/env bash
# The privacy notice and the separate consent for the ID number at registration (PIPL
# arts. 28-29), on a real authd with an operator's notice file: /register and /privacy
# show the notice and its version, the page ticks neither box; a registration without the
# separate consent is refused (400, the box named, the fields kept but the password) and
# writes nothing (no person, no audit line); one with it creates the person with the
# consent recorded in the directory (authctl user show) and in the audit log with the
# notice version (never the ID number); the account page shows it, and says honestly that
# an operator's person has none. A SIGHUP with a new version and text: new registrations
# record it, old records keep theirs; a text changed under the same version is not
# published.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp privacy-consent

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
LOG=$TMP/authd.log
NOTICE=$TMP/notice.txt

# conf VERSION: writes the configuration file with the notice at VERSION.
conf() {
  cat >"$CONF" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
registration.privacy_notice_file = $NOTICE
registration.privacy_notice_version = $1
CONF
}

# register JAR ID [CONSENT]: GET the form, POST it with both boxes ticked (CONSENT no:
# without the separate consent); STATUS, BODY of the POST.
register() {
  local tok ver
  local -a more=(--data-urlencode "consent_id_number=yes")
  [[ ${3:-yes} == yes ]] || more=()
  req "$1" GET /register
  tok=$(form_value csrf)
  ver=$(form_value notice_version)
  req "$1" POST /register --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "name=王五" --data-urlencode "id_number=$2" \
    --data-urlencode "phone=13700137000" --data-urlencode "password=privacy pass 1" \
    --data-urlencode "password2=privacy pass 1" --data-urlencode "agree=yes" \
    --data-urlencode "notice_version=$ver" "${more[@]}"
}

# consents ID: the person's privacy_consents as "purpose@version" lines.
consents() {
  ctl user show "$1" | "$PY" -c 'import sys,json
for c in json.load(sys.stdin)["privacy_consents"]: print(c["purpose"] + "@" + c["notice_version"])'
}

printf '%s\n' '本平台个人信息处理规则（测试运营单位）' '联系电话：010-12345678' >"$NOTICE"
conf 2026-01
start_authd -c "$CONF"

# ---- the pages
req a GET /register
[[ $STATUS == 200 && $BODY == *'测试运营单位'* && $BODY == *'2026-01'* ]] &&
  ok "/register shows the operator's notice and its version" || fail "/register: $STATUS"
[[ $BODY == *'我同意处理我的身份证号码等敏感个人信息，用于身份核验'* &&
   $BODY == *'name="consent_id_number"'* && $BODY == *'name="agree"'* ]] &&
  ok "two separate boxes" || fail "the boxes are not both there"
[[ $BODY != *checked* ]] && ok "no box is ticked by the page" || fail "a box is pre-ticked"
[[ $BODY == *'href="/privacy"'* ]] || fail "no link to /privacy"
req - GET /privacy
[[ $STATUS == 200 && $BODY == *'联系电话：010-12345678'* && $BODY == *'2026-01'* ]] &&
  ok "/privacy shows the full notice and its version" || fail "/privacy: $STATUS"

# ---- without the separate consent: refused, nothing written
ID1=$(id_number 11010119850101003)
register a "$ID1" no
[[ $STATUS == 400 && $BODY == *'请勾选“我同意处理我的身份证号码等敏感个人信息，用于身份核验”'* ]] &&
  ok "without the separate consent: 400 naming the box" || fail "no consent: $STATUS"
[[ $BODY == *'value="王五"'* && $BODY == *"value=\"$ID1\""* && $BODY != *'privacy pass 1'* ]] &&
  ok "the typed fields come back, the password does not" || fail "fields not kept"
if ctl user show "$ID1" >/dev/null; then fail "a person was created without the consent"
else ok "no person created"; fi
[[ $(audit_count register) -eq 0 && $(audit_count register.consent) -eq 0 ]] &&
  ok "no audit line" || fail "audit lines written for a refused registration"

# ---- with it: the person and the consent, durable, audited
register a "$ID1"
[[ $STATUS == 200 && $BODY == *'注册申请已提交'* ]] && ok "registered with the consent" ||
  fail "register: $STATUS"
[[ $(consents "$ID1" | sort | tr '\n' ' ') == 'notice@2026-01 sensitive:id_number@2026-01 ' ]] &&
  ok "authctl user show: the consents with the notice version" ||
  fail "consents: $(consents "$ID1")"
[[ $(sqlite3 "$S/directory.db" "SELECT count(*) FROM privacy_consent WHERE
    purpose = 'sensitive:id_number' AND notice_version = '2026-01' AND length(notice_sha256) = 64") == 1 ]] ||
  fail "the directory row"
UID1=$(ctl user show "$ID1" | "$PY" -c 'import sys,json;print(json.load(sys.stdin)["uid"])')
[[ $(audit_count register.consent "\"uid\":\"$UID1\"" '"notice_version":"2026-01"') -eq 1 ]] &&
  ok "audit: register.consent with the uid and the version" || fail "no register.consent line"
grep -F '"register.consent"' "$S/audit.log" | grep -qF "$ID1" &&
  fail "the ID number is in the consent's audit line"

# ---- the account page
login_form a "$ID1" 'privacy pass 1'
req a GET /account
[[ $STATUS == 200 && $BODY == *'同意处理身份证号码等敏感个人信息，用于身份核验'* &&
   $BODY == *'2026-01'* && $BODY == *'href="/privacy"'* ]] &&
  ok "the account page shows the consent and its version" || fail "account page: $STATUS"
ID2=$(id_number 11010119850101004)
printf '%s\n' 'operator pass 1' | ctl user add --id-number "$ID2" --name 赵六 \
  --password-stdin >/dev/null || fail "authctl user add"
[[ $(consents "$ID2" | wc -l) -eq 0 ]] || fail "an operator's person has consents"
login_form b "$ID2" 'operator pass 1'
req b GET /account
[[ $BODY == *'由工作人员开设或从部门系统迁移'* && $BODY != *'同意处理身份证号码'* ]] &&
  ok "an operator's person: no consent recorded, said so" || fail "operator account page"

# ---- a new version on SIGHUP
printf '%s\n' '第二版个人信息处理规则（测试运营单位）' >"$NOTICE"
conf 2026-02
mark=$(wc -l <"$LOG")
hup_and_wait "$mark"
req - GET /privacy
[[ $BODY == *'第二版'* && $BODY == *'2026-02'* ]] && ok "/privacy: the new version" ||
  fail "/privacy after SIGHUP"
ID3=$(id_number 11010119850101005)
register c "$ID3"
[[ $STATUS == 200 ]] || fail "register after SIGHUP: $STATUS"
[[ $(consents "$ID3" | sort | tr '\n' ' ') == 'notice@2026-02 sensitive:id_number@2026-02 ' ]] &&
  ok "a new registration records the new version" || fail "consents: $(consents "$ID3")"
[[ $(consents "$ID1" | sort | tr '\n' ' ') == 'notice@2026-01 sensitive:id_number@2026-01 ' ]] &&
  ok "the old record keeps its version" || fail "old consents: $(consents "$ID1")"
[[ $(audit_count register.consent '"notice_version":"2026-02"') -eq 1 ]] ||
  fail "no register.consent line with the new version"

# ---- the text changed under the same version: not published
printf '%s\n' '未升版本的修改' >"$NOTICE"
mark=$(wc -l <"$LOG")
hup_and_wait "$mark"
req - GET /privacy
[[ $BODY == *'第二版'* && $BODY != *'未升版本的修改'* ]] &&
  ok "a text changed without a new version is not published" || fail "/privacy: changed text shown"
tail -n +"$((mark + 1))" "$LOG" | grep -q 'registration.privacy_notice_version is still 2026-02' &&
  ok "log: the warning to raise the version" || fail "no warning in the log"

check_stop_authd
no_sanitizer_in "a sanitizer report in authd's log" "$LOG"
finish "privacy_consent: all checks passed" "privacy_consent: "
