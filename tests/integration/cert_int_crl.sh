#!/usr/bin/env bash
# Revocation of the intermediates of a path through the real authd and authctl: CA c's
# intermediate ic (under Root A) names its issuer's CRL as a distribution point on a
# loopback http.server. authd learns it when the trust is loaded and fetches it in the
# background before any login; pi (under ic) logs in while Root A's CRL does not list
# ic, and is refused (issuer_revoked, a page saying the issuing CA's certificate was
# revoked) once a CRL listing ic is published and taken; with no CRL of Root A in force
# (the server down, no copy) pi is refused under fail closed. `authctl cert check` shows
# each certificate's revocation status and source, also for an intermediate revoked by
# Root A's CRL given as the CA's cert.ca.NAME.crl file.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
need_authd
make_tmp certintcrl
PID= WPID=
PIDS_TO_STOP="PID WPID"

WPORT=$(free_port)
W=$TMP/www
mkdir -p "$W"
pki_setup
pki_cert "$P" ic sm2 "/CN=CA A Branch/O=CA A" ra "$PKI_CA_EXT
authorityKeyIdentifier=keyid
crlDistributionPoints=URI:http://127.0.0.1:$WPORT/ra.crl" &&
  pki_cert "$P" pi sm2 "/CN=Zhang San/O=CA A" ic "$PKI_EE_EXT
1.2.156.10260.4.1.1=ASN1:PRINTABLESTRING:$PKI_ID_A" || die "openssl: ic, pi"
pki_crl "$P" ic ic || die "openssl ca -gencrl (ic) failed"
# publish SERIAL...: Root A's CRL listing SERIALs on the web server.
publish() { pki_publish "$P" "$W" ra "$@"; }
publish
pki_serve "$W" "$WPORT" ra.crl
cat >"$TMP/authd.conf" <<EOF
state_dir = $S
http.listen = 127.0.0.1:$PORT
cert.ca.c.roots = $P/ra.pem
cert.ca.c.intermediates = $P/ic.pem
cert.ca.c.crl = $P/ic.crl
EOF
start_authd -c "$TMP/authd.conf"
stop_authd || die "authd did not stop cleanly"
pki_holder "$PKI_ID_A"

# taken N: waits (at most 10 s) until authd's log says N CRLs of ra.crl were taken.
taken() { pki_crl_taken "$1" "http://127.0.0.1:$WPORT/ra.crl"; }
# ctl_check NAME WANT_RC JS [CONF]: authctl cert check of NAME.pem exits WANT_RC and its
# JSON (d) satisfies the JavaScript condition JS.
ctl_check() {
  local rc
  timeout 30 "$AUTHCTL" -c "${4:-$TMP/authd.conf}" cert check "$P/$1.pem" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  if ((rc == $2)) && node -e "const d = JSON.parse(require('fs').readFileSync('$TMP/out', 'utf8'));
      process.exit(($3) ? 0 : 1)"; then
    ok "authctl cert check $1: $3"
  else
    fail "authctl cert check $1: exit $rc (want $2), $(head -c 900 "$TMP/out" "$TMP/err")"
  fi
}

start_authd -c "$TMP/authd.conf"
taken 1 && ok "the intermediate's distribution point is fetched at start, before any login" ||
  fail "Root A's CRL not fetched: $(grep -i crl "$TMP/authd.log" | tail -3)"
COPY=$S/crl/c.int-$(printf '%s' "http://127.0.0.1:$WPORT/ra.crl" | sha256sum | cut -c1-16).crl
[[ -s $COPY ]] && ok "its copy is kept as STATE_DIR/crl/c.int-HEX.crl (HEX of its URL)" ||
  fail "no copy $COPY: $(ls "$S/crl" 2>&1)"
pki_login pi
[[ $STATUS == 303 ]] && ok "pi logs in while Root A's CRL does not list ic" ||
  fail "pi: $STATUS $(grep -o 'class="alert[^<]*<[^<]*' "$TMP/body" | head -1)"
ctl_check pi 0 "d.ok && d.path.length === 3 &&
  d.path[0].revocation.status === 'good' && /^crl:/.test(d.path[0].revocation.source) &&
  d.path[1].revocation.status === 'good' && /^crl:/.test(d.path[1].revocation.source) &&
  d.path[2].revocation.status === 'trust_anchor'"

# ic revoked by Root A: published, taken on SIGHUP, pi refused with its reason.
sleep 1.1
publish "$(pki_serial "$P" ic)"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
taken 2 && ok "SIGHUP fetches Root A's CRL again" || fail "no fetch after SIGHUP"
pki_login pi
pki_refused "pi under a revoked intermediate" 403 "中级证书机构的证书已被吊销" issuer_revoked
(($(audit_count login.failure '"reason":"issuer_revoked"' '"revocation":"revoked"') == 1)) &&
  ok "the refusal is audited as revoked" || fail "audit: $(grep issuer_revoked "$S/audit.log" | tail -1)"
ctl_check pi 1 "!d.ok && d.reason === 'revoked' && /intermediate/.test(d.detail) &&
  d.path[1].revocation.status === 'revoked' && /^crl:/.test(d.path[1].revocation.source) &&
  d.revocation.status === 'revoked'"

# No CRL of Root A in force (the server down, the copy gone): unknown, fail closed.
check_stop_authd
stop_pid "$WPID"
WPID=
rm -f "$COPY"
start_authd -c "$TMP/authd.conf"
pki_login pi
pki_refused "pi with no CRL of ic's issuer in force (fail closed)" 403 "暂时无法确认" revocation_unknown
(($(audit_count login.failure '"reason":"revocation_unknown"' 'no CRL in force for the intermediate') == 1)) &&
  ok "the audit line says which intermediate has no CRL" ||
  fail "audit: $(grep revocation_unknown "$S/audit.log" | tail -1)"
check_stop_authd

# Root A's CRL as CA a's configured file (fail open: pa's own status unknown is let
# through, so only the intermediate refuses it).
pki_crl "$P" ra ra "$(pki_serial "$P" ia)" || die "openssl ca -gencrl (ra) failed"
cat >"$TMP/file.conf" <<EOF
state_dir = $S
cert.ca.a.roots = $P/ra.pem
cert.ca.a.intermediates = $P/ia.pem
cert.ca.a.crl = $P/ra.crl
cert.ca.a.fail = open
EOF
ctl_check pa 1 "!d.ok && d.reason === 'revoked' && d.path[0].revocation.status === 'unknown' &&
  d.path[1].revocation.status === 'revoked' && d.path[2].revocation.status === 'trust_anchor'" \
  "$TMP/file.conf"
# Without any source for ia's issuer, ia is not checked (as before).
sed -i '/^cert.ca.a.crl/d' "$TMP/file.conf"
ctl_check pa 0 "d.ok && d.path[1].revocation.status === 'not_checked' &&
  d.revocation.status === 'unknown_accepted'" "$TMP/file.conf"

no_errors_in "authd logged errors" "$TMP/authd.log"
no_sanitizer_in "sanitizer report" "$TMP/authd.log"
finish "cert_int_crl: all checks passed"
