"""Host and domain names as this instance compares them, in one place: what an admin types
(a domain to block, a relay's subscriber), hosts read from URLs, and when a block covers a host.

A block of `example.com` covers `example.com` and every `*.example.com`, on any port: hosts
compare lower-case and without their port (so a block of `127.0.0.1` covers all of loopback's
ports, which tests use). An IP address covers only itself.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from activitypub.errors import BadRequest

__all__ = ["bare_host", "covering_domains", "host_is_covered", "parse_domain"]

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
EXAMPLE = "give a domain name such as spam.example, or an IP address"


def parse_domain(text: str, *, keep_port: bool = False) -> str:
    """What an admin typed → a domain: a host name or IP address, lower-case, without its port
    unless `keep_port` (a relay keys its subscribers by `host[:port]`). A pasted URL
    (`https://spam.example/@x`) or handle (`@x@spam.example`) gives its host; `*.spam.example` is
    `spam.example` (a block covers subdomains anyway)."""
    value = text.strip().lower()
    if _ip(value):  # also a bare IPv6 address, which has colons but no port
        return _ip(value)
    if "://" in value:
        host, port = _host_of_url(value, text)
    else:
        host, port = _host_of_bare(value.rsplit("@", 1)[-1], text)
    host = _valid_host(host.removeprefix("*.").rstrip("."), text)
    if not keep_port or port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _valid_host(host: str, text: str) -> str:
    if _ip(host):
        return _ip(host)
    host = _ascii(host, text)
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise BadRequest(f"not a domain name: {text!r} ({EXAMPLE})")
    return host


def _host_of_url(value: str, text: str) -> tuple[str, int | None]:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise BadRequest(f"not a web address: {text!r} ({EXAMPLE})")
    return _hostname(value, text)


def _host_of_bare(value: str, text: str) -> tuple[str, int | None]:
    if any(mark in value for mark in "/?#\\"):
        raise BadRequest(f"a domain has no path: {text!r} ({EXAMPLE})")
    return _hostname("//" + value, text)


def _hostname(url: str, text: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(url)
        port = parts.port  # reading it checks that the port is a number in range
    except ValueError as error:
        raise BadRequest(f"not a domain name: {text!r} ({EXAMPLE})") from error
    if not parts.hostname:
        raise BadRequest(f"no domain in {text!r} ({EXAMPLE})")
    return parts.hostname, port


def _ip(host: str) -> str:
    """The address in its usual written form, or "" when `host` is not an IP address."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return ""


def _ascii(host: str, text: str) -> str:
    """International domain names are blocked by their ASCII (punycode) form, as URLs carry it."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise BadRequest(f"not a domain name: {text!r} ({EXAMPLE})") from error


def bare_host(host: str) -> str:
    """`Name.Example:8443` → `name.example`; `[::1]:80` → `::1`."""
    try:
        name = urlsplit("//" + host).hostname
    except ValueError:
        name = None
    return (name or host).lower().rstrip(".")


def covering_domains(bare_host: str) -> list[str]:
    """The host and each of its parent domains: a block of any of them covers the host."""
    try:
        ipaddress.ip_address(bare_host)
        return [bare_host]
    except ValueError:
        labels = bare_host.split(".")
        return [".".join(labels[i:]) for i in range(len(labels))]


def host_is_covered(host: str, domains: set[str] | frozenset[str]) -> bool:
    """Is `host` one of `domains` (blocked domains) or under one of them?"""
    return bool(domains) and any(d in domains for d in covering_domains(bare_host(host)))
