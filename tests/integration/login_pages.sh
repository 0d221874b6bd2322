#!/usr/bin/env bash
# The login pages of a real authd, driven by curl with cookie jars (one per "browser"):
# GET /login (Chinese by default, a yh_csrf cookie, the CSRF token in the form), POST
# with the token (303 to next, an HttpOnly SameSite=Lax yh_sid cookie), the session id
# rotating at the next login, a missing / wrong / other browser's token (400), a foreign
# next not followed, five wrong passwords (lockout words, 429, even the right password
# refused, audit lines login.failure and login.lockout, the audit chain intact), an
# unknown identifier answered with the same words, registration (field errors in words,
# the same page for a new and a taken ID number, then logging in), the language switch
# (?lang=en sets yh_lang; the cookie and Accept-Language are honoured), and /login/totp
# without a session going back to /login.
set -u
. "$(dirname "$0")/lib.sh"
BUILD=${YH_BUILD:-build}
AUTHD=$BUILD/authd/authd
AUTHCTL=$BUILD/authctl/authctl
make_tmp

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
S="$TMP/state"

# login JAR USER PASSWORD [NEXT]: GET the form, POST it with its token.
login() {
  local jar=$1 user=$2 password=$3 next=${4:-/account} tok
  req "$jar" GET /login
  tok=$(form_value csrf)
  req "$jar" POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=$next" \
    --data-urlencode "username=$user" --data-urlencode "password=$password"
}

ID1=11010519491231002X
PHONE1=13800138000
PW1='Tian An Men 1949'

start_authd

# An operator adds the person (argon2id at the default cost).
printf '%s\n' "$PW1" | "$AUTHCTL" -d "$S" user add --id-number "$ID1" --name 张三 \
  --phone "$PHONE1" --password-stdin >/dev/null || fail "authctl user add"

# ---- the form
req a GET '/login?next=%2Fauthorize%3Fclient_id%3Dapp'
[[ $STATUS == 200 ]] || fail "GET /login: $STATUS"
[[ $BODY == *'<html lang="zh-CN">'* ]] && ok "login page in Chinese by default" ||
  fail "login page not zh-CN"
for want in 'name="username"' 'name="password"' 'name="next" value="/authorize?client_id=app"' \
    'method="post" action="/login"'; do
  [[ $BODY == *"$want"* ]] || fail "login form lacks $want"
done
[[ $BODY != *'<script'* ]] || fail "a script on the login page"
[[ -n $(cookie_value yh_csrf) ]] && ok "yh_csrf cookie set" || fail "no yh_csrf cookie"
grep -qiE "^Content-Security-Policy: default-src 'none'; style-src 'sha256-" "$HEADERS" ||
  fail "page CSP missing"
grep -qiE '^Cache-Control: no-store' "$HEADERS" || fail "login page cacheable"
[[ -n $(form_value csrf) ]] || fail "no csrf token in the form"

# ---- logging in
login a "$ID1" "$PW1" '/authorize?client_id=app&scope=openid'
[[ $STATUS == 303 && $LOCATION == '/authorize?client_id=app&scope=openid' ]] &&
  ok "login: 303 to next" || fail "login: $STATUS to '$LOCATION'"
