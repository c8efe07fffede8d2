"""A post through our relay to 350 associations on loopback: how long until each has it.

Our relay (`fedi relay init` + `python -m fedi relay serve`, its own process, CPU 0) and 350
associations as tenants of ONE `python -m fedi serve --tenants` process (CPU 1), each at its own
loopback address, http://127.0.{2 + i // 250}.{1 + i % 250}:PORT (the server bound to 0.0.0.0,
chosen by Host header), all with allow_private. Both servers are started exactly as their CLI
commands do (default rate limits, access log on), with stdout/stderr to files.

Setup (not timed): the tenants are created through fedi's Python API in two processes (700
RSA keys), each gets the relay's actor in its cache and queues its subscription (the instance
actor's Follow of the relay, `outbox.subscribe_to_relay`); every tenant's host is on the relay's
allowlist. Then both servers start, the tenants' workers send the Follows, and the bench waits
until every tenant holds an accepted follow of the relay.

Measured: POSTS posts, one after the other, each published through a tenant's desk (an HTTP
form POST with a session cookie, as a member does). For each of the 349 other associations,
the time from that POST until the post is a published row of its database (the SQLite files
polled read-only every 20 ms); p50/p90/p99/max over all of them, and how many never got it
within BOUND seconds. Then the relay's VmRSS and VmHWM (the second half of bench/memory: target
<= 120 MB with 350 subscribers after the fan-out), and the tenants process's memory and idle CPU.
Target: p99 <= 5 s.
    .venv/bin/python bench/network.py
    FEDI_BENCH_PROFILE=tenants|relay .venv/bin/python bench/network.py   # + cProfile of that server
                                                                          # while the posts go out
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _common import SPAWN, cpu_seconds, free_port, pin  # noqa: E402

ASSOCIATIONS = 350
PUBLISHERS = (0, 174, 349)  # the tenants that publish, one post each, in turn
BOUND = 60.0  # seconds a post is waited for on each association
SUBSCRIBE_BOUND = 240.0  # seconds for all subscriptions to be accepted
POLL = 0.02
TARGET_P99 = 5.0
TARGET_RELAY_MB = 120.0
RELAY_CPU, TENANTS_CPU = 0, 1


def tenant_url(i: int, port: int) -> str:
    return f"http://127.0.{2 + i // 250}.{1 + i % 250}:{port}"


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


# ----------------------------------------------------------------------------- setup (not timed)


async def create_relay(directory: Path, url: str) -> dict[str, Any]:
    """`fedi relay init`; returns the relay actor's document (what the tenants would fetch)."""
    from fedi.config import new_config
    from fedi.documents import actor_document
    from fedi.instance import create_relay_files, open_instance

    await create_relay_files(directory, new_config(url, "relay", "Relais", role="relay", allow_private=True))
    instance = await open_instance(directory)
    try:
        return actor_document(instance.instance_actor, instance.config)
    finally:
        await instance.close()


def _create_tenants(tenants: str, indices: list[int], port: int, relay_url: str,
                    relay_doc: dict[str, Any]) -> int:
    return asyncio.run(_create_tenants_async(Path(tenants), indices, port, relay_url, relay_doc))


async def _create_tenants_async(tenants: Path, indices: list[int], port: int, relay_url: str,
                                relay_doc: dict[str, Any]) -> int:
    """`fedi tenant add` + `fedi relay-subscribe` for each, in-process: the relay actor is put in
    the tenant's cache (no fetch before the servers run), the Follow is queued for delivery."""
    from activitypub.vocab import parse_actor
    from fedi import following, storage
    from fedi.config import new_config
    from fedi.instance import open_instance
    from fedi.tenants import add_tenant

    for i in indices:
        config = new_config(tenant_url(i, port), f"asso{i}", f"Association {i}", allow_private=True)
        instance = await open_instance(await add_tenant(tenants, config))
        try:
            await storage.put_remote_actor(instance.db, parse_actor(relay_doc), instance.clock())
            await following.subscribe_to_relay(instance, relay_url)
        finally:
            await instance.close()
    return len(indices)


async def allow_tenants(relay_dir: Path, port: int) -> None:
    from fedi import storage
    from fedi.instance import open_instance

    instance = await open_instance(relay_dir)
    try:
        for i in range(ASSOCIATIONS):
            await storage.put_relay_allowed(instance.db, tenant_url(i, port).split("//", 1)[1])
    finally:
        await instance.close()


