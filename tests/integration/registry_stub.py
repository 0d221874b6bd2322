# A stand-in for a provincial registry's JSON API, for tests/integration/registry.sh:
# POST /person and POST /org answer as the file MODE_FILE says at each request:
#   match     {"code":0,"data":{"result":"一致","message":"核验通过"}}
#   mismatch  {"code":0,"data":{"result":"不一致","message":"姓名与号码不一致"}}
#   timeout   sleeps 4 s, then answers as match (the client gave up before)
#   500       status 500 with a JSON body
#   garbage   status 200 with a body that is not JSON
# Each request is appended to LOG_FILE as one JSON line: path, the Authorization header
# and the request body. Usage: registry_stub.py PORT MODE_FILE LOG_FILE
import http.server, json, sys, time

port, mode_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]

ANSWERS = {
    "match": {"code": 0, "data": {"result": "一致", "message": "核验通过"}},
    "mismatch": {"code": 0, "data": {"result": "不一致", "message": "姓名与号码不一致"}},
}

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 65536)).decode("utf-8", "replace")
        with open(mode_file) as f:
            mode = f.read().strip()
        with open(log_file, "a") as f:
            f.write(json.dumps({"path": self.path, "auth": self.headers.get("Authorization", ""),
                                "ctype": self.headers.get("Content-Type", ""),
                                "body": body}, ensure_ascii=False) + "\n")
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
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