SID1=$(cookie_value yh_sid)
[[ ${#SID1} == 43 ]] || fail "yh_sid not set ('$SID1')"
grep -i '^Set-Cookie: yh_sid=' "$HEADERS" | grep -qi 'HttpOnly' || fail "yh_sid not HttpOnly"
grep -i '^Set-Cookie: yh_sid=' "$HEADERS" | grep -qi 'SameSite=Lax' || fail "yh_sid not SameSite=Lax"
login a "$PHONE1" "$PW1" 'https://evil.example/'
[[ $STATUS == 303 && $LOCATION == /account ]] && ok "foreign next replaced by /account" ||
  fail "foreign next: $STATUS '$LOCATION'"
SID2=$(cookie_value yh_sid)
[[ -n $SID2 && $SID2 != "$SID1" ]] && ok "session id rotates at login" ||
  fail "session id did not rotate"

# ---- CSRF
req a GET /login
TOK=$(form_value csrf)
req a POST /login --data-urlencode "username=$ID1" --data-urlencode "password=$PW1"
[[ $STATUS == 400 ]] && ok "missing CSRF token: 400" || fail "missing CSRF token: $STATUS"
[[ -z $(cookie_value yh_sid) ]] || fail "a session despite the missing token"
req a POST /login --data-urlencode "csrf=${TOK:0:42}x" --data-urlencode "username=$ID1" \
  --data-urlencode "password=$PW1"
[[ $STATUS == 400 ]] && ok "wrong CSRF token: 400" || fail "wrong CSRF token: $STATUS"
req b POST /login --data-urlencode "csrf=$TOK" --data-urlencode "username=$ID1" \
  --data-urlencode "password=$PW1"
[[ $STATUS == 400 ]] && ok "login CSRF (another browser's token): 400" ||
  fail "login CSRF: $STATUS"

# ---- lockout
FAIL_BEFORE=$(audit_count login.failure)
for i in 1 2 3 4 5; do
  login c "$PHONE1" "wrong password $i"
  if [[ $i -lt 5 ]]; then
    [[ $STATUS == 200 && $BODY == *'账号或密码不正确'* ]] || fail "failure $i: $STATUS"
  fi
done
[[ $STATUS == 429 && $BODY == *'已暂时锁定'* ]] && ok "5th failure: lockout message" ||
  fail "5th failure: $STATUS"
login c "$ID1" "$PW1"
[[ $STATUS == 429 && -z $(cookie_value yh_sid) ]] && ok "locked: right password refused" ||
  fail "locked account logged in: $STATUS"
FAIL_AFTER=$(audit_count login.failure)
[[ $((FAIL_AFTER - FAIL_BEFORE)) -eq 6 ]] && ok "6 login.failure audit lines" ||
  fail "login.failure lines: $((FAIL_AFTER - FAIL_BEFORE))"
[[ $(audit_count login.lockout) -eq 1 ]] && ok "login.lockout audited" || fail "no login.lockout line"
grep -q "$ID1" "$S/audit.log" && fail "the whole ID number in the audit log"
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null && ok "audit chain intact" ||
  fail "audit verify"
login d 'nobody-at-all' 'whatever pw'
[[ $STATUS == 200 && $BODY == *'账号或密码不正确'* ]] && ok "unknown user: same words" ||
  fail "unknown user: $STATUS"

# ---- registration
req e GET '/register?next=%2Faccount'
TOK=$(form_value csrf)
req e POST /register --data-urlencode "csrf=$TOK" --data-urlencode "next=/account" \
  --data-urlencode "name=李四" --data-urlencode "id_number=110101199001010021" \
  --data-urlencode "phone=139" --data-urlencode "password=short" --data-urlencode "password2=short"
[[ $STATUS == 400 && $BODY == *'校验位不正确'* && $BODY == *'密码至少需要8个字符'* ]] &&
  ok "registration errors in words" || fail "registration errors: $STATUS"
register() {  # register JAR ID PASSWORD
  req "$1" GET /register
  local tok
  tok=$(form_value csrf)
  reg_consent
  req "$1" POST /register --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "name=李四" --data-urlencode "id_number=$2" \
    --data-urlencode "phone=13900139000" --data-urlencode "password=$3" \
    --data-urlencode "password2=$3" "${REG_CONSENT[@]}"
}
ID2=$(id_number 11010119900101002)
register e "$ID2" 'new password 1'
[[ $STATUS == 200 && $BODY == *'注册申请已提交'* ]] && ok "registered" || fail "register: $STATUS"
cp "$TMP/body" "$TMP/reg1"
register e "$ID2" 'another password'
cmp -s "$TMP/body" "$TMP/reg1" && ok "taken ID number: the very same page" ||
  fail "registration answer differs for a taken ID number"
login e "$ID2" 'new password 1'
[[ $STATUS == 303 ]] && ok "the new account logs in" || fail "new account login: $STATUS"
[[ $(audit_count register) -eq 2 ]] || fail "register audit lines: $(audit_count register)"

# ---- languages
req f GET '/login?lang=en&next=%2Faccount'
[[ $BODY == *'<html lang="en">'* && $(cookie_value yh_lang) == en ]] &&
  ok "?lang=en: English and the yh_lang cookie" || fail "?lang=en"
[[ $BODY == *'href="/login?lang=zh-CN&amp;next=%2Faccount"'* ]] || fail "no switch link back"
req f GET /login -H 'Accept-Language: zh-CN'
[[ $BODY == *'<html lang="en">'* ]] && ok "yh_lang cookie wins over Accept-Language" ||
  fail "cookie not honoured"
req g GET /login -H 'Accept-Language: en-US,en;q=0.9'
[[ $BODY == *'<html lang="en">'* && $BODY == *'Log in'* ]] && ok "Accept-Language: en" ||
  fail "Accept-Language not honoured"

# ---- step-up needs a session
req g GET '/login/totp?next=%2Faccount&loa=3'
[[ $STATUS == 302 && $LOCATION == '/login?next=%2Faccount' ]] &&
  ok "/login/totp without a session: to /login" || fail "/login/totp: $STATUS '$LOCATION'"

# ---- the logins and sessions above show in /metrics
curl -s "$BASE/metrics" >"$TMP/metrics"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/metrics"; }
[[ $(metric 'yh_logins_total{method="pwd",result="success"}') -ge 2 ]] &&
  ok "metrics: successful password logins counted" || fail "metrics: logins ok $(grep yh_logins "$TMP/metrics")"
[[ $(metric 'yh_logins_total{method="pwd",result="failure"}') -ge 1 && $(metric 'yh_logins_total{method="pwd",result="locked"}') -ge 1 ]] &&
  ok "metrics: failed and locked-out logins counted" || fail "metrics: no failure series: $(grep yh_logins "$TMP/metrics")"
[[ $(metric yh_sessions_created_total) -ge 1 && $(metric yh_sessions_active) -ge 1 ]] &&
  ok "metrics: sessions created and active" || fail "metrics: sessions $(grep yh_sessions "$TMP/metrics")"
grep -q '^# TYPE yh_sessions_ended_total counter$' "$TMP/metrics" &&
  ok "metrics: sessions ended by reason" || fail "metrics: no yh_sessions_ended_total"

stop_authd || fail "authd exited with status $?"
if [[ $FAILS -ne 0 ]]; then
  echo "$FAILS check(s) failed; authd log:"
  tail -50 "$TMP/authd.log"
  exit 1
fi
echo "all login page checks passed"
