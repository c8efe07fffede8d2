"""One error family for the protocol; the web layer maps each class to one HTTP status."""

__all__ = [
    "ActivityPubError",
    "BadRequest",
    "SignatureError",
    "Rejected",
    "NotFound",
    "TooLarge",
    "FetchError",
    "UnsafeURL",
]


class ActivityPubError(Exception):
    """Base class; `status` is the HTTP status an inbound request gets for it."""

    status = 400


class BadRequest(ActivityPubError):
    """Malformed JSON, missing required properties, wrong shapes."""

    status = 400


class SignatureError(ActivityPubError):
    """Missing, malformed, expired or unverifiable HTTP signature."""

    status = 401


class Rejected(ActivityPubError):
    """Well-formed and signed, but not allowed (impersonation, blocked domain...)."""

    status = 403


class NotFound(ActivityPubError):
    status = 404


class TooLarge(ActivityPubError):
    status = 413


class FetchError(ActivityPubError):
    """A remote fetch failed: network error, bad status, wrong content type, id mismatch."""

    status = 502


class UnsafeURL(FetchError):
    """A URL points to a private, loopback or otherwise forbidden address, or a bad scheme."""

    status = 400
