"""Verify inbound HTTP signatures: draft-cavage-12 (`Signature`) and RFC 9421 (`Signature-Input`).

Every check that needs no key (parsing, coverage, clock window, body digest) runs
before the key is fetched, so garbage costs nothing. The key is then asked for once,
and once more with `refresh=True` if it does not verify (the peer may have rotated it).
Any problem with the request raises `SignatureError`; errors raised by the key
retriever (SignatureError, FetchError) propagate unchanged.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any, Literal
from urllib.parse import urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageVerifier,
    HTTPSignatureComponentResolver,
    InvalidSignature,
    MappingKeyResolver,
)
from http_message_signatures.algorithms import (
    ED25519,
    RSA_PSS_SHA512,
    RSA_V1_5_SHA256,
    HTTPSignatureAlgorithm,
)

from .digest import needs_digest, verify_digest
from .errors import SignatureError
from .keys import PublicKey

__all__ = ["PublicKeyInfo", "KeyRetriever", "VerifiedSignature", "verify_request"]


@dataclass(frozen=True)
class PublicKeyInfo:
    key_id: str
    owner: str  # URI of the actor owning the key
    public_key: PublicKey


KeyRetriever = Callable[[str, bool], Awaitable[PublicKeyInfo]]
"""`(key_id, refresh) -> key`; raises SignatureError or FetchError when the key cannot be had."""


@dataclass(frozen=True)
class VerifiedSignature:
    key: PublicKeyInfo
    scheme: Literal["cavage", "rfc9421"]


_KeyCheck = Callable[[PublicKey], bool]  # True if the signature verifies with this key


@dataclass(frozen=True)
class _Clock:
    now: float
    max_age: int
    max_future: int

    def check_created(self, timestamp: float, what: str) -> None:
        if timestamp < self.now - self.max_age:
            raise SignatureError(f"{what} is too old")
        if timestamp > self.now + self.max_future:
            raise SignatureError(f"{what} is in the future")

    def check_expires(self, timestamp: float) -> None:
        if timestamp < self.now:
            raise SignatureError("signature has expired")


async def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    get_key: KeyRetriever,
    *,
    now: float | None = None,
    max_age: int = 3600,
    max_future: int = 300,
) -> VerifiedSignature:
    """Verify the signature of a request as received; `url` is the full URL the client asked for."""
    lowered = _lower_headers(headers)
    clock = _Clock(time.time() if now is None else now, max_age, max_future)
    scheme: Literal["cavage", "rfc9421"]
    if "signature-input" in lowered:
        scheme = "rfc9421"
        key_id, check = _prepare_rfc9421(method, url, lowered, body, clock)
    elif "signature" in lowered:
        scheme = "cavage"
        key_id, check = _prepare_cavage(method, url, lowered, body, clock)
    else:
        raise SignatureError("missing signature")
    for refresh in (False, True):
        key = await get_key(key_id, refresh)
        if check(key.public_key):
            return VerifiedSignature(key=key, scheme=scheme)
    raise SignatureError("signature does not verify")


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-case names; repeated fields (multi-dicts such as Starlette's) joined with ", "."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        name = name.lower()
        lowered[name] = f"{lowered[name]}, {value}" if name in lowered else value
    return lowered


def _check_body_digest(covered_header: str, lowered: dict[str, str], body: bytes) -> None:
    """The covered digest header itself must match, and so must any other digest sent."""
    if covered_header not in lowered:
        raise SignatureError(f"covered header {covered_header!r} is missing")
    verify_digest({covered_header: lowered[covered_header]}, body)
    verify_digest(lowered, body)


# ---------------------------------------------------------------- draft-cavage-12

_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([0-9.]+))\s*')
_CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})


def _parse_cavage(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    pos = 0
    while True:
        match = _CAVAGE_PARAM.match(value, pos)
        if match is None:
            raise SignatureError("malformed Signature header")
        name = match[1].lower()
        if name in params:
            raise SignatureError(f"duplicate {match[1]!r} in Signature header")
        params[name] = match[2] if match[2] is not None else match[3]
        pos = match.end()
        if pos == len(value):
            return params
        if value[pos] != ",":
            raise SignatureError("malformed Signature header")
        pos += 1


def _cavage_number(params: dict[str, str], name: str) -> float:
    if name not in params:
        raise SignatureError(f"signature covers ({name}) but has no {name} parameter")
    try:
        return float(params[name])
    except ValueError as exc:
        raise SignatureError(f"malformed {name} parameter") from exc


def _http_date(value: str) -> float:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise SignatureError("malformed Date header") from exc
    if parsed.tzinfo is None:  # "-0000": treat as UTC
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _prepare_cavage(
    method: str, url: str, lowered: dict[str, str], body: bytes, clock: _Clock
) -> tuple[str, _KeyCheck]:
    params = _parse_cavage(lowered["signature"])
    if not params.get("keyid") or not params.get("signature"):
        raise SignatureError("Signature header lacks keyId or signature")
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in _CAVAGE_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm!r}")
    covered = params.get("headers", "date").lower().split()
    pseudo = {"(created)", "(expires)"} & set(covered)
    if algorithm != "hs2019" and pseudo:
        raise SignatureError(f"{sorted(pseudo)[0]} is not allowed with {algorithm}")
    has_time = "date" in covered or "(created)" in covered
    if "(request-target)" not in covered or "host" not in covered or not has_time:
        raise SignatureError("signature must cover (request-target), host and date")
    if "date" in covered:
        clock.check_created(_http_date(lowered.get("date", "")), "Date")
    if "(created)" in covered:
        clock.check_created(_cavage_number(params, "created"), "signature creation time")
    if "(expires)" in covered or "expires" in params:
        clock.check_expires(_cavage_number(params, "expires"))
    if needs_digest(method, body):
        if "digest" not in covered:
            raise SignatureError("signature must cover the Digest header")
        _check_body_digest("digest", lowered, body)
    message = _cavage_signing_string(method, url, lowered, params, covered).encode("utf-8")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not valid base64") from exc

    def check(key: PublicKey) -> bool:
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            elif algorithm == "hs2019":
                key.verify(signature, message)
            else:
                return False  # rsa-sha256 with an Ed25519 key
        except CryptoInvalidSignature:
            return False
        return True

    return params["keyid"], check


def _cavage_signing_string(
    method: str, url: str, lowered: dict[str, str], params: dict[str, str], covered: list[str]
) -> str:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise SignatureError("malformed request URL") from exc
    lines = []
    for name in covered:
        if name == "(request-target)":
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            value = f"{method.lower()} {target}"
        elif name in ("(created)", "(expires)"):
            value = params[name[1:-1]]
        elif name in lowered:
            value = lowered[name].strip()
        elif name == "host" and parts.netloc:
            value = parts.netloc
        else:
            raise SignatureError(f"covered header {name!r} is missing")
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


# ---------------------------------------------------------------- RFC 9421

_RFC9421_ALGORITHMS: dict[str, type[HTTPSignatureAlgorithm]] = {
    "rsa-v1_5-sha256": RSA_V1_5_SHA256,
    "rsa-pss-sha512": RSA_PSS_SHA512,
    "ed25519": ED25519,
}
_RFC9421_PARAMS = frozenset({"alg", "created", "expires", "keyid", "nonce", "tag"})


@dataclass
class _Message:
    """The request as the http-message-signatures resolver reads it."""

    method: str
    url: str
    headers: dict[str, str]


class _Verifier(HTTPMessageVerifier):
    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        """Timestamps are checked before the key fetch, against the caller's `now`."""


