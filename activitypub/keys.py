"""Key generation, PEM (de)serialisation and Multikey parsing for HTTP signatures.

Remote keys are parsed once: `load_public_key` and `load_multibase_key` keep an LRU
cache keyed by the exact text a peer published, so verifying many requests from
the same actor costs one parse.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from .errors import SignatureError

__all__ = [
    "PublicKey",
    "PrivateKey",
    "generate_rsa_key",
    "generate_ed25519_key",
    "private_key_to_pem",
    "public_key_to_pem",
    "load_private_key",
    "load_public_key",
    "load_multibase_key",
    "public_key_to_multibase",
]

PublicKey: TypeAlias = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey: TypeAlias = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

_CACHE_SIZE = 4096
_ED25519_MULTICODEC = b"\xed\x01"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(_BASE58)}


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key, the size Mastodon and most peers use."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def generate_ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def private_key_to_pem(key: PrivateKey) -> str:
    """Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY")."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_to_pem(key: PublicKey | PrivateKey) -> str:
    """SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), as published in `publicKeyPem`."""
    public = key.public_key() if isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_private_key(pem: str, *, own: bool = False) -> PrivateKey:
    """Parse an unencrypted PEM private key (PKCS#8 or PKCS#1); raise ValueError otherwise.

    `own`: a key this server generated and stored itself, whose RSA consistency check (about
    36 ms of CPU here, more than a hundred signatures) can be skipped."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None,
                                             unsafe_skip_rsa_key_validation=own)
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise ValueError("only RSA and Ed25519 private keys are supported")
    return key


@lru_cache(maxsize=_CACHE_SIZE)
def load_public_key(pem: str) -> PublicKey:
    """Parse a remote `publicKeyPem` (SPKI or PKCS#1 "RSA PUBLIC KEY"); SignatureError if unusable."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeError, UnsupportedAlgorithm) as exc:
        raise SignatureError("malformed public key PEM") from exc
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise SignatureError("unsupported public key type")
    return key


def _b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = _BASE58_INDEX.get(char)
        if digit is None:
            raise SignatureError("invalid base58 character in multibase key")
        number = number * 58 + digit
    leading_zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * leading_zeros + body


def _b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    while number:
        number, digit = divmod(number, 58)
        chars.append(_BASE58[digit])
    leading_zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * leading_zeros + "".join(reversed(chars))


@lru_cache(maxsize=_CACHE_SIZE)
def load_multibase_key(value: str) -> ed25519.Ed25519PublicKey:
    """Parse a Multikey `publicKeyMultibase` Ed25519 key ("z" + base58btc of 0xed01 + 32 bytes)."""
    if not value.startswith("z") or len(value) > 128:
        raise SignatureError("multibase key must be base58btc ('z' prefix)")
    raw = _b58decode(value[1:])
    if not raw.startswith(_ED25519_MULTICODEC) or len(raw) != 34:
        raise SignatureError("multibase key is not an Ed25519 public key")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw[2:])


def public_key_to_multibase(key: ed25519.Ed25519PublicKey) -> str:
    """The `publicKeyMultibase` form of an Ed25519 key, for publishing a Multikey."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + _b58encode(_ED25519_MULTICODEC + raw)
