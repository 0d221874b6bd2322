#!/usr/bin/env bash
# CRLs fetched by URL (cert.ca.NAME.crl = http://...) through the real authd: a python3
# http.server on a loopback port publishes CA a's CRL. authd fetches it in the
# background (never on a login), keeps the last good copy in STATE_DIR/crl, fetches
# again on SIGHUP and before nextUpdate: a certificate revoked in a newly published CRL
# is refused after the refresh; a restart with the server down uses the copy; a
# tampered CRL is not taken (the CRL in force stays); without cert.ca.a.crl, the
# distribution point a certificate names is learned at its login and fetched.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
need_authd
make_tmp certcrl
PID= WPID=
PIDS_TO_STOP="PID WPID"

WPORT=$(free_port)
W=$TMP/www
mkdir -p "$W"
pki_setup
# publish SERIAL...: CA a's intermediate's CRL listing SERIALs on the web server.
publish() { pki_publish "$P" "$W" ia "$@"; }
publish
# logged_since MARK RE: authd's log has a line matching RE after line MARK (waits 10 s).
logged_since() {
  for _ in $(seq 1 100); do
    tail -n +"$(($1 + 1))" "$TMP/authd.log" | grep -q "$2" && return 0
    sleep 0.1
  done
  return 1
}
pki_serve "$W" "$WPORT" ia.crl
cat >"$TMP/authd.conf" <<EOF2
state_dir = $S
http.listen = 127.0.0.1:$PORT
cert.ca.a.roots = $P/ra.pem
cert.ca.a.intermediates = $P/ia.pem
cert.ca.a.crl = http://127.0.0.1:$WPORT/ia.crl
EOF2
start_authd -c "$TMP/authd.conf"
stop_authd || die "authd did not stop cleanly"
pki_holder "$PKI_ID_A"

# taken N: waits (at most 10 s) until authd's log says N CRLs were taken.
taken() { pki_crl_taken "$1"; }

start_authd -c "$TMP/authd.conf"
taken 1 && ok "the CRL is fetched in the background at start" || fail "no CRL fetched"
[[ -s $S/crl/a.crl ]] && cmp -s "$S/crl/a.crl" "$W/ia.crl" &&
  ok "its last good copy is kept in STATE_DIR/crl" || fail "no copy in $S/crl"
pki_login pa
[[ $STATUS == 303 ]] && (($(audit_count login.success '"revocation":"good"' '"revocation_source":"crl:') == 1)) &&
  ok "pa logs in, the fetched CRL as the revocation source" || fail "pa: $STATUS"

# pa revoked: published, taken on SIGHUP, refused.
sleep 1.1   # a later thisUpdate
publish "$(pki_serial "$P" pa)"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
taken 2 && ok "SIGHUP fetches the CRL again" || fail "no fetch after SIGHUP"
pki_login pa
[[ $STATUS == 403 && $BODY == *'已被吊销'* ]] && ok "pa refused once the new CRL is taken" ||
  fail "pa after revocation: $STATUS"

# A tampered CRL (one byte of its signature changed) is not taken; the one in force stays.
sleep 1.1
"$PY" - "$W/ia.crl" <<'PYEOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-5] ^= 0x01
open(p, "wb").write(bytes(b))
PYEOF
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
logged_since "$mark" 'has a signature that does not verify: not taken' &&
  ok "a tampered CRL is not taken" || fail "tampered CRL: $(tail -n 3 "$TMP/authd.log")"
pki_login pa
[[ $STATUS == 403 && $BODY == *'已被吊销'* ]] && ok "the CRL in force stays" || fail "after tampering: $STATUS"
cmp -s "$S/crl/a.crl" "$P/ia.crl" && ok "the copy on disk is still the last good one" ||
  fail "the copy was replaced by the tampered CRL"

# A CRL of one partition (a critical issuingDistributionPoint naming another URL) does
# not speak for every certificate of its issuer: it is not taken, though it is newer and
# does not list pa; so is a delta CRL (critical deltaCRLIndicator, 2.5.29.27).
for ext in "issuingDistributionPoint=critical,@idp
[idp]
fullname=URI:http://127.0.0.1:$WPORT/part2.crl" "2.5.29.27=critical,ASN1:INTEGER:1"; do
  sleep 1.1
  PKI_CRL_EXT=$ext publish
  mark=$(wc -l <"$TMP/authd.log")
  hup_and_wait "$mark"
  logged_since "$mark" 'critical extension.*: not taken' &&
    ok "a CRL with ${ext%%=*} is not taken" || fail "${ext%%=*}: $(tail -n 3 "$TMP/authd.log")"
  pki_login pa
  [[ $STATUS == 403 && $BODY == *'已被吊销'* ]] && ok "pa still refused after the ${ext%%=*} CRL" ||
    fail "after the ${ext%%=*} CRL: $STATUS"
