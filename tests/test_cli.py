"""The `fedi` command as an admin (or a script) uses it: real processes, real files."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from fedi import following, invitations, members, storage
from fedi.instance import open_instance
from fedi_testing import free_port, settle

FEDI = [sys.executable, "-m", "fedi"]
AP = {"Accept": "application/activity+json"}


def fedi(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*FEDI, *args], capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"fedi {' '.join(args)} failed: {result.stderr}")
    return result


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped"
        try:
            if httpx.get(url + "/.well-known/nodeinfo").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def test_init_post_edit_delete_then_serve_and_stop_cleanly(tmp_path: Path):
    port = free_port()
    directory = str(tmp_path / "avf")
    url = f"http://127.0.0.1:{port}"
    fedi("init", "--dir", directory, "--url", url, "--name", "avf-lyon", "--title", "AVF Lyon",
         "--allow-private")
    kept = fedi("post", "--dir", directory, "--title", "Bienvenue", "Notre **permanence** est ouverte")
    post_id = kept.stdout.strip().splitlines()[-1]
    assert post_id.startswith(f"{url}/posts/")
    gone = fedi("post", "--dir", directory, "À supprimer").stdout.strip().splitlines()[-1]
    fedi("edit", "--dir", directory, post_id, "Notre **permanence** est ouverte le mardi")
    fedi("delete", "--dir", directory, gone)

    server = subprocess.Popen([*FEDI, "serve", "--dir", directory], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url, server)
        note = httpx.get(post_id, headers=AP).json()
        assert "Bienvenue" in note["content"] and "le mardi" in note["content"]
        assert httpx.get(gone, headers=AP).status_code == 410
        assert httpx.get(f"{url}/users/avf-lyon", headers=AP).json()["name"] == "AVF Lyon"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    assert "database ok" in fedi("check", "--dir", directory).stdout


@pytest.mark.parametrize("args, message", [
    (["--url", "not a url", "--name", "avf"], "URL must look like"),
    (["--url", "http://example.org", "--name", "avf"], "plain http"),
    (["--url", "https://example.org/path", "--name", "avf"], "site root"),
    (["--url", "https://example.org", "--name", "Bad Name!"], "lower-case"),
])
def test_init_refuses_bad_settings_with_a_clear_message_and_writes_nothing(tmp_path, args, message):
    result = fedi("init", "--dir", str(tmp_path / "x"), *args, check=False)
    assert result.returncode == 1 and message in result.stderr
    assert not (tmp_path / "x" / "fedi.sqlite3").exists()


def test_commands_explain_what_is_wrong(tmp_path: Path):
    directory = str(tmp_path / "avf")
    missing = fedi("post", "--dir", directory, "Bonjour", check=False)
    assert missing.returncode == 1 and "fedi init" in missing.stderr
    fedi("init", "--dir", directory, "--url", "https://avf.example", "--name", "avf")
    again = fedi("init", "--dir", directory, "--url", "https://avf.example", "--name", "avf", check=False)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
    empty = fedi("post", "--dir", directory, "   ", check=False)
    assert empty.returncode == 1 and "empty" in empty.stderr
    unknown = fedi("edit", "--dir", directory, "https://avf.example/posts/nope", "x", check=False)
    assert unknown.returncode == 1 and "no post" in unknown.stderr
    unreachable = fedi("follow", "--dir", directory, "http://127.0.0.1:1/users/x", check=False)
    assert unreachable.returncode == 1 and "fedi:" in unreachable.stderr


def test_backup_and_restore_bring_back_posts_and_keys(tmp_path: Path):
    directory, restored = tmp_path / "avf", tmp_path / "restored"
    fedi("init", "--dir", str(directory), "--url", "https://avf.example", "--name", "avf")
    post_id = fedi("post", "--dir", str(directory), "Gardé").stdout.split()[-1]
    (directory / "media").mkdir()
    photo = os.urandom(2048)  # what the desk wrote besides the database: photos and the logo
    (directory / "media" / "0123abcd.jpg").write_bytes(photo)
    (directory / "logo.png").write_bytes(b"logo")
    fedi("backup", "--dir", str(directory), str(tmp_path / "avf.bak"))
    fedi("restore", "--dir", str(restored), str(tmp_path / "avf.bak"))
    assert (restored / "fedi.toml").read_text() == (directory / "fedi.toml").read_text()
    assert (restored / "media" / "0123abcd.jpg").read_bytes() == photo
    assert (restored / "logo.png").read_bytes() == b"logo"
    assert "database ok" in fedi("check", "--dir", str(restored)).stdout
    edit = fedi("edit", "--dir", str(restored), post_id, "Toujours là")
    assert edit.stdout.strip() == post_id
    (tmp_path / "junk.bak").write_bytes(os.urandom(4096))
    refused = fedi("restore", "--dir", str(restored), str(tmp_path / "junk.bak"), check=False)
    assert refused.returncode == 1 and "not a usable fedi backup" in refused.stderr


def test_demo_starts_a_relay_and_three_associations_that_share_their_posts(tmp_path: Path):
    base_port = free_port()
    demo = subprocess.Popen([*FEDI, "demo", "--dir", str(tmp_path), "--base-port", str(base_port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in demo.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        output = "".join(lines)
        urls = [f"http://127.0.0.1:{base_port + n}" for n in range(4)]
        assert all(url in output for url in urls), output
        relay, lyon = urls[0], urls[1]
        assert httpx.get(f"{relay}/actor", headers=AP).json()["type"] == "Application"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            followers = httpx.get(f"{lyon}/users/avf-lyon/followers", headers=AP).json()
            # each publishes a welcome post and its recurring welcome meeting; all six reach all;
            # its members' post stays in its own space
            if followers["totalItems"] == 2 and all(_posts_kept(tmp_path / name) == (6, 1) for name in
                                                    ("avf-lyon", "avf-nantes", "avf-rennes")):
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the demo associations did not federate")
        home = httpx.get(f"{lyon}/", headers={"Accept": "text/html"}).text
        assert "Bienvenue à Lyon" in home and "Café d&#39;accueil des nouveaux arrivants" in home
        assert "Assemblée générale des adhérents" not in home
        assert f"{lyon}/members  user marie, password bienvenue-marie" in output
        assert "chaque mardi de 14 h à 17 h" in httpx.get(f"{lyon}/meet").text
        assert f"{lyon}/login  user admin, password bienvenue-avf-lyon" in output
        with _logged_in(lyon, "bienvenue-avf-lyon") as browser:
            assert "Espace rédaction" in browser.get("/desk").text
        assert f"{relay}/login  user admin, password bienvenue-relay" in output
        with _logged_in(relay, "bienvenue-relay") as browser:
            assert browser.get("/desk/relay").status_code == 200
        directory = httpx.get(f"{relay}/associations").text
        assert "Lyon, Auvergne-Rhône-Alpes" in directory and "Rennes, Bretagne" in directory
        assert '<option value="Pays de la Loire"' in directory
        in_brittany = httpx.get(f"{relay}/associations", params={"region": "Bretagne"}).text
        assert "AVF Rennes" in in_brittany and "AVF Lyon" not in in_brittany
    finally:
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0


@contextmanager
def _logged_in(url: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url) as browser:
        csrf = browser.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
        response = browser.post("/login", data={"csrf": csrf, "username": "admin", "password": password})
        assert response.status_code == 303, response.text
        yield browser


def _posts_kept(directory: Path) -> tuple[int, int]:
    """Published posts an association holds (its own and the others'), read while its server
    runs: (public ones, those of its members' space)."""
    with sqlite3.connect(f"file:{directory / 'fedi.sqlite3'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT COUNT(*) FILTER (WHERE group_uri IS NULL),"
                         " COUNT(*) FILTER (WHERE group_uri IS NOT NULL)"
                         " FROM posts WHERE status = 'published'").fetchone()
        return int(row[0]), int(row[1])


def _modes(directory: Path) -> dict[str, str]:
    """Every directory and file under DIRECTORY (itself included) with its permission bits."""
    paths = [directory, *directory.rglob("*")]
    return {str(path.relative_to(directory.parent)): oct(path.stat().st_mode & 0o777) for path in paths}


def _open_to_others(modes: dict[str, str]) -> dict[str, str]:
    return {path: mode for path, mode in modes.items() if int(mode, 8) & 0o077}


def test_instance_files_are_readable_by_their_owner_only(tmp_path: Path):
    """Given an admin with the usual umask 022, what fedi writes (keys, password hashes, e-mails,
    backups) is still closed to the other users of the machine."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    directory, relay, tenants = tmp_path / "avf", tmp_path / "relay", tmp_path / "tenants"
    directory.mkdir(mode=0o755)  # made beforehand by the admin, as `useradd --create-home` does
    os.chmod(directory, 0o755)
    fedi("init", "--dir", str(directory), "--url", url, "--name", "avf", "--allow-private")
    fedi("relay", "init", "--dir", str(relay), "--url", "https://relais.example")
    fedi("tenant", "add", "--dir", str(tenants), "--url", "https://avf-nantes.example", "--name", "avf")
    server = subprocess.Popen([*FEDI, "serve", "--dir", str(directory)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url, server)
        served = _modes(directory)  # with the server up, SQLite's -wal and -shm files exist
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    assert {"avf/fedi.sqlite3-wal", "avf/fedi.sqlite3-shm"} <= served.keys()
    fedi("backup", "--dir", str(directory), str(tmp_path / "avf.bak"))
    backup_mode = oct((tmp_path / "avf.bak").stat().st_mode & 0o777)
    restored = tmp_path / "restored"
    restored.mkdir(mode=0o755)
    os.chmod(restored, 0o755)
    fedi("restore", "--dir", str(restored), str(tmp_path / "avf.bak"))
    created = {**served, **_modes(relay), **_modes(tenants), "avf.bak": backup_mode, **_modes(restored)}
    assert _open_to_others(created) == {}


async def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The command run beside a served instance (the test's event loop keeps serving it)."""
    return await asyncio.to_thread(fedi, *args, check=check)


async def test_members_commands_list_approve_and_remove_a_real_peer(make_instance):
    site = await make_instance("avf-lyon")
    peer = await make_instance("avf-nice")
    directory = str(site.instance.directory)
    handle = f"@avf-nice@{peer.instance.config.host}"
    assert (await _cli("members", "list", "--dir", directory, "--pending")).stdout.strip() == (
        "no waiting requests")
    await following.follow(peer.instance, site.instance.members.uri)
    await settle(site, peer)

    listed = (await _cli("members", "list", "--dir", directory, "--pending")).stdout.splitlines()
    assert len(listed) == 1
    assert listed[0].split("\t")[:3] == [handle, "remote", "pending"]
    follow = await storage.get_follow(peer.db, peer.actor_url, site.instance.members.uri)
    assert follow.state == "pending"  # no Accept before the admin says so

    await _cli("members", "approve", "--dir", directory, handle)
    await settle(site, peer)
    follow = await storage.get_follow(peer.db, peer.actor_url, site.instance.members.uri)
    assert follow.state == "accepted"
    assert (await _cli("members", "list", "--dir", directory, "--pending")).stdout.strip() == (
        "no waiting requests")
    everyone = (await _cli("members", "list", "--dir", directory)).stdout.splitlines()
    assert [line.split("\t")[:3] for line in everyone] == [[handle, "remote", "member"]]

    await _cli("members", "remove", "--dir", directory, peer.actor_url)
    await settle(site, peer)
    assert await storage.get_follow(peer.db, peer.actor_url, site.instance.members.uri) is None
    assert not await members.is_member(site.instance, peer.actor_url)
    again = await _cli("members", "remove", "--dir", directory, handle, check=False)
    assert again.returncode == 1 and again.stdout == ""
    assert f"fedi: {handle} is neither a member nor asking to be one" in again.stderr


def test_members_invite_prints_a_usable_link_and_post_members_is_the_spaces(tmp_path: Path):
    directory = str(tmp_path / "avf")
    url = f"http://127.0.0.1:{free_port()}"
    fedi("init", "--dir", directory, "--url", url, "--name", "avf-lyon", "--allow-private")
    first = fedi("members", "invite", "--dir", directory).stdout.splitlines()[-1]
    second = fedi("members", "invite", "--dir", directory).stdout.splitlines()[-1]
    assert first.startswith(f"{url}/invitations/") and first != second

    post_id = fedi("post", "--dir", directory, "--members", "--title", "AG", "Jeudi").stdout.split()[-1]

    async def check() -> None:
        instance = await open_instance(Path(directory))
        try:
            token = first.rsplit("/", 1)[-1]
            assert (await invitations.usable(instance, token, "join")).purpose == "join"
            post = await storage.get_post_by_uri(instance.db, post_id)
            assert (post.author, post.group_uri, post.visibility, post.title) == (
                instance.members.uri, instance.members.uri, "followers", "AG")
        finally:
            await instance.close()

    asyncio.run(check())
    assert fedi("members", "approve", "--dir", directory, "@nobody@example.org", check=False).returncode == 1
    refused = fedi("members", "reject", "--dir", directory, "@nobody@example.org", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "fedi: @nobody@example.org is neither a member nor asking to be one"


def test_post_help_says_a_members_post_is_the_spaces(tmp_path: Path):
    helped = " ".join(fedi("post", "--help").stdout.split())
    assert "published by it, for its approved members only" in helped
