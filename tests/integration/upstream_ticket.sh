#!/usr/bin/env bash
# A ticket upstream (docs/federation.md): authd sends the browser to the platform's
# login URL with its app id and a return URL; the platform sends it back with a
# one-time ticket; authd exchanges it at the validate URL, signed (HMAC-SHA256, and
# HMAC-SM3 and SM2/SM3 on other blocks), and reads the user through the configured paths. A
# stand-in platform (tests/node/ticket_stub.mjs) checks the signature honestly. The round trip
# logs in (the person made, a second login finds them); a replayed ticket, a wrong
# signature, a timeout and a 500 each end on a clear page, with the cause in the audit
# log and no session; the password login keeps working while the platform is down.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd

make_tmp upticket
PID= SPID=
PIDS_TO_STOP="PID SPID"
LOGS="authd stub"
PORT=$(free_port)
SP=$(free_port)
S=$TMP/state
BASE=http://127.0.0.1:$PORT
STUB=http://127.0.0.1:$SP
ID=$(id_number 11010519491231002)
SECRET=$(openssl rand -hex 16)
PW='Chang Cheng 1987!'

printf 'ok\n' >"$TMP/mode"
: >"$TMP/requests"
openssl genpkey -algorithm SM2 -out "$TMP/sm2.pem" 2>/dev/null && chmod 600 "$TMP/sm2.pem" &&
  openssl pkey -in "$TMP/sm2.pem" -pubout -out "$TMP/sm2pub.pem" 2>/dev/null || die "SM2 key"
openssl genpkey -algorithm SM2 -out "$TMP/other.pem" 2>/dev/null && chmod 600 "$TMP/other.pem" ||
  die "SM2 key"
node "$YH_SRCDIR/tests/node/ticket_stub.mjs" "$SP" "$TMP/mode" "$TMP/requests" "$ID" "$SECRET" \
  "$TMP/sm2pub.pem" 2>>"$TMP/stub.log" &
SPID=$!
wait_ready "$STUB/login?service=http://x/" "$SPID" || die "the stand-in did not start"

block() { # NAME APPID SECRET SIGN
  cat <<EOB
upstream.$1.kind = ticket
upstream.$1.display_name = 政务服务网 $1
upstream.$1.login_url = $STUB/login
upstream.$1.validate_url = $STUB/validate
upstream.$1.app_id = $2
upstream.$1.app_secret = $3
upstream.$1.sign = $4
upstream.$1.timeout = 2s
upstream.$1.map.sub = data.user.id
upstream.$1.map.id_number = data.user.idCard
upstream.$1.map.name = data.user.name
upstream.$1.loa = 2
upstream.$1.auto_register = yes
EOB
}
{
  echo "state_dir = $S"
  echo "http.listen = 127.0.0.1:$PORT"
  block hall hall "$SECRET" hmac-sha256
  block hallsm3 hallsm3 "$SECRET" hmac-sm3
  block wrong hall "not-$SECRET" hmac-sha256
  block hallsm2 hallsm2 "" sm2-sm3
  echo "upstream.hallsm2.sign_key_file = $TMP/sm2.pem"
  block wrongsm2 hallsm2 "" sm2-sm3
  echo "upstream.wrongsm2.sign_key_file = $TMP/other.pem"
} >"$TMP/authd.conf"
mkdir -p "$S"
"$AUTHD" -c "$TMP/authd.conf" 2>>"$TMP/authd.log" &
PID=$!
wait_ready "$BASE/healthz" "$PID" || die "authd did not start"

# round BLOCK: a ticket login in a fresh browser; STATUS, LOCATION of authd's callback
# and CBURL, the URL the platform sent the browser back to.
round() {
  rm -f "$TMP/b.jar"
  req b GET "/login/upstream/$1?next=%2Faccount"
  [[ $STATUS == 303 && $LOCATION == "$STUB/login?appId="* ]] ||
    { fail "$1: no redirect to the platform: $STATUS '$LOCATION'"; return 1; }
  fetch "$LOCATION"
  CBURL=$LOCATION
  [[ $STATUS == 302 && $CBURL == "$BASE/login/upstream/$1/callback?st="*"&ticket=ST-"* ]] ||
    { fail "$1: the platform did not send the browser back: $STATUS '$CBURL'"; return 1; }
  req b GET "$CBURL"
}

# refused WHAT STATUS REASON_TEXT: the last callback ended on a page with STATUS, no
# session, and a login.failure line holding REASON_TEXT.
refused() {
  if [[ $STATUS == "$2" && $CTYPE == text/html* && -z $(jar_value b yh_sid) &&
        $(audit_count login.failure '"method":"fed"' "$3") -ge 1 ]]; then
    ok "$1"
  else
    fail "$1: $STATUS, yh_sid '$(jar_value b yh_sid)', audit $(audit_count login.failure "$3")"
  fi
}

req b GET '/login?next=%2Faccount'
grep -q '使用 政务服务网 hall 登录' "$TMP/body" && ok "the login page has the ticket upstream's button" ||
  fail "no ticket button"

