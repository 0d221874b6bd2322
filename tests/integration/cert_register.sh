#!/usr/bin/env bash
# cert.auto_register through the real authd over the test PKI of pki.sh: off (the
# default), a person certificate whose ID number names nobody is refused (no_account) and
# nobody is made; on (taken on SIGHUP), its login makes the person from the certificate
# (the CN as the name, origin cert, LoA 4 by "ca"), audits the registration, binds the
# certificate, and its next login is the same person; two first logins of one ID number
# at once make one person; a certificate without a usable name is refused (no_name) and
# makes nobody; an enterprise certificate of an unknown organization makes none; the
# registrations stop at the address's limit (rate_limited). The first logins and the
# concurrent ones again with directory.backend = ldap on a slapd of slapd.sh.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/slapd.sh"
need_authd
make_tmp certreg
PID= SLAPD_PID=
PIDS_TO_STOP="PID SLAPD_PID"

ID_C=110101199003070011    # pc's, and pd's: nobody's until the concurrent logins
ID_Q=110101198505050024    # pq's: a certificate with no usable name
pki_setup
pki_cert "$P" pc sm2 "/CN=Chen Qi/O=CA A" ia "$PKI_EE_EXT
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$ID_C" &&
  pki_cert "$P" pd sm2 "/CN=Chen Qi/O=CA A" ia "$PKI_EE_EXT
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$ID_C" &&
  pki_cert "$P" pq sm2 "/CN=Holder $ID_Q/O=CA A" ia "$PKI_EE_EXT
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$ID_Q" || die "openssl: pc, pd, pq"
pki_crl "$P" ia ia "$(pki_serial "$P" pv)" || die "openssl ca -gencrl failed"
cat >"$TMP/authd.conf" <<EOF
state_dir = $S
http.listen = 127.0.0.1:$PORT
cert.ca.a.roots = $P/ra.pem
cert.ca.a.intermediates = $P/ia.pem
cert.ca.a.crl = $P/ia.crl
EOF
start_authd -c "$TMP/authd.conf"

# person_json ID: authctl user show ID (empty when nobody).
person_json() { "$AUTHCTL" -c "$TMP/authd.conf" user show "$1" 2>/dev/null || true; }
# jget JSON KEY: a top-level member (a nested one as a.b).
jget() {
  "$PY" -c 'import sys,json
v=json.loads(sys.argv[1] or "{}")
for k in sys.argv[2].split("."): v=v.get(k,"") if isinstance(v,dict) else ""
print(v)' "$1" "$2"
}
# Off: refused as before, nobody made.
pki_login pa
pki_refused "pa with cert.auto_register off" 403 "未找到与该证书身份对应的账号" no_account
[[ -z $(person_json "$PKI_ID_A") ]] && ok "nobody was made while it is off" ||
  fail "a person was made with auto_register off"

printf 'cert.auto_register = true\n' >>"$TMP/authd.conf"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"

# first_login_makes: pa's first login makes the person (LoA 4, origin cert, the
# certificate bound, audited); its next login is the same person.
first_login_makes() {
  pki_login pa
  [[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value b yh_sid) ]] &&
    ok "pa's first login with cert.auto_register makes the person and logs in" ||
    fail "pa: $STATUS $LOCATION $(grep -o 'class="alert[^<]*<[^<]*' "$TMP/body" | head -2)"
  J=$(person_json "$PKI_ID_A")
  [[ $(jget "$J" name) == "Zhang San" && $(jget "$J" origin) == cert && $(jget "$J" loa) == 4 &&
    $(jget "$J" loa_method) == ca && $(jget "$J" loa_by) == cert:a && $(jget "$J" status) == active ]] &&
    ok "the person has the certificate's name, origin cert, LoA 4 by ca" || fail "person: $J"
  UID_A=$(jget "$J" uid)
  (($(audit_count register '"method":"cert"' '"origin":"cert"' '"result":"created"' "\"$UID_A\"") == 1)) &&
    ok "the registration is audited as made by certificate" ||
    fail "register audit: $(grep '"event":"register"' "$S/audit.log" | tail -1)"
  (($(audit_count login.success '"method":"cert"' '"registered":true' '"binding":"new"' '"loa":4' "\"$UID_A\"") == 1)) &&
    ok "the login is audited as registering, the certificate bound, LoA 4" ||
    fail "login.success: $(grep '"event":"login.success"' "$S/audit.log" | tail -1)"
  req b GET /account
  [[ $STATUS == 200 && $BODY == *'已绑定的数字证书'* && $BODY == *'首次使用数字证书登录时开设'* ]] &&
    ok "the account page lists the certificate and says how the account was opened" ||
    fail "account page: $STATUS"
  # The next login is the same person, the certificate known.
  pki_login pa
  [[ $STATUS == 303 ]] &&
    (($(audit_count login.success '"registered":false' '"binding":"known"' "\"$UID_A\"") == 1)) &&
    ok "pa's second login is the same person, nothing made" ||
    fail "second login: $STATUS $(grep '"event":"login.success"' "$S/audit.log" | tail -1)"
  (($(audit_count register) == 1)) && ok "one registration so far" || fail "registrations: $(audit_count register)"
}
first_login_makes

# No usable name: the CN holds an ID number.
pki_login pq
pki_refused "pq (no usable name)" 403 "未载明可用的姓名" no_name
[[ -z $(person_json "$ID_Q") ]] && ok "nobody was made for a certificate without a name" ||
  fail "pq's person was made"

# An enterprise certificate of no organization makes none.
pki_login ea
pki_refused "ea (no organization)" 403 "未找到与该证书身份对应的账号" no_account
[[ -z $(ctl org show "$PKI_USCC" 2>/dev/null) ]] && ok "no organization was made" ||
  fail "an organization was made from an enterprise certificate"

