"""Security headers: `nosniff` on every response; on HTML pages no framing, no inline script, no
leaking referrers; and nothing of the desk or the login form kept in a browser's cache."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "media-src 'self' https:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
HTML_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")
PRIVATE_PATHS = ("/desk", "/login", "/logout")  # pages with people's e-mails, sessions, tokens


def is_private(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PRIVATE_PATHS)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = is_private(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", [])
                           if name != NOSNIFF[0] and not (private and name == NO_STORE[0])]
                headers.append(NOSNIFF)
                if private:
                    headers.append(NO_STORE)
                if dict(headers).get(b"content-type", b"").startswith(b"text/html"):
                    headers.extend(HTML_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
