#!/usr/bin/env bash
# The citizens' pages on a phone and in plain words, against a real authd.
#
# With curl: /favicon.ico (200, an image, cacheable); the login page of an app's request
# naming the app (/authorize and /cas/login, both languages) and linking to the
# recovery page, which says how to recover at a counter and has no form; the
# logged-out page linking back to the login; the consent page's claims listed again in
# the same words on the account page, a masked value said to be masked; the account
# page summarising a session's User-Agent and showing its IP address; how the account
# came to be (an operator's person, a registration); no 你 in the pages' words.
#
# With a browser (tests/node/pages_phone.mjs, headless Chromium at 375 and 1280 px):
# login, register, recovery, consent, account (several sessions with long User-Agent
# strings), logout, logged-out and error pages neither scroll sideways nor break a
# button one character per line. Screenshots: $YH_BUILD/tests/integration/pages_phone/
# (printed at the end).
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser
SCRIPT=$YH_SRCDIR/tests/node/pages_phone.mjs
SHOTS=$YH_BUILD/tests/integration/pages_phone

make_tmp pages-phone
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb
SERVICE=http://127.0.0.1:9/cas-app/
APP_NAME=市民服务平台
ID1=11010519491231002X
PW1='Tian An Men 1949'
LONG_UA='Mozilla/5.0 (Linux; Android 12; PGKM10 Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/86.0.4240.99 XWEB/4317 MMWEBSDK/20220903 Mobile Safari/537.36 MMWEBID/6294 MicroMessenger/8.0.28.2240(0x28001C35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64'
WECHAT_UA='Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.30(0x18001e31) NetType/WIFI Language/zh_CN'
WIN_UA='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

start_authd
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add phoneapp --public --redirect-uri "$CB" --scope openid profile phone \
  --name "$APP_NAME"
ctl_or_die client add casapp --cas-service-prefix "$SERVICE" --name "统一办件系统"
printf '%s\n' "$PW1" | ctl user add --id-number "$ID1" --name 张三 --phone 13800138000 \
  --password-stdin >/dev/null || die "authctl user add"
start_authd

# ua_login JAR UA: logs in with the form, as a browser sending User-Agent UA.
ua_login() {
  local tok
  req "$1" GET '/login?next=%2Faccount' -A "$2"
  tok=$(form_value csrf)
  req "$1" POST /login -A "$2" --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "username=$ID1" --data-urlencode "password=$PW1"
  [[ $STATUS == 303 ]] || fail "login with UA ${2:0:20}...: $STATUS"
}