# Two first logins of one ID number at once (two certificates, two browsers): one person.
# sig_for JAR NAME: JAR's challenge (CH_JAR, CSRF_JAR) and NAME's signature of it.
declare -A CHS CSRFS SIGS
sig_for() {
  rm -f "$TMP/$1.jar"
  req "$1" GET '/login/cert?next=%2Faccount'
  req "$1" GET /login/cert/challenge
  CHS[$1]=$(jget "$BODY" challenge)
  CSRFS[$1]=$(jget "$BODY" csrf)
  printf '%s' "${CHS[$1]}" >"$TMP/msg"
  SIGS[$1]=$(openssl dgst -sm3 -sign "$P/$2.key" -sigopt distid:1234567812345678 "$TMP/msg" | base64 -w0)
}
# post_bg JAR NAME: the POST in the background, its status into $TMP/JAR.status.
post_bg() {
  curl -s --max-time 30 -o /dev/null -w '%{http_code}' -b "$TMP/$1.jar" -c "$TMP/$1.jar" \
    -X POST "$BASE/login/cert" --data-urlencode "csrf=${CSRFS[$1]}" \
    --data-urlencode "next=/account" --data-urlencode "challenge=${CHS[$1]}" \
    --data-urlencode "cert@$P/$2.pem" --data-urlencode "signature=${SIGS[$1]}" \
    >"$TMP/$1.status" &
}
# at_once_makes_one: pc's and pd's first logins (one ID number) at once make one person.
at_once_makes_one() {
  sig_for c1 pc
  sig_for c2 pd
  post_bg c1 pc
  p1=$!
  post_bg c2 pd
  p2=$!
  wait "$p1" "$p2"
  [[ $(cat "$TMP/c1.status") == 303 && $(cat "$TMP/c2.status") == 303 ]] &&
    ok "two concurrent first logins of one ID number both log in" ||
    fail "concurrent logins: $(cat "$TMP/c1.status") $(cat "$TMP/c2.status") $(grep '"event":"login.failure"' "$S/audit.log" | tail -2)"
  J=$(person_json "$ID_C")
  UID_C=$(jget "$J" uid)
  [[ -n $UID_C ]] && (($(audit_count register "\"$UID_C\"") == 1 && $(audit_count register) == 2)) &&
    (($(audit_count login.success "\"$UID_C\"") == 2)) &&
    ok "they made one person, registered once, both logins theirs" ||
    fail "concurrent: uid $UID_C, registrations $(audit_count register), logins $(audit_count login.success "\"$UID_C\"")"
  (($(audit_count login.success "\"$UID_C\"" '"binding":"new"') == 2)) &&
    ok "both certificates are bound to that person" ||
    fail "bindings: $(grep "\"$UID_C\"" "$S/audit.log" | grep -o '"binding":"[a-z]*"')"
}
at_once_makes_one

# The registrations count against the client's address as the form's do (20 an hour):
# new persons' certificates log in until one is refused (rate_limited), which makes
# nobody.
ids=$("$PY" -c 'w=[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]
for i in range(24):
  b="3101151980%02d%02d%03d" % (1 + i % 12, 1 + i, 100 + i)
  print(b + "10X98765432"[sum(int(c) * x for c, x in zip(b, w)) % 11])')
LIMITED=
n=0
for id in $ids; do
  n=$((n + 1))
  pki_cert "$P" "r$n" sm2 "/CN=Holder/O=CA A" ia "$PKI_EE_EXT
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$id" || die "openssl: r$n"
  pki_login "r$n"
  if [[ $STATUS == 429 ]]; then LIMITED=$id; break; fi
  [[ $STATUS == 303 ]] || { fail "r$n: $STATUS"; break; }
done
[[ -n $LIMITED && $BODY == *'注册请求过于频繁'* ]] &&
  (($(audit_count login.failure '"reason":"rate_limited"') == 1 && $(audit_count register) <= 20)) &&
  ok "registrations by certificate stop at the address's limit ($(audit_count register) made)" ||
  fail "no rate limit: $STATUS after $n certificates, $(audit_count register) registrations"
[[ -n $LIMITED && -z $(person_json "$LIMITED") ]] && ok "the refused one made nobody" ||
  fail "the rate-limited certificate made a person"

check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"

# The same on the LDAP directory (slapd.sh): a fresh state, the persons in slapd.
slapd_missing && die "slapd or ldap-utils not installed (apt-get install slapd ldap-utils)"
slapd_start "$TMP/slapd" || die "slapd did not start"
mv "$TMP/authd.log" "$TMP/authd-sqlite.log"
S=$TMP/state-ldap
cat >"$TMP/authd.conf" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
cert.ca.a.roots = $P/ra.pem
cert.ca.a.intermediates = $P/ia.pem
cert.ca.a.crl = $P/ia.crl
cert.auto_register = yes
directory.backend = ldap
directory.ldap_uris = $SLAPD_URI
directory.ldap_base = $SLAPD_SUFFIX
directory.ldap_bind_dn = $SLAPD_ADMIN_DN
directory.ldap_password = $SLAPD_ADMIN_PW
CONF
"$AUTHCTL" -c "$TMP/authd.conf" directory init >/dev/null 2>"$TMP/init.err" ||
  die "directory init on slapd: $(cat "$TMP/init.err")"
start_authd -c "$TMP/authd.conf"
echo "-- on the LDAP directory"
first_login_makes
at_once_makes_one
check_stop_authd
no_errors_in "authd logged errors (LDAP)" "$TMP/authd.log"
no_sanitizer_in "sanitizer report" "$TMP/authd.log"
finish "cert_register: all checks passed"
