"""HTTP signatures as a peer sees them: what we send verifies, what peers send verifies,
and anything tampered, stale, uncovered or malformed is refused with SignatureError."""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import re
import time
from collections.abc import Mapping

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver
from http_message_signatures.algorithms import ED25519, HMAC_SHA256, RSA_V1_5_SHA256
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activitypub import signatures
from activitypub.auth import SignatureAuth, sign_request
from activitypub.digest import digest_header
from activitypub.errors import SignatureError
from activitypub.keys import (
    PrivateKey,
    PublicKey,
    generate_ed25519_key,
    generate_rsa_key,
    load_multibase_key,
    load_public_key,
    public_key_to_multibase,
)
from activitypub.signatures import KeyRetriever, PublicKeyInfo, VerifiedSignature, verify_request

RSA_KEY = generate_rsa_key()
ED_KEY = generate_ed25519_key()
OTHER_RSA_KEY = generate_rsa_key()
KEY_ID = "https://remote.example/users/alice#main-key"
OWNER = "https://remote.example/users/alice"
INBOX = "https://local.example/users/bob/inbox"
BODY = b'{"type": "Follow", "actor": "https://remote.example/users/alice"}'

# RFC 9421 appendix B.1.2 / B.1.4 test keys and draft-cavage-12 appendix C "Test" key.
RFC_RSA_PSS_PEM = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----"""
RFC_ED25519_PEM = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----"""
CAVAGE_TEST_PEM = """-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----"""
RFC_CREATED = 1618884473
RFC_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    "Content-Length": "18",
}
RFC_URL = "https://example.com/foo?param=Value&Pet=dog"
RFC_BODY = b'{"hello": "world"}'


class Retriever:
    """A key retriever that answers `keys[0]`, then `keys[1]` when asked to refresh."""

    def __init__(self, *keys: PublicKey, key_id: str = KEY_ID) -> None:
        self.keys = keys
        self.key_id = key_id
        self.calls: list[tuple[str, bool]] = []

    async def __call__(self, key_id: str, refresh: bool) -> PublicKeyInfo:
        self.calls.append((key_id, refresh))
        key = self.keys[min(len(self.calls) - 1, len(self.keys) - 1)]
        return PublicKeyInfo(key_id=key_id, owner=OWNER, public_key=key)


def signed(method: str, key: PrivateKey, scheme: str, body: bytes | None = None, url: str = INBOX) -> httpx.Request:
    request = httpx.Request(method, url, content=body)
    sign_request(request, KEY_ID, key, scheme)  # type: ignore[arg-type]
    return request


async def verify(
    request: httpx.Request, get_key: KeyRetriever, body: bytes | None = None, **kwargs: float
) -> VerifiedSignature:
    content = request.content if body is None else body
    return await verify_request(
        request.method, str(request.url), request.headers, content, get_key, **kwargs  # type: ignore[arg-type]
    )


def cavage_signature(
    key: PrivateKey, method: str, path: str, headers: Mapping[str, str], covered: str, algorithm: str = "rsa-sha256"
) -> str:
    """A draft-cavage Signature header built by hand, the way Mastodon builds it."""
    lowered = {k.lower(): v for k, v in headers.items()}
    lines = [f"(request-target): {method.lower()} {path}" if h == "(request-target)" else f"{h}: {lowered[h]}"
             for h in covered.split()]
    message = "\n".join(lines).encode()
    if isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = key.sign(message)
    sig = base64.b64encode(raw).decode()
    return f'keyId="{KEY_ID}",algorithm="{algorithm}",headers="{covered}",signature="{sig}"'


def mastodon_post(covered: str = "(request-target) host date digest content-type", **overrides: str) -> dict[str, str]:
    headers = {
        "Host": "local.example",
        "Date": email.utils.formatdate(usegmt=True),
        "Digest": digest_header(BODY),
        "Content-Type": "application/activity+json",
    }
    headers.update(overrides)
    headers["Signature"] = cavage_signature(RSA_KEY, "POST", "/users/bob/inbox", headers, covered)
    return headers


