"""A real Prometheus server (Debian's `prometheus`) on a free port, scraping every second an exporter
the test controls. Import the `prometheus` fixture into a test module, or use `running_prometheus`
for another flag or environment."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

STARTUP = 60.0  # seconds for the server to be ready and to hold its first samples (2 shared cores)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prometheus_binary() -> str:
    """The server's path; its absence fails the test (CI installs it), never skips it."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("The Prometheus integration test needs the `prometheus` binary: apt-get install -y prometheus (.ci/run installs it)")
    return binary


class Exporter:
    """Serves `http_requests_total{code,flag,env}` in Prometheus' text format. Each scrape first adds
    `traffic`'s counts, so rates follow what the test set, not the wall clock: with 1 s scrapes,
    `traffic(ok=99, errors=1)` is an error rate of exactly 1 %."""

    def __init__(self, flag: str = "new-checkout", env: str = "production"):
        self.flag, self.env = flag, env
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "Requests served.", ["code", "flag", "env"], registry=self.registry)
        self.per_scrape = {"200": 0, "500": 0}
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = owner.scrape()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def traffic(self, ok: int, errors: int) -> None:
        with self.lock:
            self.per_scrape = {"200": ok, "500": errors}

    def scrape(self) -> bytes:
        with self.lock:
            for code, count in self.per_scrape.items():
                self.requests.labels(code=code, flag=self.flag, env=self.env).inc(count)
            return generate_latest(self.registry)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PrometheusServer:
    """`prometheus` started with a temporary TSDB and a config that scrapes `exporter` every second."""

    def __init__(self, exporter: Exporter, workdir: Path):
        binary = prometheus_binary()
        self.exporter = exporter
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{exporter.address}']\n"
        )
        self.log = workdir / "prometheus.log"
        self.process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )

    def get(self, path: str, **params: str) -> tuple[int, bytes]:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 0, b""

    def wait_until(self, condition: Callable[[], bool], what: str, deadline: float = STARTUP) -> None:
        """Polls `condition` until it holds; fails with the server's log when it has not within `deadline`."""
        give_up = time.monotonic() + deadline
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"prometheus exited ({self.process.returncode}) while waiting for {what}:\n{self.tail()}")
            if time.monotonic() > give_up:
                pytest.fail(f"prometheus: no {what} within {deadline:.0f} s:\n{self.tail()}")
            time.sleep(0.1)

    def has_data(self, query: str) -> bool:
        status, body = self.get("/api/v1/query", query=query)
        return status == 200 and bool(json.loads(body)["data"]["result"])

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def running_prometheus(workdir: Path, flag: str = "new-checkout", env: str = "production") -> Iterator[PrometheusServer]:
    """A ready Prometheus that already holds samples of the exporter's `http_requests_total` for
    `flag` in `env` (at no traffic until `server.exporter.traffic(...)`); stopped on leaving."""
    prometheus_binary()
    exporter = Exporter(flag, env)
    try:
        server = PrometheusServer(exporter, workdir)
        try:
            server.wait_until(lambda: server.get("/-/ready")[0] == 200, "readiness")
            server.wait_until(lambda: server.has_data("http_requests_total"), "samples of http_requests_total")
            yield server
        finally:
            server.stop()
    finally:
        exporter.stop()


@pytest.fixture
def prometheus(tmp_path):
    with running_prometheus(tmp_path) as server:
        yield server
