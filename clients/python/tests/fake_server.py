"""A tiny in-process stand-in for serve's ingest channels: it records every call, keeps metric
points by (key, step) as the real store does, and answers as told (a status and body per call)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "fake-token-0123456789"


class FakeServer:
    def __init__(self, token=TOKEN):
        self.token = token
        self.calls = []  # (channel, body, headers)
        self.points = {}  # (key, step) -> value
        self.script = {}  # channel -> [(status, body) or ("sleep", seconds)] answered first, in order
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                channel = self.path[len("/api/invoke/"):]
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
                with fake.lock:
                    fake.calls.append((channel, body, dict(self.headers)))
                    step = fake.script.get(channel, [None]).pop(0) if fake.script.get(channel) else None
                if step and step[0] == "sleep":
                    time.sleep(step[1])  # longer than the client's timeout: it retries
                    step = None
                if step:
                    return self.answer(*step)
                if self.headers.get("Authorization") != "Bearer " + fake.token:
                    return self.answer(401, {"ok": False, "error": {"code": "bad_request", "message": "wrong token"}})
                value = None
                if channel == "ingest:create":
                    value = {"runId": 7, "experimentId": 2, "armId": 3, "created": True}
                elif channel == "ingest:metrics":
                    with fake.lock:
                        for p in body["points"]:
                            fake.points[(p["key"], p["step"])] = p["value"]
                self.answer(200, {"ok": True, "value": value})

            def answer(self, status, body):
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:
                    pass  # the client timed out on purpose (a "sleep" step)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def of(self, channel):
        with self.lock:
            return [body for c, body, _ in self.calls if c == channel]

    def wait_for(self, pred, what, timeout=10.0):
        """Polls until pred() holds (the client's background threads are asynchronous)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.01)
        raise AssertionError("timed out waiting for " + what)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
