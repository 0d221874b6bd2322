#!/usr/bin/env bash
# A city authd federating to a provincial authd (docs/federation.md): two authd
# processes on loopback, the city's upstream.province block pointing at the province.
# A person registered at the province logs in at the city through it (the city's login
# page shows the button; the flow: PKCE, state, nonce, iss), the city's app gets the
# city's own tokens with amr fed and the mapped acr; a second login finds the same
# person (the link); idp_hint skips the login page; a second upstream block on the same
# province whose acr_map maps the province's level lower gives that lower level. And
# what must not pass: a callback with another state, a used state, a state from another
# browser, an iss of another issuer (mix-up), an unreachable upstream at start (a
# warning, no button, local login still works). A third app at the province authenticates
# with private_key_jwt (a JWKS of a key made here): the city's block using that key logs
# in; a block signing with another key ends on the failure page, audited.
# The "browser" is curl with one cookie jar per server (cookies are per host, not per
# port, and both servers are 127.0.0.1): city.jar for the city, prov.jar for the province.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd

make_tmp upchain
PPID_= CPID= RPID=
PIDS_TO_STOP="PPID_ CPID RPID"
LOGS="prov city"
HTTP_MAX_TIME=20
UPAZ= UPCB=

PP=$(free_port)
CP=$(free_port)
PROV=http://127.0.0.1:$PP
CITY=http://127.0.0.1:$CP
SP=$TMP/prov
SC=$TMP/city
CB=http://127.0.0.1:9/cb
SECRET=$(openssl rand -hex 24)
SECRET2=$(openssl rand -hex 24)
ID=$(id_number 11010519491231002)
PW='Chang Cheng 1987!'

pctl() { "$AUTHCTL" -d "$SP" "$@" 2>>"$TMP/ctl.log"; }
cctl() { "$AUTHCTL" -c "$TMP/city.conf" "$@" 2>>"$TMP/ctl.log"; }

# ---- the province: a person at LoA 2, the city registered as a confidential app
cat >"$TMP/prov.conf" <<EOF
state_dir = $SP
http.listen = 127.0.0.1:$PP
EOF
"$AUTHD" -c "$TMP/prov.conf" 2>>"$TMP/prov.log" &
PPID_=$!
wait_ready "$PROV/healthz" "$PPID_" || die "the province did not start"
printf "%s\n" "$PW" | pctl user add --id-number "$ID" --name 王小明 --password-stdin >/dev/null ||
  die "user add at the province"
pctl user verify "$ID" --loa 2 --by registry --evidence "registry check" >/dev/null ||
  die "user verify at the province"
pctl client add city --secret "$SECRET" --name 市平台 --allow-id-number \
  --backchannel-logout-uri "$CITY/login/upstream/province/backchannel-logout" \
  --redirect-uri "$CITY/login/upstream/province/callback" \
  --scope openid profile yh_id_number >/dev/null || die "client add city at the province"
pctl client add city2 --secret "$SECRET2" --allow-id-number \
  --redirect-uri "$CITY/login/upstream/low/callback" \
  --scope openid profile yh_id_number >/dev/null || die "client add city2 at the province"
# city3: private_key_jwt with the public half of a P-256 key made here
for k in city3 other; do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/$k.pem" 2>/dev/null ||
    die "openssl genpkey $k"
  chmod 600 "$TMP/$k.pem"
done
openssl pkey -in "$TMP/city3.pem" -pubout -outform DER 2>/dev/null | "$PY" -c '
import sys, json, base64, hashlib
d = sys.stdin.buffer.read()[-65:]
assert d[0] == 4
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
k = {"crv": "P-256", "kty": "EC", "x": b(d[1:33]), "y": b(d[33:])}
# the kid: its RFC 7638 thumbprint, as the city names the key in its assertions
k["kid"] = b(hashlib.sha256(json.dumps(k, separators=(",", ":"), sort_keys=True).encode()).digest())
print(json.dumps({"keys": [k]}))
' >"$TMP/city3.jwks" || die "the city3 JWK"
pctl client add city3 --jwks-file "$TMP/city3.jwks" --allow-id-number \
  --redirect-uri "$CITY/login/upstream/pkjwt/callback" "$CITY/login/upstream/pkbad/callback" \
  --scope openid profile yh_id_number >/dev/null || die "client add city3 at the province"
# The province re-reads its app registry at most once a second: wait past that, so its
# first /authorize already knows both apps.
sleep 1.2

