#!/usr/bin/env bash
# authctl keys generate|rotate|jwks|list and jwt sign|verify from the command line:
# files and modes, rotation order, multiple algs, clear errors, verification failures as
# one line and exit 1.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
A=$YH_BUILD/authctl/authctl
. "$(dirname "$0")/lib.sh"
make_tmp keys
kid_of() { awk -v s="$1" -v a="$2" '$1 == s && $2 == a { print $3; exit }' "$3"; }

R=$TMP/ring
expect_rc 0 "generate ES256" "$A" keys generate --alg ES256 --dir "$R"
cp "$TMP/out" "$TMP/list0"
[[ $(stat -c %a "$R") == 700 ]] && ok "ring dir is 0700" || fail "ring dir mode $(stat -c %a "$R")"
n=0
for f in "$R"/*.pem; do
  n=$((n + 1))
  [[ $(stat -c %a "$f") == 600 ]] || fail "$f mode $(stat -c %a "$f")"
done
[[ $n -eq 2 ]] && ok "two key files, 0600" || fail "$n key files"
[[ $(stat -c %a "$R/keyring.json") == 600 ]] && ok "keyring.json 0600" || fail "keyring.json mode"
active0=$(kid_of active ES256 "$TMP/list0"); next0=$(kid_of next ES256 "$TMP/list0")
[[ -n $active0 && -n $next0 && -f $R/$active0.pem && -f $R/$next0.pem ]] && ok "active and next listed" || fail "list: $(cat "$TMP/list0")"

expect_rc 2 "generate ES256 again is refused" "$A" keys generate --alg ES256 --dir "$R"
grep -q "already has ES256" "$TMP/err" && ok "message says why" || fail "message: $(cat "$TMP/err")"
expect_rc 2 "unknown alg refused" "$A" keys generate --alg HS256 --dir "$TMP/x"
expect_rc 2 "alg none refused" "$A" keys generate --alg none --dir "$TMP/x"
[[ ! -e $TMP/x ]] && ok "nothing created for a refused alg" || fail "created $TMP/x"
expect_rc 2 "generate needs --alg" "$A" keys generate --dir "$TMP/y"

expect_rc 0 "jwks" "$A" keys jwks --dir "$R"
cp "$TMP/out" "$TMP/jwks0"
grep -q "\"kid\":\"$next0\"" "$TMP/jwks0" && ok "next key published before it signs" || fail "next not in JWKS"
grep -q '"d"' "$TMP/jwks0" && fail "private member in JWKS" || ok "no private members in JWKS"

# sign: the active key's kid in the header
echo '{"sub":"a","exp":4102444800}' | "$A" jwt sign --dir "$R" > "$TMP/t0" || fail "jwt sign"
hdr=$(cut -d. -f1 "$TMP/t0" | tr '_-' '/+' | base64 -d 2>/dev/null)
[[ $hdr == *"\"kid\":\"$active0\""* && $hdr == *'"alg":"ES256"'* ]] && ok "signed by the active key" || fail "header $hdr"

# rotate: next -> active, active -> retiring, a new next
expect_rc 0 "rotate" "$A" keys rotate --dir "$R"
cp "$TMP/out" "$TMP/list1"
[[ $(kid_of active ES256 "$TMP/list1") == "$next0" ]] && ok "old next is active" || fail "active after rotate: $(cat "$TMP/list1")"
[[ $(kid_of retiring ES256 "$TMP/list1") == "$active0" ]] && ok "old active is retiring" || fail "retiring after rotate"
next1=$(kid_of next ES256 "$TMP/list1")
[[ -n $next1 && $next1 != "$next0" && $next1 != "$active0" ]] && ok "a fresh next key" || fail "next after rotate"
"$A" keys jwks --dir "$R" > "$TMP/jwks1"
for k in "$active0" "$next0" "$next1"; do
  grep -q "\"kid\":\"$k\"" "$TMP/jwks1" || fail "JWKS after rotate lacks $k"
done
expect_rc 0 "old token verifies with the new JWKS" "$A" jwt verify --jwks "$TMP/jwks1" < "$TMP/t0"
expect_rc 2 "rotate unknown alg" "$A" keys rotate --dir "$R" --alg RS256
expect_rc 2 "rotate refuses a too-fresh next key" "$A" keys rotate --dir "$R" --min-age 1h
grep -q "published" "$TMP/err" && ok "min-age message" || fail "min-age message: $(cat "$TMP/err")"

# a second alg; jwt sign --alg picks it
expect_rc 0 "add EdDSA" "$A" keys generate --alg EdDSA --dir "$R"
echo '{"sub":"e"}' | "$A" jwt sign --dir "$R" --alg EdDSA --typ at+jwt > "$TMP/te" || fail "sign EdDSA"
hdr=$(cut -d. -f1 "$TMP/te" | tr '_-' '/+' | base64 -d 2>/dev/null)
[[ $hdr == *'"alg":"EdDSA"'* && $hdr == *'"typ":"at+jwt"'* ]] && ok "EdDSA token header" || fail "header $hdr"
echo '{"sub":"d"}' | "$A" jwt sign --dir "$R" > "$TMP/td"
hdr=$(cut -d. -f1 "$TMP/td" | tr '_-' '/+' | base64 -d 2>/dev/null)
[[ $hdr == *'"alg":"ES256"'* ]] && ok "default alg stays ES256" || fail "default header $hdr"
expect_rc 2 "sign with an alg the ring lacks" "$A" jwt sign --dir "$R" --alg PS256 <<<'{}'
expect_rc 2 "sign a non-object" "$A" jwt sign --dir "$R" <<<'[1,2]'
expect_rc 2 "sign duplicate claims" "$A" jwt sign --dir "$R" <<<'{"a":1,"a":2}'

# verify: checks and one-line failures
"$A" keys jwks --dir "$R" > "$TMP/jwks2"
now=$(date +%s)
printf '{"iss":"https://i","aud":["x","app"],"sub":"s","iat":%d,"exp":%d}' "$now" $((now + 60)) |
  "$A" jwt sign --dir "$R" > "$TMP/tid"
expect_rc 0 "verify with iss and aud" "$A" jwt verify --jwks "$TMP/jwks2" --iss https://i --aud app --kind id < "$TMP/tid"
grep -q '"sub":"s"' "$TMP/out" && ok "claims printed" || fail "claims: $(cat "$TMP/out")"
expect_rc 1 "wrong audience" "$A" jwt verify --jwks "$TMP/jwks2" --iss https://i --aud other < "$TMP/tid"
[[ $(wc -l < "$TMP/err") -eq 1 ]] && grep -q audience "$TMP/err" && ok "one line about the audience" || fail "err: $(cat "$TMP/err")"
expect_rc 1 "wrong issuer" "$A" jwt verify --jwks "$TMP/jwks2" --iss https://evil < "$TMP/tid"
expect_rc 1 "ID token refused as access token" "$A" jwt verify --jwks "$TMP/jwks2" --iss https://i --aud app --kind access < "$TMP/tid"
printf '{"sub":"s","exp":%d}' $((now - 120)) | "$A" jwt sign --dir "$R" > "$TMP/texp"
expect_rc 1 "expired" "$A" jwt verify --jwks "$TMP/jwks2" < "$TMP/texp"
grep -q expired "$TMP/err" && ok "says expired" || fail "err: $(cat "$TMP/err")"
expect_rc 0 "leeway" "$A" jwt verify --jwks "$TMP/jwks2" --leeway 600 < "$TMP/texp"
printf '{"sub":"s","nbf":%d}' $((now + 300)) | "$A" jwt sign --dir "$R" > "$TMP/tnbf"
expect_rc 1 "not yet valid" "$A" jwt verify --jwks "$TMP/jwks2" < "$TMP/tnbf"
expect_rc 1 "alg outside --alg" "$A" jwt verify --jwks "$TMP/jwks2" --alg EdDSA < "$TMP/tid"
expect_rc 1 "garbage token" "$A" jwt verify --jwks "$TMP/jwks2" <<<'not.a.token'
expect_rc 1 "alg none token" "$A" jwt verify --jwks "$TMP/jwks2" <<<'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzIn0.'
expect_rc 2 "missing JWKS file" "$A" jwt verify --jwks "$TMP/nope.json" < "$TMP/tid"
expect_rc 2 "kind id without iss/aud" "$A" jwt verify --jwks "$TMP/jwks2" --kind id < "$TMP/tid"

# -d STATE_DIR: the ring in STATE_DIR/keys
mkdir -m 700 "$TMP/state"
expect_rc 0 "generate under -d" "$A" -d "$TMP/state" keys generate --alg SM2
[[ -f $TMP/state/keys/keyring.json ]] && ok "ring in STATE_DIR/keys" || fail "no STATE_DIR/keys"
expect_rc 0 "jwks under -d" "$A" -d "$TMP/state" keys jwks
grep -q '"crv":"SM2"' "$TMP/out" && ok "SM2 JWK published" || fail "SM2 jwks: $(cat "$TMP/out")"

# corruption and permissions give clear errors
cp "$R/keyring.json" "$TMP/keyring.good"
printf '{\n  "format": "yihao-keyring/1",\n  "keys": [\n' > "$R/keyring.json"
expect_rc 2 "corrupted keyring.json" "$A" keys jwks --dir "$R"
grep -q "keyring.json: line" "$TMP/err" && ok "error names file and line: $(cat "$TMP/err")" || fail "err: $(cat "$TMP/err")"
cp "$TMP/keyring.good" "$R/keyring.json"
chmod 644 "$R/$next1.pem"
expect_rc 2 "group-readable key refused" "$A" keys jwks --dir "$R"
grep -q "chmod 600" "$TMP/err" && ok "says chmod 600" || fail "err: $(cat "$TMP/err")"
chmod 600 "$R/$next1.pem"
expect_rc 0 "healthy again" "$A" keys jwks --dir "$R"
expect_rc 2 "no ring" "$A" keys jwks --dir "$TMP/empty"
expect_rc 2 "unknown subcommand" "$A" keys frobnicate --dir "$R"

finish "all authctl keys checks passed"