# ---- the site icon
req - GET /favicon.ico
[[ $STATUS == 200 ]] && ok "/favicon.ico answers 200" || fail "/favicon.ico: $STATUS"
[[ $CTYPE == image/* ]] && ok "/favicon.ico is an image ($CTYPE)" || fail "/favicon.ico type '$CTYPE'"
[[ $(header Cache-Control) == *max-age=* && $(header Cache-Control) != *no-store* ]] &&
  ok "/favicon.ico may be cached ($(header Cache-Control))" ||
  fail "/favicon.ico Cache-Control '$(header Cache-Control)'"
[[ $(head -c 4 "$TMP/body" | od -An -tx1 | tr -d ' ') == 00000100 ]] &&
  ok "/favicon.ico is an ICO file" || fail "/favicon.ico is not an ICO file"

# ---- the login page names the app it leads to
AZ="/authorize?response_type=code&client_id=phoneapp&redirect_uri=$(enc "$CB")&scope=openid%20profile%20phone&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
req a GET "$AZ"
[[ $STATUS == 302 && $LOCATION == /login\?* ]] || fail "/authorize without a session: $STATUS '$LOCATION'"
LOGIN_AZ=$LOCATION
req a GET "$LOGIN_AZ"
[[ $BODY == *"登录后将进入：<strong>$APP_NAME</strong>"* ]] &&
  ok "the login page of /authorize names the app" || fail "the login page does not name the app"
req a GET "$LOGIN_AZ&lang=en"
[[ $BODY == *"After logging in you go to: <strong>$APP_NAME</strong>"* ]] &&
  ok "the English login page names the app" || fail "the English login page does not name the app"
req a GET "/cas/login?service=$(enc "${SERVICE}x")"
[[ $STATUS == 302 && $LOCATION == /login\?* ]] || fail "/cas/login without a session: $STATUS"
req a GET "$LOCATION&lang=zh-CN"
[[ $BODY == *"登录后将进入：<strong>统一办件系统</strong>"* ]] &&
  ok "the login page of /cas/login names the app" || fail "the CAS login page does not name the app"
req a GET /login
[[ $BODY != *"登录后将进入"* ]] && ok "a plain login names no app" || fail "a plain login names an app"

# ---- the recovery page
[[ $BODY == *'<a href="/login/forgot?next=%2Faccount">忘记密码？</a>'* ]] &&
  ok "the login page links to the recovery page" || fail "no recovery link on the login page"
req a GET /login/forgot
[[ $STATUS == 200 && $BODY == *"居民身份证"* && $BODY == *"窗口"* ]] &&
  ok "the recovery page says how to recover at a counter" || fail "recovery page: $STATUS"
[[ $BODY != *"<form"* && $BODY != *"<input"* ]] && ok "the recovery page has no form" ||
  fail "the recovery page has a form"

# ---- sessions with other browsers, then the consent and account pages
ua_login w "$WIN_UA"
ua_login x "$LONG_UA"
ua_login y "$WECHAT_UA $LONG_UA"
ua_login a "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1"
authorize_visit a "client_id=phoneapp&scope=openid%20profile%20phone" >/dev/null
req a GET "$AZ&prompt=consent"
[[ $STATUS == 302 && $LOCATION == /consent\?* ]] || fail "no consent page: $STATUS '$LOCATION'"
req a GET "$LOCATION"
CONSENT=$BODY
[[ $CONSENT == *'<span class="claim">完整手机号码：</span>138****8000<span class="note">（此处部分隐去，应用将获得完整号码）</span>'* ]] &&
  ok "consent: the full phone number's line says the shown one is masked" ||
  fail "consent: the phone line's words do not match the masked number"
[[ $CONSENT == *'<span class="claim">姓名：</span>张三'* ]] && ok "consent: no space before the colon" ||
  fail "consent: the name line is not '姓名：张三'"
req a GET /account
ACCOUNT=$BODY
claims=$(LC_ALL=C.UTF-8 grep -oE '<span class="claim">[^<：]+' <<<"$CONSENT" | sed 's/.*>//' |
  awk 'NR > 1 { printf "；" } { printf "%s", $0 }')
[[ -n $claims && $ACCOUNT == *"(phoneapp)：$claims <span"* ]] &&
  ok "account: the app's claims in the consent page's words ($claims)" ||
  fail "account: the app's claims differ from the consent page's ($claims)"
# authd keeps a User-Agent's first 160 bytes: LONG_UA's WeChat token is past them.
for want in '<strong>Chrome · Windows</strong>' '<strong>Chrome · Android</strong>' \
    '<strong>WeChat · iPhone</strong>' \
    '<strong>Safari · iPhone</strong>' 'IP 地址：<span class="addr">127.0.0.1</span>'; do
  [[ $ACCOUNT == *"$want"* ]] && ok "account shows $want" || fail "account lacks $want"
done
[[ $ACCOUNT != *"Mozilla/5.0"* ]] && ok "account: no raw User-Agent" || fail "account shows a raw User-Agent"
[[ $ACCOUNT == *"<dt>账号来源</dt><dd>由工作人员开设</dd>"* ]] &&
  ok "account: an operator's person is shown as opened by staff" ||
  fail "account: origin of the operator's person not shown"
[[ $ACCOUNT != *"自助注册"* ]] && ok "account: an operator's person is not called self-registered" ||
  fail "account: an operator's person is called self-registered"

# ---- a registration's origin
ID2=$(id_number 11010119900307002)
req r GET /register
tok=$(form_value csrf)
reg_consent
req r POST /register --data-urlencode "csrf=$tok" --data-urlencode "name=李四" \
  --data-urlencode "id_number=$ID2" --data-urlencode "phone=13900139000" \
  --data-urlencode "password=Lu Xun Road 1881" --data-urlencode "password2=Lu Xun Road 1881" \
  "${REG_CONSENT[@]}"
[[ $STATUS == 200 ]] || fail "register: $STATUS"
tok=$(form_value csrf)
req r POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
  --data-urlencode "username=$ID2" --data-urlencode "password=Lu Xun Road 1881"
req r GET /account
[[ $BODY == *"<dt>账号来源</dt><dd>本人在线注册</dd>"* ]] && ok "account: a registration is shown as such" ||
  fail "account: origin of a registration not shown"

# ---- logging out, and the way back
req r GET /logout
tok=$(form_value csrf)
req r POST /logout --data-urlencode "csrf=$tok" --data-urlencode "confirm=1"
[[ $STATUS == 200 && $BODY == *"已退出登录"* && $BODY == *'<a class="button" href="/login">重新登录</a>'* ]] &&
  ok "the logged-out page links back to the login" || fail "logged-out page: $STATUS, no way back"

# ---- 您, never 你, in the pages' words
if grep -n '你' "$YH_SRCDIR"/authd/ui/templates/* >"$TMP/ni" ||
    grep -v '^#' "$YH_SRCDIR/authd/ui/messages.txt" | grep -n '你' >>"$TMP/ni" ||
    grep -rn --include='*.c' '你' "$YH_SRCDIR/authd" >>"$TMP/ni"; then
  fail "你 in the pages' words: $(head -3 "$TMP/ni")"
else
  ok "no 你 in the templates, the messages or authd's sources"
fi

# ---- the browser
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
cat >"$TMP/config.json" <<JSON
{
  "issuer": "$BASE",
  "shots_dir": "$SHOTS",
  "authorize_path": "$AZ&prompt=consent",
  "bad_authorize_path": "/authorize?response_type=code&client_id=nosuchapp&redirect_uri=$(enc "$CB")&scope=openid",
  "user": {"id_number": "$ID1", "password": "$PW1"}
}
JSON
rc=0
run_node "$SCRIPT" "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "browser at 375 and 1280 px" || fail "browser: node exited $rc"

check_stop_authd
no_errors_in "authd logged errors:" "$TMP/authd.log"
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
echo "screenshots: $SHOTS"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "pages_phone: all checks passed"
exit 0