def _parse_dictionary(value: str, name: str) -> dict[str, Any]:
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeError, KeyError) as exc:
        raise SignatureError(f"malformed {name} header") from exc
    if not isinstance(parsed, dict) or not parsed:
        raise SignatureError(f"empty {name} header")
    return parsed


def _check_rfc9421_label(
    member: Any, signature: Any, lowered: dict[str, str], body_needed: bool, clock: _Clock
) -> None:
    """Raise SignatureError unless this labelled signature meets our policy."""
    if not (isinstance(member, tuple) and isinstance(member[0], list)):
        raise SignatureError("Signature-Input member is not an inner list")
    if not (isinstance(signature, tuple) and isinstance(signature[0], bytes)):
        raise SignatureError("Signature member is not a byte sequence")
    items, params = member
    if set(params) - _RFC9421_PARAMS:
        raise SignatureError("unknown signature parameter")
    if not isinstance(params.get("keyid"), str) or not params["keyid"]:
        raise SignatureError("signature has no keyid")
    alg = params.get("alg")
    if alg is not None and alg not in _RFC9421_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {alg!r}")
    covered = {name for name, item_params in items if isinstance(name, str) and not item_params}
    for name in covered:
        if not name.startswith("@") and name not in lowered:
            raise SignatureError(f"covered header {name!r} is missing")
    has_target = "@target-uri" in covered or {"@authority", "@path"} <= covered
    if "@method" not in covered or not has_target:
        raise SignatureError("signature must cover @method and @target-uri")
    if body_needed and "content-digest" not in covered:
        raise SignatureError("signature must cover content-digest")
    created, expires = params.get("created"), params.get("expires")
    if type(created) is not int or (expires is not None and type(expires) is not int):
        raise SignatureError("signature needs integer created (and expires) parameters")
    clock.check_created(created, "signature creation time")
    if expires is not None:
        clock.check_expires(expires)


