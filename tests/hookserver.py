"""A deploy pipeline's endpoint on 127.0.0.1 that records what the bot posts and can be told to fail,
to redirect, or to hold its answer until the test lets it go (a slow pipeline, without sleeps)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HookServer:
    def __init__(self):
        self.requests: list[dict] = []
        self.fail_with: list[int] = []  # statuses to answer with, one per coming request
        self.arrived = threading.Event()  # set when a request has been received
        self.answer = threading.Event()  # cleared: requests wait for it before they are answered
        self.answer.set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.requests.append({"headers": dict(self.headers), "body": body, "json": json.loads(body)})
                owner.arrived.set()
                owner.answer.wait(timeout=30)
                status = owner.fail_with.pop(0) if owner.fail_with else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/deploy")  # back to itself: followed, it would deploy
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/deploy"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
