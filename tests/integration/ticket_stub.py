# A stand-in for a provincial platform's ticket login, for
# tests/integration/upstream_ticket.sh:
#   GET /login?appId=A&service=URL   sends the browser back to URL with ticket=ST-n
#   POST /validate                   appId, ticket, service, timestamp, nonce, sign (the
#                                    HMAC of the other fields sorted by name, "k=v" joined
#                                    by "&", keyed with the app's secret: SHA-256 for app
#                                    hall, SM3 for app hallsm3; for app hallsm2 the
#                                    base64 DER SM2/SM3 signature, checked with the
#                                    public key SM2_PUB by the openssl command), checked
#                                    honestly; then as
#                                    the file MODE_FILE says:
#     ok       {"code":"0","data":{"user":{"id":"t1","idCard":ID,"name":"王小明"}}} once
#              per ticket; a ticket used before: {"code":"1001","msg":"ticket used"}
#     timeout  sleeps 4 s first
#     500      status 500
#   a bad signature: {"code":"1002","msg":"bad signature"}; a ticket it never issued:
#   {"code":"1003","msg":"unknown ticket"}
# Usage: ticket_stub.py PORT MODE_FILE LOG_FILE ID SECRET [SM2_PUB]
import base64, hashlib, hmac, json, os, subprocess, sys, tempfile, time, urllib.parse
from stub_http import StubHandler, serve

ID, SECRET = sys.argv[4], sys.argv[5].encode()
SM2_PUB = sys.argv[6] if len(sys.argv) > 6 else None
DIGEST = {"hall": "sha256", "hallsm3": "sm3"}
USED, ISSUED = set(), set()
COUNT = [0]


def sm2_ok(base, sig):
    """The openssl command's verdict on the SM2 signature sig (base64 DER) of base."""
    with tempfile.TemporaryDirectory() as d:
        m, g = os.path.join(d, "m"), os.path.join(d, "s")
        open(m, "wb").write(base.encode())
        try:
            open(g, "wb").write(base64.b64decode(sig, validate=True))
        except ValueError:
            return False
        return subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", SM2_PUB,
                               "-rawin", "-digest", "sm3", "-in", m, "-sigfile", g,
                               "-pkeyopt", "distid:1234567812345678"],
                              capture_output=True).returncode == 0


class H(StubHandler):
    def do_GET(self):
        self.take_request()
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        COUNT[0] += 1
        svc = q.get("service", "")
        ISSUED.add("ST-%d" % COUNT[0])
        loc = svc + ("&" if "?" in svc else "?") + "ticket=ST-%d" % COUNT[0]
        self.send_response(302)
        self.send_header("Location", loc)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        mode = self.take_request()
        with open(sys.argv[3]) as f:
            form = dict(urllib.parse.parse_qsl(json.loads(f.readlines()[-1])["body"]))
        if mode == "timeout":
            time.sleep(4)
        if mode == "500":
            self.answer(500, b'{"code":"500"}')
            return
        base = "&".join("%s=%s" % (k, form[k]) for k in sorted(form) if k != "sign")
        if form.get("appId") == "hallsm2":
            good = SM2_PUB is not None and sm2_ok(base, form.get("sign", ""))
        else:
            want = hmac.new(SECRET, base.encode(), DIGEST.get(form.get("appId"), "sha256")).hexdigest()
            good = hmac.compare_digest(want, form.get("sign", ""))
        if not good:
            self.answer(200, b'{"code":"1002","msg":"bad signature"}')
            return
        t = form.get("ticket", "")
        if t not in ISSUED:
            self.answer(200, b'{"code":"1003","msg":"unknown ticket"}')
            return
        if t in USED:
            self.answer(200, b'{"code":"1001","msg":"ticket used"}')
            return
        USED.add(t)
        self.answer(200, json.dumps({"code": "0", "data": {"user": {
            "id": "t1", "idCard": ID, "name": "王小明"}}}, ensure_ascii=False).encode())


serve(H)
