#!/usr/bin/env bash
# OCSP (RFC 6960) for certificate logins through the real authd: `openssl ocsp` answers
# as CA a's responder on a loopback port, signing with the SM2 intermediate's key (SM3,
# the default distinguishing ID). With cert.ca.a.revocation = ocsp: pa (good) logs in
# with the response as the revocation source, pv (revoked) is refused; a response
# tampered with on the way (a proxy flipping a byte of its signature) is not taken;
# with the responder down a fresh authd refuses under fail closed and accepts, audited,
# under fail open; a cached good answer serves a login while the responder is down; a
# delegated responder with id-kp-OCSPSigning is believed, one without it is not; a
# response without the nonce and without a nextUpdate is taken only while recent.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
need_authd
make_tmp certocsp
PID= OPID= XPID= RPID=
PIDS_TO_STOP="PID OPID XPID RPID"

OPORT=$(free_port)
XPORT=$(free_port)
pki_setup
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
# A replayed response for CA r: pr good as of two days ago, with no nonce and no
# nextUpdate, signed by CA r's intermediate (what someone on the path to the responder
# kept from then), served whatever the request.
RPORT=$(free_port)
"$PY" - "$RPORT" "$P" >"$TMP/replay.log" 2>&1 <<'PYEOF' &
import datetime, http.server, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
port, d = int(sys.argv[1]), sys.argv[2]
load = lambda n: x509.load_pem_x509_certificate(open("%s/%s.pem" % (d, n), "rb").read())
ee, ca = load("pr"), load("ir")
key = serialization.load_pem_private_key(open(d + "/ir.key", "rb").read(), None)
then = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
data = ocsp.OCSPResponseBuilder().add_response(
    cert=ee, issuer=ca, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
    this_update=then, next_update=None, revocation_time=None, revocation_reason=None
).responder_id(ocsp.OCSPResponderEncoding.HASH, ca).sign(key, hashes.SHA256()).public_bytes(
    serialization.Encoding.DER)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PYEOF
RPID=$!

conf() {   # conf URL FAIL
  cat >"$TMP/authd.conf" <<EOF2
state_dir = $S
http.listen = 127.0.0.1:$PORT
cert.ca.a.roots = $P/ra.pem
cert.ca.a.intermediates = $P/ia.pem
cert.ca.a.revocation = ocsp
cert.ca.a.ocsp = $1
cert.ca.a.fail = $2
cert.ca.r.roots = $P/rr.pem
cert.ca.r.intermediates = $P/ir.pem
cert.ca.r.revocation = ocsp
cert.ca.r.ocsp = http://127.0.0.1:$RPORT/
EOF2
}
conf "http://127.0.0.1:$OPORT/" closed
start_authd -c "$TMP/authd.conf"
stop_authd || die "authd did not stop cleanly"
for id in "$PKI_ID_A" "$PKI_ID_R"; do
  pki_holder "$id"
done


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
# A response without the request's nonce and without a nextUpdate, made two days ago:
# someone between authd and the responder could keep serving it after pr's revocation.
pki_login pr
[[ $STATUS == 403 && $BODY == *'暂时无法确认'* ]] &&
  (($(audit_count login.failure '"revocation_detail":"the response is not current"') == 1)) &&
  ok "a replayed OCSP response without nonce or nextUpdate is not taken" ||
  fail "replayed response: $STATUS $(grep -o '"revocation_detail":"[^"]*"' "$S/audit.log" | tail -1)"
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
