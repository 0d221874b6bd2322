#!/usr/bin/env bash
# Single-page apps and CORS: a public client whose redirect URI is on another loopback
# origin runs the whole authorization code flow from a page in headless Chromium (Debian's
# /usr/bin/chromium, driven by playwright-core: tests/node/spa_cors.mjs), with fetch() at
# /token, /userinfo and /revoke; a page on an origin no app registered has its fetch()
# refused by the browser. Then curl, header by header: the preflights (allowed origin,
# unknown origin, an origin registered with --allowed-origin for another app), the answers
# of /token, /revoke and /userinfo judged against their own app, Vary: Origin, never "*"
# with credentials nor Allow-Credentials at all, /introspect without CORS, the public
# documents with "*", the 405s of other methods and paths unchanged; and authctl's
# --allowed-origin rules.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser                 # no silent skip: this check is part of the suite

make_tmp spa-cors
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"

PORT=$(free_port)
SPAPORT=$(free_port)
EVILPORT=$(free_port)
OTHERPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
SPA=http://127.0.0.1:$SPAPORT
EVIL=http://127.0.0.1:$EVILPORT
OTHER=http://127.0.0.1:$OTHERPORT   # registered for the app spa2 only
CB=http://127.0.0.1:9/cb            # spa's second redirect URI, for curl's own logins
S=$TMP/state
SVC_SECRET=$(openssl rand -hex 24)
IDN=$(id_number 11010519491231001)
PW='Chang Cheng 1987!'

start_authd

# ---- authctl: --allowed-origin
for bad in 'https://spa.gov.cn/|no path' 'https://*.gov.cn|no wildcard' '*|no wildcard' \
    'http://spa.gov.cn|http only on loopback' 'https://SPA.gov.cn|lower case' \
    'https://spa.gov.cn:443|default port' 'https://spa.gov.cn?x=1|no path' 'null|absolute' \
    'cn.gov.example.app:/cb|https'; do
  expect_error "--allowed-origin ${bad%%|*} refused" "allowed_origins\[0\]: .*${bad#*|}" \
    "$AUTHCTL" -d "$S" client add bad --public --redirect-uri https://spa.gov.cn/cb \
    --allowed-origin "${bad%%|*}"
done
expect_error "--allowed-origin on a confidential app refused" "only for a public client" \
  "$AUTHCTL" -d "$S" client add bad --redirect-uri https://spa.gov.cn/cb \
  --allowed-origin https://spa.gov.cn
expect_error "--allowed-origin twice refused" "listed twice" \
  "$AUTHCTL" -d "$S" client add bad --public --redirect-uri https://spa.gov.cn/cb \
  --allowed-origin https://spa.gov.cn --allowed-origin https://spa.gov.cn
ctl client show bad >/dev/null 2>&1 && fail "a refused app was registered" || ok "nothing registered"

ctl_or_die client add spa --public --redirect-uri "$SPA/cb" "$CB" --scope openid profile \
  --name "SPA"
ctl_or_die client add spa2 --public --redirect-uri cn.gov.example.spa2:/cb \
  --allowed-origin "$OTHER" --allowed-origin https://spa2.example.gov.cn
ctl_or_die client add svc --secret "$SVC_SECRET" --redirect-uri https://svc.example.gov.cn/cb \
  --grant authorization_code client_credentials
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$IDN" --name 王小明 \
  --phone 13812345678 --password-stdin
ctl client show spa >"$TMP/spa.json"
"$PY" - "$TMP/spa.json" "$SPA" <<'EOF' && ok "client show: cors_origins of spa derived from its redirect URIs" || fail "client show spa: $(cat "$TMP/spa.json")"
import json, sys
c = json.load(open(sys.argv[1]))
sys.exit(0 if c["cors_origins"] == [sys.argv[2], "http://127.0.0.1:9"] and c["allowed_origins"] == [] else 1)
EOF
ctl client show spa2 >"$TMP/spa2.json"
"$PY" - "$TMP/spa2.json" "$OTHER" <<'EOF' && ok "client show: spa2's allowed_origins are its cors_origins" || fail "client show spa2: $(cat "$TMP/spa2.json")"
import json, sys
c = json.load(open(sys.argv[1]))
want = [sys.argv[2], "https://spa2.example.gov.cn"]
sys.exit(0 if c["cors_origins"] == want and c["allowed_origins"] == want else 1)
EOF
ctl client show svc | grep -q '"cors_origins":\[\]' && ok "a confidential app has no CORS origins" ||
  fail "svc has CORS origins"
grep -q '"allowed_origins":\["'"$OTHER"'","https://spa2.example.gov.cn"\]' "$S/clients.json" &&
  ok "clients.json keeps allowed_origins" || fail "clients.json: $(grep spa2 "$S/clients.json")"
