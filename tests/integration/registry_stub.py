# A stand-in for a provincial registry's JSON API, for tests/integration/registry.sh:
# POST /person and POST /org answer as the file MODE_FILE says at each request:
#   match     {"code":0,"data":{"result":"一致","message":"核验通过"}}
#   mismatch  {"code":0,"data":{"result":"不一致","message":"姓名与号码不一致"}}
#   timeout   sleeps 4 s, then answers as match (the client gave up before)
#   500       status 500 with a JSON body
#   garbage   status 200 with a body that is not JSON
# Each request is appended to LOG_FILE as one JSON line: path, the Authorization header
# and the request body. Usage: registry_stub.py PORT MODE_FILE LOG_FILE
import json, time
from stub_http import StubHandler, serve

ANSWERS = {
    "match": {"code": 0, "data": {"result": "一致", "message": "核验通过"}},
    "mismatch": {"code": 0, "data": {"result": "不一致", "message": "姓名与号码不一致"}},
}

class H(StubHandler):
    def do_POST(self):
        mode = self.take_request()
        status, out = 200, None
        if mode == "timeout":
            time.sleep(4)
            mode = "match"
        if mode in ANSWERS:
            out = json.dumps(ANSWERS[mode], ensure_ascii=False).encode()
        elif mode == "500":
            status, out = 500, b'{"code":500,"message":"internal error"}'
        else:
            out = b"<html>Service Unavailable</html>"
        self.answer(status, out)

    def do_GET(self):
        self.send_response(204)
        self.end_headers()

serve(H)
