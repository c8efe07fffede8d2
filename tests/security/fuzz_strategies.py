"""Hypothesis strategies for activity-like JSON: what peers (honest, broken or hostile) may send.

Every property the parsers read gets a random mix of plausible and impossible values: ids that
are good URLs, URLs with odd ports or broken IPv6, other schemes, huge strings, numbers, lists,
nested objects. `hosts` lets the inbox fuzzer aim ids at servers that exist in the test (so
the handlers go deep) while the parser fuzzer invents any host.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from hypothesis import strategies as st

from activitypub.vocab import PUBLIC

ACTIVITY_TYPES = ["Create", "Update", "Delete", "Follow", "Accept", "Reject", "Undo", "Like",
                  "Announce", "Move", "Add", "Block", "Flag", "EmojiReact", "Wave"]
OBJECT_TYPES = ["Note", "Article", "Question", "Event", "Page", "Image", "Video", "Tombstone",
                "Person", "Group", "Service", "Application", "Organization", "Collection"]
LOCAL_ODD_HOSTS = ["127.0.0.1", "[::1]", "localhost", "0", "example.invalid", "a" * 300 + ".invalid"]
ODD_HOSTS = ["example.org", "EXAMPLE.org", "127.0.0.1", "[::1]", "[2001:db8::1]", "xn--caf-dma.fr",
             "a" * 300 + ".example", "localhost", "0", "example.invalid"]
ODD_PORTS = ["", ":0", ":1", ":65535", ":65536", ":99999", ":-1", ":abc", ":"]
BROKEN_URLS = ["http://[::1/x", "http:///x", "https://", "//example.org/x", "javascript:alert(1)",
               "mailto:a@example.org", "ftp://example.org/x", "data:text/plain,x", "urn:uuid:1",
               "http://exa mple.org/", "http://[fe80::1%25eth0]/x", "http://user:pass@example.org/x",
               "https://example.org/" + "a" * 3000, "acct:a@example.org", "as:Public", "Public", ""]
HUGE = ["x" * 100_000, "é" * 50_000, "<p>" * 20_000, "\u202e" * 1_000, "\x00" * 1_000]

text = st.one_of(st.text(max_size=40), st.sampled_from(HUGE),
                 st.text(st.characters(codec="utf-8"), max_size=20))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)


def mostly(good: st.SearchStrategy[Any], junk: st.SearchStrategy[Any],
           percent: int = 70) -> st.SearchStrategy[Any]:
    """`good` about `percent`% of the time, else `junk` (one_of would weigh by branch count)."""
    return st.integers(0, 99).flatmap(lambda n: good if n < percent else junk)


def good_urls(hosts: Sequence[str] = (), odd_hosts: Sequence[str] = ODD_HOSTS) -> st.SearchStrategy[str]:
    """Well-formed http(s) URLs: on the given hosts, or on odd but valid hosts and ports."""
    paths = st.sampled_from(["", "/users/x", "/posts/1", "/users/x/inbox", "/users/x#main-key",
                             "/activities/1", "/x?y=1#z", "/%2e%2e/%00"]) | st.text(max_size=20).map(
        lambda p: "/" + p)
    on_hosts = (st.builds(lambda b, p: b + p, st.sampled_from(list(hosts)), paths) if hosts
                else st.nothing())
    made = st.builds(lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
                     st.sampled_from(["https", "http", "HTTPS"]), st.sampled_from(list(odd_hosts)),
                     st.sampled_from(["", ":1", ":443", ":8080", ":65535"]), paths)
    return st.one_of(on_hosts, on_hosts, made)


def urls(hosts: Sequence[str] = (), odd_hosts: Sequence[str] = ODD_HOSTS) -> st.SearchStrategy[str]:
    """URLs: mostly well-formed, else with impossible ports, other schemes, or broken outright."""
    broken = st.builds(lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
                       st.sampled_from(["https", "http", "ws", "file"]), st.sampled_from(list(odd_hosts)),
                       st.sampled_from(ODD_PORTS), st.text(max_size=10))
    return mostly(good_urls(hosts, odd_hosts), st.one_of(broken, st.sampled_from(BROKEN_URLS), st.text(max_size=30)))


def refs(hosts: Sequence[str] = (), objects: st.SearchStrategy[Any] | None = None,
         odd_hosts: Sequence[str] = ODD_HOSTS) -> st.SearchStrategy[Any]:
    """What a reference property holds: an id, a list of ids, an embedded object, or junk."""
    one = mostly(urls(hosts, odd_hosts), objects, 75) if objects is not None else urls(hosts, odd_hosts)
    return mostly(one, st.one_of(st.lists(one, max_size=3), scalars, json_values), 75)


def types(names: Sequence[str]) -> st.SearchStrategy[Any]:
    name = st.sampled_from(list(names))
    return mostly(name, st.lists(name | st.text(max_size=8), max_size=3) | scalars, 80)


CORE = ("type", "id", "actor", "object", "attributedTo", "inbox")


def objects(hosts: Sequence[str] = (), depth: int = 1,
            odd_hosts: Sequence[str] = ODD_HOSTS) -> st.SearchStrategy[dict[str, Any]]:
    """Note-, actor- and activity-like objects, embedding each other up to `depth` levels. Half
    of them carry every core property (type, id, actor, object, attributedTo, inbox), so the
    parsers get past their first checks and the deeper code is exercised too."""
    inner = objects(hosts, depth - 1, odd_hosts) if depth > 0 else None
    embedding = refs(hosts, inner, odd_hosts)  # only where peers embed objects: keeps examples small
    ref = refs(hosts, odd_hosts=odd_hosts)
    audience = st.one_of(st.just(PUBLIC), st.just("as:Public"), ref)
    tag = st.fixed_dictionaries({}, optional={"type": types(["Mention", "Hashtag", "Emoji"]),
                                              "href": ref, "name": text})
    attachment = st.fixed_dictionaries({}, optional={
        "type": types(["Document", "Image", "PropertyValue"]), "url": ref, "href": ref,
        "mediaType": text | scalars, "name": text | scalars})
    languages = st.sampled_from(["fr", "en", "und"]) | st.text(max_size=5)
    fields: dict[str, st.SearchStrategy[Any]] = {
        "@context": st.one_of(st.just("https://www.w3.org/ns/activitystreams"), json_values),
        "type": types(ACTIVITY_TYPES + OBJECT_TYPES),
        "id": ref, "actor": embedding, "object": embedding, "target": ref, "to": audience,
        "cc": audience, "attributedTo": embedding, "inReplyTo": embedding, "url": ref,
        "content": text | scalars,
        "contentMap": st.dictionaries(languages, text | scalars, max_size=3) | scalars,
        "name": text | scalars, "summary": text | scalars,
        "published": st.sampled_from(["2024-01-01T00:00:00Z", "2024-13-45T99:00:00", "yesterday"]) | scalars,
        "tag": st.lists(tag | scalars, max_size=3) | tag | scalars,
        "attachment": st.lists(attachment | scalars, max_size=3) | attachment | scalars,
        "inbox": ref, "outbox": ref, "followers": ref, "following": ref,
        "endpoints": st.fixed_dictionaries({}, optional={"sharedInbox": ref}) | scalars,
        "publicKey": st.fixed_dictionaries({}, optional={
            "id": ref, "owner": ref, "publicKeyPem": text | scalars}) | scalars,
        "icon": ref, "alsoKnownAs": ref, "movedTo": ref, "preferredUsername": text | scalars,
        "sensitive": scalars, "manuallyApprovesFollowers": scalars,
    }
    core = {key: fields[key] for key in CORE}
    rest = {key: value for key, value in fields.items() if key not in CORE}
    return mostly(st.fixed_dictionaries(core, optional=rest), st.fixed_dictionaries({}, optional=fields))


def is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    parts.port  # noqa: B018 -- raises on a malformed port
    return parts.scheme in ("http", "https") and bool(parts.hostname)
