"""Domain blocks, as a local admin uses them against a hostile server. "spam" (one of our
instances playing that server) follows us and comments; once its domain is blocked, what it
left is gone, it is refused before we ask it anything, and we neither deliver to it nor fetch
from it. Every test instance listens on 127.0.0.1, so the tests block `127.0.0.1`, which covers
every port (our own instance is never affected by a block).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from activitypub.errors import BadRequest, Rejected
from activitypub.vocab import PUBLIC, host_of
from fedi import blocks, delivery, following, outbox, storage
from fedi.config import new_config
from fedi.instance import create_instance_files
from fedi.storage import DomainPurge, Post
from fedi_testing import (
    Served,
    free_port,
    serve_instance,
    settle,
    signer_of,
    table_counts,
)

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
LOOPBACK = "127.0.0.1"


async def post_signed(sender: Served, target: Served, activity: dict[str, Any], *,
                      signed: bool = True) -> httpx.Response:
    """POSTs `activity` to the target's shared inbox, signed by the sender's association."""
    auth = signer_of(sender.instance) if signed else None
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.post(f"{target.url}/inbox", content=json.dumps(activity).encode(),
                                 auth=auth, headers={"Content-Type": "application/activity+json"})


def activity(sender: Served, kind: str, name: str, obj: Any, actor: str | None = None) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": f"{sender.url}/activities/{name}", "type": kind,
            "actor": actor or sender.actor_url, "object": obj, "to": [PUBLIC]}


def reply(sender: Served, name: str, in_reply_to: str) -> dict[str, Any]:
    note = {"id": f"{sender.url}/posts/{name}", "type": "Note", "attributedTo": sender.actor_url,
            "inReplyTo": in_reply_to, "content": "<p>Achetez nos montres !</p>", "to": [PUBLIC],
            "published": "2024-05-02T10:00:00Z"}
    return activity(sender, "Create", f"create-{name}", note)


def record_requests(served: Served) -> list[str]:
    """Every URL the instance's HTTP client asks for from now on (fetches and deliveries)."""
    asked: list[str] = []

    async def note_request(request: httpx.Request) -> None:
        asked.append(str(request.url))

    served.instance.http.event_hooks["request"].append(note_request)
    return asked


def to_host(served: Served, urls: list[str]) -> list[str]:
    return [url for url in urls if host_of(url) == served.instance.config.host]


