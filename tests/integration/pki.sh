# A test PKI made with the openssl command line at test time (sourced, never run; not a
# test, meson.build does not list it). pki_build DIR writes, in DIR:
#
#   CA A (SM2):  ra.pem (root "Root A"), ia.pem (intermediate under A)
#     pa.pem      person, SM2, ID number as the GM/T 0015 extension 1.2.156.10260.4.1.1
#     ea.pem      enterprise, SM2, credit code as the extension 1.2.156.10260.4.4
#     ku.pem      person, SM2, key usage keyEncipherment only (cannot sign a login)
#     pv.pem      person, SM2, the one pki_crl lists in the tests
#   CA B (SM2):  rb.pem (root "Root B"), cross.pem (Root B cross-signed by Root A)
#     pb.pem      person, ECDSA P-256 key signed by B's SM2 root, ID number as a subject
#                 attribute 1.2.156.10260.4.1.1
#   CA R (RSA):  rr.pem (root "Root R", RSA 2048), ir.pem (ECDSA P-384 intermediate)
#     pr.pem      person, ECDSA P-256, ID number in a subjectAltName otherName
#     pn.pem      person, RSA 2048, ID number only in the CN ("Li Si 440301199003071230")
#     old.pem     person, expired in 2021
#   X.key for every certificate X.pem; unknown.pem: a person under a root nobody trusts.
#
# SM2 certificates are signed over SM3 with the default distinguishing ID.

PKI_ID_A=11010519491231002X
PKI_ID_B=110105198001010016
PKI_ID_R=310115197510123452
PKI_ID_N=440301199003071230
PKI_USCC=91350100M000100Y43
PKI_SM2=(-sm3 -sigopt distid:1234567812345678)

# pki_key FILE ALG: a new private key (sm2, p256, p384, rsa).
pki_key() {
  case $2 in
    sm2) openssl genpkey -algorithm SM2 -out "$1" ;;
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
  esac 2>/dev/null
}

# pki_sign_opts KEYFILE: the digest options for certificates signed with KEYFILE.
pki_sign_opts() {
  if openssl pkey -in "$1" -noout -text 2>/dev/null | grep -q 'ASN1 OID: SM2'; then
    echo "-sm3 -sigopt distid:1234567812345678"
  else
    echo "-sha256"
  fi
}

# pki_cert DIR NAME ALG SUBJ ISSUER EXT [REQ_EXTRA...]: DIR/NAME.pem with a new key of
# ALG, subject SUBJ, issued by DIR/ISSUER.{pem,key} (self-signed when ISSUER is "-"),
# extensions EXT (lines of an openssl extension section).
pki_cert() {
  local d=$1 n=$2 alg=$3 subj=$4 iss=$5 ext=$6 csr_opts=() vfy=()
  pki_key "$d/$n.key" "$alg" || return 1
  printf '[x]\n%s\n' "$ext" >"$d/$n.ext"
  [[ $alg == sm2 ]] && { csr_opts=("${PKI_SM2[@]}"); vfy=(-vfyopt distid:1234567812345678); }
  openssl req -new -config "$d/req.cnf" -key "$d/$n.key" "${csr_opts[@]}" -subj "$subj" \
    -out "$d/$n.csr" 2>/dev/null || return 1
  if [[ $iss == - ]]; then
    # shellcheck disable=SC2046
    openssl x509 -req -in "$d/$n.csr" -signkey "$d/$n.key" $(pki_sign_opts "$d/$n.key") \
      "${vfy[@]}" -days 3650 -extfile "$d/$n.ext" -extensions x -out "$d/$n.pem" \
      2>/dev/null
  else
    # shellcheck disable=SC2046
    openssl x509 -req -in "$d/$n.csr" -CA "$d/$iss.pem" -CAkey "$d/$iss.key" \
      -set_serial "0x$(openssl rand -hex 8)" $(pki_sign_opts "$d/$iss.key") "${vfy[@]}" \
      -days 825 -extfile "$d/$n.ext" -extensions x -out "$d/$n.pem" 2>/dev/null
  fi
}

PKI_CA_EXT='basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash'
PKI_EE_EXT='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid'

# pki_expired DIR NAME ISSUER SUBJ: a certificate valid only in 2020 (openssl ca sets
# the dates, which openssl x509 cannot).
pki_expired() {
  local d=$1 n=$2 iss=$3 subj=$4
  pki_key "$d/$n.key" p256 || return 1
  mkdir -p "$d/ca.db" && : >"$d/ca.db/index" && echo 1000 >"$d/ca.db/serial"
  cat >"$d/ca.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $d/ca.db/index
serial = $d/ca.db/serial
new_certs_dir = $d/ca.db
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[x]
$PKI_EE_EXT
EOF
  openssl req -new -key "$d/$n.key" -subj "$subj" -out "$d/$n.csr" 2>/dev/null &&
    openssl ca -batch -config "$d/ca.cnf" -cert "$d/$iss.pem" -keyfile "$d/$iss.key" \
      -startdate 20200101000000Z -enddate 20210101000000Z -extensions x \
      -in "$d/$n.csr" -out "$d/$n.pem" -notext 2>/dev/null
}