for _ in $(seq 1 40); do   # authd picks the apps up within about a second
  [[ $(curl -s -o /dev/null -w '%{http_code}' -u "svc:$SVC_SECRET" -d grant_type=client_credentials \
    "$BASE/token") == 200 ]] && break
  sleep 0.1
done

# ---- the browser
cat >"$TMP/config.json" <<EOF
{"issuer": "$BASE", "spa_port": $SPAPORT, "evil_port": $EVILPORT, "client_id": "spa",
 "user": {"username": "$IDN", "password": "$PW"}}
EOF
rc=0
run_node spa_cors.mjs "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "browser: the SPA's flow works, another origin is refused" ||
  fail "browser scenario: node exited $rc"

# ---- curl, header by header. Every header file is kept for the checks at the end.
n=0
# cors METHOD PATH ORIGIN [curl args...]: fetch with Origin (ORIGIN "-": none).
cors() {
  local m=$1 p=$2 o=$3
  shift 3
  if [[ $o == - ]]; then fetch "$BASE$p" -X "$m" "$@"; else fetch "$BASE$p" -X "$m" -H "Origin: $o" "$@"; fi
  n=$((n + 1))
  cp "$TMP/headers" "$TMP/h.$n"
}
acao() { header Access-Control-Allow-Origin; }
no_cors() {  # no_cors WHAT: not one Access-Control-* header in the last answer
  if grep -qi '^Access-Control-' "$TMP/headers"; then
    fail "$1: CORS headers: $(grep -i '^Access-Control-' "$TMP/headers" | tr -d '\r' | tr '\n' ' ')"
  else
    ok "$1: no CORS headers"
  fi
}
vary() { [[ $(header Vary) == *Origin* ]] && ok "$1: Vary: Origin" || fail "$1: Vary '$(header Vary)'"; }

pre=(-H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type')
for p in /token /revoke /userinfo; do
  cors OPTIONS "$p" "$SPA" "${pre[@]}"
  [[ $STATUS == 204 && $(acao) == "$SPA" ]] && ok "preflight $p from the app's origin: 204, allowed" ||
    fail "preflight $p: $STATUS '$(acao)'"
  want=POST
  [[ $p == /userinfo ]] && want='GET, POST'
  [[ $(header Access-Control-Allow-Methods) == "$want" ]] || fail "preflight $p: methods '$(header Access-Control-Allow-Methods)'"
  [[ $(header Access-Control-Allow-Headers) == 'Authorization, Content-Type' ]] ||
    fail "preflight $p: headers '$(header Access-Control-Allow-Headers)'"
  [[ $(header Access-Control-Max-Age) =~ ^[0-9]+$ ]] || fail "preflight $p: no Max-Age"
  vary "preflight $p"
  cors OPTIONS "$p" "$EVIL" "${pre[@]}"
  [[ $STATUS == 204 ]] || fail "preflight $p from another origin: $STATUS"
  no_cors "preflight $p from an origin no app registered"
  cors OPTIONS "$p" "$OTHER" "${pre[@]}"
  [[ $(acao) == "$OTHER" ]] && ok "preflight $p from an --allowed-origin (app spa2): allowed" ||
    fail "preflight $p from $OTHER: '$(acao)'"
done
cors OPTIONS /token null "${pre[@]}"
no_cors 'preflight from Origin: null'
cors OPTIONS /token - "${pre[@]}"
[[ $STATUS == 204 ]] && no_cors "OPTIONS without Origin" || fail "OPTIONS without Origin: $STATUS"

# /token and /revoke: judged against the client the request names.
cors POST /token "$SPA" -d grant_type=refresh_token -d client_id=spa -d refresh_token=nope
[[ $STATUS == 400 && $(acao) == "$SPA" ]] && ok "/token error for spa from its origin: readable" ||
  fail "/token from SPA: $STATUS '$(acao)'"
vary "/token"
cors POST /token "$EVIL" -d grant_type=refresh_token -d client_id=spa -d refresh_token=nope
[[ $STATUS == 400 ]] && no_cors "/token for spa from an origin no app registered" || fail "/token from EVIL: $STATUS"
vary "/token refused origin"
cors POST /token "$OTHER" -d grant_type=refresh_token -d client_id=spa -d refresh_token=nope
no_cors "/token for spa from spa2's origin"
cors POST /token "$OTHER" -d grant_type=refresh_token -d client_id=spa2 -d refresh_token=nope
[[ $(acao) == "$OTHER" ]] && ok "/token for spa2 from its --allowed-origin: readable" || fail "/token spa2: '$(acao)'"
cors POST /token "$SPA" -u "svc:$SVC_SECRET" -d grant_type=client_credentials
[[ $STATUS == 200 ]] && no_cors "/token for a confidential app" || fail "/token svc: $STATUS"
cors POST /token "$SPA" -d grant_type=client_credentials -d client_id=nosuch
no_cors "/token for an unknown client"
cors POST /revoke "$SPA" -d client_id=spa -d token=nope
[[ $STATUS == 200 && $(acao) == "$SPA" ]] && ok "/revoke for spa from its origin: readable" ||
  fail "/revoke from SPA: $STATUS '$(acao)'"
vary "/revoke"
cors POST /revoke "$EVIL" -d client_id=spa -d token=nope
no_cors "/revoke for spa from an origin no app registered"
cors POST /introspect "$SPA" -u "svc:$SVC_SECRET" -d token=nope
[[ $STATUS == 200 ]] && no_cors "/introspect" || fail "/introspect: $STATUS"
cors OPTIONS /introspect "$SPA" "${pre[@]}"
[[ $STATUS == 405 ]] && no_cors "OPTIONS /introspect: 405" || fail "OPTIONS /introspect: $STATUS"

# /userinfo: a token of spa (curl logs in itself, redirect URI CB).
login_form web "$IDN" "$PW"
[[ $STATUS == 303 ]] || fail "login: $STATUS"
authorize_code web "openid%20profile" spa || true
cors POST /token "$SPA" -d grant_type=authorization_code -d client_id=spa \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
  --data-urlencode "code_verifier=$VERIFIER"
AT=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("access_token",""))' "$TMP/body" 2>/dev/null)
[[ $STATUS == 200 && -n $AT && $(acao) == "$SPA" ]] && ok "/token code exchange from spa's origin: readable" ||
  fail "code exchange: $STATUS '$(acao)' $BODY"
