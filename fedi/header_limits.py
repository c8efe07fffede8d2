"""A size limit on request headers for uvicorn's httptools protocol, which has none of its own
(`h11_max_incomplete_event_size` applies to h11 only): a request whose headers pass 64 KiB or a
hundred lines (Apache's `LimitRequestFields`) gets 431 and its connection is closed."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["MAX_HEADER_BYTES", "MAX_HEADER_LINES", "HeaderLimitProtocol"]

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_LINES = 100
_REFUSAL_TEXT = ("Les en-têtes de la requête sont trop volumineux.\n"
                 "Request header fields are too large.\n").encode()  # sent before any page: both languages
_REFUSAL = (b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\nx-content-type-options: nosniff\r\n"
            b"content-length: " + str(len(_REFUSAL_TEXT)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + _REFUSAL_TEXT)


class _HeadersTooLarge(Exception):
    pass


class HeaderLimitProtocol(HttpToolsProtocol):
    """Counts what arrives while a request's headers are incomplete (httptools would keep
    buffering one endless header line), and the exact size and number of complete headers."""

    max_header_bytes = MAX_HEADER_BYTES
    max_header_lines = MAX_HEADER_LINES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_headers = True
        self._received = 0  # bytes since the headers of the request being read began
        self._parsed = 0  # bytes of its URL and complete header lines
        self._over_limit = False

    def data_received(self, data: bytes) -> None:
        if self._reading_headers:
            self._received += len(data)
        super().data_received(data)
        if self._reading_headers and self._received > self.max_header_bytes:
            self._over_limit = True
            self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        if len(self.headers) > self.max_header_lines:
            self._refuse_while_parsing()

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._received = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_headers = True

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error; a 431 when the error was a limit of ours."""
        if not self._over_limit:
            super().send_400_response(msg)
        elif not self.transport.is_closing():
            self.transport.write(_REFUSAL)
            self.transport.close()

    def _count(self, size: int) -> None:
        self._parsed += size
        if self._parsed > self.max_header_bytes:
            self._refuse_while_parsing()

    def _refuse_while_parsing(self) -> None:
        """Stops the parser: uvicorn catches the error it turns into and calls send_400_response."""
        self._over_limit = True
        raise _HeadersTooLarge()
