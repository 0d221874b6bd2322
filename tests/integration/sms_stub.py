# A stand-in for an SMS platform's HTTP API, for tests/integration/sms_gateway.sh:
# POST (any path) answers as the file MODE_FILE says at each request:
#   ok        {"code":"OK","message":"发送成功"}
#   refuse    {"code":"E101","message":"签名不存在"} (status 200: the platform's own refusal)
#   timeout   sleeps 3 s, then answers as ok (the client gave up before)
#   500once   status 500 once, and the mode becomes ok (a retry then succeeds)
# Each request is appended to LOG_FILE as one JSON line: path, the Authorization and
# Content-Type headers and the request body. Usage: sms_stub.py PORT MODE_FILE LOG_FILE
import http.server, json, sys, time

port, mode_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]

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
        status, out = 200, {"code": "OK", "message": "发送成功"}
        if mode == "timeout":
            time.sleep(3)
        elif mode == "refuse":
            out = {"code": "E101", "message": "签名不存在"}
        elif mode == "500once":
            with open(mode_file, "w") as f:
                f.write("ok\n")
            status, out = 500, {"code": "E500", "message": "internal error"}
        data = json.dumps(out, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *a):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
