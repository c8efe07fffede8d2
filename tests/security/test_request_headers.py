"""`fedi serve` refuses a request whose headers pass 64 KiB or count more than a hundred lines
(431, then the connection is closed): uvicorn's h11 limit does nothing under httptools, and a
1 MB header or 5,000 headers were taken in. Tested on a real `fedi serve` with a raw socket.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from fedi_testing import free_port
from test_cli import fedi, wait_until_up

FEDI = [sys.executable, "-m", "fedi"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    directory = str(tmp_path_factory.mktemp("headers") / "avf")
    fedi("init", "--dir", directory, "--url", f"http://127.0.0.1:{port}", "--name", "avf-lyon",
         "--allow-private")
    server = subprocess.Popen([*FEDI, "serve", "--dir", directory], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", server)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0


def answer_to(port: int, headers: list[str]) -> bytes:
    """What the server answers a GET with these header lines (b"" if it just hung up)."""
    request = "\r\n".join(["GET /.well-known/nodeinfo HTTP/1.1", f"Host: 127.0.0.1:{port}",
                           *headers, "Connection: close", "", ""]).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # cut off while sending: what is left to read (if anything) is the answer
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer


def test_ordinary_headers_and_a_big_cookie_are_served(served):
    assert answer_to(served, ["Accept: text/html", f"Cookie: a={'x' * 8000}"]).startswith(b"HTTP/1.1 200")
    assert answer_to(served, [f"X-Big: {'x' * 60_000}"]).startswith(b"HTTP/1.1 200")
    assert answer_to(served, [f"X-{n}: y" for n in range(90)]).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("headers", [
    pytest.param([f"X-Huge: {'x' * 1024 * 1024}"], id="one 1 MB header"),
    pytest.param([f"X-{n}: {'y' * 1000}" for n in range(100)], id="100 kB in many headers"),
    pytest.param([f"X-{n}: y" for n in range(5_000)], id="5,000 headers"),
])
def test_headers_over_the_limit_are_refused_and_the_connection_closed(served, headers):
    answer = answer_to(served, headers)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert answer_to(served, []).startswith(b"HTTP/1.1 200")  # the server is fine


def test_the_refusal_says_why_in_french_and_english(served):
    answer = answer_to(served, [f"X-Big: {'x' * 70_000}"])
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431") and b"x-content-type-options: nosniff" in head.lower()
    assert "Les en-têtes de la requête sont trop volumineux." in body.decode()