async def desk_session(directory: Path) -> tuple[str, str]:
    """An editor account and an open session: (cookie token, CSRF token)."""
    from fedi import accounts
    from fedi.instance import open_instance

    instance = await open_instance(directory)
    try:
        account, _ = await accounts.create_account(instance.db, "bench", "admin", "bench-password-123")
        token = await accounts.open_session(instance.db, account, time.time())
        session = await accounts.find_session(instance.db, token, time.time())
        assert session is not None
        return token, session.csrf_token
    finally:
        await instance.close()


# ----------------------------------------------------------------------------- servers


def _child_setup(cpu: int) -> None:
    pin(cpu)
    try:  # die with the bench, whatever happens to it
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_server(args: list[str], cpu: int, log: Path, profile_to: Path | None = None) -> subprocess.Popen[bytes]:
    """`python -m fedi ARGS` pinned to `cpu`; under bench/_profiled.py when `profile_to`."""
    command = [sys.executable, "-m", "fedi", *args]
    env = dict(os.environ)
    if profile_to is not None:
        command = [sys.executable, str(Path(__file__).resolve().parent / "_profiled.py"), *args]
        env["FEDI_PROFILE_OUT"] = str(profile_to)
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=lambda: _child_setup(cpu), env=env,
                                cwd=Path(__file__).resolve().parent.parent)


def wait_listening(process: subprocess.Popen[bytes], host: str, port: int, log: Path,
                   seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text(errors='replace')[-3000:]}") from error
            time.sleep(0.1)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


# ----------------------------------------------------------------------------- measuring


class Databases:
    """Every tenant's SQLite file, opened read-only once."""

    def __init__(self, directories: list[Path]) -> None:
        from fedi.config import database_path

        self.connections = [sqlite3.connect(f"file:{database_path(d)}?mode=ro", uri=True, timeout=5)
                            for d in directories]

    def follow_state(self, i: int, relay_actor: str) -> str | None:
        row = self.connections[i].execute("SELECT state FROM follows WHERE followee = ?", (relay_actor,)).fetchone()
        return row[0] if row else None

    def has_post(self, i: int, uri: str) -> bool:
        row = self.connections[i].execute(
            "SELECT 1 FROM posts WHERE uri = ? AND status = 'published'", (uri,)).fetchone()
        return row is not None

    def has_announce(self, i: int, uri: str) -> bool:
        row = self.connections[i].execute(
            "SELECT 1 FROM inbox WHERE type = 'Announce' AND instr(body, ?) > 0", (uri,)).fetchone()
        return row is not None

    def post_uri(self, i: int, post_id: int) -> str:
        row = self.connections[i].execute("SELECT uri FROM posts WHERE id = ?", (post_id,)).fetchone()
        return str(row[0])

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


def wait_subscribed(dbs: Databases, relay_actor: str, servers: list[subprocess.Popen[bytes]]) -> float:
    start = time.monotonic()
    pending = set(range(ASSOCIATIONS))
    while pending:
        pending = {i for i in pending if dbs.follow_state(i, relay_actor) != "accepted"}
        if time.monotonic() - start > SUBSCRIBE_BOUND:
            raise RuntimeError(f"{len(pending)} subscriptions still not accepted after {SUBSCRIBE_BOUND:.0f} s")
        if any(s.poll() is not None for s in servers):
            raise RuntimeError("a server died while subscribing")
        time.sleep(0.2)
    return time.monotonic() - start


Times = list[float | None]