done

# A restart with the web server down: the copy says pa is revoked, no network needed.
check_stop_authd
stop_pid "$WPID"
WPID=
start_authd -c "$TMP/authd.conf"
pki_login pa
[[ $STATUS == 403 && $BODY == *'已被吊销'* ]] && ok "after a restart without the server, the copy is used" ||
  fail "restart without the server: $STATUS"
for _ in $(seq 1 50); do
  grep -q 'cert.ca.a.crl: http://127.0.0.1:[0-9]*/ia.crl: .*tried again' "$TMP/authd.log" && break
  sleep 0.1
done
grep -q 'cert.ca.a.crl: http://127.0.0.1:[0-9]*/ia.crl: .*tried again' "$TMP/authd.log" &&
  ok "the failed fetch is logged and retried later" || fail "no fetch failure logged"

# Before nextUpdate: a CRL valid 8 s is fetched again without a SIGHUP (at 3/4 of its
# life), so pa, revoked, is let in again once a CRL without pa is published.
pki_serve "$W" "$WPORT" ia.crl
sleep 1.1
PKI_CRL_SEC=8 publish "$(pki_serial "$P" pa)"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
n=$(grep -c 'a new CRL from' "$TMP/authd.log")
sleep 1.1
PKI_CRL_SEC=8 publish
for _ in $(seq 1 120); do
  (($(grep -c 'a new CRL from' "$TMP/authd.log") > n)) && break
  sleep 0.1
done
pki_login pa
[[ $STATUS == 303 ]] && ok "a CRL near its nextUpdate is fetched again without a SIGHUP" ||
  fail "refresh before nextUpdate: $STATUS ($(grep -c 'a new CRL from' "$TMP/authd.log") taken)"

# The certificate's CRL distribution point: CA a without cert.ca.a.crl. pc names the
# server's ia.crl; its first login comes before any CRL of CA a (unknown: fail closed
# refuses) and makes authd fetch it in the background; then pc logs in, and pv is
# refused as revoked by that CRL. The copy of the URL configured before is removed, so
# nothing else could have given the CRL.
check_stop_authd
pki_cert "$P" pc sm2 "/CN=Zhang San/O=CA A" ia "$PKI_EE_EXT
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$PKI_ID_A
crlDistributionPoints=URI:http://127.0.0.1:$WPORT/ia.crl" || die "openssl: pc"
sleep 1.1
publish "$(pki_serial "$P" pv)"
grep -v '^cert.ca.a.crl' "$TMP/authd.conf" >"$TMP/authd.conf.cdp"
mv "$TMP/authd.conf.cdp" "$TMP/authd.conf"
rm -f "$S/crl/a.crl"
n=$(grep -c 'a new CRL from' "$TMP/authd.log")
start_authd -c "$TMP/authd.conf"
pki_login pc
[[ $STATUS == 403 && $BODY == *'暂时无法确认'* ]] &&
  ok "the first login naming a distribution point: no CRL yet (fail closed)" ||
  fail "pc first: $STATUS"
for _ in $(seq 1 100); do
  (($(grep -c "a new CRL from http://127.0.0.1:$WPORT/ia.crl" "$TMP/authd.log") > n)) && break
  sleep 0.1
done
pki_login pc
[[ $STATUS == 303 ]] && ok "the distribution point's CRL fetched in the background: pc logs in" ||
  fail "pc after the fetch: $STATUS"
pki_login pv
[[ $STATUS == 403 && $BODY == *'已被吊销'* ]] && ok "pv refused by the distribution point's CRL" ||
  fail "pv by the CDP's CRL: $STATUS"
[[ -s $S/crl/a.crl ]] && ok "its copy is kept too" || fail "no copy of the CDP's CRL"

check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"
no_sanitizer_in "sanitizer report" "$TMP/authd.log"
finish "cert_crl: all checks passed"
