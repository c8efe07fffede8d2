"""Body digests: the legacy `Digest` header (RFC 3230) and `Content-Digest` (RFC 9530)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

import http_sf

from .errors import SignatureError

__all__ = ["digest_header", "content_digest_header", "verify_digest", "needs_digest"]

_HASHES = {"sha-256": "sha256", "sha-512": "sha512"}  # RFC 9530 name -> hashlib name
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def digest_header(body: bytes) -> str:
    """`Digest` value as Mastodon sends and expects it: "SHA-256=<base64>"."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """`Content-Digest` value (RFC 9530): "sha-256=:<base64>:"."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def needs_digest(method: str, body: bytes) -> bool:
    """Whether a request carries content a signature must cover (any body, or a POST/PUT/PATCH)."""
    return bool(body) or method.upper() in _BODY_METHODS


def _legacy_digests(value: str) -> list[tuple[str, bytes]]:
    """Parse "SHA-256=abc=,SHA-512=def=" into (algorithm, digest) pairs; unknown algorithms dropped."""
    found = []
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep or not name:
            raise SignatureError("malformed Digest header")
        name = name.lower()
        if name not in _HASHES:
            continue
        try:
            found.append((name, base64.b64decode(encoded.strip(), validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise SignatureError("malformed Digest header: bad base64") from exc
    return found


def _content_digests(value: str) -> list[tuple[str, bytes]]:
    """Parse an RFC 9530 Dictionary into (algorithm, digest) pairs; unknown algorithms dropped."""
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeError, KeyError, IndexError) as exc:
        raise SignatureError("malformed Content-Digest header") from exc
    if not isinstance(parsed, dict):
        raise SignatureError("malformed Content-Digest header")
    found = []
    for name, member in parsed.items():
        if name not in _HASHES:
            continue
        digest = member[0] if isinstance(member, tuple) else None
        if not isinstance(digest, bytes):
            raise SignatureError("malformed Content-Digest header: not a byte sequence")
        found.append((name, digest))
    return found


def verify_digest(headers: Mapping[str, str], body: bytes) -> None:
    """Check `Digest` and `Content-Digest` against `body`.

    At least one SHA-256/SHA-512 digest must be present, and every one present must
    match; anything else raises SignatureError.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    candidates: list[tuple[str, bytes]] = []
    if "digest" in lowered:
        candidates += _legacy_digests(lowered["digest"])
    if "content-digest" in lowered:
        candidates += _content_digests(lowered["content-digest"])
    if not candidates:
        raise SignatureError("missing body digest (SHA-256 or SHA-512)")
    for name, expected in candidates:
        if not hmac.compare_digest(expected, hashlib.new(_HASHES[name], body).digest()):
            raise SignatureError("body digest does not match")
