#!/usr/bin/env bash
# Interop between token/ (through authctl) and node's jose, both directions, for ES256,
# EdDSA, RS256 and PS256, keys exchanged as JWKS:
#   - jose verifies tokens signed by `authctl jwt sign` with the JWKS from `authctl keys jwks`
#     (also after a rotation, for the new key and for a token of the retiring key)
#   - `authctl jwt verify` accepts tokens jose signed with keys jose generated and exported
#   - a tampered token is rejected by both; an alg outside the allow-list is rejected
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
AUTHCTL=$YH_BUILD/authctl/authctl
JOSE=$YH_SRCDIR/tests/node/jose_interop.mjs
command -v node >/dev/null || { echo "FAIL: node not installed (./run deps installs it)"; exit 1; }
[[ -d $YH_SRCDIR/tests/node/node_modules/jose ]] || { echo "FAIL: tests/node/node_modules/jose missing (npm ci in tests/node)"; exit 1; }

. "$(dirname "$0")/lib.sh"
make_tmp jose

iss=https://id.example.gov.cn
aud=portal-app
now=$(date +%s)
claims() { printf '{"iss":"%s","aud":"%s","sub":"%s","iat":%d,"exp":%d}' "$iss" "$aud" "$1" "$now" $((now + 600)); }

# Flips one character in the middle of the signature part.
tamper() {
  local t=$1 sig=${1##*.} mid c
  mid=$(( ${#sig} / 2 ))
  c=${sig:mid:1}
  if [[ $c == A ]]; then c=B; else c=A; fi
  printf '%s.%s%s%s' "${t%.*}" "${sig:0:mid}" "$c" "${sig:mid+1}"
}

for alg in ES256 EdDSA RS256 PS256; do
  d=$TMP/$alg
  mkdir -p "$d/node"

  # --- token/ signs, jose verifies ---------------------------------------------------
  if ! "$AUTHCTL" keys generate --alg "$alg" --dir "$d/ring" >/dev/null; then
    fail "$alg: keys generate"; continue
  fi
  "$AUTHCTL" keys jwks --dir "$d/ring" > "$d/jwks.json" || fail "$alg: keys jwks"
  tok=$(claims "ours-$alg" | "$AUTHCTL" jwt sign --dir "$d/ring" --typ JWT) || fail "$alg: jwt sign"
  out=$(printf '%s' "$tok" | node "$JOSE" verify --jwks "$d/jwks.json" --alg "$alg" --iss "$iss" --aud "$aud")
  if [[ $? -eq 0 && $out == *'"sub":"ours-'$alg'"'* ]]; then ok "$alg: jose verifies authctl's token"
  else fail "$alg: jose rejected authctl's token: $out"; fi

  bad=$(tamper "$tok")
  if printf '%s' "$bad" | node "$JOSE" verify --jwks "$d/jwks.json" --alg "$alg" >/dev/null; then
    fail "$alg: jose accepted a tampered token"; else ok "$alg: jose rejects a tampered token"; fi
  if printf '%s' "$bad" | "$AUTHCTL" jwt verify --jwks "$d/jwks.json" >/dev/null 2>&1; then
    fail "$alg: authctl accepted a tampered token"; else ok "$alg: authctl rejects a tampered token"; fi

  # rotation: the new active key was already in the JWKS jose has; the old token still verifies
  "$AUTHCTL" keys rotate --dir "$d/ring" >/dev/null || fail "$alg: keys rotate"
  tok2=$(claims "rotated-$alg" | "$AUTHCTL" jwt sign --dir "$d/ring") || fail "$alg: sign after rotate"
  if printf '%s' "$tok2" | node "$JOSE" verify --jwks "$d/jwks.json" --alg "$alg" >/dev/null; then
    ok "$alg: jose verifies the rotated key with the JWKS fetched before the rotation"
  else fail "$alg: new active key was not in the pre-rotation JWKS"; fi
  "$AUTHCTL" keys jwks --dir "$d/ring" > "$d/jwks2.json"
  if printf '%s' "$tok" | node "$JOSE" verify --jwks "$d/jwks2.json" --alg "$alg" >/dev/null; then
    ok "$alg: retiring key still verifies after rotation"
  else fail "$alg: token of the retiring key rejected after rotation"; fi

  # --- jose signs, token/ verifies ---------------------------------------------------
  node "$JOSE" keygen --alg "$alg" --dir "$d/node" || { fail "$alg: jose keygen"; continue; }
  jtok=$(claims "jose-$alg" | node "$JOSE" sign --key "$d/node/private.jwk" --typ JWT) || fail "$alg: jose sign"
  out=$(printf '%s' "$jtok" | "$AUTHCTL" jwt verify --jwks "$d/node/jwks.json" --iss "$iss" --aud "$aud" 2>&1)
  if [[ $? -eq 0 && $out == *'"sub":"jose-'$alg'"'* ]]; then ok "$alg: authctl verifies jose's token"
  else fail "$alg: authctl rejected jose's token: $out"; fi
  out=$(printf '%s' "$jtok" | "$AUTHCTL" jwt verify --jwks "$d/node/jwks.json" --alg "$alg" --kind id --iss "$iss" --aud "$aud" 2>&1)
  [[ $? -eq 0 ]] && ok "$alg: authctl checks jose's token as an ID token" || fail "$alg: --kind id: $out"

  # keys without "alg": EC/OKP keys declare their only alg; RSA needs --alg
  out=$(printf '%s' "$jtok" | "$AUTHCTL" jwt verify --jwks "$d/node/jwks-noalg.json" 2>&1); rc=$?
  case $alg in
    RS256|PS256)
      [[ $rc -ne 0 ]] && ok "$alg: RSA key without alg needs --alg" || fail "$alg: verified an RSA key without any alg"
      out=$(printf '%s' "$jtok" | "$AUTHCTL" jwt verify --jwks "$d/node/jwks-noalg.json" --alg "$alg" 2>&1)
      [[ $? -eq 0 ]] && ok "$alg: verified with --alg" || fail "$alg: --alg with alg-less JWKS: $out" ;;
    *)
      [[ $rc -eq 0 ]] && ok "$alg: alg-less JWK verifies by its family" || fail "$alg: alg-less JWKS: $out" ;;
  esac

  bad=$(tamper "$jtok")
  out=$(printf '%s' "$bad" | "$AUTHCTL" jwt verify --jwks "$d/node/jwks.json" 2>&1); rc=$?
  if [[ $rc -eq 1 && $(printf '%s\n' "$out" | wc -l) -eq 1 ]]; then ok "$alg: authctl rejects tampered jose token ($out)"
  else fail "$alg: tampered jose token: rc=$rc out=$out"; fi
  if printf '%s' "$bad" | node "$JOSE" verify --jwks "$d/node/jwks.json" --alg "$alg" >/dev/null; then
    fail "$alg: jose accepted its own tampered token"; else ok "$alg: jose rejects its tampered token"; fi

  # an allow-list without the token's alg
  other=ES256; [[ $alg == ES256 ]] && other=EdDSA
  if printf '%s' "$jtok" | "$AUTHCTL" jwt verify --jwks "$d/node/jwks.json" --alg "$other" >/dev/null 2>&1; then
    fail "$alg: verified with only $other allowed"; else ok "$alg: rejected when only $other is allowed"; fi
  if printf '%s' "$tok2" | node "$JOSE" verify --jwks "$d/jwks2.json" --alg "$other" >/dev/null; then
    fail "$alg: jose verified with only $other allowed"; else ok "$alg: jose rejects outside its allow-list"; fi
done

finish "all jose interop checks passed"