def publish_and_wait(dbs: Databases, publisher: int, port: int, token: str, csrf: str,
                     n: int) -> tuple[Times, Times]:
    """Publishes through the desk of `publisher`; returns, for every other tenant, the seconds
    until the relay's Announce was in its inbox table and until it had the post (None: not
    within BOUND)."""
    import httpx

    from web.auth import SESSION_COOKIE

    form = {"csrf": csrf, "kind": "news", "title": f"Forum n°{n}", "visibility": "public", "action": "publish",
            "text": f"Forum des associations n°{n} **samedi** à la salle des fêtes : venez nombreux !"}
    with httpx.Client(cookies={SESSION_COOKIE: token}, timeout=30) as client:
        start = time.monotonic()
        response = client.post(f"{tenant_url(publisher, port)}/desk/posts/new", data=form)
    location = response.headers.get("location", "")
    if response.status_code != 303 or "/desk/posts/" not in location:
        raise RuntimeError(f"publishing failed: HTTP {response.status_code} {response.text[:300]}")
    uri = dbs.post_uri(publisher, int(location.split("/desk/posts/")[1].split("?")[0]))
    seen: dict[int, float] = {}
    announced: dict[int, float] = {}
    others = [i for i in range(ASSOCIATIONS) if i != publisher]
    pending = list(others)
    while pending and time.monotonic() - start < BOUND:
        still = []
        for i in pending:
            if i not in announced and dbs.has_announce(i, uri):
                announced[i] = time.monotonic() - start
            if dbs.has_post(i, uri):
                seen[i] = time.monotonic() - start
                announced.setdefault(i, seen[i])
            else:
                still.append(i)
        pending = still
        time.sleep(POLL)
    return [announced.get(i) for i in others], [seen.get(i) for i in others]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def relay_counts(relay_dir: Path) -> tuple[dict[str, int], int, int, str]:
    """The relay's deliveries by state, how many needed another try, how many hosts answered
    429, and the commonest errors of the tries that failed."""
    from fedi.config import database_path

    with sqlite3.connect(f"file:{database_path(relay_dir)}?mode=ro", uri=True) as db:
        states = dict(db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall())
        retried = db.execute("SELECT COUNT(*) FROM deliveries WHERE attempts > 1").fetchone()[0]
        limited = db.execute("SELECT COUNT(*) FROM hosts WHERE retry_after > 0").fetchone()[0]
        errors = db.execute("SELECT substr(last_error, 1, 60) e, COUNT(*) n FROM deliveries"
                            " WHERE last_error IS NOT NULL GROUP BY e ORDER BY n DESC LIMIT 3").fetchall()
    return states, retried, limited, "; ".join(f"{n}× {error}" for error, n in errors) or "none"


def main() -> None:
    started = time.monotonic()
    keep = os.environ.get("FEDI_BENCH_KEEP")  # a directory to keep the data and logs in (debugging)
    with tempfile.TemporaryDirectory(prefix="fedi-bench-network-") as tmp_name:
        if keep:
            tmp_name = keep
            Path(keep).mkdir(parents=True)
        tmp = Path(tmp_name)
        relay_dir, tenants = tmp / "relay", tmp / "tenants"
        relay_port, port = free_port(), free_port()
        relay_url = f"http://127.0.0.1:{relay_port}"
        relay_doc = asyncio.run(create_relay(relay_dir, relay_url))
        asyncio.run(allow_tenants(relay_dir, port))
        tenants.mkdir()
        chunks = [list(range(k, ASSOCIATIONS, 2)) for k in range(2)]
        with ProcessPoolExecutor(2, mp_context=SPAWN) as pool:
            made = sum(pool.map(_create_tenants, [str(tenants)] * 2, chunks, [port] * 2,
                                [relay_url] * 2, [relay_doc] * 2))
        assert made == ASSOCIATIONS
        from fedi.config import new_config
        from fedi.tenants import tenant_directory

        directories = [tenant_directory(tenants, new_config(tenant_url(i, port), "x", None, allow_private=True))
                       for i in range(ASSOCIATIONS)]
        sessions = {i: asyncio.run(desk_session(directories[i])) for i in PUBLISHERS}
        setup = time.monotonic() - started

        relay_log, tenants_log = tmp / "relay.log", tmp / "tenants.log"
        profiled = os.environ.get("FEDI_BENCH_PROFILE", "")
        profile_to = tmp / f"{profiled}.prof"
        relay = start_server(["relay", "serve", "--dir", str(relay_dir), "--port", str(relay_port)],
                             RELAY_CPU, relay_log, profile_to if profiled == "relay" else None)
        served = start_server(["serve", "--tenants", str(tenants), "--host", "0.0.0.0", "--port", str(port)],
                              TENANTS_CPU, tenants_log, profile_to if profiled == "tenants" else None)
        profiled_server = {"relay": relay, "tenants": served}.get(profiled)
        dbs = Databases(directories)
        try:
            wait_listening(relay, "127.0.0.1", relay_port, relay_log)
            wait_listening(served, "127.0.2.1", port, tenants_log)
            subscribed = wait_subscribed(dbs, relay_doc["id"], [relay, served])
            time.sleep(2.0)  # the relay's last Accepts and association look-ups settle
            arrivals: list[Times] = []
            results: list[Times] = []
            if profiled_server:
                profiled_server.send_signal(signal.SIGUSR1)
            busy_start = (cpu_seconds(relay.pid), cpu_seconds(served.pid), time.monotonic())
            for n, publisher in enumerate(PUBLISHERS):
                token, csrf = sessions[publisher]
                arrived, stored = publish_and_wait(dbs, publisher, port, token, csrf, n)
                arrivals.append(arrived)
                results.append(stored)
            busy = (cpu_seconds(relay.pid) - busy_start[0], cpu_seconds(served.pid) - busy_start[1],
                    time.monotonic() - busy_start[2])
            if profiled_server:
                profiled_server.send_signal(signal.SIGUSR2)
            time.sleep(2.0)
            relay_rss, relay_hwm = status_kb(relay.pid, "VmRSS"), status_kb(relay.pid, "VmHWM")
            tenants_rss, tenants_hwm = status_kb(served.pid, "VmRSS"), status_kb(served.pid, "VmHWM")
            cpu_start, idle_start = cpu_seconds(served.pid), time.monotonic()
            relay_cpu_start = cpu_seconds(relay.pid)
            time.sleep(10.0)
            idle_seconds = time.monotonic() - idle_start
            tenants_idle = (cpu_seconds(served.pid) - cpu_start) / idle_seconds
            relay_idle = (cpu_seconds(relay.pid) - relay_cpu_start) / idle_seconds
        finally:
            dbs.close()
            stop_server(served)
            stop_server(relay)
        states, retried, limited, failures = relay_counts(relay_dir)
        errors = sum(1 for line in tenants_log.read_text(errors="replace").splitlines()
                     if "Traceback" in line or "ERROR" in line)
        if profiled_server:
            from hotspots import report as print_profile

            time.sleep(1.0)
            print_profile(str(profile_to), 0.0, f"{profiled} server while the posts went out")  # type: ignore[arg-type]
    report(arrivals, results, subscribed, setup, states, retried, limited, failures, errors, relay_rss,
           relay_hwm, tenants_rss, tenants_hwm, tenants_idle, relay_idle, busy)