def _prepare_rfc9421(
    method: str, url: str, lowered: dict[str, str], body: bytes, clock: _Clock
) -> tuple[str, _KeyCheck]:
    inputs = _parse_dictionary(lowered["signature-input"], "Signature-Input")
    signatures = _parse_dictionary(lowered.get("signature", ""), "Signature")
    body_needed = needs_digest(method, body)
    first_error: SignatureError | None = None
    for label, member in inputs.items():
        try:
            _check_rfc9421_label(member, signatures.get(label), lowered, body_needed, clock)
        except SignatureError as exc:
            first_error = first_error or exc
            continue
        break
    else:
        raise first_error or SignatureError("no acceptable signature")
    if body_needed:
        _check_body_digest("content-digest", lowered, body)
    headers = {k: v for k, v in lowered.items() if k not in ("signature", "signature-input")}
    headers["signature-input"] = http_sf.ser({label: member})
    headers["signature"] = http_sf.ser({label: signatures[label]})
    message = _Message(method.upper(), url, headers)
    try:
        HTTPSignatureComponentResolver(message)  # type: ignore[no-untyped-call]  # checks method and URL
    except HTTPMessageSignaturesException as exc:
        raise SignatureError(f"malformed request: {exc}") from exc
    key_id: str = member[1]["keyid"]
    alg: str | None = member[1].get("alg")

    def check(key: PublicKey) -> bool:
        if alg is not None:
            candidates = [_RFC9421_ALGORITHMS[alg]]
        elif isinstance(key, ed25519.Ed25519PublicKey):
            candidates = [ED25519]
        else:  # no alg: RSA could be either; PKCS#1 v1.5 is what the fediverse uses
            candidates = [RSA_V1_5_SHA256, RSA_PSS_SHA512]
        return any(_verify_rfc9421(message, key_id, key, algorithm) for algorithm in candidates)

    return key_id, check


def _verify_rfc9421(
    message: _Message, key_id: str, key: PublicKey, algorithm: type[HTTPSignatureAlgorithm]
) -> bool:
    expects_rsa = algorithm is not ED25519
    if expects_rsa != isinstance(key, rsa.RSAPublicKey):
        return False  # key type does not fit the algorithm (possibly a rotated key)
    resolver = MappingKeyResolver(public_keys={key_id: key}, private_keys={})
    verifier = _Verifier(signature_algorithm=algorithm, key_resolver=resolver)
    try:
        verifier.verify(message, max_age=None)
    except InvalidSignature as exc:
        if isinstance(exc.__cause__, CryptoInvalidSignature):
            return False
        raise SignatureError(f"invalid signature: {exc}") from exc
    except (HTTPMessageSignaturesException, ValueError, TypeError) as exc:
        raise SignatureError(f"invalid signature: {exc}") from exc
    return True
