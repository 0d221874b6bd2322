#!/usr/bin/env bash
# OCSP (RFC 6960) for certificate logins through the real authd: `openssl ocsp` answers
# as CA a's responder on a loopback port, signing with the SM2 intermediate's key (SM3,
# the default distinguishing ID). With cert.ca.a.revocation = ocsp: pa (good) logs in
# with the response as the revocation source, pv (revoked) is refused; a response
# tampered with on the way (a proxy flipping a byte of its signature) is not taken;
# with the responder down a fresh authd refuses under fail closed and accepts, audited,
# under fail open; a cached good answer serves a login while the responder is down; a
# delegated responder with id-kp-OCSPSigning is believed, one without it is not.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
need_authd
make_tmp certocsp
PID= OPID= XPID=
PIDS_TO_STOP="PID OPID XPID"

PORT=$(free_port)
OPORT=$(free_port)
XPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
P=$TMP/pki
pki_build "$P" || die "building the test PKI with openssl failed"
printf 'V\t301231000000Z\t\t%s\tunknown\t/CN=Zhang San\nR\t301231000000Z\t250101000000Z\t%s\tunknown\t/CN=x\n' \
  "$(pki_serial "$P" pa)" "$(pki_serial "$P" pv)" >"$TMP/index"
# responder: starts `openssl ocsp` (ready once it says it waits: it serves one
# connection at a time, and a probe connection would hold it).
responder() {
  : >"$TMP/ocsp.log"
  openssl ocsp -index "$TMP/index" -port "$OPORT" -rsigner "$P/${RSIGNER:-ia}.pem" \
    -rkey "$P/${RSIGNER:-ia}.key" \
    -CA "$P/ia.pem" -rmd sm3 -rsigopt distid:1234567812345678 -nmin 60 -ignore_err ${OCSP_OPTS:-} \
    >>"$TMP/ocsp.log" 2>&1 &
  OPID=$!
  for _ in $(seq 1 100); do
    grep -q 'waiting for OCSP client connections' "$TMP/ocsp.log" && return 0
    sleep 0.1
  done
  die "openssl ocsp did not start"
}
responder
# A proxy that flips one byte of the responder's signature.
"$PY" - "$XPORT" "$OPORT" >"$TMP/proxy.log" 2>&1 <<'PYEOF' &
import http.server, sys, urllib.request
port, up = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = urllib.request.Request("http://127.0.0.1:%s/" % up, data=body,
                                     headers={"Content-Type": "application/ocsp-request"})
        data = bytearray(urllib.request.urlopen(req, timeout=5).read())
        data[-3] ^= 0x01
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(bytes(data))
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PYEOF
XPID=$!

conf() {   # conf URL FAIL
  cat >"$TMP/authd.conf" <<EOF2
state_dir = $S
http.listen = 127.0.0.1:$PORT
cert.ca.a.roots = $P/ra.pem
cert.ca.a.intermediates = $P/ia.pem
cert.ca.a.revocation = ocsp
cert.ca.a.ocsp = $1
cert.ca.a.fail = $2
EOF2
}
conf "http://127.0.0.1:$OPORT/" closed
start_authd -c "$TMP/authd.conf"
stop_authd || die "authd did not stop cleanly"
printf '%s\n' 'Cert person 2026!' | ctl_or_die user add --id-number "$PKI_ID_A" --name 持证人 \
  --password-stdin


start_authd -c "$TMP/authd.conf"
pki_login pa
[[ $STATUS == 303 ]] &&
  (($(audit_count login.success '"revocation":"good"' '"revocation_source":"ocsp:') == 1)) &&
  ok "pa logs in, the SM2 responder's answer as the revocation source" ||
  fail "pa: $STATUS $(grep -o '"revocation_detail":"[^"]*"' "$S/audit.log" | tail -1)"
pki_login pv
[[ $STATUS == 403 && $BODY == *'已被吊销'* ]] &&
  (($(audit_count login.failure '"reason":"revoked"' '"revocation_source":"ocsp:') == 1)) &&
  ok "pv refused: revoked by OCSP" ||
  fail "pv: $STATUS $(grep -o '"revocation_detail":"[^"]*"' "$S/audit.log" | tail -1)"
# The responder down: pa's good answer is cached until its nextUpdate.
stop_pid "$OPID"
OPID=
pki_login pa
[[ $STATUS == 303 ]] && ok "a cached good answer serves while the responder is down" ||
  fail "cached: $STATUS"
check_stop_authd

# A fresh authd, responder down: fail closed refuses, fail open accepts and audits.
start_authd -c "$TMP/authd.conf"
pki_login pa
[[ $STATUS == 403 && $BODY == *'暂时无法确认'* ]] &&
  (($(audit_count login.failure '"reason":"revocation_unknown"' '"revocation_detail":"responder:') >= 1)) &&
  ok "responder down, fail closed: refused" || fail "down, closed: $STATUS"
conf "http://127.0.0.1:$OPORT/" open
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
pki_login pa
[[ $STATUS == 303 ]] && (($(audit_count login.success '"revocation":"unknown_accepted"') == 1)) &&
  ok "responder down, fail open: accepted and audited" || fail "down, open: $STATUS"

# Through the tampering proxy: the response is not taken (the responder sends no
# certificate, so the byte flipped is one of the response's signature).
OCSP_OPTS=-resp_no_certs responder
conf "http://127.0.0.1:$XPORT/" closed
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
pki_login pv
[[ $STATUS == 403 && $BODY == *'暂时无法确认'* ]] &&
  (($(audit_count login.failure '"revocation_detail":"the response'"'"'s signature does not verify"') == 1)) &&
  ok "a tampered OCSP response is rejected" ||
  fail "tampered: $STATUS $(grep revocation_detail "$S/audit.log" | tail -1)"

# A delegated responder: a certificate CA a's intermediate issued for OCSP signing may
# answer; one issued without id-kp-OCSPSigning may not.
RESP_EXT='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid'
pki_cert "$P" ocspok sm2 "/CN=CA A OCSP/O=CA A" ia "$RESP_EXT
extendedKeyUsage=OCSPSigning" && pki_cert "$P" ocspbad sm2 "/CN=CA A not OCSP/O=CA A" ia \
  "$RESP_EXT
extendedKeyUsage=clientAuth" || die "openssl: the responder certificates"
check_stop_authd
stop_pid "$OPID"
RSIGNER=ocspok responder
conf "http://127.0.0.1:$OPORT/" closed
start_authd -c "$TMP/authd.conf"
pki_login pa
[[ $STATUS == 303 ]] && ok "a responder certified for OCSP signing by the CA answers" ||
  fail "delegated responder: $STATUS $(grep -o '"revocation_detail":"[^"]*"' "$S/audit.log" | tail -1)"
check_stop_authd
stop_pid "$OPID"
RSIGNER=ocspbad responder
start_authd -c "$TMP/authd.conf"
pki_login pa
[[ $STATUS == 403 ]] &&
  (($(audit_count login.failure '"revocation_detail":"the responder may not answer for this CA"') == 1)) &&
  ok "a responder without id-kp-OCSPSigning is not believed" ||
  fail "responder without OCSPSigning: $STATUS $(grep -o '"revocation_detail":"[^"]*"' "$S/audit.log" | tail -1)"

check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"
no_sanitizer_in "sanitizer report" "$TMP/authd.log"
finish "cert_ocsp: all checks passed"