def rfc9421_signed(
    method: str,
    key: PrivateKey,
    covered: tuple[str, ...],
    body: bytes | None = None,
    algorithm: type = RSA_V1_5_SHA256,
    **sign_kwargs: object,
) -> httpx.Request:
    """An RFC 9421 request signed directly with the library, for shapes our signer never makes."""
    request = httpx.Request(method, INBOX, content=body)
    resolver = MappingKeyResolver(public_keys={}, private_keys={KEY_ID: key})
    signer = HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=resolver)
    signer.sign(request, key_id=KEY_ID, label="sig1", covered_component_ids=covered, body=body, **sign_kwargs)
    return request


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize("key", [RSA_KEY, ED_KEY], ids=["rsa", "ed25519"])
@pytest.mark.parametrize("method,body", [("GET", None), ("POST", BODY)])
async def test_signed_request_verifies(scheme: str, key: PrivateKey, method: str, body: bytes | None) -> None:
    get_key = Retriever(key.public_key())
    result = await verify(signed(method, key, scheme, body), get_key)
    assert result.scheme == scheme
    assert result.key.owner == OWNER and result.key.key_id == KEY_ID
    assert get_key.calls == [(KEY_ID, False)]


async def test_signature_auth_signs_what_a_peer_receives() -> None:
    """Given a client with SignatureAuth, when it POSTs, then the peer's verification passes."""
    seen: list[VerifiedSignature] = []

    async def inbox(request: httpx.Request) -> httpx.Response:
        await request.aread()
        seen.append(await verify(request, Retriever(RSA_KEY.public_key())))
        return httpx.Response(202)

    async with httpx.AsyncClient(transport=httpx.MockTransport(inbox), auth=SignatureAuth(KEY_ID, RSA_KEY)) as client:
        response = await client.post(INBOX, json={"type": "Follow"})
    assert response.status_code == 202
    assert seen[0].scheme == "cavage"


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize("url,host", [
    ("https://local.example/inbox", "local.example"),
    ("https://local.example:443/users/a%C3%A9/inbox?page=1", "local.example"),
    ("http://127.0.0.1:8702/inbox", "127.0.0.1:8702"),
    ("https://[2001:db8::1]:8443/inbox", "[2001:db8::1]:8443"),
])
async def test_headers_for_another_client_verify_as_that_client_sends_them(scheme: str, url: str, host: str) -> None:
    """Given the headers SignatureAuth makes for a request that aiohttp sends (the URL's path as
    written, these headers as given), the peer's verification of that request passes."""
    auth = SignatureAuth(KEY_ID, RSA_KEY, scheme)  # type: ignore[arg-type]
    headers = auth.headers_for("POST", url, BODY, {"Content-Type": "application/activity+json"})
    assert headers["host"] == host
    received = httpx.Request("POST", url, content=BODY, headers=headers)
    assert (await verify(received, Retriever(RSA_KEY.public_key()))).scheme == scheme


def test_cavage_header_is_shaped_like_mastodons() -> None:
    request = signed("POST", RSA_KEY, "cavage", BODY, url="https://local.example:8443/inbox?x=1")
    assert re.fullmatch(
        r'keyId="[^"]+",algorithm="rsa-sha256",headers="\(request-target\) host date digest",signature="[A-Za-z0-9+/]+=*"',
        request.headers["signature"],
    )
    assert request.headers["host"] == "local.example:8443"
    assert request.headers["digest"] == digest_header(BODY)
    assert email.utils.parsedate_to_datetime(request.headers["date"]).tzinfo is not None
    get = signed("GET", ED_KEY, "cavage")
    assert 'algorithm="hs2019",headers="(request-target) host date",' in get.headers["signature"]


def test_rfc9421_headers_shape() -> None:
    request = signed("POST", RSA_KEY, "rfc9421", BODY)
    assert re.fullmatch(
        r'sig1=\("@method" "@target-uri" "content-digest"\);created=\d+;keyid="[^"]+";alg="rsa-v1_5-sha256"',
        request.headers["signature-input"],
    )
    assert request.headers["content-digest"].startswith("sha-256=:")
    assert re.fullmatch(r"sig1=:[A-Za-z0-9+/]+=*:", request.headers["signature"])
    get = signed("GET", ED_KEY, "rfc9421")
    assert get.headers["signature-input"].startswith('sig1=("@method" "@target-uri");')
    assert get.headers["signature-input"].endswith('alg="ed25519"')


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "hs2019"])
async def test_mastodon_shaped_cavage_post_verifies(algorithm: str) -> None:
    headers = mastodon_post()
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256"', f'algorithm="{algorithm}"')
    result = await verify_request("POST", INBOX, headers, BODY, Retriever(RSA_KEY.public_key()))
    assert result.scheme == "cavage"


