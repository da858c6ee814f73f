"""`releasebot demo` as a user starts it: a subprocess on a free port, read until it prints its URL."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.harness import free_port

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"open (http://\S+/) \(workspace in (\S+);")


class DemoProcess:
    def __init__(self):
        self.port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "RELEASEBOT_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "demo", "--port", str(self.port)], cwd=ROOT, env=environ,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url, self.folder = self._wait_for_url(timeout=60)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def _wait_for_url(self, timeout: float) -> tuple[str, Path]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            match = READY.search(line)
            if match:
                return match[1], Path(match[2])
        self.process.kill()
        raise AssertionError("releasebot demo printed no URL:\n" + "".join(self.output))

    def terminate(self, timeout: float = 10) -> float:
        """SIGTERM, then the seconds it took to exit; kills it (and fails) past `timeout`."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"releasebot demo still ran {timeout}s after SIGTERM:\n" + "".join(self.output)) from None
        return time.monotonic() - started