# ---- the city: two blocks on the province, one on nothing
DEAD=$(free_port)
cat >"$TMP/city.conf" <<EOF
state_dir = $SC
http.listen = 127.0.0.1:$CP
upstream.province.kind = oidc
upstream.province.display_name = 省统一身份认证平台
upstream.province.display_name_en = Provincial Identity
upstream.province.issuer = $PROV
upstream.province.client_id = city
upstream.province.client_secret = $SECRET
upstream.province.scopes = openid profile yh_id_number
upstream.province.map.id_number = yh_id_number
upstream.province.map.name = name
upstream.province.loa = 1
upstream.province.acr_map = urn:yihao:loa:1=1, urn:yihao:loa:2=2
upstream.province.auto_register = yes
upstream.low.kind = oidc
upstream.low.display_name = 低级别
upstream.low.issuer = $PROV
upstream.low.client_id = city2
upstream.low.client_secret = $SECRET2
upstream.low.token_auth = client_secret_post
upstream.low.scopes = openid profile yh_id_number
upstream.low.map.id_number = yh_id_number
upstream.low.map.name = name
upstream.low.loa = 1
upstream.low.acr_map = urn:yihao:loa:2=1
upstream.low.auto_register = yes
upstream.low.logout = propagate
upstream.pkjwt.kind = oidc
upstream.pkjwt.display_name = 密钥认证
upstream.pkjwt.issuer = $PROV
upstream.pkjwt.client_id = city3
upstream.pkjwt.token_auth = private_key_jwt
upstream.pkjwt.private_key = $TMP/city3.pem
upstream.pkjwt.scopes = openid profile yh_id_number
upstream.pkjwt.map.id_number = yh_id_number
upstream.pkjwt.map.name = name
upstream.pkjwt.auto_register = yes
upstream.pkbad.kind = oidc
upstream.pkbad.display_name = 错误密钥
upstream.pkbad.issuer = $PROV
upstream.pkbad.client_id = city3
upstream.pkbad.token_auth = private_key_jwt
upstream.pkbad.private_key = $TMP/other.pem
upstream.pkbad.private_key_alg = ES256
upstream.pkbad.scopes = openid profile yh_id_number
upstream.pkbad.map.id_number = yh_id_number
upstream.gone.kind = oidc
upstream.gone.display_name = 已停用平台
upstream.gone.issuer = http://127.0.0.1:$DEAD
upstream.gone.client_id = x
upstream.gone.client_secret = y
upstream.gone.map.id_number = idn
EOF
out=$("$AUTHD" -t -c "$TMP/city.conf" 2>&1) && ok "authd -t reads the upstream blocks" ||
  fail "authd -t: $out"
[[ $out == *"upstream.gone: discovery failed"* && $out != *"upstream.province: discovery"* ]] &&
  ok "authd -t warns of the unreachable upstream only" || fail "authd -t warnings: $out"
mkdir -p "$SC"
cctl client list >/dev/null && ok "authctl -c accepts a file with upstream blocks" ||
  fail "authctl -c: $(tail -3 "$TMP/ctl.log")"
RP=$(free_port)
start_receiver "$RP" "$TMP/bodies.txt"
"$AUTHCTL" -d "$SC" client add app1 --public --redirect-uri "$CB" --scope openid profile \
  --backchannel-logout-uri "http://127.0.0.1:$RP/bcl" \
  2>>"$TMP/ctl.log" >/dev/null || die "client add app1 at the city"
"$AUTHD" -c "$TMP/city.conf" 2>>"$TMP/city.log" &
CPID=$!
wait_ready "$CITY/healthz" "$CPID" || die "the city did not start"
grep -q "upstream.gone: discovery failed" "$TMP/city.log" &&
  ok "an unreachable upstream is a warning at start" || fail "no warning for upstream.gone"