async def test_cavage_signature_without_algorithm_is_treated_as_hs2019() -> None:
    headers = mastodon_post()
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256",', "")
    assert (await verify_request("POST", INBOX, headers, BODY, Retriever(RSA_KEY.public_key()))).scheme == "cavage"


async def test_ed25519_actor_with_multikey_verifies() -> None:
    public = load_multibase_key(public_key_to_multibase(ED_KEY.public_key()))
    for scheme in ("cavage", "rfc9421"):
        assert (await verify(signed("POST", ED_KEY, scheme, BODY), Retriever(public))).scheme == scheme


async def test_hs2019_with_created_and_expires_verifies() -> None:
    created = int(time.time())
    headers = {"Host": "local.example", "Digest": digest_header(BODY)}
    covered = "(request-target) host (created) (expires) digest"
    lines = [
        "(request-target): post /users/bob/inbox",
        "host: local.example",
        f"(created): {created}",
        f"(expires): {created + 60}",
        f"digest: {headers['Digest']}",
    ]
    sig = base64.b64encode(ED_KEY.sign("\n".join(lines).encode())).decode()
    headers["Signature"] = (
        f'keyId="{KEY_ID}",algorithm="hs2019",created={created},expires={created + 60},'
        f'headers="{covered}",signature="{sig}"'
    )
    assert (await verify_request("POST", INBOX, headers, BODY, Retriever(ED_KEY.public_key()))).scheme == "cavage"
    with pytest.raises(SignatureError, match="expired"):
        await verify_request("POST", INBOX, headers, BODY, Retriever(ED_KEY.public_key()), now=created + 61)


async def test_multiple_rfc9421_signatures_use_the_first_acceptable_label() -> None:
    request = signed("POST", RSA_KEY, "rfc9421", BODY)
    created = int(time.time())
    request.headers["signature-input"] = (
        f'old=("@method" "@target-uri" "content-digest");created={created};keyid="x";alg="hmac-sha256", '
        + request.headers["signature-input"]
    )
    request.headers["signature"] = "old=:AAAA:, " + request.headers["signature"]
    get_key = Retriever(RSA_KEY.public_key())
    assert (await verify(request, get_key)).scheme == "rfc9421"
    assert get_key.calls == [(KEY_ID, False)]


# ---------------------------------------------------------------- known answers


async def test_draft_cavage_appendix_c3_known_answer() -> None:
    """draft-cavage-12 C.3 (all headers, rsa-sha256, the 1024-bit "Test" key)."""
    headers = {
        "Host": "example.com",
        "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
        "Content-Type": "application/json",
        "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        "Content-Length": "18",
        "Signature": 'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date content-type '
        'digest content-length",signature="vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFH'
        "B32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE"
        '="',
    }
    now = email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
    get_key = Retriever(load_public_key(CAVAGE_TEST_PEM), key_id="Test")
    result = await verify_request(
        "POST", "https://example.com/foo?param=value&pet=dog", headers, RFC_BODY, get_key, now=now
    )
    assert result.key.key_id == "Test"
    assert get_key.calls == [("Test", False)]


async def test_rfc9421_appendix_b23_rsa_pss_known_answer() -> None:
    """RFC 9421 B.2.3: full coverage, rsa-pss-sha512, no `alg` parameter."""
    headers = dict(RFC_HEADERS)
    headers["Signature-Input"] = (
        'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" '
        '"content-length");created=1618884473;keyid="test-key-rsa-pss"'
    )
    headers["Signature"] = (
        "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp7"
        "68ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7Y"
        "fW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJz"
        "SRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:"
    )
    get_key = Retriever(load_public_key(RFC_RSA_PSS_PEM), key_id="test-key-rsa-pss")
    result = await verify_request("POST", RFC_URL, headers, RFC_BODY, get_key, now=RFC_CREATED)
    assert result.scheme == "rfc9421"
    with pytest.raises(SignatureError):  # one byte of the body changed
        await verify_request("POST", RFC_URL, headers, RFC_BODY + b" ", get_key, now=RFC_CREATED)


