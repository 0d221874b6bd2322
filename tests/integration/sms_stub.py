# A stand-in for an SMS platform's HTTP API, for tests/integration/sms_gateway.sh:
# POST (any path) answers as the file MODE_FILE says at each request:
#   ok        {"code":"OK","message":"发送成功"}
#   refuse    {"code":"E101","message":"签名不存在"} (status 200: the platform's own refusal)
#   timeout   sleeps 3 s, then answers as ok (the client gave up before)
#   500once   status 500 once, and the mode becomes ok (a retry then succeeds)
# Each request is appended to LOG_FILE as one JSON line: path, the Authorization and
# Content-Type headers and the request body. Usage: sms_stub.py PORT MODE_FILE LOG_FILE
import json, time
from stub_http import StubHandler, mode_file, serve

class H(StubHandler):
    def do_POST(self):
        mode = self.take_request()
        status, out = 200, {"code": "OK", "message": "发送成功"}
        if mode == "timeout":
            time.sleep(3)
        elif mode == "refuse":
            out = {"code": "E101", "message": "签名不存在"}
        elif mode == "500once":
            with open(mode_file, "w") as f:
                f.write("ok\n")
            status, out = 500, {"code": "E500", "message": "internal error"}
        self.answer(status, json.dumps(out, ensure_ascii=False).encode())

serve(H)