round hall
[[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value b yh_sid) ]] &&
  ok "a ticket round trip (HMAC-SHA256) logs in" || fail "round trip: $STATUS '$LOCATION'"
[[ $(audit_count register '"result":"created"') == 1 && $(audit_count login.success '"method":"fed"' '"loa":2') == 1 ]] &&
  ok "the person is made at the block's level" || fail "register/login lines"
grep -q '"path": "/validate".*timestamp=.*nonce=.*sign=' "$TMP/requests" &&
  ok "the exchange carries timestamp, nonce and sign" || fail "exchange fields"

# the same URL again: our state is used up; the same ticket under a new state: the
# platform refuses it
req b GET "$CBURL"
[[ $STATUS == 400 && -z $(cookie_value yh_sid) ]] && ok "a replayed return URL is refused" ||
  fail "replayed return URL: $STATUS"
TICKET=$(qparam "$CBURL" ticket)
rm -f "$TMP/b.jar"
req b GET "/login/upstream/hall?next=%2Faccount"
ST=$(qparam "$(qparam "$LOCATION" service)" st)
req b GET "/login/upstream/hall/callback?st=$ST&ticket=$TICKET"
refused "a replayed ticket is refused" 403 'refused the ticket (code = 1001)'

round hallsm3
[[ $STATUS == 303 && -n $(jar_value b yh_sid) ]] && ok "HMAC-SM3 signs the exchange" ||
  fail "hmac-sm3: $STATUS"
[[ $(audit_count register '"result":"created"') == 1 ]] && ok "the second login finds the same person" ||
  fail "the person was made again"

round wrong
refused "a wrong signature is refused" 403 'refused the ticket (code = 1002)'
round hallsm2
[[ $STATUS == 303 && -n $(jar_value b yh_sid) ]] &&
  ok "SM2/SM3 signs the exchange (checked by the openssl command)" || fail "sm2-sm3: $STATUS"
BEFORE=$(audit_count login.failure 'refused the ticket (code = 1002)')
round wrongsm2
[[ $STATUS == 403 && $(audit_count login.failure 'refused the ticket (code = 1002)') -gt $BEFORE ]] &&
  ok "an SM2 signature by another key is refused" || fail "sm2 other key: $STATUS"

printf 'timeout\n' >"$TMP/mode"
T0=$(date +%s)
round hall
refused "a platform that does not answer in time ends on a page" 502 'timed out'
(( $(date +%s) - T0 < 4 )) && ok "within the block's timeout" || fail "the exchange waited $(( $(date +%s) - T0 )) s"

printf '500\n' >"$TMP/mode"
round hall
refused "a platform answering 500 ends on a page" 502 'HTTP status 500'

printf '%s\n' "$PW" | ctl user add --id-number "$(id_number 11010519500101003)" --name 李四 \
  --password-stdin >/dev/null || fail "user add"
login_form p "$(id_number 11010519500101003)" "$PW"
[[ $STATUS == 303 ]] && ok "the password login works while the platform is down" ||
  fail "password login: $STATUS"

# authctl upstream test: a dry exchange, signed as configured
printf 'ok\n' >"$TMP/mode"
out=$("$AUTHCTL" -c "$TMP/authd.conf" upstream test hallsm3 2>&1) &&
  [[ $out == *"reachable, the ticket refused as it should be"*"code = 1003"* ]] &&
  ok "authctl upstream test makes a dry exchange" || fail "authctl upstream test: $out"
out=$("$AUTHCTL" -c "$TMP/authd.conf" upstream test wrong 2>&1)
[[ $out == *"code = 1002"* ]] && ok "authctl upstream test shows a refused signature" ||
  fail "authctl upstream test wrong: $out"
"$AUTHCTL" -c "$TMP/authd.conf" upstream test nosuch >/dev/null 2>&1
[[ $? == 2 ]] && ok "authctl upstream test of an unknown block is an error" ||
  fail "unknown block"

# a changed block on SIGHUP: the blocks in force stay until a restart, with a warning
MARK=$(wc -l <"$TMP/authd.log")
sed -i 's/^upstream.hall.display_name = .*/upstream.hall.display_name = 改名平台/' "$TMP/authd.conf"
if hup_and_wait "$MARK"; then
  tail -n +"$((MARK + 1))" "$TMP/authd.log" | grep -q 'upstream.\* changed: the upstreams in force stay' &&
    ok "SIGHUP: a changed upstream block is a warning" || fail "no warning for the changed block"
  req b GET '/login?next=%2Faccount'
  grep -q '使用 政务服务网 hall 登录' "$TMP/body" && ! grep -q '改名平台' "$TMP/body" &&
    ok "SIGHUP: the block in force stays until a restart" || fail "the button changed on SIGHUP"
fi

kill -0 "$PID" 2>/dev/null && ok "authd still runs" || fail "authd died"
if ((FAILS)); then show_logs; echo "$FAILS check(s) failed"; exit 1; fi
echo "all checks passed"