async def test_rfc9421_appendix_b26_ed25519_known_answer() -> None:
    """RFC 9421 B.2.6 verifies cryptographically, but our policy refuses it: it leaves the body digest out."""
    headers = {k.lower(): v for k, v in RFC_HEADERS.items()}
    headers["signature-input"] = (
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"'
    )
    headers["signature"] = (
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
    )
    key = load_public_key(RFC_ED25519_PEM)
    message = signatures._Message("POST", RFC_URL, headers)
    assert signatures._verify_rfc9421(message, "test-key-ed25519", key, ED25519)
    tampered = signatures._Message("POST", RFC_URL, {**headers, "content-length": "19"})
    assert not signatures._verify_rfc9421(tampered, "test-key-ed25519", key, ED25519)
    get_key = Retriever(key, key_id="test-key-ed25519")
    with pytest.raises(SignatureError, match="content-digest"):
        await verify_request("POST", RFC_URL, headers, RFC_BODY, get_key, now=RFC_CREATED)
    assert get_key.calls == []


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_tampered_body_is_refused(scheme: str) -> None:
    request = signed("POST", RSA_KEY, scheme, BODY)
    with pytest.raises(SignatureError, match="digest"):
        await verify(request, Retriever(RSA_KEY.public_key()), body=BODY.replace(b"Follow", b"Delete"))


@pytest.mark.parametrize("scheme,header", [("cavage", "digest"), ("rfc9421", "content-digest")])
async def test_post_without_its_digest_header_is_refused(scheme: str, header: str) -> None:
    request = signed("POST", RSA_KEY, scheme, BODY)
    del request.headers[header]
    with pytest.raises(SignatureError):
        await verify(request, Retriever(RSA_KEY.public_key()))


async def test_cavage_post_whose_signature_omits_digest_is_refused() -> None:
    headers = mastodon_post(covered="(request-target) host date content-type")
    with pytest.raises(SignatureError, match="Digest"):
        await verify_request("POST", INBOX, headers, BODY, Retriever(RSA_KEY.public_key()))


async def test_cavage_digest_covered_but_only_content_digest_matches_is_refused() -> None:
    """A covered Digest with an unknown algorithm cannot be rescued by an uncovered Content-Digest."""
    headers = mastodon_post(Digest="MD5=AAAA")
    headers["Content-Digest"] = "sha-256=:" + base64.b64encode(hashlib.sha256(BODY).digest()).decode() + ":"
    with pytest.raises(SignatureError, match="digest"):
        await verify_request("POST", INBOX, headers, BODY, Retriever(RSA_KEY.public_key()))


@pytest.mark.parametrize(
    "covered", ["(request-target) host digest", "host date digest", "(request-target) date digest"]
)
async def test_cavage_signature_missing_a_required_header_is_refused(covered: str) -> None:
    headers = mastodon_post(covered=covered)
    with pytest.raises(SignatureError, match="must cover"):
        await verify_request("POST", INBOX, headers, BODY, Retriever(RSA_KEY.public_key()))


async def test_cavage_created_pseudo_header_with_rsa_sha256_is_refused() -> None:
    headers = mastodon_post()
    headers["Signature"] = headers["Signature"].replace("host date", "host (created) date")
    with pytest.raises(SignatureError, match="not allowed"):
        await verify_request("POST", INBOX, headers, BODY, Retriever(RSA_KEY.public_key()))


async def test_rfc9421_post_whose_signature_omits_content_digest_is_refused() -> None:
    request = rfc9421_signed("POST", RSA_KEY, ("@method", "@target-uri"))
    request.headers["content-digest"] = "sha-256=:" + base64.b64encode(hashlib.sha256(BODY).digest()).decode() + ":"
    get_key = Retriever(RSA_KEY.public_key())
    with pytest.raises(SignatureError, match="content-digest"):
        await verify(request, get_key, body=BODY)
    assert get_key.calls == []


@pytest.mark.parametrize("covered", [("@target-uri",), ("@method", "@authority"), ("@method", "@path")])
async def test_rfc9421_signature_not_covering_method_and_target_is_refused(covered: tuple[str, ...]) -> None:
    request = rfc9421_signed("GET", RSA_KEY, covered)
    with pytest.raises(SignatureError, match="must cover"):
        await verify(request, Retriever(RSA_KEY.public_key()))


async def test_rfc9421_authority_and_path_are_an_acceptable_target() -> None:
    request = rfc9421_signed("GET", ED_KEY, ("@method", "@authority", "@path"), algorithm=ED25519)
    assert (await verify(request, Retriever(ED_KEY.public_key()))).scheme == "rfc9421"


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize("offset,reason", [(3601, "too old"), (-301, "future")])
async def test_signature_outside_the_time_window_is_refused(scheme: str, offset: int, reason: str) -> None:
    request = signed("POST", RSA_KEY, scheme, BODY)
    get_key = Retriever(RSA_KEY.public_key())
    with pytest.raises(SignatureError, match=reason):
        await verify(request, get_key, now=time.time() + offset)
    assert get_key.calls == []