# pki_build DIR: the whole PKI above. Returns non-zero when a step failed.
pki_build() {
  local d=$1
  mkdir -p "$d"
  # GM/T 0015's ID number OID as a name -subj accepts.
  printf 'oid_section = o\n[o]\ngmtIdNumber = 1.2.156.10260.4.1.1\n[req]\ndistinguished_name = dn\n[dn]\n' \
    >"$d/req.cnf"
  pki_cert "$d" ra sm2 "/CN=Root A/O=CA A" - "$PKI_CA_EXT" &&
    pki_cert "$d" ia sm2 "/CN=CA A Persons/O=CA A" ra "$PKI_CA_EXT
authorityKeyIdentifier=keyid" &&
    pki_cert "$d" pa sm2 "/CN=Zhang San/O=CA A" ia "$PKI_EE_EXT
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$PKI_ID_A" &&
    pki_cert "$d" ea sm2 "/CN=Example Ltd/O=Example Ltd" ia "$PKI_EE_EXT
1.2.156.10260.4.4=ASN1:UTF8String:$PKI_USCC" &&
    pki_cert "$d" pv sm2 "/CN=Revoked Person/O=CA A" ia "$PKI_EE_EXT
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$PKI_ID_A" &&
    pki_cert "$d" ku sm2 "/CN=Encryption Only/O=CA A" ia "basicConstraints=critical,CA:FALSE
keyUsage=critical,keyEncipherment
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$PKI_ID_A" &&
    pki_cert "$d" rb sm2 "/CN=Root B/O=CA B" - "$PKI_CA_EXT" &&
    pki_cert "$d" pb p256 "/CN=Wang Wu/gmtIdNumber=$PKI_ID_B" rb "$PKI_EE_EXT" ||
    return 1
  # The cross-certificate: Root B's name and key, issued by Root A.
  openssl req -new -key "$d/rb.key" "${PKI_SM2[@]}" -subj "/CN=Root B/O=CA B" \
    -out "$d/cross.csr" 2>/dev/null &&
    printf '[x]\n%s\nauthorityKeyIdentifier=keyid\n' "$PKI_CA_EXT" >"$d/cross.ext" &&
    openssl x509 -req -in "$d/cross.csr" -CA "$d/ra.pem" -CAkey "$d/ra.key" \
      -set_serial 0x0c0551 "${PKI_SM2[@]}" -vfyopt distid:1234567812345678 -days 825 \
      -extfile "$d/cross.ext" -extensions x -out "$d/cross.pem" 2>/dev/null || return 1
  pki_cert "$d" rr rsa "/CN=Root R/O=CA R" - "$PKI_CA_EXT" &&
    pki_cert "$d" ir p384 "/CN=CA R Persons/O=CA R" rr "$PKI_CA_EXT
authorityKeyIdentifier=keyid" &&
    pki_cert "$d" pr p256 "/CN=Zhao Liu/O=CA R" ir "$PKI_EE_EXT
subjectAltName=otherName:1.2.156.10260.4.1.1;UTF8:$PKI_ID_R" &&
    pki_cert "$d" pn rsa "/CN=Li Si $PKI_ID_N/O=CA R" ir "$PKI_EE_EXT" &&
    pki_expired "$d" old ir "/CN=Old Cert" &&
    pki_cert "$d" ru sm2 "/CN=Root U/O=Nobody" - "$PKI_CA_EXT" &&
    pki_cert "$d" unknown sm2 "/CN=Nobody Known" ru "$PKI_EE_EXT
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$PKI_ID_A"
}

# pki_crl DIR OUT ISSUER SERIAL...: DIR/OUT.crl (DER), a CRL by DIR/ISSUER.{pem,key}
# listing the hexadecimal SERIALs (openssl ca -gencrl over an index written here; SM2
# with the default distinguishing ID). With PKI_CRL_EXTRA=N it lists N more random ones;
# with PKI_CRL_SEC=S its nextUpdate is S seconds after its thisUpdate (default 7 days);
# PKI_CRL_EXT holds extension lines of the CRL (openssl's x509v3 configuration).
pki_crl() {
  local d=$1 out=$2 iss=$3 s
  shift 3
  mkdir -p "$d/$out.db" && echo 01 >"$d/$out.db/crlnumber"
  {
    for s in "$@"; do printf 'R\t301231000000Z\t250101000000Z\t%s\tunknown\t/CN=x\n' "$s"; done
    if ((${PKI_CRL_EXTRA:-0} > 0)); then
      openssl rand -hex $((8 * PKI_CRL_EXTRA)) | fold -w 16 | tr 'a-f' 'A-F' |
        awk '{ printf "R\t301231000000Z\t250101000000Z\t%s\tunknown\t/CN=x\n", $1 }'
    fi
  } | sort -u -t "$(printf '\t')" -k4,4 >"$d/$out.db/index"
  cat >"$d/$out.cnf" <<EOC
[ca]
default_ca = c
[c]
database = $d/$out.db/index
crlnumber = $d/$out.db/crlnumber
default_md = sha256
default_crl_days = 7
${PKI_CRL_EXT:+crl_extensions = crlext
[crlext]
$PKI_CRL_EXT}
EOC
  # shellcheck disable=SC2046
  openssl ca -batch -gencrl -config "$d/$out.cnf" -cert "$d/$iss.pem" -keyfile "$d/$iss.key" \
    ${PKI_CRL_SEC:+-crlsec "$PKI_CRL_SEC"} \
    $(pki_sign_opts "$d/$iss.key" | sed 's/-sm3/-md sm3/; s/-sha256/-md sha256/') \
    -out "$d/$out-crl.pem" 2>"$d/$out.err" &&
    openssl crl -in "$d/$out-crl.pem" -outform DER -out "$d/$out.crl"
}

