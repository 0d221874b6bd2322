#!/usr/bin/env bash
# One signing key per enabled algorithm, and the algorithm chosen per app, in ONE running
# authd with the default keys.algs (ES256 RS256 SM2) and keys.alg (ES256):
#   - a ring written for one algorithm (SM2, as keys.alg = SM2 made it) is upgraded at
#     start: ES256 and RS256 chains are generated, the SM2 keys stay, the log says so
#   - discovery lists ES256, RS256 and SM2; /jwks publishes each one's active key
#   - an app registered with --id-token-alg SM2 gets an SM2 ID token whose signature
#     verifies with `openssl pkeyutl -verify` under the published key and the SM2
#     distinguishing ID 1234567812345678 (and not without it), its access token is SM2
#     too, and its back-channel logout token is SM2
#   - --access-token-alg splits the two; an RS256 app's code is redeemed and its ID
#     token validated by node's openid-client; an app without a choice is unchanged
#     (ES256, validated by openid-client as well)
#   - an algorithm that is not enabled (PS256) or not one at all is refused at
#     registration, and an apps-file app naming one does not load
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
NODE_RP=$YH_SRCDIR/tests/node/id_token.mjs
command -v node >/dev/null || { echo "FAIL: node not installed (./run deps installs it)"; exit 1; }
[[ -d $YH_SRCDIR/tests/node/node_modules/openid-client ]] ||
  { echo "FAIL: tests/node/node_modules/openid-client missing (npm ci in tests/node)"; exit 1; }

make_tmp keys-per-app
PID= RPID=
PIDS_TO_STOP="PID RPID"
PORT=$(free_port)
RPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
K=$S/keys
SOCK=$S/authd.sock
CB=http://127.0.0.1:9/cb          # authorize_visit's redirect URI
ID=$(id_number 11010519700101002)
PW='Keys Per App 2026!'
SEC_SM2=$(openssl rand -hex 24) SEC_MIX=$(openssl rand -hex 24)
SEC_RS=$(openssl rand -hex 24) SEC_ES=$(openssl rand -hex 24)

start_receiver "$RPORT" "$TMP/bodies.txt"

# ---- the state, then the ring replaced by one of the old kind: SM2 alone
start_authd
stop_authd || die "authd did not stop cleanly"
rm -rf "$K"
"$AUTHCTL" keys generate --alg SM2 --dir "$K" >/dev/null 2>"$TMP/err" || die "keys generate: $(cat "$TMP/err")"
sm2_old=$("$AUTHCTL" keys list --dir "$K" | awk '$1 == "active" && $2 == "SM2" { print $3 }')
[[ -n $sm2_old ]] || die "no SM2 key in the old ring"

ctl_or_die client add sm2app --secret "$SEC_SM2" --redirect-uri "$CB" --scope openid profile \
  --id-token-alg SM2 --backchannel-logout-uri "http://127.0.0.1:$RPORT/bcl"
ctl_or_die client add mixapp --secret "$SEC_MIX" --redirect-uri "$CB" --scope openid \
  --id-token-alg SM2 --access-token-alg ES256
ctl_or_die client add rsapp --secret "$SEC_RS" --redirect-uri "$CB" --scope openid \
  --id-token-alg RS256
ctl_or_die client add esapp --secret "$SEC_ES" --redirect-uri "$CB" --scope openid
USER_ID=$(printf '%s\n' "$PW" | ctl user add --id-number "$ID" --name 王小明 --password-stdin) ||
  die "authctl user add"

start_authd_socket

# ---- the upgraded ring
list=$("$AUTHCTL" keys list --dir "$K")
ring_kid() { awk -v s="$1" -v a="$2" '$1 == s && $2 == a { print $3; exit }' <<<"$list"; }
grep -q "generated an active and a next key for ES256 RS256 (keys.algs)" "$TMP/authd.log" &&
  ok "the old ring was upgraded at start, and the log says so" || fail "no upgrade line: $(grep -i 'key ring' "$TMP/authd.log")"
[[ $(ring_kid active SM2) == "$sm2_old" ]] && ok "the old SM2 key still signs" || fail "SM2 active changed: $list"
for a in ES256 RS256; do
  [[ -n $(ring_kid active $a) && -n $(ring_kid next $a) ]] && ok "$a: an active and a next key" ||
    fail "$a keys missing: $list"
done

