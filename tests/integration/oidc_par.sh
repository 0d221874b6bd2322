#!/usr/bin/env bash
# Pushed authorization requests (RFC 9126): POST /par with the client authentication of
# /token, /authorize by request_uri (single use, expiring, bound to its client), the
# refusals as JSON at /par and as a page at /authorize, an app registered --require-par,
# discovery; then node's openid-client pushes (pushedAuthorizationRequest) and completes
# the flow (tests/node/oidc_rp.mjs par).
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
RPJS=$YH_SRCDIR/tests/node/oidc_rp.mjs

make_tmp par
PID=
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
CB=http://127.0.0.1:9/cb
SECRET=$(openssl rand -hex 24)
SECRET2=$(openssl rand -hex 24)
PASSWORD='Zhao-Liu-2026!pw'
URN=urn:ietf:params:oauth:request_uri:

cat >"$CONF" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
oidc.par_lifetime = 5s
CONF

start_authd -c "$CONF"
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add web --redirect-uri "$CB" --secret "$SECRET" --scope openid profile
ctl_or_die client add other --redirect-uri "$CB" --secret "$SECRET2" --scope openid
ctl_or_die client add pub --public --redirect-uri "$CB" --scope openid profile
ctl_or_die client add strict --redirect-uri "$CB" --secret "$SECRET2" --scope openid --require-par
printf '%s\n' "$PASSWORD" | ctl_or_die user add --id-number "$(id_number 11010119880214321)" \
  --name 赵六 --phone 13812349876 --username zhaoliu --password-stdin
ctl client show strict | grep -q '"require_pushed_authorization_requests": *true' &&
  ok "authctl: --require-par stored" || fail "authctl: --require-par not shown"
start_authd -c "$CONF"

jfield() { "$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get(sys.argv[2],""))' "$TMP/body" "$1" 2>/dev/null; }

# push CURL_ARGS...: POST /par; STATUS, BODY; URI the request_uri ("" when none).
push() {
  fetch "$BASE/par" -X POST "$@"
  URI=$(jfield request_uri)
}

pkce() {
  VERIFIER=$(openssl rand -hex 32)
  CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A |
    tr '+/' '-_' | tr -d '=')
}

# authorize_uri JAR CLIENT URI [MORE]: GET /authorize?client_id=CLIENT&request_uri=URI,
# consenting when asked.
authorize_uri() {
  req "$1" GET "/authorize?client_id=$2&request_uri=$(enc "$3")${4:-}"
  if [[ $STATUS == 302 && $LOCATION == /consent\?* ]]; then
    consent_allow "$1"
    [[ $LOCATION == /authorize\?* ]] && req "$1" GET "$LOCATION"
  fi
}

# discovery
fetch "$BASE/.well-known/openid-configuration"
[[ $(jfield pushed_authorization_request_endpoint) == "$BASE/par" &&
   $(jfield require_pushed_authorization_requests) == False ]] &&
  ok "discovery: the PAR endpoint, not required server-wide" || fail "discovery: $BODY"

login_form b zhaoliu "$PASSWORD"
[[ $STATUS == 303 ]] || die "login: $STATUS"

# client_secret_basic push -> 201; the code flow by request_uri; the token exchange
pkce
push -u "web:$SECRET" -d response_type=code --data-urlencode "redirect_uri=$CB" \
  -d "scope=openid profile" -d state=st1 -d nonce=n1 -d login_hint=13812349876 \
  -d "code_challenge=$CHALLENGE" -d code_challenge_method=S256
[[ $STATUS == 201 && $URI == "$URN"* && $(jfield expires_in) == 5 ]] &&
  ok "push with client_secret_basic: 201" || fail "push: $STATUS $BODY"
[[ $(header Cache-Control) == *no-store* ]] && ok "push: no-store" || fail "push: cache $(header Cache-Control)"
authorize_uri b web "$URI" "&state=evil&redirect_uri=$(enc https://evil.example/cb)"
CODE=$(qparam "$LOCATION" code)
[[ $STATUS == 302 && $LOCATION == "$CB?"* && $(qparam "$LOCATION" state) == st1 && -n $CODE ]] &&
  ok "authorize by request_uri: code, the pushed state" || fail "authorize: $STATUS '$LOCATION'"
