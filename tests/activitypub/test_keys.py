"""Keys as peers publish them: SPKI and PKCS#1 PEM, Multikey multibase."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from activitypub.errors import SignatureError
from activitypub.keys import (
    generate_ed25519_key,
    generate_rsa_key,
    load_multibase_key,
    load_private_key,
    load_public_key,
    private_key_to_pem,
    public_key_to_multibase,
    public_key_to_pem,
)

# did:key example for the Ed25519 key whose seed is 32 zero bytes (widely used test value).
ZERO_SEED_MULTIBASE = "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"


def raw(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_generated_rsa_key_is_2048_bits_and_round_trips_through_pem() -> None:
    key = generate_rsa_key()
    assert key.key_size == 2048
    private_pem = private_key_to_pem(key)
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key(private_pem)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == key.private_numbers()
    public_pem = public_key_to_pem(key)
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert public_key_to_pem(key.public_key()) == public_pem
    public = load_public_key(public_pem)
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == key.public_key().public_numbers()


def test_ed25519_key_round_trips_through_pem() -> None:
    key = generate_ed25519_key()
    assert isinstance(load_private_key(private_key_to_pem(key)), ed25519.Ed25519PrivateKey)
    public = load_public_key(public_key_to_pem(key))
    assert isinstance(public, ed25519.Ed25519PublicKey)
    assert raw(public) == raw(key.public_key())


def test_pkcs1_rsa_public_key_as_some_servers_send_it_is_accepted() -> None:
    key = generate_rsa_key().public_key()
    pkcs1 = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    assert pkcs1.startswith("-----BEGIN RSA PUBLIC KEY-----")
    loaded = load_public_key(pkcs1)
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == key.public_numbers()


def test_a_public_key_is_parsed_once_per_pem_string() -> None:
    pem = public_key_to_pem(generate_rsa_key())
    assert load_public_key(pem) is load_public_key(pem)


@pytest.mark.parametrize("pem", ["", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "é"])
def test_garbage_public_key_raises_signature_error(pem: str) -> None:
    with pytest.raises(SignatureError):
        load_public_key(pem)


def test_unsupported_key_type_raises_signature_error() -> None:
    pem = public_key_to_pem_any(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(SignatureError, match="unsupported"):
        load_public_key(pem)


def public_key_to_pem_any(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_multikey_ed25519_known_answer() -> None:
    """Given the did:key value of the zero-seed key, parsing yields exactly that key."""
    expected = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    assert raw(load_multibase_key(ZERO_SEED_MULTIBASE)) == raw(expected)
    assert public_key_to_multibase(expected) == ZERO_SEED_MULTIBASE


def test_multikey_round_trip_and_the_key_verifies_signatures() -> None:
    key = generate_ed25519_key()
    public = load_multibase_key(public_key_to_multibase(key.public_key()))
    public.verify(key.sign(b"hello"), b"hello")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "z",
        "f" + "00" * 34,  # base16 multibase, not supported
        "z0OIl",  # characters outside the base58 alphabet
        "z" + "2" * 46,  # valid base58, wrong multicodec prefix
        ZERO_SEED_MULTIBASE[:-3],  # truncated
    ],
)
def test_bad_multikey_raises_signature_error(value: str) -> None:
    with pytest.raises(SignatureError):
        load_multibase_key(value)
