#!/usr/bin/env bash
# Python Authlib (Debian's python3-authlib), with its defaults, against a real authd: a
# confidential app authenticating with private_key_jwt (RFC 7523; Authlib signs its
# client assertion with exp one hour ahead) gets a client_credentials token, and the
# same assertion presented again is refused (its jti is single-use for its lifetime).
# With token.client_assertion_max_lifetime lowered below Authlib's hour, the same client
# is refused with the reason in the answer's error_description.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
PY=/usr/bin/python3                     # Debian's python, which has python3-authlib
"$PY" -c 'import authlib.integrations.requests_client' 2>/dev/null ||
  { echo "FAIL: python3-authlib missing (./run deps installs it)"; exit 1; }
make_tmp authlib

PORT=$(free_port)
ISSUER=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
printf '%s\n' "state_dir = $S" "http.listen = 127.0.0.1:$PORT" >"$CONF"

# client.py KEYFILE PUBFILE (genkey) | client.py TOKEN_URL KEYFILE: Authlib's own key
# generation, then its client_credentials grant with PrivateKeyJWT and default settings.
# Prints "token" and the JSON answer, or "error" and what Authlib raised; then replays
# the last assertion it sent and prints the status of the replay.
cat >"$TMP/client.py" <<'PY'
import json, sys
from authlib.jose import JsonWebKey
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
import requests

if sys.argv[1] == "genkey":
    key = JsonWebKey.generate_key("EC", "P-256", is_private=True)
    priv = key.as_dict(is_private=True, kid="authlib-1", alg="ES256")
    pub = key.as_dict(is_private=False, kid="authlib-1", alg="ES256", use="sig")
    open(sys.argv[2], "w").write(json.dumps(priv))
    open(sys.argv[3], "w").write(json.dumps({"keys": [pub]}))
    sys.exit(0)

url, keyfile = sys.argv[1], sys.argv[2]
key = json.load(open(keyfile))
auth = PrivateKeyJWT(url, alg="ES256")        # Authlib's defaults otherwise
sent = []
def remember(r, *a, **k):
    sent.append(r.request.body)
sess = OAuth2Session("authlib-app", key, token_endpoint_auth_method=auth)
sess.hooks["response"].append(remember)
try:
    tok = sess.fetch_token(url, grant_type="client_credentials")
    print("token", json.dumps(tok))
except Exception as e:
    print("error", getattr(e, "error", ""), getattr(e, "description", "") or repr(e))
    sys.exit(0)
body = sent[-1]
if isinstance(body, bytes):
    body = body.decode()
r = requests.post(url, data=body,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
print("replay", r.status_code, r.text)
PY

"$PY" "$TMP/client.py" genkey "$TMP/priv.json" "$TMP/pub.jwks.json" || die "Authlib genkey"
start_authd -c "$CONF"
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add authlib-app --jwks-file "$TMP/pub.jwks.json" --grant client_credentials \
  --name "Authlib"

# ---- Authlib's defaults: exp one hour ahead
start_authd -c "$CONF"
out=$("$PY" "$TMP/client.py" "$ISSUER/token" "$TMP/priv.json" 2>&1)
tok=$(sed -n 's/^token //p' <<<"$out")
if [[ -n $tok ]] && "$PY" -c 'import json,sys; t=json.loads(sys.argv[1]); assert t["token_type"]=="Bearer" and t["access_token"]' "$tok"; then
  ok "Authlib's private_key_jwt with its defaults gets a client_credentials token"
else
  fail "Authlib's private_key_jwt with its defaults: $out"
fi
grep -q '^replay 401 .*invalid_client' <<<"$out" &&
  ok "the same assertion presented again is refused (its jti is spent)" ||
  fail "replayed assertion: $(grep '^replay' <<<"$out")"
check_stop_authd

# ---- a lower limit than Authlib's hour refuses it, and says why
echo "token.client_assertion_max_lifetime = 10m" >>"$CONF"
start_authd -c "$CONF"
out=$("$PY" "$TMP/client.py" "$ISSUER/token" "$TMP/priv.json" 2>&1)
grep -q '^error .*invalid_client' <<<"$out" &&
  ok "with token.client_assertion_max_lifetime = 10m the hour-long assertion is refused" ||
  fail "with a 10 min limit: $out"
grep -q '^error .*exp too far ahead' <<<"$out" &&
  ok "the answer says why (error_description: exp too far ahead)" ||
  fail "no 'exp too far ahead' in the answer: $out"
check_stop_authd

finish "all authlib_client checks passed"
