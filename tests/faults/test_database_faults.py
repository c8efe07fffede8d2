"""Given an instance whose database can no longer be written (read-only, or disk full):
publishing raises StorageError and leaves nothing half-written, an inbound activity gets
`503` with `Retry-After` (the peer retries later), reads keep working, and once the fault is
lifted everything works again and the database is intact.

Tests may run as root, where chmod does not stop writes; so the faults are made on the
instance's own connection with SQLite's pragmas: `query_only` (read-only) and a
`max_page_count` equal to the current size (full disk: growing fails with SQLITE_FULL). The
CLI test makes the file really read-only: chmod, or `chattr +i` as root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from activitypub.auth import sign_request
from fedi import outbox, remote, storage
from fedi.storage import StorageError
from fedi_testing import AP_HEADERS, Served, settle, signer_of, table_counts

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("posts", "activities", "deliveries", "inbox", "follows")
BIG_TEXT = "Une longue annonce. " * 2_000  # 40 kB: needs new pages, so a full disk refuses it
FAULTS = {
    "read_only": ("PRAGMA query_only = ON", "PRAGMA query_only = OFF", "readonly"),
    "disk_full": ("PRAGMA max_page_count = {pages}", "PRAGMA max_page_count = 4294967294", "full"),
}


async def pragma(served: Served, sql: str) -> Any:
    connection = served.db._connection  # the instance's own connection: pragmas are per connection
    async with connection.execute(sql) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def break_database(served: Served, fault: str) -> None:
    pages = await pragma(served, "PRAGMA page_count")
    assert await pragma(served, "PRAGMA freelist_count") == 0
    await pragma(served, FAULTS[fault][0].format(pages=pages))


async def mend_database(served: Served, fault: str) -> None:
    await pragma(served, FAULTS[fault][1])


@pytest.fixture(params=list(FAULTS))
def fault(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def followed(make_instance: Any) -> tuple[Served, Served]:
    """(target, peer): the peer follows the target, so a post makes a delivery row too."""
    target = await make_instance("avf-lyon")
    peer = await make_instance("avf-nantes")
    await remote.get_actor(target.instance, peer.actor_url)
    response = await post_signed(peer, f"{target.url}/inbox", {
        "@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
        "id": f"{peer.url}/activities/follow-1", "actor": peer.actor_url, "object": target.actor_url})
    assert response.status_code == 202, response.text
    await settle(target, peer)
    assert await storage.list_followers(target.db, target.actor_url, 10) == [peer.actor_url]
    return target, peer


async def post_signed(peer: Served, url: str, activity: dict[str, Any]) -> httpx.Response:
    request = httpx.Request("POST", url, content=json.dumps(activity).encode(),
                            headers={"Content-Type": "application/activity+json"})
    auth = signer_of(peer.instance)
    sign_request(request, auth.key_id, auth.private_key, auth.scheme)
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.send(request)


def note_from(peer: Served, n: int) -> dict[str, Any]:
    note = {"id": f"{peer.url}/notes/{n}", "type": "Note", "attributedTo": peer.actor_url,
            "content": BIG_TEXT, "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Create",
            "id": f"{peer.url}/activities/create-{n}", "actor": peer.actor_url, "object": note,
            "to": note["to"]}


async def assert_intact(served: Served) -> None:
    assert await pragma(served, "PRAGMA integrity_check") == "ok"
    assert await pragma(served, "PRAGMA foreign_key_check") is None


async def test_publishing_on_an_unwritable_database_raises_storage_error_and_writes_nothing(followed, fault):
    target, peer = followed
    before = await table_counts(target.instance, TABLES)
    await break_database(target, fault)

    with pytest.raises(StorageError) as raised:
        await outbox.publish_post(target.instance, BIG_TEXT, title="Fête des voisins")

    assert FAULTS[fault][2] in str(raised.value)  # SQLite's own words: "...readonly..." / "...full"
    assert await table_counts(target.instance, TABLES) == before
    await mend_database(target, fault)
    assert await table_counts(target.instance, TABLES) == before  # nothing was waiting to commit
    await assert_intact(target)

    post = await outbox.publish_post(target.instance, BIG_TEXT, title="Fête des voisins")
    await settle(target, peer)
    assert await storage.count_deliveries(target.db) == {"done": 2}  # the Accept, then the Create
    assert (await storage.get_post_by_uri(target.db, post.uri)).title == "Fête des voisins"
    await assert_intact(target)


async def test_an_inbound_activity_on_an_unwritable_database_gets_503_then_is_taken(followed, fault):
    target, peer = followed
    before = await table_counts(target.instance, TABLES)
    await break_database(target, fault)

    refused = await post_signed(peer, f"{target.url}/inbox", note_from(peer, 1))

    assert refused.status_code == 503, refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["error"]
    async with httpx.AsyncClient(timeout=10) as client:  # reading still works
        assert (await client.get(target.actor_url, headers=AP_HEADERS)).status_code == 200
    assert await table_counts(target.instance, TABLES) == before

    await mend_database(target, fault)
    taken = await post_signed(peer, f"{target.url}/inbox", note_from(peer, 1))  # the peer's retry
    assert taken.status_code == 202, taken.text
    await settle(target, peer)
    row = await target.db.fetchone("SELECT state, last_error FROM inbox WHERE activity_uri = ?",
                                   (f"{peer.url}/activities/create-1",))
    assert tuple(row) == ("done", None)
    await assert_intact(target)


def _make_read_only(path: Path) -> str:
    """Makes `path` (a file or directory) unwritable even for root; returns how, or skips."""
    if os.geteuid() != 0:
        path.chmod(0o555 if path.is_dir() else 0o444)
        return "chmod"
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False).returncode:
        pytest.skip("running as root without chattr +i: cannot make a file read-only")
    return "chattr"


def _make_writable(path: Path, how: str) -> None:
    if how == "chattr":
        subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(0o755 if path.is_dir() else 0o644)


def run_fedi(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fedi", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize("what", ["file", "file_and_directory"])
def test_the_cli_on_a_read_only_database_exits_1_with_a_clear_message(tmp_path, what):
    directory = tmp_path / "ro"
    created = run_fedi("init", "--dir", str(directory), "--url", "http://127.0.0.1:9", "--name", "ro",
                       "--allow-private")
    assert created.returncode == 0, created.stderr
    database = next(directory.glob("*.sqlite3"))
    assert not list(directory.glob("*-wal")) and not list(directory.glob("*-shm"))
    locked = [database] + ([directory] if what == "file_and_directory" else [])
    hows = [(path, _make_read_only(path)) for path in locked]
    try:
        result = run_fedi("post", "--dir", str(directory), "Bonjour")
    finally:
        for path, how in reversed(hows):
            _make_writable(path, how)

    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr.replace("read-only", "readonly")
    assert "fedi: " in message and ("readonly" in message or "writable" in message), message
    assert "http" not in result.stdout  # no post id printed
    check = run_fedi("check", "--dir", str(directory))
    assert check.returncode == 0, check.stderr
    assert run_fedi("post", "--dir", str(directory), "Bonjour").returncode == 0
