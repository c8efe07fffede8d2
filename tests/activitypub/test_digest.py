"""Body digests as peers send them: Mastodon's `Digest` and RFC 9530 `Content-Digest`."""

import base64
import hashlib

import pytest

from activitypub.digest import content_digest_header, digest_header, needs_digest, verify_digest
from activitypub.errors import SignatureError

BODY = b'{"hello": "world"}'
# RFC 9530 / RFC 9421 appendix B.2 test request body digest.
RFC_SHA512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
# draft-cavage-12 appendix C request digest of the same body.
CAVAGE_DIGEST = "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="


def test_digest_header_known_answer() -> None:
    assert digest_header(BODY) == CAVAGE_DIGEST


def test_content_digest_header_is_rfc9530_sha256() -> None:
    expected = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert content_digest_header(BODY) == f"sha-256=:{expected}:"


@pytest.mark.parametrize(
    "headers",
    [
        {"Digest": CAVAGE_DIGEST},
        {"digest": "sha-256=" + CAVAGE_DIGEST.split("=", 1)[1]},
        {"Content-Digest": RFC_SHA512},
        {"Content-Digest": content_digest_header(BODY)},
        {"Digest": CAVAGE_DIGEST, "Content-Digest": RFC_SHA512},
        {"Digest": "MD5=abc, " + CAVAGE_DIGEST},  # unknown algorithms are ignored
    ],
)
def test_matching_digest_is_accepted(headers: dict[str, str]) -> None:
    verify_digest(headers, BODY)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Digest": "MD5=abc"},
        {"Digest": digest_header(b"other")},
        {"Content-Digest": content_digest_header(b"other")},
        {"Digest": CAVAGE_DIGEST, "Content-Digest": content_digest_header(b"other")},
        {"Digest": "SHA-256=not base64!"},
        {"Digest": "garbage"},
        {"Content-Digest": "sha-256=notbytes"},
        {"Content-Digest": "sha-256=:AAAA"},
        {"Content-Digest": "é"},
    ],
)
def test_missing_mismatching_or_malformed_digest_raises(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        verify_digest(headers, BODY)


def test_needs_digest_for_bodies_and_posts() -> None:
    assert needs_digest("POST", b"")
    assert needs_digest("get", b"x")
    assert not needs_digest("GET", b"")
