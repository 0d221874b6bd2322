#!/usr/bin/env bash
# authd remembers access tokens whose signature it verified (userinfo and introspection
# see the same token many times), and a remembered token is judged as a fresh one would
# be: introspected twice it is active twice with the same claims; revoked, it is
# inactive at once; the same token with another signature is inactive (not the
# remembered one); and once the key that signed it has left the ring (rotated with one
# second published, then SIGHUP), the remembered token is inactive too.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp introspect-cache
S=$TMP/state
K=$S/keys
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
SECRET=svc-secret-for-the-introspection-cache-test-01

ctl client add svc --secret "$SECRET" --grant client_credentials >/dev/null || die "client add"
start_authd

token() { curl -s -u "svc:$SECRET" -d grant_type=client_credentials "$BASE/token" | jq -r .access_token; }
# introspect TOKEN: prints "active jti" of the answer.
introspect() {
  curl -s -u "svc:$SECRET" --data-urlencode "token=$1" "$BASE/introspect" |
    jq -r '"\(.active) \(.jti // "-")"'
}
T=$(token)
[[ -n $T && $T != null ]] || die "no access token"
JTI=$(jwt_claim "$T" jti)
[[ $(introspect "$T") == "true $JTI" ]] && ok "first introspection: active" || fail "first: $(introspect "$T")"
[[ $(introspect "$T") == "true $JTI" ]] && ok "again (remembered): active, same jti" || fail "again: $(introspect "$T")"

# Another signature over the same header and payload: another token, refused.
sig=${T##*.}
if [[ ${sig:10:1} == A ]]; then c=B; else c=A; fi
FORGED=${T%.*}.${sig:0:10}$c${sig:11}
[[ $(introspect "$FORGED") == "false -" ]] && ok "the token with another signature: inactive" ||
  fail "forged signature: $(introspect "$FORGED")"

# Revocation still counts for a remembered token.
T2=$(token)
[[ $(introspect "$T2") == "true $(jwt_claim "$T2" jti)" ]] || fail "second token not active"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "svc:$SECRET" --data-urlencode "token=$T2" "$BASE/revoke")
[[ $code == 200 ]] || fail "revoke: $code"
[[ $(introspect "$T2") == "false -" ]] && ok "revoked after it was remembered: inactive" ||
  fail "revoked: $(introspect "$T2")"

# The signing key leaves the ring: rotated twice, each retiring key published for one
# second, then SIGHUP once that second is over.
[[ $(introspect "$T") == "true $JTI" ]] || fail "T not active before the rotation"
"$AUTHCTL" keys rotate --dir "$K" --keep 1 >/dev/null 2>"$TMP/err" || fail "rotate: $(cat "$TMP/err")"
"$AUTHCTL" keys rotate --dir "$K" --keep 1 >/dev/null 2>"$TMP/err" || fail "rotate: $(cat "$TMP/err")"
sleep 2
hup_and_wait "$(wc -l <"$TMP/authd.log")"
KID=$(jwt_part "$T" 0 kid)
curl -s "$BASE/jwks" | jq -r '.keys[].kid' | grep -qx -- "$KID" && fail "the old key $KID is still published"
[[ $(introspect "$T") == "false -" ]] && ok "its key left the ring: the remembered token is inactive" ||
  fail "after the key left: $(introspect "$T")"
T3=$(token)
[[ $(introspect "$T3") == "true $(jwt_claim "$T3" jti)" ]] && ok "a token of the new key: active" ||
  fail "new key's token: $(introspect "$T3")"
check_stop_authd
finish "introspect_cache: all checks passed"
