"""Resident memory of an idle `python -m fedi serve` after start and a few requests.

`fedi init` + `fedi post` into a temporary directory, then `python -m fedi serve`; after a
handful of requests (home page, actor JSON, WebFinger, NodeInfo, a post page) and 2 s idle,
VmRSS (and the peak, VmHWM) are read from /proc/PID/status. Target: <= 60 MB.
    .venv/bin/python bench/memory.py
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import free_port  # noqa: E402

TARGET_MB = 60.0


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def get(url: str, accept: str) -> int:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return int(response.status)


def main() -> None:
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="fedi-bench-") as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        fedi = [python, "-m", "fedi"]
        subprocess.run([*fedi, "init", "--dir", tmp, "--url", base, "--name", "bench",
                        "--allow-private"], check=True, capture_output=True, timeout=60)
        post = subprocess.run([*fedi, "post", "--dir", tmp, "--title", "Bienvenue", "Permanence **mardi**."],
                              check=True, capture_output=True, text=True, timeout=60).stdout.split()[-1]
        server = subprocess.Popen([*fedi, "serve", "--dir", tmp, "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError as error:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("fedi serve did not start") from error
                    time.sleep(0.05)
            started_kb = status_kb(server.pid, "VmRSS")
            html, ap = "text/html", "application/activity+json"
            for _ in range(3):
                for url, accept in [(f"{base}/", html), (f"{base}/users/bench", ap),
                                    (f"{base}/users/bench", html), (post, html), (post, ap),
                                    (f"{base}/.well-known/webfinger?resource=acct:bench@127.0.0.1:{port}",
                                     "application/jrd+json"),
                                    (f"{base}/nodeinfo/2.1", "application/json"),
                                    (f"{base}/users/bench/outbox?page=1", ap)]:
                    get(url, accept)
            time.sleep(2.0)
            rss_kb = status_kb(server.pid, "VmRSS")
            hwm_kb = status_kb(server.pid, "VmHWM")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(server.pid, signal.SIGKILL)
                server.wait(5)
    rss = rss_kb / 1024
    verdict = "met" if rss <= TARGET_MB else "MISSED"
    print(f"memory: idle `fedi serve` after 24 requests VmRSS {rss:.1f} MB "
          f"(just started {started_kb / 1024:.1f} MB, "
          f"peak {hwm_kb / 1024:.1f} MB); target <= {TARGET_MB:.0f} MB {verdict}")


if __name__ == "__main__":
    main()
