"""One post re-distributed by a relay to 350 subscribers: our relay vs ActivityRelay 0.3.5.

Both relays run over https on port 443 at their own loopback address, pinned to CPU 0 (all of
ActivityRelay's processes: its web process and its one push worker, `workers: 1`): ours at
127.0.8.1 (the app as `fedi relay serve` builds it, uvicorn with TLS, inbox rate limits lifted
since every subscriber comes from 127.0.0.1 here), ActivityRelay (its own venv,
tests/interop/activityrelay/.venv, installed by `bash dev.sh test`) at 127.0.8.2 behind a TLS
terminator in this process. Both trust a throw-away CA through SSL_CERT_FILE. Neither writes an
access log (ActivityRelay's log level is set to WARNING; its errors are still counted).

The 350 subscribers are cheap receivers on CPU 1: 5 processes, each serving 70 loopback
addresses (127.0.6.1 ... 127.0.7.100) on :443 with one certificate for its addresses. Each
address is an `Application` actor with an inbox and NodeInfo (ActivityRelay requires both);
every POST to an inbox has its draft-cavage signature and digest verified with the relay's key
held in memory, and each Announce's arrival time is kept.

Setup (not timed), one relay after the other: every subscriber sends the relay a signed Follow,
4 at a time (see FOLLOWS_IN_FLIGHT: ActivityRelay stalls beyond that); both accept (our relay's
allowlist holds the 350 addresses; ActivityRelay's whitelist is off) and the bench waits until
each subscriber has its Accept. ActivityRelay pushes each message once and drops it after 10 s,
and under the burst of 700 (an Accept and a Follow back per subscriber) its push worker drops
some: a subscriber whose Accept has not come QUIET seconds after the last one follows again.
Then ROUNDS rounds, each relay in turn: COOL seconds of quiet (longer than the receivers' 5 s
keep-alive, so each round opens its 349 TLS connections afresh, for both), a subscriber POSTs a
signed public `Create` of a Note to the relay's inbox, and the time is taken from just before
that POST until the 349th inbox has received and verified the Announce of the note (a round
stops after BOUND seconds, and says how many arrived). Median of the rounds; target: ours <= 1/3
of ActivityRelay's time, only if every one of our rounds reached all 349. Also printed: CPU of
each relay per fan-out, how busy the receivers' core was, both relays' VmRSS.

About 100 s; everything stops by itself (DEADLINE, and a watchdog 45 s later).
    .venv/bin/python bench/relay.py
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
sys.path.insert(2, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import LOAD_CPU, SERVER_CPU, SPAWN, cpu_seconds, instance_app, pin, uvicorn_config  # noqa: E402

from loopback_tls import LoopbackCA, TLSTerminator  # noqa: E402  (tests/loopback_tls.py)

SUBSCRIBERS = 350
RECEIVERS = 5
ROUNDS = 3
COOL = 6.0
BOUND = 30.0  # seconds a round may take before it is reported with what arrived
SETUP_BOUND = 120.0  # seconds for a relay to accept the 350 subscriptions
DEADLINE = 270.0  # the whole run; its processes kill themselves 30 s later, a watchdog 45 s later
# ActivityRelay takes a connection from its database pool (5, bsql's default pool_timeout 5 s) with
# a *blocking* wait in its event loop and holds it, in run_processor, across the NodeInfo fetch
# of a Follow: a fifth Follow in flight freezes its whole loop for 5 s, and each one after that
# gets a 500. Subscribers therefore send their Follows 4 at a time (to both relays: not timed).
FOLLOWS_IN_FLIGHT = 4
QUIET = 5.0  # seconds without a new Accept before the subscribers still waiting follow again
TARGET = 1 / 3
OURS, THEIRS = "127.0.8.1", "127.0.8.2"
ROOT = Path(__file__).resolve().parent.parent
ACTIVITYRELAY = ROOT / "tests" / "interop" / "activityrelay" / ".venv" / "bin" / "activityrelay"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
STARTED = time.monotonic()


def subscriber_ip(i: int) -> str:
    return f"127.0.{6 + i // 250}.{1 + i % 250}"


def say(text: str) -> None:
    """Progress, on stderr (the figures alone go to stdout)."""
    print(f"relay: [{time.monotonic() - STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


def die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def bounded_child(max_seconds: float) -> None:
    """A spawned process of the bench: dies with it, and on its own after max_seconds (a daemon
    timer: a clean exit does not wait for it)."""
    die_with_parent()
    timer = threading.Timer(max_seconds, lambda: os.kill(os.getpid(), signal.SIGKILL))
    timer.daemon = True
    timer.start()


def pids_of_tree(pid: int) -> list[int]:
    """`pid` and its descendants (ActivityRelay's push worker is a child process)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) for p in pids_of_tree(pid) if os.path.exists(f"/proc/{p}"))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ----------------------------------------------------------------------------- the subscribers


def subscriber_actor(host: str, public_pem: str) -> dict[str, Any]:
    uri = f"https://{host}/actor"
    return {"@context": [AS_CONTEXT, "https://w3id.org/security/v1"], "id": uri, "type": "Application",
            "preferredUsername": host.replace(".", "-"), "name": f"Association {host}",
            "inbox": f"https://{host}/inbox", "outbox": f"https://{host}/outbox",
            "endpoints": {"sharedInbox": f"https://{host}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem}}


def receiver_app(relay_keys: dict[str, str], subscriber_pem: str) -> Any:
    """The subscribers of one process, told apart by the address they were reached at."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from activitypub.errors import SignatureError
    from activitypub.keys import load_public_key
    from activitypub.nodeinfo import nodeinfo_document, nodeinfo_links
    from activitypub.signatures import PublicKeyInfo, verify_request
    from activitypub.vocab import as_id, host_of

    keys = {key_id: PublicKeyInfo(key_id, key_id.split("#")[0], load_public_key(pem))
            for key_id, pem in relay_keys.items()}
    counts: Counter[str] = Counter()
    announces: dict[str, dict[str, Any]] = {}
    accepted: dict[str, set[str]] = {}  # relay's host -> the subscribers it sent an Accept to

    async def get_key(key_id: str, refresh: bool) -> PublicKeyInfo:
        if key_id not in keys:
            raise SignatureError(f"unknown key {key_id}")
        return keys[key_id]

    async def inbox(request: Request) -> Response:
        body = await request.body()
        try:
            verified = await verify_request("POST", str(request.url), request.headers, body, get_key)
        except SignatureError:
            counts["refused"] += 1
            return Response(status_code=401)
        now = time.monotonic()
        activity = json.loads(body)
        counts[f"{host_of(verified.key.owner)} {activity.get('type')}"] += 1
        if activity.get("type") == "Accept":
            accepted.setdefault(host_of(verified.key.owner), set()).add(str(request.url.hostname))
        if activity.get("type") == "Announce":
            seen = announces.setdefault(str(as_id(activity.get("object"))),
                                        {"n": 0, "first": now, "last": 0.0, "at": set()})
            seen["n"] += 1
            seen["last"] = max(seen["last"], now)
            seen["at"].add(request.url.hostname)
        return Response(status_code=202)

    async def actor(request: Request) -> Response:
        return JSONResponse(subscriber_actor(str(request.url.hostname), subscriber_pem),
                            media_type="application/activity+json")

    async def well_known(request: Request) -> Response:
        return JSONResponse(nodeinfo_links(f"https://{request.url.hostname}"))

    async def nodeinfo(request: Request) -> Response:
        return JSONResponse(nodeinfo_document(
            version=request.path_params["version"], software_name="bench-subscriber", software_version="1.0",
            repository=None, homepage=None, open_registrations=False, users_total=1, users_active_month=1,
            users_active_halfyear=1, local_posts=1, metadata={}))

    async def stats(request: Request) -> Response:
        return JSONResponse({"counts": counts, "announces": {
            obj: {"n": seen["n"], "first": seen["first"], "last": seen["last"], "inboxes": len(seen["at"])}
            for obj, seen in announces.items()}, "accepted": {relay: sorted(at) for relay, at in accepted.items()}})

    return Starlette(routes=[
        Route("/inbox", inbox, methods=["POST"]), Route("/actor", actor),
        Route("/.well-known/nodeinfo", well_known), Route("/nodeinfo/{version}", nodeinfo),
        Route("/stats", stats)])


def _receive(addresses: list[str], certfile: str, keyfile: str, relay_keys: dict[str, str],
             subscriber_pem: str, max_seconds: float) -> None:
    pin(LOAD_CPU)
    bounded_child(max_seconds)
    import uvicorn

    config = uvicorn.Config(receiver_app(relay_keys, subscriber_pem), log_level="warning",
                            ssl_certfile=certfile, ssl_keyfile=keyfile, http="httptools", loop="uvloop",
                            timeout_keep_alive=5, backlog=2048)
    sockets = []
    for address in addresses:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, 443))
        sockets.append(sock)
    uvicorn.Server(config).run(sockets=sockets)


# ----------------------------------------------------------------------------- the two relays


async def create_our_relay(directory: Path) -> tuple[str, str]:
    """`fedi relay init` at https://OURS, the subscribers' addresses allowed; (key id, public PEM)."""
    from fedi import storage
    from fedi.config import new_config
    from fedi.instance import create_relay_files, open_instance

    await create_relay_files(directory, new_config(f"https://{OURS}", "relay", "Relais", role="relay",
                                                   allow_private=True))
    instance = await open_instance(directory)
    try:
        for i in range(SUBSCRIBERS):
            await storage.put_relay_allowed(instance.db, subscriber_ip(i))
        return instance.instance_actor.key_id, instance.instance_actor.public_key_pem
    finally:
        await instance.close()


def _serve_ours(directory: str, certfile: str, keyfile: str, max_seconds: float) -> None:
    pin(SERVER_CPU)
    bounded_child(max_seconds)
    from fedi.server import _Server

    _Server(uvicorn_config(instance_app(directory), 443, OURS, ssl_certfile=certfile,
                           ssl_keyfile=keyfile)).run()


def _activityrelay_env(directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_RUNNING", "SSL_CERT_DIR")}
    return {**env, "LOG_FILE": str(directory / "activityrelay.log")}


SESSIONS: list[int] = []  # ActivityRelay's process group: its push worker outlives a killed parent


def start_activityrelay(directory: Path, private_pem: str) -> tuple[subprocess.Popen[bytes], int]:
    """Configured as tests/interop does (sqlite, one push worker), with its key set through its
    CLI and its log at WARNING (no access log, as for ours; its errors are still written);
    returns the process (pinned to CPU 0, in a session of its own) and its plain-HTTP port."""
    directory.mkdir()
    with socket.socket() as sock:
        sock.bind((THEIRS, 0))
        port = int(sock.getsockname()[1])
    (directory / "relay.yaml").write_text(
        f"listen: {THEIRS}\nport: {port}\ndomain: {THEIRS}\nworkers: 1\n"
        "database_type: sqlite\ncache_type: database\nsqlite_path: relay.sqlite3\n")
    for key, value in (("private-key", private_pem), ("log-level", "WARNING")):
        done = subprocess.run([str(ACTIVITYRELAY), "-c", str(directory / "relay.yaml"), "config", "set", "--",
                               key, value], cwd=directory, env=_activityrelay_env(directory),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"activityrelay config set {key}: {done.stdout}{done.stderr}")

    def child() -> None:
        pin(SERVER_CPU)
        die_with_parent()

    with open(directory / "activityrelay.out", "wb") as out:
        process = subprocess.Popen([str(ACTIVITYRELAY), "-c", str(directory / "relay.yaml"), "run"],
                                   cwd=directory, env=_activityrelay_env(directory), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, preexec_fn=child,
                                   start_new_session=True)
    SESSIONS.append(process.pid)
    return process, port


def kill_session(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def stop_activityrelay(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # a clean stop: its push worker ends too
        try:
            process.wait(3)
        except subprocess.TimeoutExpired:
            pass
    kill_session(process.pid)  # whatever is left of it
    process.wait()


# ----------------------------------------------------------------------------- the bench itself


class Network:
    """The bench's side: signs as any subscriber, sends to a relay, reads the receivers' counts."""

    def __init__(self, client: httpx.AsyncClient, key: Any, stats_urls: list[str]) -> None:
        self.client, self.key, self.stats_urls = client, key, stats_urls

    async def send(self, sender: int, inbox: str, activity: dict[str, Any]) -> int:
        from activitypub.auth import SignatureAuth

        auth = SignatureAuth(f"https://{subscriber_ip(sender)}/actor#main-key", self.key)
        body = json.dumps(activity).encode()
        for _ in range(5):
            response = await self.client.post(inbox, content=body, auth=auth,
                                              headers={"Content-Type": "application/activity+json"})
            if response.status_code not in (429, 500, 502, 503):
                return response.status_code
            await asyncio.sleep(1.0)
        return response.status_code

    async def stats(self) -> list[dict[str, Any]]:
        return [(await self.client.get(url)).json() for url in self.stats_urls]

    async def count(self, kind: str) -> int:
        return sum(s["counts"].get(kind, 0) for s in await self.stats())

    async def accepted(self, relay: str) -> set[str]:
        """The subscribers that have received an Accept from `relay`."""
        return {address for s in await self.stats() for address in s["accepted"].get(relay, [])}

    async def subscribe(self, relay: str, subscribers: list[int]) -> None:
        semaphore = asyncio.Semaphore(FOLLOWS_IN_FLIGHT)

        async def follow(i: int) -> None:
            actor = f"https://{subscriber_ip(i)}/actor"
            activity = {"@context": AS_CONTEXT, "id": f"{actor}#follows/{uuid.uuid4()}", "type": "Follow",
                        "actor": actor, "object": PUBLIC, "to": [f"https://{relay}/actor"]}
            async with semaphore:
                status = await self.send(i, f"https://{relay}/inbox", activity)
            if status >= 300:
                raise RuntimeError(f"{relay} answered {status} to the Follow of {actor}")

        await asyncio.gather(*(follow(i) for i in subscribers))

    async def until_accepted(self, relay: str, started: float) -> tuple[float, int]:
        """Waits until every subscriber has `relay`'s Accept. A subscriber whose Accept has not
        come while no other came for QUIET seconds follows again (ActivityRelay pushes each
        message once, and drops it after 10 s: under a burst its push worker loses some).
        Returns (seconds since `started`, how many Follows were sent again)."""
        resent, count, changed = 0, -1, time.monotonic()
        while len(accepted := await self.accepted(relay)) < SUBSCRIBERS:
            now = time.monotonic()
            if now - started > SETUP_BOUND:
                raise RuntimeError(f"{relay}: only {len(accepted)} of {SUBSCRIBERS} subscriptions accepted "
                                   f"after {SETUP_BOUND:.0f} s ({resent} Follows sent again)")
            if len(accepted) != count:
                count, changed = len(accepted), now
            elif now - changed > QUIET:
                missing = [i for i in range(SUBSCRIBERS) if subscriber_ip(i) not in accepted]
                say(f"{relay}: {len(missing)} Accepts missing, {QUIET:.0f} s after the last one came; "
                    "those subscribers follow again")
                await self.subscribe(relay, missing)
                resent += len(missing)
                changed = time.monotonic()
            await asyncio.sleep(0.2)
        return time.monotonic() - started, resent

    async def fan_out(self, relay: str, sender: int) -> tuple[float, float, int, int]:
        """A subscriber's public Create to the relay; seconds until the first and the last
        Announce arrived, how many arrived, at how many distinct inboxes."""
        host = subscriber_ip(sender)
        actor, note = f"https://{host}/actor", f"https://{host}/notes/{uuid.uuid4()}"
        create = {"@context": AS_CONTEXT, "id": f"{note}/activity", "type": "Create", "actor": actor,
                  "to": [PUBLIC], "cc": [f"{actor}/followers"],
                  "object": {"id": note, "type": "Note", "attributedTo": actor, "to": [PUBLIC],
                             "cc": [f"{actor}/followers"], "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             "content": "<p>Forum des associations samedi à la salle des fêtes.</p>"}}
        start = time.monotonic()
        status = await self.send(sender, f"https://{relay}/inbox", create)
        if status >= 300:
            raise RuntimeError(f"{relay} answered {status} to the Create")
        arrived, inboxes, first, last = 0, 0, start, start
        while time.monotonic() - start < BOUND:
            seen = [s["announces"].get(note) for s in await self.stats()]
            arrived = sum(s["n"] for s in seen if s)
            inboxes = sum(s["inboxes"] for s in seen if s)
            first = min([s["first"] for s in seen if s] or [start])
            last = max([s["last"] for s in seen if s] or [start])
            if inboxes >= SUBSCRIBERS - 1:
                break
            await asyncio.sleep(0.05)
        return first - start, last - start, arrived, inboxes


async def measure(tmp: Path, network: Network, ours_pid: int, theirs_pid: int,
                  receiver_pids: list[int]) -> dict[str, Any]:
    everyone = list(range(SUBSCRIBERS))
    subscribed: dict[str, tuple[float, int]] = {}
    for relay in (OURS, THEIRS):  # one relay after the other, so that each has CPU 0 to itself
        started = time.monotonic()
        await network.subscribe(relay, everyone)
        say(f"{relay}: {SUBSCRIBERS} Follows sent in {time.monotonic() - started:.1f} s")
        subscribed[relay] = await network.until_accepted(relay, started)
        say(f"{relay}: {SUBSCRIBERS} subscriptions accepted in {subscribed[relay][0]:.1f} s")
    say(f"{ROUNDS} rounds of fan-outs, {COOL:.0f} s apart")
    setup_problems = activityrelay_problems(tmp / "activityrelay")
    subscribed_mb = {OURS: rss_mb(ours_pid), THEIRS: sum(rss_mb(p) for p in pids_of_tree(theirs_pid))}
    pids = {OURS: ours_pid, THEIRS: theirs_pid}
    times: dict[str, list[float]] = {OURS: [], THEIRS: []}
    firsts: dict[str, list[float]] = {OURS: [], THEIRS: []}
    cpu: dict[str, list[float]] = {OURS: [], THEIRS: []}
    load: dict[str, list[float]] = {OURS: [], THEIRS: []}  # share of CPU 1 the receivers used
    delivered: dict[str, list[tuple[int, int]]] = {OURS: [], THEIRS: []}
    for round_ in range(ROUNDS):
        for n, relay in enumerate((OURS, THEIRS)):
            await asyncio.sleep(COOL)
            cpu_start, load_start = tree_cpu(pids[relay]), sum(map(cpu_seconds, receiver_pids))
            wall_start = time.monotonic()
            first, elapsed, arrived, inboxes = await network.fan_out(relay, 2 * round_ + n)
            cpu[relay].append(tree_cpu(pids[relay]) - cpu_start)
            load[relay].append((sum(map(cpu_seconds, receiver_pids)) - load_start) / (time.monotonic() - wall_start))
            times[relay].append(elapsed)
            firsts[relay].append(first)
            delivered[relay].append((arrived, inboxes))
            say(f"round {round_ + 1}, {relay}: {arrived} Announces in {elapsed:.2f} s (first after {first:.2f} s)")
    memory = {OURS: rss_mb(ours_pid), THEIRS: [rss_mb(p) for p in pids_of_tree(theirs_pid)]}
    refused = await network.count("refused")
    rows = our_deliveries(tmp / "ours")
    theirs_errors = activityrelay_problems(tmp / "activityrelay")[len(setup_problems):]
    return {"subscribed": subscribed, "times": times, "firsts": firsts, "cpu": cpu, "load": load,
            "delivered": delivered, "memory": memory, "subscribed_mb": subscribed_mb, "rows": rows,
            "refused": refused, "theirs_errors": summary(theirs_errors),
            "theirs_setup_errors": summary(setup_problems)}


async def run(tmp: Path) -> dict[str, Any]:
    from activitypub.keys import generate_rsa_key, load_private_key, private_key_to_pem, public_key_to_pem

    ca = LoopbackCA.create(tmp)
    os.environ["SSL_CERT_FILE"] = str(ca.ca_file)  # both relays (and their children) trust it
    subscriber_key = generate_rsa_key()
    theirs_key = private_key_to_pem(generate_rsa_key())
    ours_key_id, ours_pem = await create_our_relay(tmp / "ours")
    relay_keys = {ours_key_id: ours_pem,
                  f"https://{THEIRS}/actor#main-key": public_key_to_pem(load_private_key(theirs_key).public_key())}  # type: ignore[arg-type]
    addresses = [subscriber_ip(i) for i in range(SUBSCRIBERS)]
    chunks = [addresses[k::RECEIVERS] for k in range(RECEIVERS)]
    lifetime = DEADLINE + 30  # every process of the bench kills itself then, whatever happens here
    receivers = []
    for k, chunk in enumerate(chunks):
        certfile, keyfile = ca.issue(chunk, f"receivers-{k}")
        receivers.append(SPAWN.Process(target=_receive, daemon=True, args=(
            chunk, str(certfile), str(keyfile), relay_keys, public_key_to_pem(subscriber_key.public_key()),
            lifetime)))
    certfile, keyfile = ca.issue([OURS], OURS)
    ours = SPAWN.Process(target=_serve_ours, args=(str(tmp / "ours"), str(certfile), str(keyfile), lifetime),
                         daemon=True)
    # Started while this process may still run on any CPU: `pin` picks among the CPUs a process
    # is allowed, and a child inherits its parent's set (pinned first, all would share CPU 1).
    for process in (*receivers, ours):
        process.start()
    theirs: subprocess.Popen[bytes] | None = None
    terminator: TLSTerminator | None = None
    client = httpx.AsyncClient(verify=ca.client_context(), timeout=30,
                               limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
    try:
        theirs, theirs_port = start_activityrelay(tmp / "activityrelay", theirs_key)
        pin(LOAD_CPU)  # this process (the subscribers' client, the TLS terminator) beside the receivers
        terminator = TLSTerminator(ca.server_context(THEIRS), THEIRS, theirs_port)
        await terminator.start()
        network = Network(client, subscriber_key, [f"https://{chunk[0]}/stats" for chunk in chunks])
        await until_up(client, [*[f"https://{chunk[0]}/actor" for chunk in chunks],
                                f"https://{OURS}/actor", f"https://{THEIRS}/actor"], theirs)
        say(f"both relays and {SUBSCRIBERS} subscribers up; subscribing")
        assert ours.pid is not None
        try:
            async with asyncio.timeout(DEADLINE - (time.monotonic() - STARTED)):
                return await measure(tmp, network, ours.pid, theirs.pid,
                                     [process.pid for process in receivers if process.pid is not None])
        except BaseException:
            say(f"failed; activityrelay's log says: {activityrelay_errors(tmp / 'activityrelay')}")
            raise
    finally:
        await client.aclose()
        if theirs is not None:
            stop_activityrelay(theirs)
        if terminator is not None:
            await terminator.stop()
        for process in (ours, *receivers):
            process.terminate()
            process.join(10)
            if process.is_alive():
                process.kill()


def our_deliveries(directory: Path) -> dict[str, int]:
    """Our relay's delivery rows by state (read-only, beside the running relay: WAL): what it
    recorded of the Accepts and Announces it sent."""
    with contextlib.closing(sqlite3.connect(f"file:{directory / 'fedi.sqlite3'}?mode=ro", uri=True)) as db:
        return dict(db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall())


def activityrelay_problems(directory: Path) -> list[str]:
    """The warnings and errors in its log so far, addresses left out."""
    log = directory / "activityrelay.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    messages = (line.split("] ", 1)[-1] for line in lines)
    return [re.sub(r"\S*127\.0\.\d+\.\d+\S*", "…", message)[:100] for message in messages
            if message.startswith(("WARNING", "ERROR", "CRITICAL"))]


def summary(problems: list[str]) -> str:
    return ", ".join(f"{n} x {kind!r}" for kind, n in Counter(problems).most_common(5)) or "none"


def activityrelay_errors(directory: Path) -> str:
    return summary(activityrelay_problems(directory))


async def until_up(client: httpx.AsyncClient, urls: list[str], theirs: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    for url in urls:
        while True:
            if theirs.poll() is not None:
                raise RuntimeError("activityrelay exited at start")
            try:
                if (await client.get(url)).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.1)


def main() -> None:
    if not ACTIVITYRELAY.exists():
        print(f"relay: SKIPPED, ActivityRelay is not installed in {ACTIVITYRELAY.parent.parent} "
              "(`bash dev.sh test` installs it)")
        return
    watchdog = threading.Timer(DEADLINE + 45, hard_stop)  # in case the clean stop itself hangs
    watchdog.daemon = True
    watchdog.start()
    try:
        with tempfile.TemporaryDirectory(prefix="fedi-bench-relay-") as tmp:
            result = asyncio.run(run(Path(tmp)))
    except (RuntimeError, TimeoutError) as error:
        print(f"relay: FAILED: {str(error) or f'not done within {DEADLINE:.0f} s'}")
        raise SystemExit(1) from None
    finally:
        watchdog.cancel()
    report(result)
    say("done")


def hard_stop() -> None:
    print(f"relay: FAILED, still running after {DEADLINE + 45:.0f} s; killed", file=sys.stderr, flush=True)
    for pid in SESSIONS:
        kill_session(pid)
    os._exit(2)  # the spawned processes die with this one (PR_SET_PDEATHSIG) or on their own timer


def report(result: dict[str, Any]) -> None:
    times, cpu, delivered = result["times"], result["cpu"], result["delivered"]
    ours, theirs = statistics.median(times[OURS]), statistics.median(times[THEIRS])
    ratio = ours / theirs
    complete = {relay: all(inboxes >= SUBSCRIBERS - 1 for _, inboxes in delivered[relay]) for relay in delivered}
    expected_rows = {"done": SUBSCRIBERS + ROUNDS * (SUBSCRIBERS - 1)}  # the Accepts and the Announces
    # our time only counts when every round reached all, and the relay recorded each delivery
    verdict = ("MISSED (ours lost Announces)" if not complete[OURS]
               else f"MISSED (our relay's delivery rows: {result['rows']}, not {expected_rows})"
               if result["rows"] != expected_rows else "met" if ratio <= TARGET else "MISSED")
    rounds = {relay: ", ".join(f"{t:.2f}" for t in times[relay]) for relay in times}
    print(f"relay: one post to {SUBSCRIBERS - 1} subscribers: ours {ours:.2f} s ({rounds[OURS]}), "
          f"activityrelay 0.3.5 {theirs:.2f} s ({rounds[THEIRS]}){'' if complete[THEIRS] else ' INCOMPLETE'}; "
          f"ratio {ratio:.2f} (target <= {TARGET:.2f}) {verdict}")
    per = {relay: statistics.median(cpu[relay]) for relay in cpu}
    subscribed = result["subscribed"]
    print(f"relay: CPU per fan-out (median, all processes): ours {per[OURS]:.2f} s "
          f"({per[OURS] / (SUBSCRIBERS - 1) * 1000:.1f} ms per delivery), activityrelay {per[THEIRS]:.2f} s "
          f"({per[THEIRS] / (SUBSCRIBERS - 1) * 1000:.1f} ms); first Announce after (median) ours "
          f"{statistics.median(result['firsts'][OURS]):.2f} s, activityrelay {statistics.median(result['firsts'][THEIRS]):.2f} s; "
          f"Announces received/distinct inboxes per round: "
          f"ours {delivered[OURS]}, activityrelay {delivered[THEIRS]}; our relay's delivery rows {result['rows']}; "
          f"refused signatures {result['refused']}; "
          f"activityrelay's log during the rounds: {result['theirs_errors']}; receivers' core (CPU 1) busy "
          f"{statistics.median(result['load'][OURS]):.0%} during ours, "
          f"{statistics.median(result['load'][THEIRS]):.0%} during activityrelay's")
    print(f"relay: setup (not timed): {SUBSCRIBERS} subscriptions accepted by ours in {subscribed[OURS][0]:.1f} s "
          f"({subscribed[OURS][1]} Follows sent again), by activityrelay in {subscribed[THEIRS][0]:.1f} s "
          f"({subscribed[THEIRS][1]} sent again{': their Accepts had been dropped' if subscribed[THEIRS][1] else ''}; "
          f"its log meanwhile: {result['theirs_setup_errors']})")
    theirs_mb, before = result["memory"][THEIRS], result["subscribed_mb"]
    print(f"relay: VmRSS after the fan-outs: ours {result['memory'][OURS]:.1f} MB, activityrelay "
          f"{sum(theirs_mb):.1f} MB ({' + '.join(f'{m:.1f}' for m in theirs_mb)}: web process + push worker); "
          f"once subscribed, before the fan-outs: ours {before[OURS]:.1f} MB, activityrelay {before[THEIRS]:.1f} MB")


if __name__ == "__main__":
    main()