fetch "$BASE/token" -X POST -u "web:$SECRET" -d grant_type=authorization_code \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
  --data-urlencode "code_verifier=$VERIFIER"
[[ $STATUS == 200 && -n $(jfield access_token) ]] && ok "token exchange" || fail "token: $STATUS $BODY"

# replayed
authorize_uri b web "$URI"
[[ $STATUS == 400 && -z $LOCATION ]] && grep -q 'invalid_request_uri\|登录请求已失效\|has expired' "$TMP/body" &&
  ok "request_uri replay refused (page)" || fail "replay: $STATUS '$LOCATION'"

# another client's request_uri
push -u "web:$SECRET" -d response_type=code --data-urlencode "redirect_uri=$CB" \
  -d scope=openid -d state=st2
authorize_uri b other "$URI"
[[ $STATUS == 400 && -z $LOCATION ]] && ok "another client's request_uri refused" ||
  fail "other client: $STATUS '$LOCATION'"
authorize_uri b web "$URI"
[[ $STATUS == 302 && $(qparam "$LOCATION" state) == st2 ]] &&
  ok "still good for its own client" || fail "own client after: $STATUS '$LOCATION'"

# expired (oidc.par_lifetime = 5s)
push -u "web:$SECRET" -d response_type=code --data-urlencode "redirect_uri=$CB" -d scope=openid
sleep 6
authorize_uri b web "$URI"
[[ $STATUS == 400 && -z $LOCATION ]] && ok "expired request_uri refused" ||
  fail "expired: $STATUS '$LOCATION'"

# refusals at /par: JSON, never a redirect
push -u "web:$SECRET" -d response_type=code --data-urlencode "redirect_uri=https://evil.example/cb" \
  -d scope=openid
[[ $STATUS == 400 && $(jfield error) == invalid_request && -z $LOCATION ]] &&
  ok "bad redirect_uri: 400 invalid_request" || fail "bad redirect_uri: $STATUS $BODY"
push -d client_id=web -d response_type=code --data-urlencode "redirect_uri=$CB" -d scope=openid
[[ $STATUS == 401 && $(jfield error) == invalid_client ]] &&
  ok "unauthenticated push: 401 invalid_client" || fail "unauthenticated: $STATUS $BODY"
push -u "web:wrong" -d response_type=code --data-urlencode "redirect_uri=$CB" -d scope=openid
[[ $STATUS == 401 && $(jfield error) == invalid_client && -n $(header WWW-Authenticate) ]] &&
  ok "wrong secret: 401 with WWW-Authenticate" || fail "wrong secret: $STATUS $BODY"
push -u "web:$SECRET" -d response_type=code --data-urlencode "redirect_uri=$CB" -d scope=openid \
  --data-urlencode "request_uri=${URN}x"
[[ $STATUS == 400 && $(jfield error) == invalid_request ]] &&
  ok "request_uri pushed: invalid_request" || fail "request_uri pushed: $STATUS $BODY"
push -u "web:$SECRET" -d response_type=code --data-urlencode "redirect_uri=$CB" -d scope=openid \
  -d request=eyJhbGciOiJub25lIn0.e30.
[[ $STATUS == 400 && $(jfield error) == request_not_supported ]] &&
  ok "request object: request_not_supported" || fail "request: $STATUS $BODY"
push -u "web:$SECRET" -d client_id=other -d response_type=code --data-urlencode "redirect_uri=$CB" \
  -d scope=openid
[[ $STATUS == 400 && $(jfield error) == invalid_request ]] &&
  ok "client_id not the authenticated client: invalid_request" || fail "client_id: $STATUS $BODY"

push -u "web:$SECRET" -H 'Content-Type: application/json' --data '{"response_type":"code"}'
[[ $STATUS == 400 && $(jfield error) == invalid_request && $(jfield error_description) == *urlencoded* ]] &&
  ok "a JSON body: invalid_request" || fail "JSON body: $STATUS $BODY"

