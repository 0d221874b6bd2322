#!/usr/bin/env bash
# authctl client add|list|show|remove|check-secret: the app registry from the command
# line. Secrets printed once and never stored or listed, file modes, validation errors
# that write nothing, exit codes, private_key_jwt JWKS, parallel authctl runs.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
A=$YH_BUILD/authctl/authctl
. "$(dirname "$0")/lib.sh"
make_tmp client
S=$TMP/state
C=("$A" -d "$S" client)

expect_rc 2 "no state directory given" "$A" client list
grep -q "state" "$TMP/err" && ok "says which option is missing" || fail "message: $(cat "$TMP/err")"

# A confidential app with a generated secret.
expect_rc 0 "add portal (generated secret)" "${C[@]}" add portal \
  --redirect-uri https://portal.example.gov.cn/cb https://portal.example.gov.cn/cb2 \
  --post-logout-redirect-uri https://portal.example.gov.cn/bye \
  --backchannel-logout-uri https://portal.example.gov.cn/bcl \
  --scope openid profile phone --allow-id-number --min-loa 2 --name "市民门户" \
  --access-token-lifetime 10m --refresh-token-lifetime 8h
secret=$(jq -r .client_secret "$TMP/out")
[[ ${#secret} -eq 43 && $secret =~ ^[A-Za-z0-9_-]+$ ]] && ok "secret printed: 43 base64url chars" || fail "secret '$secret'"
grep -q "shown once" "$TMP/err" && ok "warned it is shown once" || fail "no warning: $(cat "$TMP/err")"
[[ $(jq -r '.scopes | join(" ")' "$TMP/out") == "openid profile phone yh_id_number" ]] && ok "scopes (+yh_id_number)" || fail "scopes $(jq -c .scopes "$TMP/out")"
[[ $(jq -r .access_token_lifetime "$TMP/out") == 600 && $(jq -r .min_loa "$TMP/out") == 2 ]] && ok "lifetime and LoA" || fail "$(cat "$TMP/out")"
[[ $(jq -r .name "$TMP/out") == "市民门户" && $(jq -r .sector "$TMP/out") == portal ]] && ok "name, default sector" || fail "$(cat "$TMP/out")"

[[ $(stat -c %a "$S") == 700 ]] && ok "state dir 0700" || fail "state dir mode $(stat -c %a "$S")"
[[ $(stat -c %a "$S/clients.json") == 600 ]] && ok "clients.json 0600" || fail "clients.json mode"
[[ $(stat -c %a "$S/client-secret.key") == 600 ]] && ok "client-secret.key 0600" || fail "key mode"
grep -qF -- "$secret" "$S/clients.json" "$S/client-secret.key" && fail "secret stored in plain" || ok "secret not stored"

echo "$secret" | "$A" -d "$S" client check-secret portal && ok "check-secret: right" || fail "check-secret rejects the printed secret"
echo "${secret}x" | "$A" -d "$S" client check-secret portal 2>/dev/null
[[ $? -eq 1 ]] && ok "check-secret: wrong secret exit 1" || fail "wrong secret accepted"
echo "$secret" | "$A" -d "$S" client check-secret nobody 2>"$TMP/err"
[[ $? -eq 1 ]] && ok "check-secret: unknown client exit 1" || fail "unknown client"
grep -q "wrong client or secret" "$TMP/err" && ok "one message for both" || fail "message: $(cat "$TMP/err")"

# Rotation: a new generated secret, printed once; the old one stops working.
expect_rc 0 "reset-secret" "${C[@]}" reset-secret portal
secret2=$(jq -r .client_secret "$TMP/out")
[[ ${#secret2} -eq 43 && $secret2 != "$secret" ]] && ok "a new secret" || fail "reset-secret: $(cat "$TMP/out")"
echo "$secret" | "$A" -d "$S" client check-secret portal 2>/dev/null
[[ $? -eq 1 ]] && ok "old secret refused after reset" || fail "old secret still works"
echo "$secret2" | "$A" -d "$S" client check-secret portal && ok "new secret verifies" || fail "new secret refused"
grep -qF -- "$secret2" "$S/clients.json" && fail "new secret stored" || ok "new secret not stored"
expect_rc 1 "reset-secret unknown client" "${C[@]}" reset-secret nobody
secret=$secret2

# A native app: public, PKCE, loopback and private-use scheme.
expect_rc 0 "add public native app" "${C[@]}" add cn.gov.app --public \
  --redirect-uri http://127.0.0.1:8123/cb "http://[::1]/cb" com.example.app:/cb
[[ $(jq -r .require_pkce "$TMP/out") == true && $(jq -r .auth "$TMP/out") == none ]] && ok "public requires PKCE" || fail "$(cat "$TMP/out")"
jq -e 'has("client_secret") | not' "$TMP/out" >/dev/null && ok "no secret for a public app" || fail "secret for a public app"

# An operator-chosen secret from stdin.
printf '%s\n' "a-long-operator-chosen-secret-0123456789" | "${C[@]}" add dept --secret-stdin \
  --redirect-uri https://dept.example.gov.cn/cb --grant authorization_code client_credentials \
  >"$TMP/out" 2>"$TMP/err" && ok "add with --secret-stdin" || fail "secret-stdin: $(cat "$TMP/err")"
jq -e 'has("client_secret") | not' "$TMP/out" >/dev/null && ok "a chosen secret is not echoed" || fail "chosen secret printed"
echo "a-long-operator-chosen-secret-0123456789" | "$A" -d "$S" client check-secret dept && ok "chosen secret verifies" || fail "chosen secret"
grep -q "a-long-operator-chosen" "$S/clients.json" && fail "chosen secret stored" || ok "chosen secret not stored"

# private_key_jwt: a public JWKS is accepted, a private one refused.
"$A" keys generate --alg ES256 --dir "$TMP/ring" >/dev/null || fail "keys generate"
"$A" keys jwks --dir "$TMP/ring" >"$TMP/pub.jwks" || fail "keys jwks"
expect_rc 0 "add private_key_jwt app" "${C[@]}" add svc --jwks-file "$TMP/pub.jwks" \
  --grant client_credentials
[[ $(jq -r .auth "$TMP/out") == private_key_jwt && $(jq -r '.jwks_kids | length' "$TMP/out") == 2 ]] && ok "JWKS kept (2 keys)" || fail "$(cat "$TMP/out")"
node -e '
const { generateKeyPairSync } = require("crypto");
const k = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
console.log(JSON.stringify({ keys: [k] }));' >"$TMP/priv.jwks" 2>/dev/null
if [[ -s $TMP/priv.jwks ]]; then
  expect_rc 2 "a private JWKS is refused" "${C[@]}" add svc2 --jwks-file "$TMP/priv.jwks" --grant client_credentials
  grep -q "private key" "$TMP/err" && ok "says it is a private key" || fail "message: $(cat "$TMP/err")"
fi

# list / show never print secrets or hashes.
expect_rc 0 "list" "${C[@]}" list
[[ $(wc -l <"$TMP/out") -eq 4 ]] && ok "four JSON lines" || fail "list: $(cat "$TMP/out")"
jq -e . "$TMP/out" >/dev/null && ok "every line is JSON" || fail "list not JSON"
[[ $(jq -r .client_id "$TMP/out" | tr '\n' ' ') == "cn.gov.app dept portal svc " ]] && ok "in id order" || fail "order: $(jq -r .client_id "$TMP/out")"
hash=$(jq -r '.clients[] | select(.client_id=="portal") | .secret.hash' "$S/clients.json")
[[ ${#hash} -eq 64 ]] || fail "stored hash '$hash'"
grep -qF -e "$secret" -e "$hash" "$TMP/out" && fail "list prints a secret or hash" || ok "list: no secret, no hash"
grep -q '"hash"\|"client_secret":\|"secret"' "$TMP/out" && fail "list has secret members" || ok "list: no secret members"
expect_rc 0 "show portal" "${C[@]}" show portal
grep -qF -e "$secret" -e "$hash" "$TMP/out" && fail "show prints a secret or hash" || ok "show: no secret, no hash"
[[ $(jq -r '.redirect_uris[1]' "$TMP/out") == https://portal.example.gov.cn/cb2 ]] && ok "show: redirect URIs" || fail "show: $(cat "$TMP/out")"
expect_rc 1 "show unknown client" "${C[@]}" show nobody
expect_rc 2 "reset-secret of a public app" "${C[@]}" reset-secret cn.gov.app

# Refusals write nothing.
cp "$S/clients.json" "$TMP/before.json"
expect_rc 2 "duplicate id" "${C[@]}" add portal --redirect-uri https://x.example/cb
grep -q "already exists" "$TMP/err" && ok "says it exists" || fail "message: $(cat "$TMP/err")"
expect_rc 2 "fragment refused" "${C[@]}" add f1 --redirect-uri "https://x.example/cb#frag"
grep -q "fragment" "$TMP/err" && ok "says fragment" || fail "message: $(cat "$TMP/err")"
expect_rc 2 "http on a real host refused" "${C[@]}" add f2 --redirect-uri http://x.example/cb
expect_rc 2 "custom scheme without a dot refused" "${C[@]}" add f3 --public --redirect-uri myapp:/cb
expect_rc 2 "javascript: refused" "${C[@]}" add f4 --redirect-uri "javascript:alert(1)"
expect_rc 2 "bad client id" "${C[@]}" add "bad id" --redirect-uri https://x.example/cb
expect_rc 2 "min LoA 5" "${C[@]}" add f5 --redirect-uri https://x.example/cb --min-loa 5
expect_rc 2 "unknown scope" "${C[@]}" add f6 --redirect-uri https://x.example/cb --scope openid admin
expect_rc 2 "public client_credentials" "${C[@]}" add f7 --public --redirect-uri https://x.example/cb --grant client_credentials
expect_rc 2 "short secret" "${C[@]}" add f8 --secret tooshort --redirect-uri https://x.example/cb
expect_rc 2 "two auth options" "${C[@]}" add f9 --public --generate-secret --redirect-uri https://x.example/cb
expect_rc 2 "no redirect URI for the code flow" "${C[@]}" add f10
expect_rc 2 "backchannel with a custom scheme" "${C[@]}" add f11 --redirect-uri https://x.example/cb --backchannel-logout-uri com.example.app:/bcl
expect_rc 2 "unknown option" "${C[@]}" add f12 --redirect-uri https://x.example/cb --frobnicate 1
expect_rc 2 "bad lifetime" "${C[@]}" add f13 --redirect-uri https://x.example/cb --access-token-lifetime 5
cmp -s "$S/clients.json" "$TMP/before.json" && ok "nothing written by refusals" || fail "clients.json changed"

# remove
expect_rc 0 "remove dept" "${C[@]}" remove dept
expect_rc 1 "show removed" "${C[@]}" show dept
expect_rc 1 "remove again" "${C[@]}" remove dept
echo "a-long-operator-chosen-secret-0123456789" | "$A" -d "$S" client check-secret dept 2>/dev/null
[[ $? -eq 1 ]] && ok "removed client cannot authenticate" || fail "removed client authenticates"

# Parallel authctl runs: no update lost.
pids=()
for i in $(seq 1 8); do
  "${C[@]}" add "par$i" --public --redirect-uri "https://p$i.example/cb" >/dev/null 2>"$TMP/par$i.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "parallel add $p failed"; done
n=$("${C[@]}" list | jq -r .client_id | grep -c '^par')
[[ $n -eq 8 ]] && ok "8 parallel adds all kept" || fail "$n of 8 parallel adds kept"

# A hand-broken file: clear error naming file:line, no crash, no write.
cp "$S/clients.json" "$TMP/good.json"
sed -i 's|"https://p3.example/cb"|"http://p3.example/cb"|' "$S/clients.json"
expect_rc 2 "broken file refused" "${C[@]}" list
grep -q "clients.json:[0-9]*: client .*\"par3\"" "$TMP/err" && ok "error names file:line and client" || fail "message: $(cat "$TMP/err")"
expect_rc 2 "no add on a broken file" "${C[@]}" add new1 --public --redirect-uri https://n.example/cb
cp "$TMP/good.json" "$S/clients.json"
expect_rc 0 "list after repair" "${C[@]}" list

finish "all authctl client checks passed"
