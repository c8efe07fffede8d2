"""What a relay admin types to allow an instance is read like a domain to block, port kept."""

from __future__ import annotations

import pytest

from activitypub.errors import BadRequest
from fedi.relay import subscriptions as relay


@pytest.mark.parametrize("typed, domain", [
    ("AVF-Ville.fr", "avf-ville.fr"),
    ("https://avf-ville.fr/", "avf-ville.fr"),
    ("https://Lyon.Example:8443/users/x", "lyon.example:8443"),
    ("@accueil@avf-ville.fr", "avf-ville.fr"),
    ("127.0.0.1:8001", "127.0.0.1:8001"),
    ("[2001:DB8::1]:8443", "[2001:db8::1]:8443"),
    ("bücher.example", "xn--bcher-kva.example"),
])
def test_the_domain_a_relay_admin_types_or_pastes_is_understood(typed, domain):
    assert relay.parse_subscriber_domain(typed) == domain


@pytest.mark.parametrize("typed", ["", "pas un domaine", "avf-ville.fr/users", "ftp://avf-ville.fr",
                                   "avf-ville.fr:99999"])
def test_what_is_not_a_domain_is_refused(typed):
    with pytest.raises(BadRequest):
        relay.parse_subscriber_domain(typed)
