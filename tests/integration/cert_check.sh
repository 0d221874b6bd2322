#!/usr/bin/env bash
# X.509 trust through the real binaries, over a PKI made with the openssl command line
# (pki.sh): `authctl cert check` for SM2, ECDSA and RSA paths (one through a configured
# cross-certificate, refused as unknown when the cross-certificate is not configured),
# the identity from the extension, a subject attribute, a subjectAltName and a CA's CN
# pattern, the enterprise's credit code, refusals for an expired certificate, a wrong key
# usage and an unknown CA; a challenge signed with openssl dgst (SM2 with the default
# distinguishing ID, ECDSA, RSA) checked as a login checks it; `authctl ca add|list|remove`; `authd -t` and `authctl -c`
# naming file:line of a bad cert.ca.* key.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
need_authd
make_tmp cert

pki_build "$TMP/pki" || die "building the test PKI with openssl failed"
P=$TMP/pki
cat >"$TMP/authd.conf" <<EOF
state_dir = $TMP/state
cert.ca.a.roots = pki/ra.pem
cert.ca.a.intermediates = pki/ia.pem
cert.ca.a.cross_certs = pki/cross.pem
cert.ca.a.revocation = none
cert.ca.r.roots = pki/rr.pem
cert.ca.r.intermediates = pki/ir.pem
cert.ca.r.fail = open
cert.ca.r.profile = rprofile
cert.profile.rprofile.id_number = san:1.2.156.10260.4.1.1; subject:CN ~ ([0-9]{17}[0-9X])\$
EOF

# check NAME WANT_RC JS [CONF] [ARGS...]: authctl cert check of pki/NAME.pem exits
# WANT_RC and its JSON (variable d) satisfies the JavaScript condition JS.
check() {
  local name=$1 want=$2 js=$3 conf=${4:-$TMP/authd.conf} rc
  shift 4 2>/dev/null || shift $#
  timeout 30 "$AUTHCTL" -c "$conf" cert check "$P/$name.pem" "$@" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  if ((rc != want)); then
    fail "$name: exit $rc, want $want: $(head -c 400 "$TMP/out" "$TMP/err")"
    return
  fi
  if node -e "const d = JSON.parse(require('fs').readFileSync('$TMP/out', 'utf8'));
      if (!($js)) { console.log(JSON.stringify(d)); process.exit(1); }" >"$TMP/why"; then
    ok "$name: $js"
  else
    fail "$name: not ($js): $(head -c 600 "$TMP/why")"
  fi
}

check pa 0 "d.ok && d.ca === 'a' && d.path.length === 3 &&
  d.path.every(c => c.signature === 'SM2-with-SM3' && c.key === 'SM2 256') &&
  d.identity.kind === 'person' && d.identity.value === '110105********002X' &&
  d.identity.source === 'ext:1.2.156.10260.4.1.1' && /^[0-9a-f]{64}\$/.test(d.key_sha256) &&
  d.revocation.policy === 'none' && d.revocation.status === 'not_required'"
check ea 0 "d.ok && d.identity.kind === 'organization' && d.identity.field === 'credit_code' &&
  d.identity.value === '$PKI_USCC'"
check pb 0 "d.ok && d.ca === 'a' && d.path.length === 3 && d.path[0].key === 'EC P-256' &&
  d.path[1].subject === '/CN=Root B/O=CA B' && d.path[1].issuer === '/CN=Root A/O=CA A' &&
  d.path[2].subject === '/CN=Root A/O=CA A' &&
  d.identity.source === 'subject:1.2.156.10260.4.1.1' && d.identity.value === '110105********0016'"
check pr 0 "d.ok && d.ca === 'r' && d.path.map(c => c.key).join() === 'EC P-256,EC P-384,RSA 2048' &&
  d.path[1].signature === 'sha256WithRSAEncryption' &&
  d.identity.source === 'san:1.2.156.10260.4.1.1' && d.revocation.policy === 'crl' &&
  d.revocation.fail === 'open' && d.revocation.status === 'unknown_accepted'"
check pn 0 "d.ok && d.path[0].key === 'RSA 2048' && d.identity.value === '440301********1230' &&
  d.identity.source === 'subject:commonName ~'"
check old 1 "!d.ok && d.reason === 'expired' && d.identity === null"
check ku 1 "!d.ok && d.reason === 'key_usage' && /key usage/.test(d.detail)"
check unknown 1 "!d.ok && d.reason === 'unknown_ca'"

# B's person without the cross-certificate: no path, and none with it sent as a chain.
grep -v cross_certs "$TMP/authd.conf" >"$TMP/nocross.conf"
check pb 1 "!d.ok && d.reason === 'unknown_ca'" "$TMP/nocross.conf"
check pb 1 "!d.ok && d.reason === 'unknown_ca' && /not configured/.test(d.detail)" \
  "$TMP/nocross.conf" --chain "$P/cross.pem"