cors GET /userinfo "$SPA" -H "Authorization: Bearer $AT"
[[ $STATUS == 200 && $(acao) == "$SPA" ]] && ok "/userinfo with spa's token from spa's origin: readable" ||
  fail "/userinfo SPA: $STATUS '$(acao)'"
vary "/userinfo"
cors POST /userinfo "$SPA" -H "Authorization: Bearer $AT"
[[ $STATUS == 200 && $(acao) == "$SPA" ]] && ok "POST /userinfo from spa's origin: readable" ||
  fail "POST /userinfo SPA: $STATUS '$(acao)'"
cors GET /userinfo "$OTHER" -H "Authorization: Bearer $AT"
[[ $STATUS == 200 ]] && no_cors "/userinfo with spa's token from spa2's origin" || fail "/userinfo OTHER: $STATUS"
cors GET /userinfo "$EVIL" -H "Authorization: Bearer $AT"
no_cors "/userinfo from an origin no app registered"
cors GET /userinfo "$SPA"
[[ $STATUS == 401 && $(acao) == "$SPA" ]] && ok "/userinfo without a token from an app's origin: the 401 readable" ||
  fail "/userinfo no token: $STATUS '$(acao)'"
[[ $(header Access-Control-Expose-Headers) == WWW-Authenticate ]] || fail "/userinfo 401: WWW-Authenticate not exposed"
cors GET /userinfo "$EVIL"
no_cors "/userinfo without a token from an origin no app registered"

# The public documents: "*", no credentials.
for p in /jwks /.well-known/openid-configuration; do
  cors GET "$p" "$EVIL"
  [[ $STATUS == 200 && $(acao) == '*' ]] && ok "$p: Access-Control-Allow-Origin *" || fail "$p: $STATUS '$(acao)'"
done

# Other methods and paths: the router's 405 as before.
cors OPTIONS /healthz "$SPA"
[[ $STATUS == 405 && $(header Allow) == 'GET, HEAD' ]] && no_cors "OPTIONS /healthz: 405, Allow: GET, HEAD" ||
  fail "OPTIONS /healthz: $STATUS '$(header Allow)'"
cors OPTIONS /authorize "$SPA"
[[ $STATUS == 405 ]] && no_cors "OPTIONS /authorize: 405" || fail "OPTIONS /authorize: $STATUS"
cors PUT /token "$SPA"
[[ $STATUS == 405 && $(header Allow) == 'POST, OPTIONS' ]] && ok "PUT /token: 405, Allow: POST, OPTIONS" ||
  fail "PUT /token: $STATUS '$(header Allow)'"
cors GET /token "$SPA"
[[ $STATUS == 405 ]] && ok "GET /token: 405" || fail "GET /token: $STATUS"

# Across every answer above: no Allow-Credentials, never "*" where a token is involved.
if grep -qi '^Access-Control-Allow-Credentials' "$TMP"/h.*; then
  fail "Access-Control-Allow-Credentials sent"
else
  ok "no answer carries Access-Control-Allow-Credentials ($n answers)"
fi
star=$(grep -li '^Access-Control-Allow-Origin: \*' "$TMP"/h.* | wc -l)
[[ $star -eq 2 ]] && ok "Access-Control-Allow-Origin * only on /jwks and the discovery document" ||
  fail "Access-Control-Allow-Origin * on $star answers"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if [[ $FAILS -ne 0 ]]; then
  show_logs
  exit 1
fi
exit 0
