#!/usr/bin/env bash
# A city authd federating to a provincial platform in a real browser
# (tests/node/upstream_browser.mjs): node oidc-provider as the province, openid-client
# as the city's app, headless Chromium clicking the province button on the city's login
# page, logging in at the province and coming back; the app's tokens carry the city's
# pairwise sub, amr fed and the level the city's mapping gives; a second login finds the
# same person; idp_hint skips the city's login page.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_browser oidc-provider openid-client jose

make_tmp up-browser
PID= NODEPID=
PIDS_TO_STOP="NODEPID PID"
PORT=$(free_port)
PP=$(free_port)
RPP=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
ID=$(id_number 11010519491231002)
USECRET=$(openssl rand -hex 24)
ASECRET=$(openssl rand -hex 24)

cat >"$TMP/authd.conf" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
upstream.province.kind = oidc
upstream.province.display_name = 省统一身份认证平台
upstream.province.issuer = http://127.0.0.1:$PP
upstream.province.client_id = city
upstream.province.client_secret = $USECRET
upstream.province.scopes = openid profile idcard
upstream.province.algs = ES256
upstream.province.map.id_number = id_number
upstream.province.map.name = name
upstream.province.loa = 2
upstream.province.auto_register = yes
CONF
mkdir -p "$S"
ctl_or_die client add rpapp --secret "$ASECRET" --redirect-uri "http://127.0.0.1:$RPP/cb" \
  --scope openid profile >/dev/null
# the province's signing key (an ES256 JWK)
"$PY" - "$TMP/prov.jwk" <<'PYEOF'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
n = k.private_numbers()
b = lambda i: base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode()
json.dump({"kty": "EC", "crv": "P-256", "kid": "prov1", "alg": "ES256", "use": "sig",
           "x": b(n.public_numbers.x), "y": b(n.public_numbers.y), "d": b(n.private_value)},
          open(sys.argv[1], "w"))
PYEOF

cat >"$TMP/config.json" <<JSON
{
  "city": "$BASE",
  "province_port": $PP,
  "province_jwk": "$TMP/prov.jwk",
  "rp_port": $RPP,
  "app": {"client_id": "rpapp", "client_secret": "$ASECRET"},
  "upstream": {"client_id": "city", "client_secret": "$USECRET",
               "redirect_uri": "$BASE/login/upstream/province/callback"},
  "person": {"sub": "prov-user-1", "id_number": "$ID", "name": "王小明"},
  "want_acr": "urn:yihao:loa:2"
}
JSON
# the province must answer discovery before the city starts, or its button stays hidden
# for 30 s: the city starts once node's provider is up (the scenario waits for it)
(
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "http://127.0.0.1:$PP/.well-known/openid-configuration" && break
    sleep 0.05
  done
  exec "$AUTHD" -c "$TMP/authd.conf" 2>>"$TMP/authd.log"
) &
PID=$!
rc=0
run_node upstream_browser.mjs "$TMP/config.json" || rc=$?
[[ $rc -eq 0 ]] && ok "the browser scenario" || fail "browser: node exited $rc"
[[ $(audit_count login.success '"method":"fed"') -ge 3 ]] && ok "audit: the logins through the province" ||
  fail "login.success lines: $(audit_count login.success '"method":"fed"')"
no_errors_in "authd logged errors:" "$TMP/authd.log"
finish "upstream_browser: all checks passed"
