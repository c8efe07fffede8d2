"""Forms anyone may post without a session (the login form, the contact form of a greeter) are
refused with 413 and a short French message once their body passes a small cap, without being
read whole: a 300 MB "login" once went to disk, and big url-encoded posts took the server over
its memory limit. Too many or too large fields are refused before they are parsed.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from fedi import storage
from fedi_testing import Served

FORM = "application/x-www-form-urlencoded"
TOO_LARGE = "Ce que vous avez envoyé est trop volumineux."
HUNDRED_MEGABYTES = 100 * 1024 * 1024


async def public_forms(site: Served) -> list[str]:
    greeter = await storage.put_greeter(site.db, "Amina", "Croix-Rousse", "arabe", "cuisine",
                                        "amina@example.org")
    return ["/login", f"/greeters/{greeter}/contact"]


async def answer_to_headers_only(site: Served, path: str, length: int) -> bytes:
    """Headers announcing `length` bytes, and no body: what the server says at once."""
    url = httpx.URL(site.url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {url.netloc.decode()}\r\nAccept: text/html\r\n"
                     f"Content-Type: {FORM}\r\nContent-Length: {length}\r\n\r\n".encode())
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()


async def test_a_huge_declared_body_gets_413_at_once(instance):
    for path in await public_forms(instance):
        answer = await answer_to_headers_only(instance, path, 300 * 1024 * 1024)
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:300])
        assert "trop" in answer.decode("utf-8", "replace")


async def call_counting_reads(app: Any, site: Served, path: str, chunk: bytes) -> tuple[int, int]:
    """Posts an endless chunked body (no Content-Length) straight to the ASGI app; returns the
    status it answered and how many bytes it had read by then."""
    read = 0
    started: dict[str, Any] = {}
    host = httpx.URL(site.url).netloc

    async def receive() -> dict[str, Any]:
        nonlocal read
        if started or read > HUNDRED_MEGABYTES:
            await asyncio.sleep(3600)
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80),
             "headers": [(b"host", host), (b"accept", b"text/html"), (b"content-type", FORM.encode()),
                         (b"transfer-encoding", b"chunked")]}
    await asyncio.wait_for(app(scope, receive, send), 30)
    return started["status"], read


async def test_an_endless_body_is_cut_off_as_it_arrives(instance):
    app = instance.server.config.app
    for path in await public_forms(instance):
        status, read = await call_counting_reads(app, instance, path, b"a=" + b"x" * 65534)
        assert status == 413, path
        assert read <= 256 * 1024, (path, read)


async def test_a_login_with_too_many_or_too_large_fields_is_refused_before_the_password_check(instance):
    async with httpx.AsyncClient(base_url=instance.url, headers={"Accept": "text/html"}) as client:

        async def log_in(**extra: str) -> httpx.Response:
            form = await client.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            return await client.post("/login", data={
                "csrf": token, "username": "marie", "password": "mauvais", **extra})

        assert (await log_in()).status_code == 401
        assert (await log_in(**{f"f{n}": "x" for n in range(500)})).status_code in (400, 413)
        response = await log_in(password="x" * 50_000)
        assert response.status_code == 413 and TOO_LARGE in response.text