# The intermediate sent as the chain when only the root is configured and the
# intermediate is (a configured certificate found either way).
check pa 0 "d.ok" "$TMP/authd.conf" --chain "$P/ia.pem"

# Proof of possession: the challenge signed with the openssl command line as USBKey
# middleware signs it (SM2 over SM3 with the default ID, ECDSA and RSA with SHA-256).
CH=$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')
printf '%s' "$CH" >"$TMP/ch"
openssl dgst -sm3 -sign "$P/pa.key" -sigopt distid:1234567812345678 -out "$TMP/pa.sig" "$TMP/ch"
openssl dgst -sm3 -sign "$P/pa.key" -sigopt distid:1234567812345679 -out "$TMP/pa-id.sig" "$TMP/ch"
openssl dgst -sha256 -sign "$P/pb.key" -out "$TMP/pb.sig" "$TMP/ch"
base64 -w0 "$TMP/pb.sig" >"$TMP/pb.b64"
openssl dgst -sha256 -sign "$P/pn.key" -out "$TMP/pn.sig" "$TMP/ch"
check pa 0 "d.ok && d.proof.algorithm === 'SM2-SM3' && d.proof.valid" "$TMP/authd.conf" \
  --challenge "$CH" --signature "$TMP/pa.sig"
check pa 1 "d.ok && d.proof.algorithm === 'SM2-SM3' && !d.proof.valid" "$TMP/authd.conf" \
  --challenge "$CH" --signature "$TMP/pa-id.sig"
check pb 0 "d.ok && d.proof.algorithm === 'ECDSA-SHA256' && d.proof.valid" "$TMP/authd.conf" \
  --challenge "$CH" --signature "$TMP/pb.b64"
check pb 1 "d.ok && !d.proof.valid" "$TMP/authd.conf" --challenge "${CH}x" \
  --signature "$TMP/pb.b64"
check pn 0 "d.ok && d.proof.algorithm === 'RSA-SHA256' && d.proof.valid" "$TMP/authd.conf" \
  --challenge "$CH" --signature "$TMP/pn.sig"
check pn 1 "d.ok && !d.proof.valid" "$TMP/authd.conf" --challenge "$CH" \
  --signature "$TMP/pa.sig"

# Revocation by CRL: CA a's intermediate lists pv (SM2, verified over the to-be-signed
# bytes with the default distinguishing ID); CA r's intermediate 100,000 serials and pn.
pki_crl "$P" ia ia "$(pki_serial "$P" pv)" || die "openssl ca -gencrl (SM2) failed"
PKI_CRL_EXTRA=100000 pki_crl "$P" ir ir "$(pki_serial "$P" pn)" ||
  die "openssl ca -gencrl (100,000 serials) failed"
{ grep -v 'revocation = none' "$TMP/authd.conf"
  echo "cert.ca.a.crl = pki/ia.crl"; echo "cert.ca.r.crl = pki/ir.crl"; } >"$TMP/crl.conf"
check pv 1 "!d.ok && d.reason === 'revoked' && d.revocation.status === 'revoked' &&
  /^crl:20/.test(d.revocation.source)" "$TMP/crl.conf"
check pa 0 "d.ok && d.revocation.policy === 'crl' && d.revocation.status === 'good' &&
  /^crl:20/.test(d.revocation.source)" "$TMP/crl.conf"
t0=$(date +%s%N)
check pn 1 "!d.ok && d.reason === 'revoked'" "$TMP/crl.conf"
check pr 0 "d.ok && d.revocation.status === 'good'" "$TMP/crl.conf"
echo "two checks with the 100,000-serial CRL loaded: $((($(date +%s%N) - t0) / 1000000)) ms (each loads it)"
# A CRL whose signature was changed by one bit is refused when the file is read.
cp "$P/ia.crl" "$P/bad.crl"
"$PY" -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[-5]^=1; open(p,"wb").write(d)' "$P/bad.crl"
sed 's|pki/ia.crl|pki/bad.crl|' "$TMP/crl.conf" >"$TMP/bad.conf"
out=$("$AUTHD" -t -c "$TMP/bad.conf" 2>&1)
[[ $? != 0 && $out == *"cert.ca.a.crl: "*"bad.crl has a signature that does not verify"* ]] &&
  ok "a tampered SM2 CRL is refused" || fail "tampered CRL: $out"

# Bad keys and files name file:line, in authd -t and in authctl.
cp "$TMP/authd.conf" "$TMP/bad.conf"
echo "cert.ca.a.rooots = x.pem" >>"$TMP/bad.conf"
out=$("$AUTHCTL" -c "$TMP/bad.conf" ca list 2>&1)
[[ $? == 2 && $out == *"bad.conf:11: cert.ca.a.rooots: unknown field"* ]] &&
  ok "authctl names file:line of a bad key" || fail "authctl: $out"
out=$("$AUTHD" -t -c "$TMP/bad.conf" 2>&1)
[[ $? != 0 && $out == *"bad.conf:11: cert.ca.a.rooots: unknown field"* ]] &&
  ok "authd -t names file:line of a bad key" || fail "authd -t: $out"