async def test_rfc9421_expired_signature_is_refused() -> None:
    expires = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=10)
    request = rfc9421_signed("GET", RSA_KEY, ("@method", "@target-uri"), expires=expires)
    with pytest.raises(SignatureError, match="expired"):
        await verify(request, Retriever(RSA_KEY.public_key()))


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_wrong_key_is_refused_after_one_refresh(scheme: str) -> None:
    get_key = Retriever(OTHER_RSA_KEY.public_key())
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(signed("POST", RSA_KEY, scheme, BODY), get_key)
    assert get_key.calls == [(KEY_ID, False), (KEY_ID, True)]


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize("old", [OTHER_RSA_KEY.public_key(), ED_KEY.public_key()], ids=["rsa", "ed25519"])
async def test_rotated_key_is_refetched_once_and_verifies(scheme: str, old: PublicKey) -> None:
    """Given a cached old key, when verification fails, then the key is refreshed once and the request passes."""
    get_key = Retriever(old, RSA_KEY.public_key())
    result = await verify(signed("POST", RSA_KEY, scheme, BODY), get_key)
    assert isinstance(result.key.public_key, rsa.RSAPublicKey)
    assert result.key.public_key.public_numbers() == RSA_KEY.public_key().public_numbers()
    assert get_key.calls == [(KEY_ID, False), (KEY_ID, True)]
    assert [refresh for _, refresh in get_key.calls].count(True) == 1


async def test_retriever_errors_propagate() -> None:
    async def gone(key_id: str, refresh: bool) -> PublicKeyInfo:
        raise SignatureError("actor is gone")

    with pytest.raises(SignatureError, match="gone"):
        await verify(signed("GET", RSA_KEY, "cavage"), gone)


@pytest.mark.parametrize("algorithm", ["rsa-sha512", "hmac-sha256", "ecdsa-sha256", "ed25519"])
async def test_unsupported_cavage_algorithm_is_refused(algorithm: str) -> None:
    headers = mastodon_post()
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", algorithm)
    get_key = Retriever(RSA_KEY.public_key())
    with pytest.raises(SignatureError, match="unsupported"):
        await verify_request("POST", INBOX, headers, BODY, get_key)
    assert get_key.calls == []


async def test_unsupported_rfc9421_algorithm_is_refused() -> None:
    request = rfc9421_signed("GET", b"secret", ("@method", "@target-uri"), algorithm=HMAC_SHA256)  # type: ignore[arg-type]
    with pytest.raises(SignatureError, match="unsupported"):
        await verify(request, Retriever(RSA_KEY.public_key()))


async def test_rsa_v1_5_signature_is_refused_with_an_ed25519_alg_claim() -> None:
    request = signed("GET", RSA_KEY, "rfc9421")
    request.headers["signature-input"] = request.headers["signature-input"].replace("rsa-v1_5-sha256", "ed25519")
    with pytest.raises(SignatureError):
        await verify(request, Retriever(RSA_KEY.public_key()))


async def test_unsigned_request_is_refused() -> None:
    with pytest.raises(SignatureError, match="missing signature"):
        await verify_request("POST", INBOX, {"Host": "local.example"}, BODY, Retriever(RSA_KEY.public_key()))


GARBAGE_CAVAGE = [
    "",
    "garbage",
    'keyId="a"',
    'signature="AAAA"',
    'keyId="a",signature="AAAA"',
    'keyId="a",headers="(request-target) host date",signature="not base64!"',
    'keyId="a",,signature="AAAA"',
    'keyId="a" signature="AAAA"',
    'keyId="a",keyId="b",signature="AAAA"',
    'keyId="a",algorithm="hs2019",created=abc,headers="(request-target) host (created)",signature="AAAA"',
    'keyId="a",algorithm="hs2019",created=1.2.3,headers="(request-target) host (created)",signature="AAAA"',
    'keyId="a",algorithm="hs2019",headers="(request-target) host (created)",signature="AAAA"',
    'keyId="a",headers="(request-target) host date x-missing",signature="AAAA"',
    "\x00\xff\u2603",
]
GARBAGE_RFC9421 = [
    ("", ""),
    ("sig1=(", "sig1=:AAAA:"),
    ('sig1=("@method" "@target-uri")', "sig1=:AAAA:"),
    ('sig1=("@method" "@target-uri");created=1;keyid="k"', "sig2=:AAAA:"),
    ('sig1=("@method" "@target-uri");created=1;keyid="k"', "sig1=AAAA"),
    ('sig1=("@method" "@target-uri");created="x";keyid="k"', "sig1=:AAAA:"),
    ('sig1=("@method" "@target-uri");created=1;keyid=k', "sig1=:AAAA:"),
    ('sig1=("@method" "@target-uri");created=1;keyid="k";foo=1', "sig1=:AAAA:"),
    ('sig1="@method"', "sig1=:AAAA:"),
    ('sig1=("@method" "@target-uri");created=1;keyid="k"', "sig1=:not base64:"),
    ("sig1=(1 2);created=1;keyid=\"k\"", "sig1=:AAAA:"),
    ("\u2603", "\u2603"),
]