# pki_serial DIR NAME: the serial of DIR/NAME.pem in hexadecimal, as openssl prints it.
# pki_setup: what every certificate test starts from: authd's free port (PORT, BASE),
# its state folder S and the test PKI built in P.
pki_setup() {
  PORT=$(free_port)
  BASE=http://127.0.0.1:$PORT
  S=$TMP/state
  P=$TMP/pki
  pki_build "$P" || die "building the test PKI with openssl failed"
}

# pki_holder ID: a person with that ID number (named 持证人, with a password), added with
# authctl while authd is stopped.
pki_holder() {
  printf '%s\n' 'Cert person 2026!' | ctl_or_die user add --id-number "$1" --name 持证人 \
    --password-stdin
}

# pki_crl_taken N [URL]: waits (at most 10 s) until authd's log says N new CRLs were
# taken (from URL, when given).
pki_crl_taken() {
  for _ in $(seq 1 100); do
    (($(grep -cF "a new CRL from ${2:-}" "$TMP/authd.log") >= $1)) && return 0
    sleep 0.1
  done
  return 1
}

pki_serial() { openssl x509 -in "$1/$2.pem" -noout -serial | sed 's/^serial=//'; }

# pki_login NAME: a fresh browser (jar b) logs in with DIR P's certificate NAME
# through BASE's /login/cert (lib.sh's req): the form, a challenge, the challenge signed
# with NAME.key (SM2: SM3 with the default distinguishing ID; else SHA-256), the POST;
# STATUS, BODY... of it.
pki_login() {
  local ch csrf
  rm -f "$TMP/b.jar"
  req b GET '/login/cert?next=%2Faccount'
  req b GET /login/cert/challenge
  ch=$(node -e "process.stdout.write(JSON.parse(process.argv[1]).challenge || '')" "$BODY")
  csrf=$(node -e "process.stdout.write(JSON.parse(process.argv[1]).csrf || '')" "$BODY")
  printf '%s' "$ch" >"$TMP/msg"
  if openssl pkey -in "$P/$1.key" -noout -text 2>/dev/null | grep -q 'ASN1 OID: SM2'; then
    openssl dgst -sm3 -sign "$P/$1.key" -sigopt distid:1234567812345678 "$TMP/msg"
  else
    openssl dgst -sha256 -sign "$P/$1.key" "$TMP/msg"
  fi | base64 -w0 >"$TMP/sig"
  req b POST /login/cert --data-urlencode "csrf=$csrf" --data-urlencode "next=/account" \
    --data-urlencode "challenge=$ch" --data-urlencode "cert@$P/$1.pem" \
    --data-urlencode "signature@$TMP/sig"
}

# pki_refused NAME STATUS TEXT REASON: the last answer (lib.sh's req) is STATUS with TEXT
# on the page, and a login.failure with REASON is in $S/audit.log.
pki_refused() {
  if [[ $STATUS == "$2" && $BODY == *"$3"* ]] &&
    (($(audit_count login.failure "\"reason\":\"$4\"") > 0)); then
    ok "$1 refused: $4"
  else
    fail "$1: want $2 '$3' ($4), got $STATUS $(grep -o 'class="alert[^<]*<[^<]*' "$TMP/body" | head -2)"
  fi
}

# pki_publish DIR WWW NAME SERIAL...: DIR/NAME.crl, NAME's CRL listing SERIALs (pki_crl),
# put in place as WWW/NAME.crl for a web server (renamed into place: never half written).
pki_publish() {
  local d=$1 w=$2 n=$3
  shift 3
  pki_crl "$d" "$n" "$n" "$@" || die "openssl ca -gencrl ($n) failed"
  cp "$d/$n.crl" "$w/$n.crl.tmp" && mv "$w/$n.crl.tmp" "$w/$n.crl"
}

# pki_serve WWW PORT FILE: a python3 http.server for WWW on 127.0.0.1:PORT (its pid in
# WPID, its log $TMP/www.log), back once it serves FILE (at most 10 s).
pki_serve() {
  "$PY" -m http.server "$2" --bind 127.0.0.1 --directory "$1" >>"$TMP/www.log" 2>&1 &
  WPID=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$2/$3" && return 0
    sleep 0.1
  done
}