sed 's|pki/rr.pem|pki/missing.pem|' "$TMP/authd.conf" >"$TMP/bad.conf"
out=$("$AUTHD" -t -c "$TMP/bad.conf" 2>&1)
[[ $? != 0 && $out == *"bad.conf:6: cert.ca.r.roots: "*"missing.pem cannot read the file"* ]] &&
  ok "authd -t names the line of a missing roots file" || fail "authd -t: $out"
sed 's|pki/rr.pem|pki/pa.pem|' "$TMP/authd.conf" >"$TMP/bad.conf"
out=$("$AUTHD" -t -c "$TMP/bad.conf" 2>&1)
[[ $? != 0 && $out == *"bad.conf:6: cert.ca.r.roots: "*"is not a CA certificate"* ]] &&
  ok "authd -t refuses an end-entity as a root" || fail "authd -t: $out"
{ cat "$P/rr.pem"; head -c 1100000 /dev/zero | tr '\0' 'A'; } >"$P/big.pem"
sed 's|pki/rr.pem|pki/big.pem|' "$TMP/authd.conf" >"$TMP/bad.conf"
out=$("$AUTHD" -t -c "$TMP/bad.conf" 2>&1)
[[ $? != 0 && $out == *"bad.conf:6: cert.ca.r.roots: "*"is larger than 1 MiB"* ]] &&
  ok "authd -t refuses a roots file over 1 MiB" || fail "authd -t big: $out"
out=$("$AUTHD" -t -c "$TMP/authd.conf" 2>&1) && ok "authd -t accepts the CA blocks" ||
  fail "authd -t: $out"
# The shipped profiles parse, and a CA may name them.
{ cat "$TMP/authd.conf" "$YH_SRCDIR/config/certificates.conf.example"
  echo "cert.ca.s.roots = pki/rb.pem"; echo "cert.ca.s.profile = serialprefix"; } >"$TMP/ex.conf"
out=$("$AUTHD" -t -c "$TMP/ex.conf" 2>&1) && ok "authd -t accepts certificates.conf.example" ||
  fail "authd -t certificates.conf.example: $out"

# ca add / list / remove: the unknown root becomes trusted, then not again.
"$AUTHCTL" -c "$TMP/authd.conf" ca add u --roots "$P/ru.pem" >"$TMP/out" 2>&1 &&
  [[ -f $TMP/state/ca/u/roots.pem ]] && ok "ca add writes the trust directory" ||
  fail "ca add: $(cat "$TMP/out")"
# Its default policy is crl, fail closed: no CRL is consulted yet, so it refuses.
check unknown 1 "!d.ok && d.ca === 'u' && d.reason === 'revocation_unknown' &&
  d.revocation.policy === 'crl' && d.revocation.status === 'unknown_refused'"
"$AUTHCTL" -c "$TMP/authd.conf" ca list >"$TMP/list" 2>&1
node -e "const d = JSON.parse(require('fs').readFileSync('$TMP/list', 'utf8'));
  const n = d.map(c => c.name + ':' + c.trust_dir + ':' + c.certificates.length).join();
  if (n !== 'a:false:3,r:false:2,u:true:1') { console.log(n); process.exit(1); }" &&
  ok "ca list shows the file's and the directory's CAs" || fail "ca list: $(cat "$TMP/list")"
out=$("$AUTHCTL" -c "$TMP/authd.conf" ca add u --roots "$P/ru.pem" 2>&1)
[[ $? == 2 && $out == *"a CA called u exists"* ]] && ok "ca add refuses a second u" ||
  fail "ca add twice: $out"
out=$("$AUTHCTL" -c "$TMP/authd.conf" ca add v --roots "$P/pa.pem" 2>&1)
[[ $? == 2 && $out == *"not a CA certificate"* && ! -e $TMP/state/ca/v ]] &&
  ok "ca add refuses an end-entity as a root" || fail "ca add end-entity: $out"
out=$("$AUTHCTL" -c "$TMP/authd.conf" ca remove a 2>&1)
[[ $? == 2 && $out == *"configured in the file"* ]] && ok "ca remove leaves the file's CAs" ||
  fail "ca remove a: $out"
"$AUTHCTL" -c "$TMP/authd.conf" ca remove u >"$TMP/out" 2>&1 && [[ ! -e $TMP/state/ca/u ]] &&
  ok "ca remove" || fail "ca remove u: $(cat "$TMP/out")"
check unknown 1 "!d.ok && d.reason === 'unknown_ca'"
grep -q '"event":"ca.add"' "$TMP/state/audit.log" && grep -q '"event":"ca.remove"' \
  "$TMP/state/audit.log" && ok "ca add and remove are audited" ||
  fail "audit: $(grep -c . "$TMP/state/audit.log" 2>&1)"

finish "cert_check: all checks passed"