# a public client pushes with PKCE (and without it is refused)
push -d client_id=pub -d response_type=code --data-urlencode "redirect_uri=$CB" -d scope=openid
[[ $STATUS == 400 && $(jfield error) == invalid_request ]] &&
  ok "public client without PKCE: invalid_request" || fail "public no PKCE: $STATUS $BODY"
pkce
push -d client_id=pub -d response_type=code --data-urlencode "redirect_uri=$CB" -d scope=openid \
  -d state=st3 -d "code_challenge=$CHALLENGE" -d code_challenge_method=S256
[[ $STATUS == 201 ]] && ok "public client pushes with PKCE" || fail "public push: $STATUS $BODY"
authorize_uri b pub "$URI"
CODE=$(qparam "$LOCATION" code)
fetch "$BASE/token" -X POST -d grant_type=authorization_code -d client_id=pub \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
  --data-urlencode "code_verifier=$VERIFIER"
[[ $STATUS == 200 ]] && ok "public client: code redeemed" || fail "public token: $STATUS $BODY"

# --require-par: /authorize without request_uri refused, with one fine
req b GET "/authorize?response_type=code&client_id=strict&redirect_uri=$(enc "$CB")&scope=openid&state=s4"
[[ $STATUS == 302 && $(qparam "$LOCATION" error) == invalid_request &&
   $(qparam "$LOCATION" state) == s4 ]] && ok "--require-par: refused without request_uri" ||
  fail "require-par: $STATUS '$LOCATION'"
push -u "strict:$SECRET2" -d response_type=code --data-urlencode "redirect_uri=$CB" \
  -d scope=openid -d state=s5
authorize_uri b strict "$URI"
[[ $STATUS == 302 && -n $(qparam "$LOCATION" code) && $(qparam "$LOCATION" state) == s5 ]] &&
  ok "--require-par: fine by request_uri" || fail "require-par pushed: $STATUS '$LOCATION'"

# without a session: the login detour keeps the request pushed (no login_hint in any URL)
push -u "strict:$SECRET2" -d response_type=code --data-urlencode "redirect_uri=$CB" \
  -d scope=openid -d state=s6 -d login_hint=zhaoliu
authorize_uri fresh strict "$URI"
[[ $STATUS == 302 && $LOCATION == /login\?* && $LOCATION != *zhaoliu* &&
   $LOCATION == *request_uri* ]] && ok "login detour: next by request_uri, no login_hint" ||
  fail "detour: $STATUS '$LOCATION'"
through_login fresh zhaoliu "$PASSWORD"
[[ $LOCATION == /authorize\?* ]] && req fresh GET "$LOCATION"
[[ $STATUS == 302 && -n $(qparam "$LOCATION" code) && $(qparam "$LOCATION" state) == s6 ]] &&
  ok "login detour: resumed to a code" || fail "resumed: $STATUS '$LOCATION'"

# node openid-client: pushedAuthorizationRequest, then the flow
if command -v node >/dev/null && [[ -d $YH_SRCDIR/tests/node/node_modules/openid-client ]]; then
  cat >"$TMP/config.json" <<JSON
{
  "issuer": "$BASE",
  "user": {"username": "zhaoliu", "password": "$PASSWORD"},
  "apps": {
    "app1": {"client_id": "web", "client_secret": "$SECRET", "redirect_uri": "$CB"},
    "pub": {"client_id": "pub", "redirect_uri": "$CB"}
  }
}
JSON
  timeout 120 node "$RPJS" par "$TMP/config.json"
  rc=$?
  [[ $rc -eq 0 ]] && ok "node openid-client par" || fail "node openid-client par exited $rc"
else
  fail "node or tests/node/node_modules/openid-client missing (npm ci in tests/node)"
fi

no_errors_in "errors in authd's log" "$TMP/authd.log"
check_stop_authd
finish "oidc_par: all checks passed"