# ---- discovery and /jwks
curl -sf "$BASE/.well-known/openid-configuration" >"$TMP/disc.json" || die "no discovery"
algs=$(jq -r '.id_token_signing_alg_values_supported | join(" ")' "$TMP/disc.json")
[[ $algs == "ES256 RS256 SM2" ]] && ok "discovery lists ES256 RS256 SM2" || fail "discovery lists '$algs'"
curl -sf "$BASE/jwks" >"$TMP/jwks.json" || die "no /jwks"
for a in ES256 RS256 SM2; do
  kid=$(ring_kid active $a)
  n=$(jq --arg k "$kid" --arg a "$a" '[.keys[] | select(.kid == $k and .alg == $a)] | length' "$TMP/jwks.json")
  [[ $n == 1 ]] && ok "/jwks publishes the active $a key" || fail "/jwks: active $a key $kid found $n times"
done
jalgs=$(jq -r '[.keys[].alg] | unique | join(" ")' "$TMP/jwks.json")
[[ $jalgs == "ES256 RS256 SM2" ]] && ok "/jwks holds keys of exactly the enabled algorithms" || fail "/jwks algs '$jalgs'"

# ---- refused registrations
expect_refused() {  # expect_refused TEXT ARGS...: client add ARGS fails, its message has TEXT
  local text=$1 out
  shift
  if out=$("$AUTHCTL" -d "$S" client add "$@" 2>&1); then fail "client add $* was accepted"
  elif [[ $out == *"$text"* ]]; then ok "refused: client add $1 ... ${*: -2}"
  else fail "client add $*: '$out' (expected '$text')"; fi
}
expect_refused "PS256 is not enabled on this server (keys.algs: ES256 RS256 SM2)" \
  psapp --secret "$SEC_ES" --redirect-uri "$CB" --id-token-alg PS256
expect_refused "PS256 is not enabled" psapp2 --secret "$SEC_ES" --redirect-uri "$CB" --access-token-alg PS256
expect_refused "unsupported algorithm HS256" hsapp --secret "$SEC_ES" --redirect-uri "$CB" --id-token-alg HS256
"$AUTHCTL" -d "$S" client show psapp >/dev/null 2>&1 && fail "psapp was stored" || ok "nothing stored for a refused app"
out=$("$AUTHCTL" -d "$S" client show sm2app)
[[ $(jq -r .id_token_signed_response_alg <<<"$out") == SM2 && $(jq -r .access_token_signed_response_alg <<<"$out") == null ]] &&
  ok "client show names the app's algorithm" || fail "client show: $out"

# ---- tokens: log in once, then one code per app
login_form jar "$ID" "$PW"
[[ $STATUS == 303 ]] || die "login: $STATUS"
code_for() {  # code_for CLIENT: CODE, VERIFIER, AZ_STATE, NONCE, CALLBACK for CLIENT
  NONCE=n$(openssl rand -hex 8)
  CODE=
  authorize_visit jar "client_id=$1&scope=openid&nonce=$NONCE" || return 1
  CALLBACK=$LOCATION
  [[ $STATUS == 302 && $LOCATION == "$CB?"* ]] && CODE=$(qparam "$LOCATION" code)
  [[ -n $CODE ]] || { fail "$1: no code: $STATUS '$LOCATION'"; return 1; }
}
redeem() {  # redeem CLIENT SECRET: the code at /token into $TMP/CLIENT.json
  curl -s -o "$TMP/$1.json" -w '%{http_code}' -u "$1:$2" -d grant_type=authorization_code \
    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "code_verifier=$VERIFIER" "$BASE/token"
}