def spread(times: list[float]) -> str:
    if not times:
        return "none"
    return (f"p50 {percentile(times, 0.5):.2f} s, p90 {percentile(times, 0.9):.2f} s, "
            f"p99 {percentile(times, 0.99):.2f} s, max {max(times):.2f} s")


def report(arrivals: list[Times], results: list[Times], subscribed: float, setup: float,
           states: dict[str, int], retried: int, limited: int, failures: str, errors: int, relay_rss: int,
           relay_hwm: int, tenants_rss: int, tenants_hwm: int, tenants_idle: float, relay_idle: float,
           busy: tuple[float, float, float]) -> None:
    times = [t for post in results for t in post if t is not None]
    missing = sum(1 for post in results for t in post if t is None)
    total = sum(len(post) for post in results)
    p99 = percentile(times, 0.99) if times else float("inf")
    verdict = "met" if missing == 0 and p99 <= TARGET_P99 else "MISSED"
    print(f"network: a post on the {ASSOCIATIONS - 1} other associations' timelines ({len(results)} posts): "
          f"{spread(times)}; never within {BOUND:.0f} s: {missing} of {total}; "
          f"target p99 <= {TARGET_P99:.0f} s {verdict}")
    arrived = [t for post in arrivals for t in post if t is not None]
    per_post = "; ".join(f"post {n + 1} max {max([t for t in post if t is not None] or [0]):.2f} s"
                         for n, post in enumerate(results))
    print(f"network: the relay's Announce in their inbox tables: {spread(arrived)} ({per_post}); "
          f"350 subscriptions accepted {subscribed:.1f} s after start (setup {setup:.0f} s); relay "
          f"deliveries {states}, {retried} needed more than one attempt ({failures}), {limited} hosts "
          f"answered 429; {errors} error lines in the tenants' log")
    print(f"network: while the posts went out ({busy[2]:.1f} s) the relay used {busy[0]:.1f} CPU-s "
          f"({busy[0] / busy[2]:.0%} of its core), the tenants process {busy[1]:.1f} CPU-s "
          f"({busy[1] / busy[2]:.0%} of its core)")
    print(f"network: tenants process VmRSS {tenants_rss / 1024:.0f} MB (peak {tenants_hwm / 1024:.0f} MB), "
          f"{tenants_idle:.0%} of a core when idle; relay {relay_idle:.0%} when idle")
    rss = relay_rss / 1024
    verdict = "met" if rss <= TARGET_RELAY_MB else "MISSED"
    print(f"memory: relay with {ASSOCIATIONS} subscribers after {len(results)} fan-outs VmRSS {rss:.1f} MB "
          f"(peak {relay_hwm / 1024:.1f} MB); target <= {TARGET_RELAY_MB:.0f} MB {verdict}")


if __name__ == "__main__":
    main()
