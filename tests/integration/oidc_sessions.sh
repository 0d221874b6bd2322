#!/usr/bin/env bash
# Sessions, lockout and transport security of a real authd, driven by curl (cookie jars as
# browsers) with a python3 back-channel receiver and node's jose verifying logout tokens:
#
#  - the brute-force options apply: with login.max_failures = 3 and login.lockout = 4s the
#    third wrong password locks the account (429, audit lockout_s 4), the right password
#    is refused until the lockout has passed and then opens a session; with
#    login.max_failures_per_address = 6 the sixth failure from one client address (behind
#    the trusted proxy, the X-Forwarded-For address) locks that address and not the next
#    client of the same proxy;
#  - a trusted proxy (http.trusted_proxies = 127.0.0.1): X-Forwarded-Proto https gives
#    HSTS and Secure cookies, the nearest untrusted X-Forwarded-For address is the client
#    in the audit trail, the access log and the account page (a spoofed leftmost entry is
#    not); an authd that does not trust 127.0.0.1 ignores the same headers;
#  - native TLS (tls.cert_file/key_file): HSTS on the login page, the cookies named
#    __Host-yh_csrf and __Host-yh_sid (Secure, Path=/, no Domain) and read only under
#    those names, the account page's session-bound token, logout expiring the cookie;
#    behind the trusted proxy with X-Forwarded-Proto https the same names;
#  - yh_tokens_issued_total moves with a code exchange and a refresh, not with a replay;
#  - back-channel logout: a session ended from the account page (by another browser of
#    the same person) and a session left idle past session.idle_timeout (60 s, ended by
#    the sweep) each reach the app's receiver with a logout token that verifies with jose
#    against /jwks (typ logout+jwt, the back-channel event, no nonce, the sid and the
#    pairwise sub of the ID token), and the audit trail records the delivery.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
command -v "$PY" >/dev/null || { echo "FAIL: python3 not installed"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node not installed (./run deps installs it)"; exit 1; }
[[ -d $YH_SRCDIR/tests/node/node_modules/jose ]] ||
  { echo "FAIL: tests/node/node_modules/jose missing (npm ci in tests/node)"; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: the openssl command is not installed"; exit 1; }

make_tmp oidcsess
PID= RPID=
PIDS_TO_STOP="PID RPID"
LOGS="main untrusted tls receiver ctl verify"
LOG=$TMP/authd.log

RPORT=$(free_port)
S=$TMP/state
CB=http://127.0.0.1:9/cb          # nothing listens: the flow stops at the redirect
ID1=$(id_number 11010119880808123)
PW1='Sessions Test 2026!'
ID2=$(id_number 11010219790101456)
PW2='Lockout Test 2026!'

# ---- the back-channel receiver: each POST body one line of bodies.txt
start_receiver "$RPORT" "$TMP/bodies.txt"

# ---- the logout token verifier (jose, as a department's app would verify it)
cat >"$TMP/verify.cjs" <<'EOF'
// node verify.cjs TOKEN JWKS_FILE ISSUER AUDIENCE SID SUB: 0 and "ok" when it verifies
const path = require('node:path');
const fs = require('node:fs');
const jose = require(path.join(process.env.YH_SRCDIR, 'tests/node/node_modules/jose'));
const [token, jwksFile, iss, aud, sid, sub] = process.argv.slice(2);
(async () => {
  const jwks = jose.createLocalJWKSet(JSON.parse(fs.readFileSync(jwksFile, 'utf8')));
  const { payload } = await jose.jwtVerify(token, jwks,
    { issuer: iss, audience: aud, typ: 'logout+jwt', maxTokenAge: '5m' });
  const why = [];
  const ev = payload.events && payload.events['http://schemas.openid.net/event/backchannel-logout'];
  if (typeof ev !== 'object' || ev === null || Object.keys(ev).length !== 0)
    why.push('no back-channel logout event');
  if (payload.nonce !== undefined) why.push('a nonce');
  if (typeof payload.jti !== 'string' || payload.jti === '') why.push('no jti');
  if (payload.sid !== sid) why.push(`sid ${payload.sid}, expected ${sid}`);
  if (payload.sub !== sub) why.push(`sub ${payload.sub}, expected ${sub}`);
  if (why.length) { console.log(why.join('; ')); process.exit(1); }
  console.log('ok');
})().catch((e) => { console.log(`does not verify: ${e.message}`); process.exit(1); });
EOF

# ---- authd
# write_conf NAME LINE...: $TMP/NAME.conf with the state directory, a new port and LINEs.
write_conf() {
  local name=$1
  shift
  PORT=$(free_port)
  { echo "state_dir = $S"
    echo "http.listen = 127.0.0.1:$PORT"
    printf '%s\n' "$@"; } >"$TMP/$name.conf"
}
# start_conf NAME [https]: lib.sh's start_authd with -c $TMP/NAME.conf, logging to LOG,
# $TMP/NAME.log; sets ISSUER and BASE (for req).
start_conf() {
  SCHEME=${2:-http}
  LOG=$TMP/$1.log
  AUTHD_LOG=$LOG
  ISSUER=$SCHEME://127.0.0.1:$PORT
  BASE=$ISSUER
  start_authd -c "$TMP/$1.conf"
}

# ---- HTTP: lib.sh's req JAR METHOD PATH (JAR "-": no cookies but -H Cookie:), CURLX
body_has() { grep -qF -- "$1" "$TMP/body"; }
has_hsts() { grep -qiE '^Strict-Transport-Security: max-age=[1-9][0-9]*' "$TMP/headers"; }
is_secure() { cookie_line "$1" | grep -qiE '; *Secure(;|$)'; }
jfield() {  # jfield FILE KEY: a top-level string or number of a JSON file ("" when absent)
  "$PY" -c 'import sys,json;v=json.load(open(sys.argv[1])).get(sys.argv[2],"");print(v)' "$1" "$2" 2>/dev/null
}
metric() {  # metric 'NAME{LABELS}': its value in /metrics (0 when absent)
  curl -s --max-time 10 "${CURLX[@]}" "$ISSUER/metrics" | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}

# login JAR USER PASSWORD [curl args...]: the real form (GET, token, POST) with next=/account.
login() {
  local jar=$1 user=$2 pw=$3 tok
  shift 3
  req "$jar" GET '/login?next=%2Faccount' "$@"
  tok=$(form_value csrf)
  [[ $STATUS == 200 && -n $tok ]] || { fail "GET /login: $STATUS, csrf '$tok'"; return 1; }
  req "$jar" POST /login "$@" --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "username=$user" --data-urlencode "password=$pw"
}
# code JAR: /authorize for the public app (PKCE S256) with the jar's session, consent on
# the first time; sets CODE and VERIFIER. The session then records app1.
code() { authorize_code "$1" "openid%20profile%20offline_access"; }
# redeem: POST /token with CODE and VERIFIER; TOKSTATUS, $TMP/tok.json.
redeem() {
  TOKSTATUS=$(curl -s --max-time 30 -o "$TMP/tok.json" -w '%{http_code}' "${CURLX[@]}" \
    -d grant_type=authorization_code -d client_id=app1 --data-urlencode "code=$CODE" \
    --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER" \
    "$ISSUER/token")
}
# session_with_app JAR: login has been done; authorize app1 and redeem the code; sets
# SID and SUB from the ID token.
session_with_app() {
  code "$1" || return 1
  redeem
  [[ $TOKSTATUS == 200 ]] || { fail "/token: $TOKSTATUS $(cat "$TMP/tok.json")"; return 1; }
  IDT=$(jfield "$TMP/tok.json" id_token)
  SID=$(jwt_claim "$IDT" sid)
  SUB=$(jwt_claim "$IDT" sub)
  [[ -n $SID && -n $SUB ]] || { fail "the ID token has no sid/sub"; return 1; }
}
# logout_token_for SID SECONDS: waits (bounded) for a body whose logout token names SID;
# sets LTOKEN.
logout_token_for() {
  local deadline=$((SECONDS + $2)) line tok
  LTOKEN=
  while ((SECONDS < deadline)); do
    while IFS= read -r line; do
      tok=$(qparam "http://x/?$line" logout_token)
      if [[ -n $tok && $(jwt_claim "$tok" sid) == "$1" ]]; then
        LTOKEN=$tok
        return 0
      fi
    done <"$TMP/bodies.txt"
    sleep 0.5
  done
  return 1
}
# verify_logout LABEL SID SUB: LTOKEN verifies with jose against /jwks for app1.
verify_logout() {
  local out
  curl -s --max-time 10 "${CURLX[@]}" "$ISSUER/jwks" >"$TMP/jwks.json"
  if out=$(YH_SRCDIR=$YH_SRCDIR node "$TMP/verify.cjs" "$LTOKEN" "$TMP/jwks.json" "$ISSUER" \
      app1 "$2" "$3" 2>>"$TMP/verify.log"); then
    ok "$1: the logout token verifies with jose (signature against /jwks, iss, aud, typ, events, sid, sub)"
  else
    fail "$1: logout token: $out"
  fi
}

# ==== 1. authd trusting 127.0.0.1 as its proxy, with a strict lockout and a short idle time
write_conf main "http.trusted_proxies = 127.0.0.1" "session.idle_timeout = 60s" \
  "login.max_failures = 3" "login.lockout = 4s" "login.failure_window = 1m" \
  "login.max_failures_per_address = 6"
"$AUTHD" -t -c "$TMP/main.conf" >"$TMP/t.out" 2>&1 || die "authd -t: $(cat "$TMP/t.out")"
start_conf main
check_stop_authd
ctl client add app1 --public --redirect-uri "$CB" --scope openid profile offline_access \
  --backchannel-logout-uri "http://127.0.0.1:$RPORT/bcl" --name "App One" >>"$TMP/ctl.log" ||
  die "authctl client add"
printf '%s\n' "$PW1" | ctl user add --id-number "$ID1" --name 王小明 --password-stdin >/dev/null ||
  die "authctl user add 1"
printf '%s\n' "$PW2" | ctl user add --id-number "$ID2" --name 李小红 --password-stdin >/dev/null ||
  die "authctl user add 2"
start_conf main

# ---- the session left to expire; tokens issued with it move yh_tokens_issued_total
login e "$ID1" "$PW1" && [[ $STATUS == 303 ]] || die "login for the expiring session: $STATUS"
code e || die "no code for the expiring session"
M0=$(metric 'yh_tokens_issued_total{grant="authorization_code"}')
redeem
[[ $TOKSTATUS == 200 ]] || die "/token: $TOKSTATUS $(cat "$TMP/tok.json")"
E_IDLE_FROM=$SECONDS
IDT=$(jfield "$TMP/tok.json" id_token)
SID_E=$(jwt_claim "$IDT" sid)
SUB_E=$(jwt_claim "$IDT" sub)
RT=$(jfield "$TMP/tok.json" refresh_token)
[[ -n $SID_E && -n $SUB_E ]] || die "the ID token has no sid/sub"
M1=$(metric 'yh_tokens_issued_total{grant="authorization_code"}')
[[ $M1 == $((M0 + 1)) ]] && ok "metrics: a code exchange counts one authorization_code grant ($M0 -> $M1)" ||
  fail "metrics: authorization_code $M0 -> $M1 after a code exchange"
if [[ -n $RT ]]; then
  R0=$(metric 'yh_tokens_issued_total{grant="refresh_token"}')
  st=$(curl -s --max-time 30 -o "$TMP/rt.json" -w '%{http_code}' -d grant_type=refresh_token \
    -d client_id=app1 --data-urlencode "refresh_token=$RT" "$ISSUER/token")
  R1=$(metric 'yh_tokens_issued_total{grant="refresh_token"}')
  [[ $st == 200 && $R1 == $((R0 + 1)) ]] && ok "metrics: a refresh counts one refresh_token grant ($R0 -> $R1)" ||
    fail "refresh: $st, refresh_token metric $R0 -> $R1"
else
  fail "no refresh token for app1 (offline_access)"
fi
# A replayed code is refused (and revokes the refresh family it started).
redeem
[[ $TOKSTATUS == 400 && $(jfield "$TMP/tok.json" error) == invalid_grant ]] ||
  fail "a replayed code: $TOKSTATUS $(cat "$TMP/tok.json")"
M2=$(metric 'yh_tokens_issued_total{grant="authorization_code"}')
[[ $M2 == "$M1" ]] && ok "metrics: a refused (replayed) code counts nothing" ||
  fail "metrics: authorization_code $M1 -> $M2 after a replayed code"
grep -q '^# TYPE yh_tokens_issued_total counter' <(curl -s "$ISSUER/metrics") &&
  ok "metrics: yh_tokens_issued_total is a counter" || fail "no TYPE line for yh_tokens_issued_total"

# ---- lockout after login.max_failures = 3, released after login.lockout = 4s
for i in 1 2 3; do
  login l "$ID2" "wrong password $i"
  if [[ $i -lt 3 ]]; then
    [[ $STATUS == 200 ]] && body_has '账号或密码不正确' || fail "failure $i: $STATUS"
  fi
done
[[ $STATUS == 429 ]] && body_has '已暂时锁定' && ok "the 3rd failure locks the account (login.max_failures = 3)" ||
  fail "3rd failure: $STATUS (expected 429 with the lockout words)"
LOCKED_AT=$SECONDS
login l "$ID2" "$PW2"
[[ $STATUS == 429 && -z $(cookie_value yh_sid) ]] && ok "locked: the right password is refused" ||
  fail "locked account: $STATUS"
[[ $(audit_count login.lockout '"scope":"account"' '"lockout_s":4') == 1 ]] &&
  ok "audit: login.lockout with lockout_s 4" || fail "no login.lockout line with lockout_s 4"
[[ $(audit_count login.failure '"failures":3') == 1 ]] && ok "audit: the 3rd failure counted as 3" ||
  fail "no login.failure line with failures 3"
while ((SECONDS - LOCKED_AT < 5)); do sleep 0.5; done
login l "$ID2" "$PW2"
[[ $STATUS == 303 && $LOCATION == /account && -n $(cookie_value yh_sid) ]] &&
  ok "after login.lockout the right password opens a session" ||
  fail "after the lockout: $STATUS '$LOCATION'"

# ---- per address (login.max_failures_per_address = 6), the address from X-Forwarded-For
for i in 1 2 3 4 5 6; do
  login x "nobody-$i" "wrong password" -H "X-Forwarded-For: 203.0.113.9"
  if [[ $i -lt 6 ]]; then
    [[ $STATUS == 200 ]] || fail "address failure $i: $STATUS"
  fi
done
[[ $STATUS == 429 ]] && ok "the 6th failure from 203.0.113.9 locks the address" ||
  fail "6th failure from one address: $STATUS"
[[ $(audit_count login.lockout '"scope":"address"' '"ip":"203.0.113.9"') == 1 ]] &&
  ok "audit: login.lockout of the address 203.0.113.9" || fail "no address login.lockout for 203.0.113.9"
login x2 "$ID1" "$PW1" -H "X-Forwarded-For: 203.0.113.9"
[[ $STATUS == 429 ]] && ok "a locked address cannot log in, even with the right password" ||
  fail "locked address: $STATUS"
login x3 "$ID1" "$PW1" -H "X-Forwarded-For: 203.0.113.10"
[[ $STATUS == 303 ]] && ok "another client behind the same proxy still logs in" ||
  fail "another address behind the proxy: $STATUS"

# ---- the trusted proxy: X-Forwarded-Proto and X-Forwarded-For believed
PH=(-H "X-Forwarded-Proto: https" -H "X-Forwarded-For: 10.9.9.9, 198.51.100.23")
req p GET /login
has_hsts && fail "plain HTTP without forwarded headers has HSTS" || ok "plain HTTP: no HSTS"
is_secure yh_csrf && fail "plain HTTP: the CSRF cookie is Secure" || ok "plain HTTP: cookies not Secure"
req - GET '/login?next=%2Faccount' "${PH[@]}"
has_hsts && ok "trusted proxy, X-Forwarded-Proto https: HSTS" || fail "trusted proxy: no HSTS"
is_secure __Host-yh_csrf && ok "trusted proxy: the CSRF cookie is Secure and named __Host-yh_csrf" ||
  fail "trusted proxy: CSRF cookie '$(cookie_line __Host-yh_csrf)' ($(grep -i '^Set-Cookie' "$HEADERS" | tr -d '\r'))"
CSRF_C=$(cookie_value __Host-yh_csrf)
TOK=$(form_value csrf)
SUCC0=$(audit_count login.success '"ip":"198.51.100.23"')
req - POST /login "${PH[@]}" -H "Cookie: __Host-yh_csrf=$CSRF_C" --data-urlencode "csrf=$TOK" \
  --data-urlencode "next=/account" --data-urlencode "username=$ID1" --data-urlencode "password=$PW1"
SID_P=$(cookie_value __Host-yh_sid)
[[ $STATUS == 303 && -n $SID_P ]] && ok "trusted proxy: login 303" || fail "trusted proxy login: $STATUS"
is_secure __Host-yh_sid && cookie_line __Host-yh_sid | grep -qi HttpOnly &&
  ok "trusted proxy: the session cookie is __Host-yh_sid, Secure and HttpOnly" ||
  fail "trusted proxy: session cookie '$(cookie_line __Host-yh_sid)'"
has_hsts && ok "trusted proxy: HSTS on the login response" || fail "trusted proxy: no HSTS on POST /login"
[[ $(audit_count login.success '"ip":"198.51.100.23"') == $((SUCC0 + 1)) ]] &&
  ok "audit: login.success records the forwarded client 198.51.100.23" ||
  fail "audit: no login.success with ip 198.51.100.23"
grep -qF 'path=/login status=303' "$LOG" && grep 'path=/login status=303' "$LOG" | grep -qF 'client=198.51.100.23' &&
  ok "access log: the forwarded client 198.51.100.23" || fail "access log lacks client=198.51.100.23"
grep -qF -e '10.9.9.9' "$LOG" "$S/audit.log" && fail "the spoofed leftmost X-Forwarded-For entry was believed" ||
  ok "the spoofed leftmost X-Forwarded-For entry is not the client"
req - GET /account "${PH[@]}" -H "Cookie: __Host-yh_sid=$SID_P"
[[ $STATUS == 200 ]] && body_has '198.51.100.23' && ok "account page: the session's address is 198.51.100.23" ||
  fail "account page through the proxy: $STATUS"

# ---- ending a session from the account page reaches the app (back-channel logout)
login a "$ID1" "$PW1" && [[ $STATUS == 303 ]] || fail "login a: $STATUS"
session_with_app a && SID_A=$SID SUB_A=$SUB
[[ $SUB_A == "$SUB_E" ]] || fail "the same person has two subs at app1"
login b "$ID1" "$PW1" && [[ $STATUS == 303 ]] || fail "login b: $STATUS"
req b GET /account
[[ $STATUS == 200 ]] && body_has "name=\"sid\" value=\"$SID_A\"" && ok "account page lists the other session" ||
  fail "account page: $STATUS, session $SID_A not listed"
TOK=$(form_value csrf)
req b POST /account/session/end --data-urlencode "csrf=$TOK" --data-urlencode "sid=$SID_A"
[[ $STATUS == 303 && $LOCATION == '/account?done=ended' ]] && ok "account page: the other session ended" ||
  fail "POST /account/session/end: $STATUS '$LOCATION'"
if logout_token_for "$SID_A" 20; then
  ok "account page end: a logout token reached the app"
  verify_logout "account page end" "$SID_A" "$SUB_A"
else
  fail "account page end: no logout token for $SID_A"
fi
req a GET /account
[[ $STATUS == 30[23] && $LOCATION == /login* ]] && ok "the ended session's browser is sent to /login" ||
  fail "the ended session: $STATUS '$LOCATION'"
[[ $(audit_count session.end '"by":"account"' '"which":"one"') == 1 ]] &&
  ok "audit: session.end by the account page" || fail "no session.end by account"
# the same sid again (ended now, or someone else's): nothing ended, and the page says so
req b GET /account
TOK=$(form_value csrf)
req b POST /account/session/end --data-urlencode "csrf=$TOK" --data-urlencode "sid=$SID_A"
[[ $STATUS == 303 && $LOCATION == '/account?done=gone' ]] &&
  ok "account page: a session that is no more is not reported as ended" ||
  fail "end of a session that is gone: $STATUS '$LOCATION'"
[[ $(audit_count session.end '"by":"account"' '"which":"one"') == 1 ]] ||
  fail "an end of nothing was audited"

# ---- the idle session expires (session.idle_timeout = 60s; the sweep runs every 30 s)
echo "waiting for the idle session to expire (up to $((E_IDLE_FROM + 130 - SECONDS)) s)"
if logout_token_for "$SID_E" $((E_IDLE_FROM + 130 - SECONDS)); then
  waited=$((SECONDS - E_IDLE_FROM))
  ((waited >= 60)) && ok "session expiry: a logout token reached the app ${waited}s after the last use" ||
    fail "a logout token for the idle session after ${waited}s only (idle timeout 60s)"
  verify_logout "session expiry" "$SID_E" "$SUB_E"
else
  fail "session expiry: no logout token for $SID_E"
fi
for _ in $(seq 1 20); do
  [[ $(audit_count logout.delivery "\"sid\":\"$SID_E\"" '"reason":"expired"' '"status":"delivered"') == 1 ]] && break
  sleep 0.25
done
[[ $(audit_count logout.delivery "\"sid\":\"$SID_E\"" '"reason":"expired"' '"status":"delivered"') == 1 ]] &&
  ok "audit: logout.delivery for the expired session" || fail "no delivered logout.delivery with reason expired"
req e GET /account
[[ $STATUS == 30[23] && $LOCATION == /login* ]] && ok "the expired session's cookie goes to /login" ||
  fail "the expired session: $STATUS '$LOCATION'"
kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
check_stop_authd

# ==== 2. the same headers from an address that is not a trusted proxy are ignored
write_conf untrusted "http.trusted_proxies = 192.0.2.1"
start_conf untrusted
req - GET '/login?next=%2Faccount' "${PH[@]}"
has_hsts && fail "untrusted peer: X-Forwarded-Proto gave HSTS" || ok "untrusted peer: no HSTS"
is_secure yh_csrf && fail "untrusted peer: the CSRF cookie is Secure" || ok "untrusted peer: CSRF cookie not Secure"
CSRF_C=$(cookie_value yh_csrf)
TOK=$(form_value csrf)
SUCC0=$(audit_count login.success '"ip":"127.0.0.1"')
FWD0=$(audit_count login.success '"ip":"198.51.100.23"')
req - POST /login "${PH[@]}" -H "Cookie: yh_csrf=$CSRF_C" --data-urlencode "csrf=$TOK" \
  --data-urlencode "next=/account" --data-urlencode "username=$ID1" --data-urlencode "password=$PW1"
[[ $STATUS == 303 && -n $(cookie_value yh_sid) ]] || fail "untrusted peer: login $STATUS"
is_secure yh_sid && fail "untrusted peer: the session cookie is Secure" ||
  ok "untrusted peer: the session cookie is not Secure"
[[ $(audit_count login.success '"ip":"127.0.0.1"') == $((SUCC0 + 1)) &&
  $(audit_count login.success '"ip":"198.51.100.23"') == "$FWD0" ]] &&
  ok "untrusted peer: the audit trail records the peer 127.0.0.1, not X-Forwarded-For" ||
  fail "untrusted peer: the forwarded address reached the audit trail"
grep 'path=/login status=303' "$LOG" | grep -qF 'client=127.0.0.1' && ! grep -qF '198.51.100.23' "$LOG" &&
  ok "untrusted peer: the access log has client=127.0.0.1" || fail "untrusted peer: access log client"
check_stop_authd

# ==== 3. native TLS
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 2>/dev/null || die "openssl req"
chmod 600 "$TMP/key.pem"
write_conf tls "tls.cert_file = $TMP/cert.pem" "tls.key_file = $TMP/key.pem"
CURLX=(--cacert "$TMP/cert.pem")
start_conf tls https
# host_only NAME: NAME's Set-Cookie is Secure, Path=/ and has no Domain (what a browser
# demands of a __Host- cookie).
host_only() {
  local l
  l=$(cookie_line "$1")
  [[ -n $l ]] && is_secure "$1" && grep -qiE '; *Path=/(;|$)' <<<"$l" && ! grep -qi 'Domain=' <<<"$l"
}
req t GET '/login?next=%2Faccount'
[[ $STATUS == 200 ]] && has_hsts && ok "TLS: HSTS on the login page" || fail "TLS: login page $STATUS, HSTS?"
host_only __Host-yh_csrf && ok "TLS: the CSRF cookie is __Host-yh_csrf (Secure, Path=/, no Domain)" ||
  fail "TLS: CSRF cookie: $(grep -i '^Set-Cookie' "$HEADERS" | tr -d '\r')"
[[ -z $(cookie_line yh_csrf) ]] && ok "TLS: no cookie named plain yh_csrf" || fail "TLS: $(cookie_line yh_csrf)"
login t "$ID1" "$PW1"
[[ $STATUS == 303 && $LOCATION == /account ]] && ok "TLS: login 303" || fail "TLS: login $STATUS '$LOCATION'"
host_only __Host-yh_sid && cookie_line __Host-yh_sid | grep -qi HttpOnly &&
  cookie_line __Host-yh_sid | grep -qi 'SameSite=Lax' &&
  ok "TLS: the session cookie is __Host-yh_sid (Secure, Path=/, no Domain), HttpOnly, SameSite=Lax" ||
  fail "TLS: session cookie: $(grep -i '^Set-Cookie' "$HEADERS" | tr -d '\r')"
[[ -z $(cookie_line yh_sid) ]] && ok "TLS: no cookie named plain yh_sid" || fail "TLS: $(cookie_line yh_sid)"
has_hsts && ok "TLS: HSTS on the login response" || fail "TLS: no HSTS on POST /login"
req t GET /account
[[ $STATUS == 200 ]] && ok "TLS: the __Host- session cookie opens /account" || fail "TLS: /account $STATUS"
TSID=$(jar_value t __Host-yh_sid)
TTOK=$(form_value csrf)
req - GET /account -H "Cookie: yh_sid=$TSID"
[[ $STATUS == 30[23] && $LOCATION == /login* ]] &&
  ok "TLS: the session id under the plain name yh_sid is not read" || fail "TLS: plain yh_sid: $STATUS"
req t POST /account/session/end-others --data-urlencode "csrf=$TTOK"
[[ $STATUS == 303 ]] && ok "TLS: the account page's session-bound token works" ||
  fail "TLS: end-others with the page's token: $STATUS"
req t GET '/logout?client_id=app1'
req t POST /logout --data-urlencode "csrf=$(form_value csrf)" --data-urlencode confirm=1 \
  --data-urlencode client_id=app1
[[ $STATUS == 200 ]] && grep -qiE '^Set-Cookie: __Host-yh_sid=; Path=/; Max-Age=0' "$HEADERS" &&
  ok "TLS: logout expires __Host-yh_sid" || fail "TLS: logout $STATUS: $(grep -i '^Set-Cookie' "$HEADERS" | tr -d '\r')"
[[ $(curl -s "${CURLX[@]}" "$ISSUER/.well-known/openid-configuration" | "$PY" -c 'import sys,json;print(json.load(sys.stdin)["issuer"])') == "$ISSUER" ]] &&
  ok "TLS: the derived issuer is https://" || fail "TLS: issuer is not $ISSUER"
check_stop_authd
CURLX=()

"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact" || fail "audit verify"
for f in main untrusted tls; do
  no_errors_in "authd ($f) logged errors:" "$TMP/$f.log"
  no_sanitizer_in "sanitizer reports ($f):" "$TMP/$f.log"
done
grep -qF -e "$PW1" -e "$PW2" "$S/audit.log" "$TMP"/main.log "$TMP"/untrusted.log "$TMP"/tls.log &&
  fail "a password reached a log" || ok "no password in the logs"
if [[ $FAILS -ne 0 ]]; then
  show_logs
  exit 1
fi
exit 0