@pytest.mark.parametrize("value", GARBAGE_CAVAGE)
async def test_garbage_cavage_header_raises_signature_error(value: str) -> None:
    headers = {"Host": "local.example", "Date": email.utils.formatdate(usegmt=True), "Signature": value}
    with pytest.raises(SignatureError):
        await verify_request("GET", INBOX, headers, b"", Retriever(RSA_KEY.public_key()))


@pytest.mark.parametrize("signature_input,signature", GARBAGE_RFC9421)
async def test_garbage_rfc9421_headers_raise_signature_error(signature_input: str, signature: str) -> None:
    now = 1
    headers = {"Signature-Input": signature_input, "Signature": signature}
    with pytest.raises(SignatureError):
        await verify_request("GET", INBOX, headers, b"", Retriever(RSA_KEY.public_key()), now=now)


@pytest.mark.parametrize("url", ["not a url", "https://exa mple.com/x", "https://[::1/x", "http://\u2603/"])
async def test_malformed_url_raises_signature_error(url: str) -> None:
    for scheme in ("cavage", "rfc9421"):
        request = signed("GET", RSA_KEY, scheme)
        with pytest.raises(SignatureError):
            await verify_request("GET", url, request.headers, b"", Retriever(RSA_KEY.public_key()))


# Fragments that make random text look like real signature headers often enough to reach deep code.
FRAGMENTS = [
    'sig1=(', ")", '"@method"', '"@target-uri"', '"@authority"', '"@path"', '"content-digest"', '"date"',
    ";created=", ";expires=", ';keyid="k"', ';alg="ed25519"', ';alg="rsa-v1_5-sha256"', ";sf", " ", ",",
    "sig1=:", ":", "AAAA", "=", "1", str(int(time.time())), '"', "\\", "(", "keyId=", "algorithm=",
    "headers=", "signature=", '"hs2019"', '"(request-target) host date digest"', "\x7f", "é",
]
fragment_text = st.lists(st.sampled_from(FRAGMENTS), max_size=20).map("".join)
any_text = st.one_of(fragment_text, st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1")))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signature_input=st.one_of(st.none(), any_text), signature=any_text, digest=any_text, method=st.sampled_from(["GET", "POST"]))
async def test_random_signature_headers_only_ever_raise_signature_error(
    signature_input: str | None, signature: str, digest: str, method: str
) -> None:
    headers = {"Host": "local.example", "Date": email.utils.formatdate(usegmt=True), "Signature": signature,
               "Digest": digest, "Content-Digest": digest}
    if signature_input is not None:
        headers["Signature-Input"] = signature_input
    with pytest.raises(SignatureError):
        await verify_request(method, INBOX, headers, BODY, Retriever(ED_KEY.public_key()))



@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scheme=st.sampled_from(["cavage", "rfc9421"]),
    header=st.sampled_from(["signature", "signature-input", "digest", "content-digest", "date", "host"]),
    position=st.integers(min_value=0, max_value=400),
    cut=st.integers(min_value=0, max_value=5),
    insert=st.text(max_size=5),
)
async def test_mutated_signed_request_verifies_or_raises_signature_error(
    scheme: str, header: str, position: int, cut: int, insert: str
) -> None:
    """Given a valid signed POST, when one header is mutated, then the only possible failure is SignatureError."""
    request = signed("POST", ED_KEY, scheme, BODY)
    headers = dict(request.headers)
    value = headers.get(header, "")
    position = min(position, len(value))
    headers[header] = value[:position] + insert + value[position + cut :]
    try:
        await verify_request("POST", INBOX, headers, BODY, Retriever(ED_KEY.public_key()))
    except SignatureError:
        pass