# cj URL: the jar of the server URL is on.
cj() { if [[ $1 == "$PROV"* ]]; then echo prov; else echo city; fi; }
# go URL: GET URL with its server's jar.
go() { req "$(cj "$1")" GET "$1"; }
# follow: the last answer's Location (a path is on the city).
follow() {
  local l=$LOCATION
  [[ $l == /* ]] && l=$CITY$l
  go "$l"
}

# ---- the login page: the two buttons that work, not the dead one
BASE=$CITY
req city GET '/login?next=%2Faccount'
if grep -q '使用 省统一身份认证平台 登录' "$TMP/body" && grep -q 'href="/login/upstream/province?next=%2Faccount"' "$TMP/body" &&
   grep -q '/login/upstream/low' "$TMP/body" && ! grep -q '/login/upstream/gone' "$TMP/body"; then
  ok "the login page shows a button per upstream whose discovery worked"
else
  fail "login page buttons: $(grep -o 'upstream[^"]*' "$TMP/body" | head -5)"
fi
req city GET '/login?next=%2Faccount&lang=en'
grep -q 'Log in with Provincial Identity' "$TMP/body" && ok "the English button" ||
  fail "no English button"

# ---- one login through the province, from the city's app
# upstream_login JAR_PREFIX UPSTREAM_PATH_START: from LOCATION (the city's start of an
# upstream login) through the province's login form and back; LOCATION: where the city
# sends the browser after its callback.
through_province() {
  follow                                   # city: 303 to the province's /authorize
  [[ $STATUS == 303 && $LOCATION == "$PROV/authorize?"* ]] ||
    { fail "the city did not send the browser upstream: $STATUS '$LOCATION'"; return 1; }
  UPAZ=$LOCATION
  go "$LOCATION"                           # province: no session, 302 to its /login
  if [[ $STATUS == 302 && $LOCATION == /login\?* ]]; then
    req prov GET "$PROV$LOCATION"
    local tok next
    tok=$(form_value csrf)
    next=$(form_value next)
    req prov POST "$PROV/login" --data-urlencode "csrf=$tok" --data-urlencode "next=$next" \
      --data-urlencode "username=$ID" --data-urlencode "password=$PW"
    [[ $STATUS == 303 ]] || { fail "province login: $STATUS"; return 1; }
    go "$PROV$LOCATION"                    # province /authorize again
  fi
  if [[ $STATUS == 302 && $LOCATION == /consent\?* ]]; then
    req prov GET "$PROV$LOCATION"
    local tok next
    tok=$(form_value csrf)
    next=$(form_value next)
    req prov POST "$PROV/consent" --data-urlencode "csrf=$tok" --data-urlencode "next=$next" \
      --data-urlencode action=allow
    go "$PROV$LOCATION"
  fi
  [[ $STATUS == 302 && $LOCATION == "$CITY/login/upstream/"*"/callback?"* ]] ||
    { fail "the province did not send the browser back: $STATUS '$LOCATION'"; return 1; }
  UPCB=$LOCATION
  go "$LOCATION"                           # city: the callback
}

# city_code: from the city's /authorize for app1 (AZ_STATE, VERIFIER) to CODE.
city_tokens() {
  local code
  CODE=$(qparam "$LOCATION" code)
  [[ $LOCATION == "$CB?"* && -n $CODE ]] || { fail "no code for app1: $STATUS '$LOCATION'"; return 1; }
  code=$(curl -s -o "$TMP/tok.json" -w '%{http_code}' -d grant_type=authorization_code \
    -d client_id=app1 --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "code_verifier=$VERIFIER" "$CITY/token")
  IDT=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("id_token",""))' "$TMP/tok.json")
  [[ $code == 200 && -n $IDT ]] || { fail "city token: $code $(cat "$TMP/tok.json")"; return 1; }
}

# az_start EXTRA: the city's /authorize for app1 (PKCE, state) with EXTRA parameters.
az_start() {
  local challenge
  VERIFIER=$(openssl rand -hex 32)
  challenge=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A |
    tr '+/' '-_' | tr -d '=')
  AZ_STATE=$(openssl rand -hex 8)
  req city GET "/authorize?response_type=code&client_id=app1&scope=openid%20profile&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=$AZ_STATE&nonce=n1&code_challenge=$challenge&code_challenge_method=S256$1"
}

# to_app: after the city's callback (303 to next = the city's /authorize), consent, code.
to_app() {
  [[ $STATUS == 303 && $LOCATION == /authorize\?* ]] ||
    { fail "the city's callback: $STATUS '$LOCATION' $(grep -o '<p[^>]*>[^<]*' "$TMP/body" | head -3)"; return 1; }
  req city GET "$LOCATION"
  if [[ $STATUS == 302 && $LOCATION == /consent\?* ]]; then
    consent_allow city
    req city GET "$LOCATION"
  fi
  city_tokens
}

az_start ""
[[ $STATUS == 302 && $LOCATION == /login\?* ]] || fail "city /authorize without a session: $STATUS $(grep -A3 "<h1" "$TMP/body" | head -6)"
# the button's link, as the page has it
req city GET "$LOCATION"
START=$(grep -oE 'href="/login/upstream/province\?next=[^"]+"' "$TMP/body" | head -1 |
  sed -E 's/^href="//; s/"$//; s/&amp;/\&/g')
[[ -n $START ]] || fail "no province button on the city's login page"
LOCATION=$START
if through_province && to_app; then
  SUB1=$(jwt_claim "$IDT" sub)
  AMR=$(jwt_claim "$IDT" amr)
  ACR=$(jwt_claim "$IDT" acr)
  [[ $AMR == *fed* ]] && ok "the city's ID token says amr fed" || fail "amr: $AMR"
  [[ $ACR == urn:yihao:loa:2 ]] && ok "the city's acr is the mapped level 2" || fail "acr: $ACR"
  [[ -n $SUB1 ]] && ok "the city's app got the city's sub" || fail "no sub"
  UIDC=$(cctl user show "$ID" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])')
  [[ -n $UIDC ]] && ok "auto_register made the person at the city" || fail "no person at the city"
  [[ $(grep -c '"event":"upstream.link"' "$SC/audit.log") == 1 ]] &&
    ok "the link is audited" || fail "no upstream.link audit line"
fi
[[ $(qparam "$UPAZ" code_challenge_method) == S256 && -n $(qparam "$UPAZ" nonce) &&
   -n $(qparam "$UPAZ" state) ]] && ok "the upstream request has PKCE S256, state and nonce" ||
  fail "upstream request: $UPAZ"
[[ $(qparam "$UPCB" iss) == "$PROV" ]] && ok "the province's answer names its issuer (RFC 9207)" ||
  fail "no iss: $UPCB"

# ---- replays and forgeries of the callback
go "$UPCB"
[[ $STATUS == 400 ]] && ok "a used state is refused" || fail "used state: $STATUS"
CBBASE=${UPCB%%\?*}
go "$CBBASE?code=x&state=$(openssl rand -hex 21)&iss=$(enc "$PROV")"
[[ $STATUS == 400 ]] && ok "an unknown state is refused" || fail "unknown state: $STATUS"
[[ $(grep -c '"reason":"state"' "$SC/audit.log") -ge 1 ]] && ok "a bad state is audited" ||
  fail "no audit line for a bad state"

# a state started in another browser
req other GET "/login/upstream/province?next=%2Faccount"
OSTATE=$(qparam "$LOCATION" state)
go "$CBBASE?code=x&state=$OSTATE&iss=$(enc "$PROV")"
[[ $STATUS == 400 ]] && ok "a state from another browser is refused" || fail "other browser: $STATUS"

# the mix-up: an answer naming another issuer
req city GET "/login/upstream/province?next=%2Faccount"
MSTATE=$(qparam "$LOCATION" state)
go "$CBBASE?code=x&state=$MSTATE&iss=$(enc "http://127.0.0.1:$DEAD")"
[[ $STATUS == 403 ]] && ok "an iss of another issuer is refused (mix-up)" || fail "mix-up: $STATUS"
[[ $(grep -c '"detail":"the iss parameter names another issuer"' "$SC/audit.log") == 1 ]] &&
  ok "the mix-up is audited" || fail "no audit line for the mix-up"
req city GET "/login/upstream/province?next=%2Faccount"
MSTATE=$(qparam "$LOCATION" state)
go "$CBBASE?code=x&state=$MSTATE"
[[ $STATUS == 403 ]] && ok "an answer without iss is refused (the province sends it)" ||
  fail "no iss: $STATUS"

# ---- a second login (new city browser session): the same person, found by the link
rm -f "$TMP/city.jar"
az_start "&idp_hint=province"
[[ $STATUS == 302 && $LOCATION == /login/upstream/province\?next=* ]] &&
  ok "idp_hint skips the login page" || fail "idp_hint: $STATUS '$LOCATION'"
if through_province && to_app; then
  [[ $(jwt_claim "$IDT" sub) == "$SUB1" ]] && ok "a second login finds the same person" ||
    fail "second login: another sub"
fi
[[ $(grep -c '"event":"register"' "$SC/audit.log") == 1 ]] &&
  ok "the person was created once" || fail "register lines: $(grep -c '"event":"register"' "$SC/audit.log")"

# ---- logout at the province reaches the city and the city's app
req prov GET "$PROV/logout?client_id=city"
req prov POST "$PROV/logout" --data-urlencode "csrf=$(form_value csrf)" --data-urlencode confirm=1 \
  --data-urlencode client_id=city
[[ $STATUS == 200 ]] || fail "province logout: $STATUS"
for _ in $(seq 1 100); do
  [[ $(grep -c '"event":"logout.upstream"' "$SC/audit.log") -ge 1 ]] && break
  sleep 0.05
done
# both city logins came through the same province session: both end
grep -q '"event":"logout.upstream".*"result":"ok".*"ended":2' "$SC/audit.log" &&
  ok "the province's back-channel logout ends the city sessions of that province session" ||
  fail "city logout.upstream: $(grep logout.upstream "$SC/audit.log")"
req city GET /account
[[ $STATUS == 30[23] && $LOCATION == /login* ]] && ok "the city session is gone" ||
  fail "city session after the province's logout: $STATUS"
if wait_bodies 1; then
  LT=$(sed -n 's/^logout_token=//p' "$TMP/bodies.txt" | head -1)
  [[ $(jwt_claim "$LT" iss) == "$CITY" && $(jwt_claim "$LT" sub) == "$SUB1" ]] &&
    ok "the city's app gets its own back-channel logout" ||
    fail "app1's logout token: iss $(jwt_claim "$LT" iss)"
else
  fail "the city's app got no back-channel logout"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode "logout_token=$LT" \
  "$CITY/login/upstream/province/backchannel-logout")
[[ $code == 400 ]] && ok "a logout token the province did not sign is refused" ||
  fail "forged logout token: $code"

# ---- an upstream that maps the province's level 2 to 1
rm -f "$TMP/city.jar"
az_start "&idp_hint=low"
if through_province && to_app; then
  [[ $(jwt_claim "$IDT" acr) == urn:yihao:loa:1 ]] &&
    ok "an acr above the mapping is capped at the mapping" || fail "low acr: $(jwt_claim "$IDT" acr)"
fi

# ---- logout = propagate: a city logout goes on to the province's end_session
req city GET "/logout?client_id=app1"
req city POST /logout --data-urlencode "csrf=$(form_value csrf)" --data-urlencode confirm=1 \
  --data-urlencode client_id=app1
[[ $STATUS == 302 && $LOCATION == "$PROV/logout?client_id=city2" ]] &&
  ok "logout = propagate sends the browser to the upstream's end_session" ||
  fail "propagate: $STATUS '$LOCATION'"

# ---- private_key_jwt at the province's token endpoint
rm -f "$TMP/city.jar"
az_start "&idp_hint=pkjwt"
if through_province && to_app; then
  [[ $(jwt_claim "$IDT" sub) == "$SUB1" ]] &&
    ok "a login through a private_key_jwt upstream succeeds (the same person)" ||
    fail "pkjwt login: another sub"
fi
rm -f "$TMP/city.jar"
before=$(grep -c '"event":"login.failure".*"reason":"token"' "$SC/audit.log")
LOCATION="/login/upstream/pkbad?next=%2Faccount"
if through_province; then
  if [[ $STATUS == 403 && $CTYPE == text/html* ]] && grep -q '<h1' "$TMP/body" &&
     [[ $(grep -c '"event":"login.failure".*"reason":"token"' "$SC/audit.log") -gt $before ]] &&
     grep '"event":"login.failure".*"reason":"token"' "$SC/audit.log" | tail -1 | grep -q pkbad; then
    ok "an assertion signed with a key not in the app's JWKS ends on the failure page, audited"
  else
    fail "pkbad: $STATUS $(tail -2 "$SC/audit.log")"
  fi
fi
out=$(cctl upstream test pkjwt 2>&1) &&
  [[ $out == *'"token_auth": "private_key_jwt"'* && $out == *'"client_assertion_kid": "'* ]] &&
  ok "authctl upstream test names private_key_jwt and the key's kid" || fail "upstream test pkjwt: $out"

# ---- authctl upstream test
out=$(cctl upstream test province 2>&1) &&
  [[ $out == *"discovery and JWKS ok"* && $out == *"\"token_endpoint\": \"$PROV/token\""* &&
     $out == *"\"iss_parameter\": true"* && $out == *"$CITY/login/upstream/province/callback"* ]] &&
  ok "authctl upstream test shows the province's discovery" || fail "upstream test: $out"
out=$(cctl upstream test gone 2>&1)
[[ $? == 1 && $out == *"discovery FAILED"* ]] && ok "authctl upstream test says an upstream is down" ||
  fail "upstream test gone: $out"

# ---- local login keeps working, and nothing crashed
check_stop() {
  kill -0 "$1" 2>/dev/null && ok "$2 still runs" || fail "$2 died"
}
check_stop "$PPID_" "the province"
check_stop "$CPID" "the city"

if ((FAILS)); then show_logs; echo "$FAILS check(s) failed"; exit 1; fi
echo "all checks passed"