# b64url_hex: base64url on stdin to hex.
b64url_hex() { "$PY" -c 'import sys,base64;s=sys.stdin.read().strip();s+="="*(-len(s)%4);print(base64.urlsafe_b64decode(s).hex())'; }
# sm2_verify TOKEN DISTID: openssl pkeyutl -verify of an SM2 JWS with the /jwks key its
# kid names (JWK -> SubjectPublicKeyInfo PEM; r||s -> DER) under distinguishing ID DISTID.
sm2_verify() {
  local tok=$1 kid x y
  kid=$(jwt_part "$tok" 0 kid)
  x=$(jq -r --arg k "$kid" '.keys[] | select(.kid == $k) | .x' "$TMP/jwks.json" | b64url_hex)
  y=$(jq -r --arg k "$kid" '.keys[] | select(.kid == $k) | .y' "$TMP/jwks.json" | b64url_hex)
  [[ ${#x} == 64 && ${#y} == 64 ]] || { echo "no SM2 key $kid in /jwks"; return 1; }
  # SEQUENCE { SEQUENCE { id-ecPublicKey, sm2 (1.2.156.10197.1.301) }, BIT STRING 04||x||y }
  printf '3059301306072a8648ce3d020106082a811ccf5501822d034200%s%s%s' 04 "$x" "$y" | xxd -r -p |
    openssl pkey -pubin -inform DER -out "$TMP/sm2pub.pem" 2>"$TMP/err" || { cat "$TMP/err"; return 1; }
  printf '%s' "${tok%.*}" >"$TMP/sm2.msg"
  printf '%s' "${tok##*.}" | b64url_hex | "$PY" -c '
import sys
raw = bytes.fromhex(sys.stdin.read().strip())
def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80: b = b"\0" + b
    return b"\x02" + bytes([len(b)]) + b
body = der_int(raw[:32]) + der_int(raw[32:])
sys.stdout.buffer.write(b"\x30" + bytes([len(body)]) + body)' >"$TMP/sm2.sig"
  openssl pkeyutl -verify -pubin -inkey "$TMP/sm2pub.pem" -rawin -digest sm3 -in "$TMP/sm2.msg" \
    -sigfile "$TMP/sm2.sig" ${2:+-pkeyopt distid:$2} >/dev/null 2>&1
}

# SM2 app: ID token and access token SM2, verified by openssl with the distinguishing ID
code_for sm2app && [[ $(redeem sm2app "$SEC_SM2") == 200 ]] || fail "sm2app: no tokens: $(cat "$TMP/sm2app.json" 2>/dev/null)"
idt=$(jq -r .id_token "$TMP/sm2app.json") at=$(jq -r .access_token "$TMP/sm2app.json")
[[ $(jwt_part "$idt" 0 alg) == SM2 ]] && ok "sm2app: the ID token's header alg is SM2" || fail "sm2app: ID token alg '$(jwt_part "$idt" 0 alg)'"
[[ $(jwt_part "$idt" 0 kid) == "$sm2_old" ]] && ok "sm2app: signed by the active SM2 key" || fail "sm2app: kid $(jwt_part "$idt" 0 kid)"
[[ $(jwt_part "$at" 0 alg) == SM2 ]] && ok "sm2app: the access token follows (SM2)" || fail "sm2app: access token alg '$(jwt_part "$at" 0 alg)'"
sm2_verify "$idt" 1234567812345678 && ok "sm2app: openssl pkeyutl verifies the ID token with the published key and ID 1234567812345678" ||
  fail "sm2app: openssl pkeyutl rejects the ID token"
sm2_verify "$idt" "" && fail "sm2app: the signature verifies without the distinguishing ID" ||
  ok "sm2app: not without the distinguishing ID (the check depends on it)"
code=$(curl -s -o "$TMP/ui.json" -w '%{http_code}' -H "Authorization: Bearer $at" "$BASE/userinfo")
[[ $code == 200 ]] && ok "sm2app: /userinfo takes the SM2 access token" || fail "sm2app: userinfo $code $(cat "$TMP/ui.json")"

# split: SM2 ID token, ES256 access token
code_for mixapp && [[ $(redeem mixapp "$SEC_MIX") == 200 ]] || fail "mixapp: no tokens"
[[ $(jwt_part "$(jq -r .id_token "$TMP/mixapp.json")" 0 alg) == SM2 &&
   $(jwt_part "$(jq -r .access_token "$TMP/mixapp.json")" 0 alg) == ES256 ]] &&
  ok "mixapp: --access-token-alg ES256 with --id-token-alg SM2" ||
  fail "mixapp: algs $(jwt_part "$(jq -r .id_token "$TMP/mixapp.json")" 0 alg) / $(jwt_part "$(jq -r .access_token "$TMP/mixapp.json")" 0 alg)"

# RS256 and the default app through openid-client, which checks the header alg itself
for app in rsapp:RS256:$SEC_RS esapp:ES256:$SEC_ES; do
  IFS=: read -r cid alg sec <<<"$app"
  code_for "$cid" || continue
  out=$(cd "$YH_SRCDIR/tests/node" && timeout 60 node "$NODE_RP" "$BASE" "$cid" "$sec" "$CB" "$alg" \
    "$CALLBACK" "$VERIFIER" "$AZ_STATE" "$NONCE")
  [[ $? == 0 && $(jq -r .alg <<<"$out" 2>/dev/null) == "$alg" ]] &&
    ok "$cid: openid-client validates its $alg ID token" || fail "$cid: $out"
done
# openid-client refuses an ID token of another algorithm than the app expects
code_for rsapp && out=$(cd "$YH_SRCDIR/tests/node" && timeout 60 node "$NODE_RP" "$BASE" rsapp "$SEC_RS" \
  "$CB" ES256 "$CALLBACK" "$VERIFIER" "$AZ_STATE" "$NONCE")
[[ $? != 0 && $out == *RS256* ]] && ok "rsapp: openid-client expecting ES256 refuses its RS256 ID token" ||
  fail "rsapp: an ES256 client took it: $out"

# back-channel logout: the logout token is what the app verifies like its ID tokens (SM2)
out=$(ctl user logout "$USER_ID") || fail "user logout: $out"
if wait_bodies 1; then
  tok=$(qparam "http://x/?$(head -1 "$TMP/bodies.txt")" logout_token)
  [[ $(jwt_part "$tok" 0 alg) == SM2 && $(jwt_part "$tok" 0 typ) == logout+jwt ]] &&
    ok "sm2app: its back-channel logout token is SM2" || fail "logout token alg '$(jwt_part "$tok" 0 alg)'"
  printf '%s' "$tok" | "$AUTHCTL" jwt verify --jwks "$TMP/jwks.json" --kind logout --iss "$BASE" --aud sm2app >/dev/null 2>>"$TMP/ctl.log" &&
    sm2_verify "$tok" 1234567812345678 && ok "sm2app: the logout token verifies (authctl, openssl)" ||
    fail "sm2app: the logout token does not verify: $(tail -1 "$TMP/ctl.log")"
else
  fail "no back-channel logout POST for sm2app"
fi

# ---- at load: an app naming an algorithm that is not enabled keeps authd from starting
stop_authd || fail "authd did not stop cleanly"
cat >"$TMP/apps.json" <<APPS
{"format":"yihao-clients/1","clients":[
 {"client_id":"psfile","auth":"none","redirect_uris":["$CB"],"scopes":["openid"],"grants":["authorization_code"],"min_loa":1,"id_token_signed_response_alg":"PS256"}
]}
APPS
printf 'state_dir = %s\nhttp.listen = 127.0.0.1:%s\nclients.file = %s\n' "$S" "$PORT" "$TMP/apps.json" >"$TMP/authd.conf"
if timeout 30 "$AUTHD" -c "$TMP/authd.conf" 2>"$TMP/authd-bad.log"; then
  fail "authd started with an app naming PS256"
else
  grep -q 'psfile.*id_token_signed_response_alg: PS256 is not enabled' "$TMP/authd-bad.log" &&
    ok "an apps-file app naming PS256 does not load, with the reason" || fail "authd: $(tail -3 "$TMP/authd-bad.log")"
fi
printf 'keys.algs = ES256 RS256 SM2 PS256\n' >>"$TMP/authd.conf"
AUTHD_LOG=$TMP/authd2.log start_authd -c "$TMP/authd.conf"
grep -q "generated an active and a next key for PS256" "$TMP/authd2.log" &&
  ok "PS256 enabled on request: its keys are made, the app loads" || fail "no PS256 keys: $(cat "$TMP/authd2.log")"
[[ $(curl -s "$BASE/.well-known/openid-configuration" | jq -r '.id_token_signing_alg_values_supported | join(" ")') == "ES256 RS256 PS256 SM2" ]] &&
  ok "discovery lists PS256 too" || fail "discovery after PS256"
stop_authd || fail "authd did not stop cleanly"
printf 'state_dir = %s\nkeys.algs = ES256 SM2\n' "$S" >"$TMP/norsa.conf"
"$AUTHD" -t -c "$TMP/norsa.conf" >"$TMP/t.out" 2>&1 && fail "keys.algs without RS256 accepted" ||
  { grep -q "keys.algs: RS256 must be listed" "$TMP/t.out" && ok "keys.algs without RS256 is refused" || fail "authd -t: $(cat "$TMP/t.out")"; }

no_errors_in "authd logged errors:" "$TMP/authd.log"
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
finish "PASSED"
