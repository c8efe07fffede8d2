"""Sign outgoing requests: `client.post(inbox, json=activity, auth=SignatureAuth(key_id, key))`.

draft-cavage-12 is shaped exactly like Mastodon's; RFC 9421 goes through
http-message-signatures. The caller picks the scheme (and retries with the other
one, "double knock", if a peer answers 401).
"""

from __future__ import annotations

import base64
import email.utils
from collections.abc import Generator
from typing import Literal
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver
from http_message_signatures.algorithms import ED25519, RSA_V1_5_SHA256

from .digest import digest_header, needs_digest

__all__ = ["SignatureAuth", "sign_request"]

Scheme = Literal["cavage", "rfc9421"]
_SIGNATURE_HEADERS = ("signature", "signature-input")


def sign_request(
    request: httpx.Request,
    key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    scheme: Scheme = "cavage",
) -> None:
    """Add signature headers (and Date/Host/digest as needed) to `request`, in place.

    The body must already be read (`request.content`), as `SignatureAuth` ensures.
    """
    for name in _SIGNATURE_HEADERS:
        request.headers.pop(name, None)
    if scheme == "cavage":
        _sign_cavage(request, key_id, private_key)
    elif scheme == "rfc9421":
        _sign_rfc9421(request, key_id, private_key)
    else:
        raise ValueError(f"unknown signature scheme {scheme!r}")


class SignatureAuth(httpx.Auth):
    """httpx authentication that signs each request with the actor's key."""

    requires_request_body = True

    def __init__(
        self,
        key_id: str,
        private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
        scheme: Scheme = "cavage",
    ) -> None:
        self.key_id = key_id
        self.private_key = private_key
        self.scheme: Scheme = scheme

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sign_request(request, self.key_id, self.private_key, self.scheme)
        yield request

    def headers_for(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        """`headers` plus those that sign the request (Host, Date, Digest, Signature...), for a
        client other than httpx (`poster.Poster`, which sends the URL's path as written)."""
        if self.scheme == "cavage":
            signed = httpx.Headers(headers)
            target, host = _target_and_host(url)
            _add_cavage_headers(signed, method, target, host, body, self.key_id, self.private_key)
            return dict(signed.items())
        request = httpx.Request(method, url, content=body, headers=headers)
        sign_request(request, self.key_id, self.private_key, self.scheme)
        return {name: value for name, value in request.headers.items() if name != "content-length"}


def _host(url: httpx.URL) -> str:
    """Host header value: the host, plus the port when it is not the scheme's default."""
    host = url.raw_host.decode("ascii")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return host if url.port is None else f"{host}:{url.port}"


def _target_and_host(url: str) -> tuple[str, str]:
    """The request target (path and query, as written) and the Host header of a URL string."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and (parts.scheme, parts.port) not in (("https", 443), ("http", 80)):
        host = f"{host}:{parts.port}"
    return target, host


def _sign_cavage(
    request: httpx.Request, key_id: str, private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
) -> None:
    target = request.url.raw_path.decode("ascii")  # path and query, as sent on the wire
    _add_cavage_headers(request.headers, request.method, target, _host(request.url), request.content,
                        key_id, private_key)


def _add_cavage_headers(
    headers: httpx.Headers, method: str, target: str, host: str, body: bytes, key_id: str,
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
) -> None:
    if "date" not in headers:
        headers["Date"] = email.utils.formatdate(usegmt=True)
    if "host" not in headers:
        headers["Host"] = host
    covered = ["(request-target)", "host", "date"]
    if needs_digest(method, body):
        headers["Digest"] = digest_header(body)
        covered.append("digest")
    lines = [f"(request-target): {method.lower()} {target}"]
    lines += [f"{name}: {headers[name]}" for name in covered[1:]]
    message = "\n".join(lines).encode("utf-8")
    if isinstance(private_key, rsa.RSAPrivateKey):
        algorithm, signature = "rsa-sha256", private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    else:
        algorithm, signature = "hs2019", private_key.sign(message)
    headers["Signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )


def _sign_rfc9421(
    request: httpx.Request, key_id: str, private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
) -> None:
    algorithm = RSA_V1_5_SHA256 if isinstance(private_key, rsa.RSAPrivateKey) else ED25519
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}),
    )
    body = request.content if needs_digest(request.method, request.content) else None
    covered = ("@method", "@target-uri") + (("content-digest",) if body is not None else ())
    signer.sign(
        request,
        key_id=key_id,
        label="sig1",
        covered_component_ids=covered,
        body=body,
        use_existing_digest="content-digest" in request.headers,
    )