async def fedi_command(*args: str) -> tuple[int, str, str]:
    """Runs the real `python -m fedi ...` (without blocking the servers in this event loop)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedi", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def spam_follows_and_comments(lyon: Served, spam: Served) -> tuple[Post, str]:
    """Spam follows us, comments on our post (the comment waits for moderation) and likes it."""
    await following.follow(spam.instance, lyon.actor_url)
    await settle(lyon, spam)
    post = await outbox.publish_post(lyon.instance, "Permanence **mardi** à 14 h")
    created = reply(spam, "reply-1", post.uri)
    assert (await post_signed(spam, lyon, created)).status_code == 202
    liked = activity(spam, "Like", "like-1", post.uri)
    assert (await post_signed(spam, lyon, liked)).status_code == 202
    await settle(lyon, spam)
    assert await storage.list_followers(lyon.db, lyon.actor_url, 10) == [spam.actor_url]
    assert [c.uri for c in await storage.list_replies(lyon.db, post.uri, ("pending",))] == [created["object"]["id"]]
    assert (await storage.count_reactions(lyon.db, post.uri))["Like"] == 1
    return post, created["object"]["id"]


@pytest.fixture
async def hostile(make_instance: Any) -> tuple[Served, Served, Post, str]:
    """(we, spam, our post, spam's comment on it); spam follows us and we follow it back."""
    lyon = await make_instance("avf-lyon")
    spam = await make_instance("spam")
    post, comment = await spam_follows_and_comments(lyon, spam)
    await following.follow(lyon.instance, spam.actor_url)
    await settle(lyon, spam)
    assert (await storage.get_follow(lyon.db, lyon.actor_url, spam.actor_url)).state == "accepted"
    return lyon, spam, post, comment


@pytest.fixture
async def friend(tmp_path: Path) -> AsyncIterator[Served]:
    """A friendly instance named `localhost`: a block of 127.0.0.1 does not cover it."""
    port = free_port()
    directory = tmp_path / "friend"
    config = new_config(f"http://localhost:{port}", "friend", "Friend", allow_private=True)
    await create_instance_files(directory, config)
    served = await serve_instance(directory, "friend", port=port)
    yield served
    await served.stop()


# ------------------------------------------------------------------ what a block removes


async def test_blocking_a_domain_removes_its_follows_comments_and_likes_and_skips_its_deliveries(hostile):
    lyon, spam, post, comment = hostile
    unsent = await outbox.publish_post(lyon.instance, "Pas encore livré")  # queued for spam

    purge = await blocks.block_domain(lyon.instance, LOOPBACK, "vend des montres")

    assert purge == DomainPurge(actors=1, follows=2, posts=1, reactions=1, inbox=0, deliveries=1,
                               subscriptions=0)
    assert await storage.get_follow(lyon.db, spam.actor_url, lyon.actor_url) is None
    assert await storage.get_follow(lyon.db, lyon.actor_url, spam.actor_url) is None
    assert (await storage.get_post_by_uri(lyon.db, comment)).is_deleted
    assert await storage.list_replies(lyon.db, post.uri, ("pending", "published", "hidden")) == []
    assert await storage.count_reactions(lyon.db, post.uri) == {"Like": 0, "Announce": 0}
    assert await storage.get_remote_actor_by_uri(lyon.db, spam.actor_url) is None
    [blocked] = await storage.list_domain_blocks(lyon.db)
    assert (blocked.domain, blocked.reason) == (LOOPBACK, "vend des montres")
    await settle(lyon, spam)
    assert await storage.get_post_by_uri(spam.db, unsent.uri) is None
    assert (await storage.count_deliveries(lyon.db)).get("skipped") == 1
    assert await storage.get_post_by_uri(lyon.db, post.uri) is not None  # ours are untouched


# ------------------------------------------------------------------ inbound


@pytest.mark.parametrize("kind", ["comment", "follow", "like", "unsigned like",
                                  "another actor with spam's key"])
async def test_a_blocked_server_gets_403_before_we_ask_it_anything_and_nothing_is_stored(hostile, kind):
    """Its actor document was purged with the block, so checking the signature would need a
    fetch from it: the refusal comes first (an unsigned request gets 403, not 401)."""
    lyon, spam, post, _ = hostile
    await blocks.block_domain(lyon.instance, LOOPBACK)
    sent = {
        "comment": reply(spam, "reply-2", post.uri),
        "follow": activity(spam, "Follow", "follow-2", lyon.actor_url),
        "like": activity(spam, "Like", "like-2", post.uri),
        "unsigned like": activity(spam, "Like", "like-2", post.uri),
        "another actor with spam's key": activity(
            spam, "Like", "like-3", post.uri, actor="http://localhost:1/users/innocent"),
    }[kind]
    asked = record_requests(lyon)
    before = await table_counts(lyon.instance)

    response = await post_signed(spam, lyon, sent, signed=kind != "unsigned like")
    await settle(lyon, spam)

    assert response.status_code == 403 and "blocked" in response.json()["error"]
    assert await table_counts(lyon.instance) == before
    assert asked == []


async def test_a_friends_boost_of_a_blocked_servers_post_is_ignored_quietly(make_instance, friend):
    lyon = await make_instance("avf-lyon")
    spam = await make_instance("spam")
    await following.follow(lyon.instance, friend.actor_url)
    await settle(lyon, friend)
    advert = await outbox.publish_post(spam.instance, "Achetez nos montres !")
    await blocks.block_domain(lyon.instance, LOOPBACK)
    asked = record_requests(lyon)

    boost = activity(friend, "Announce", "boost-1", advert.uri)
    assert (await post_signed(friend, lyon, boost)).status_code == 202
    await settle(lyon, friend, spam)

    assert await storage.get_post_by_uri(lyon.db, advert.uri) is None
    row = await lyon.db.fetchone("SELECT state, last_error FROM inbox WHERE activity_uri = ?", (boost["id"],))
    assert tuple(row) == ("done", None)
    assert to_host(spam, asked) == []

    await blocks.unblock_domain(lyon.instance, LOOPBACK)  # the same boost, unblocked, is kept
    again = activity(friend, "Announce", "boost-2", advert.uri)
    assert (await post_signed(friend, lyon, again)).status_code == 202
    await settle(lyon, friend, spam)
    assert await storage.get_post_by_uri(lyon.db, advert.uri) is not None


# ------------------------------------------------------------------ outbound


async def test_deliveries_skip_a_blocked_domain_its_subdomains_and_every_port(instance, caplog):
    await storage.put_domain_block(instance.db, "Spam.Example", "")
    inboxes = ["https://spam.example/inbox", "https://SPAM.example:8443/inbox",
               "https://a.b.spam.example/inbox", "https://notspam.example/inbox",
               "https://spam.example.org/inbox"]
    async with instance.db.transaction() as tx:
        activity_id = await storage.put_activity(
            tx, uri=f"{instance.url}/activities/x", actor=instance.actor_url, type="Create",
            object_uri=None, public=True, body={})
        with caplog.at_level("INFO", logger="fedi.delivery"):
            queued = await delivery.queue_deliveries(tx, activity_id, inboxes, instance.instance.clock())

    assert queued == 2
    rows = await storage.list_deliveries_for_activity(instance.db, f"{instance.url}/activities/x")
    assert [row["inbox"] for row in rows] == ["https://notspam.example/inbox", "https://spam.example.org/inbox"]
    assert [r.getMessage() for r in caplog.records] == [  # left out, and said so
        f"activity {activity_id} not queued for blocked hosts (3): a.b.spam.example, spam.example,"
        " spam.example:8443"]
    assert await storage.is_domain_blocked(instance.db, "A.Spam.Example:80")
    assert not await storage.is_domain_blocked(instance.db, "example")


async def test_an_ip_block_covers_that_address_on_every_port_and_nothing_else(instance):
    await storage.put_domain_block(instance.db, "10.0.0.1", "")
    assert await storage.is_domain_blocked(instance.db, "10.0.0.1:8080")
    assert not await storage.is_domain_blocked(instance.db, "110.0.0.1")
    assert not await storage.is_domain_blocked(instance.db, "0.0.1")


async def test_following_an_account_on_a_blocked_domain_fails_clearly_without_asking_it(hostile):
    lyon, spam, _, _ = hostile
    await blocks.block_domain(lyon.instance, LOOPBACK)
    asked = record_requests(lyon)
    for target in (spam.actor_url, f"@spam@{spam.instance.config.host}"):
        with pytest.raises(Rejected, match=f"{spam.instance.config.host} is blocked on this instance"):
            await following.follow(lyon.instance, target)
    assert asked == []
    assert await storage.get_follow(lyon.db, lyon.actor_url, spam.actor_url) is None


async def test_after_unblock_the_server_can_follow_us_again(hostile):
    lyon, spam, _, _ = hostile
    await blocks.block_domain(lyon.instance, LOOPBACK)
    assert await storage.list_followers(lyon.db, lyon.actor_url, 10) == []

    assert await storage.delete_domain_block(lyon.db, LOOPBACK)
    assert not await storage.delete_domain_block(lyon.db, LOOPBACK)
    await following.follow(spam.instance, lyon.actor_url)
    await settle(lyon, spam)

    assert await storage.list_followers(lyon.db, lyon.actor_url, 10) == [spam.actor_url]


async def test_a_production_instance_cannot_block_its_own_domain(instance):
    instance.instance.config = new_config("https://avf-lyon.example", "avf-lyon", None)
    for own in ("avf-lyon.example", "example"):
        with pytest.raises(BadRequest, match="own domain"):
            await blocks.block_domain(instance.instance, own)
    assert await storage.list_domain_blocks(instance.db) == []


# ------------------------------------------------------------------ the command line


async def test_fedi_block_on_a_stopped_instance_then_the_server_is_refused(tmp_path, make_instance):
    """The admin stops the server, pastes spam's actor URL into `fedi block`, starts it again."""
    spam = await make_instance("spam")
    port, directory = free_port(), tmp_path / "lyon"
    lyon = await serve_instance(directory, "avf-lyon", port=port)
    try:
        post, comment = await spam_follows_and_comments(lyon, spam)
    finally:
        await lyon.stop()

    code, out, err = await fedi_command("block", "--dir", str(directory), spam.actor_url, "--reason", "spam")
    assert code == 0, err
    assert f"blocked {LOOPBACK}" in out and "removed 1 follows, 1 posts or comments, 1 likes" in out
    code, out, _ = await fedi_command("blocks", "--dir", str(directory))
    assert code == 0 and out.split("\t")[0] == LOOPBACK and out.strip().endswith("spam")
    code, _, err = await fedi_command("follow", "--dir", str(directory), f"@spam@{spam.instance.config.host}")
    assert code == 1 and f"fedi: {spam.instance.config.host} is blocked on this instance" in err

    lyon = await serve_instance(directory, "avf-lyon", port=port)
    try:
        assert (await post_signed(spam, lyon, reply(spam, "reply-3", post.uri))).status_code == 403
        assert (await storage.get_post_by_uri(lyon.db, comment)).is_deleted
        assert await storage.list_followers(lyon.db, lyon.actor_url, 10) == []
        code, out, err = await fedi_command("unblock", "--dir", str(directory), LOOPBACK)
        assert code == 0 and f"unblocked {LOOPBACK}" in out, err
        # the running server reads the blocks again within BLOCKLIST_SECONDS of the CLI's change
        await asyncio.sleep(blocks.BLOCKLIST_SECONDS + 0.5)
        await following.follow(spam.instance, lyon.actor_url)
        await settle(lyon, spam)
        assert await storage.list_followers(lyon.db, lyon.actor_url, 10) == [spam.actor_url]
    finally:
        await lyon.stop()


@pytest.mark.parametrize("typed, domain", [
    ("Spam.Example", "spam.example"),
    ("  spam.example.  ", "spam.example"),
    ("https://spam.example/@bob", "spam.example"),
    ("http://spam.example:8080/users/bob", "spam.example"),
    ("@bob@Spam.Example", "spam.example"),
    ("bob@spam.example", "spam.example"),
    ("*.spam.example", "spam.example"),
    ("spam.example:8443", "spam.example"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("http://127.0.0.1:8001/users/x", "127.0.0.1"),
    ("2001:DB8:0::1", "2001:db8::1"),
    ("[2001:db8::1]:443", "2001:db8::1"),
])
def test_the_domain_an_admin_types_or_pastes_is_understood(typed, domain):
    assert blocks.parse_domain(typed) == domain


@pytest.mark.parametrize("typed, message", [
    ("", "no domain"),
    ("spam", "not a domain name"),
    ("com", "not a domain name"),
    ("spam .example", "not a domain name"),
    ("-spam.example", "not a domain name"),
    ("spam.example/users/bob", "a domain has no path"),
    ("ftp://spam.example", "not a web address"),
    ("https://", "no domain"),
    ("spam.example:99999", "not a domain name"),
])
def test_a_domain_that_is_not_one_is_refused_with_a_clear_message(typed, message):
    with pytest.raises(BadRequest, match=message):
        blocks.parse_domain(typed)


async def test_fedi_block_explains_what_is_wrong(tmp_path):
    directory = str(tmp_path / "avf")
    code, _, err = await fedi_command("init", "--dir", directory, "--url", "https://avf.example", "--name", "avf")
    assert code == 0, err
    checks = [
        (("block", "--dir", directory, "spam.example/users/bob"), "a domain has no path"),
        (("block", "--dir", directory, "avf.example"), "own domain"),
        (("unblock", "--dir", directory, "spam.example"), "spam.example is not blocked"),
    ]
    for args, message in checks:
        code, _, err = await fedi_command(*args)
        assert code == 1 and err.startswith("fedi: ") and message in err, err
    code, out, _ = await fedi_command("blocks", "--dir", directory)
    assert code == 0 and out.strip() == "no blocked domains"
