# What the loopback stand-ins for outside HTTP JSON APIs share (registry_stub.py,
# sms_stub.py): each request's mode read from MODE_FILE, the request appended to LOG_FILE
# as one JSON line (path, the Authorization and Content-Type headers, the body), the
# answer written as JSON, and serving on 127.0.0.1. Usage of a stub: STUB PORT MODE_FILE
# LOG_FILE.
import http.server, json, sys

port, mode_file, log_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class StubHandler(http.server.BaseHTTPRequestHandler):
    def take_request(self):
        """Reads the request, logs it, and returns the mode of MODE_FILE now."""
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 65536)).decode("utf-8", "replace")
        with open(mode_file) as f:
            mode = f.read().strip()
        with open(log_file, "a") as f:
            f.write(json.dumps({"path": self.path, "auth": self.headers.get("Authorization", ""),
                                "ctype": self.headers.get("Content-Type", ""),
                                "body": body}, ensure_ascii=False) + "\n")
        return mode

    def answer(self, status, data):
        """Answers status with data (bytes) as JSON; a client that left is no error."""
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


def serve(handler):
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
