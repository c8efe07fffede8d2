"""`fedi demo`: the national relay and three associations on loopback, until Ctrl-C.

Each one is a real `fedi serve` / `fedi relay serve` process with its own data directory, as in
production; this module only prepares them, starts them, and makes them talk: every association
subscribes to the relay, follows the others, and publishes a welcome post and its recurring
welcome meeting, and a post in its members' space. Each has its pages, town and region filled
in and a local member; each, the relay too, has a desk account (printed at start).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from . import accounts, following, invitations, outbox, storage
from .config import new_config
from .content import render_markdown
from .instance import Instance, create_instance_files, create_relay_files, open_instance
from .settings import SiteSettings
from .storage import EventFields

ASSOCIATIONS = [  # name, title, welcome post, town, region
    ("avf-lyon", "AVF Lyon", "Bienvenue à Lyon ! Permanence d'accueil chaque mardi à 14 h.",
     "Lyon", "Auvergne-Rhône-Alpes"),
    ("avf-nantes", "AVF Nantes", "Bienvenue à Nantes ! Rejoignez notre café-rencontre du jeudi.",
     "Nantes", "Pays de la Loire"),
    ("avf-rennes", "AVF Rennes", "Bienvenue à Rennes ! Balade découverte de la ville samedi matin.",
     "Rennes", "Bretagne"),
]
RELAY_NAME = "relay"
DESK_USER = "admin"
MEMBER = ("marie", "Marie Martin", "bienvenue-marie")  # a local member of each members' space
ABOUT = ("Qui sommes-nous", "Nous sommes des bénévoles qui accueillent les nouveaux arrivants : "
         "cafés-rencontres, sorties, ateliers de conversation et groupes d'activités.")
MEET = ("Nous rencontrer", "**Permanence d'accueil** : chaque mardi de 14 h à 17 h à la Maison des "
        "associations. Entrée libre, sans rendez-vous.")
BOOKLET = [
    ("Se loger", "- Les agences et les sites d'annonces de la ville\n- L'aide au logement (CAF)"),
    ("Santé", "- Trouver un médecin traitant\n- Les pharmacies de garde"),
    ("Transports", "- Le réseau de bus et de tram\n- Les pistes cyclables"),
]
GREETERS = [("Claire", "Centre-ville", "français, anglais", "randonnée, cuisine"),
            ("Youssef", "Quartier de la gare", "français, arabe", "football, jeux de société")]


@dataclass
class DemoInstance:
    name: str
    title: str
    welcome: str
    directory: Path
    url: str
    town: str = ""
    region: str = ""
    process: subprocess.Popen[bytes] | None = None


def run_demo(base_dir: Path | None, base_port: int) -> int:
    base = base_dir or Path(tempfile.mkdtemp(prefix="fedi-demo-"))
    hub = DemoInstance(RELAY_NAME, "Relais du réseau", "", base / RELAY_NAME, f"http://127.0.0.1:{base_port}")
    associations = [
        DemoInstance(name, title, welcome, base / name, f"http://127.0.0.1:{base_port + 1 + i}",
                     town, region)
        for i, (name, title, welcome, town, region) in enumerate(ASSOCIATIONS)
    ]
    instances = [hub, *associations]
    try:
        fresh = not (hub.directory / "fedi.toml").exists()
        if fresh:
            asyncio.run(_create(hub, associations))
        for demo in instances:
            demo.process = _start_server(demo)
        asyncio.run(_wait_until_up(instances))
        if fresh:
            asyncio.run(_introduce(hub, associations))
        _print_summary(instances, base)
        _wait_for_interrupt()
    finally:
        _stop_all(instances)
    return 0


async def _create(hub: DemoInstance, associations: list[DemoInstance]) -> None:
    await create_relay_files(hub.directory, new_config(hub.url, hub.name, hub.title, role="relay",
                                                       allow_private=True))
    for demo in associations:
        await create_instance_files(demo.directory,
                                    new_config(demo.url, demo.name, demo.title, allow_private=True))
        await _fill_site(demo)
    relay = await open_instance(hub.directory)
    try:
        await accounts.create_account(relay.db, DESK_USER, "admin", desk_password(hub))
        for demo in associations:
            await storage.put_relay_allowed(relay.db, urlsplit(demo.url).netloc)
    finally:
        await relay.close()


def desk_password(demo: DemoInstance) -> str:
    return f"bienvenue-{demo.name}"


async def _fill_site(demo: DemoInstance) -> None:
    """What an association's volunteers would have written: its town and region (for the
    relay's directory), pages, booklet, greeters, an account."""
    instance = await open_instance(demo.directory)
    try:
        async with instance.db.transaction() as tx:
            await storage.put_settings(tx, SiteSettings(town=demo.town, region=demo.region).to_values())
        await accounts.create_account(instance.db, DESK_USER, "admin", desk_password(demo))
        for kind, (title, text) in (("about", ABOUT), ("meet", MEET)):
            await storage.put_single_page(instance.db, kind, title, text, render_markdown(text))
        for title, text in BOOKLET:
            await storage.put_booklet_section(instance.db, title, text, render_markdown(text))
        for first_name, area, languages, interests in GREETERS:
            await storage.put_greeter(instance.db, first_name, area, languages, interests, email="")
        link = await invitations.create_invitation(instance, DESK_USER)
        username, display_name, password = MEMBER
        await invitations.join(instance, link.rsplit("/", 1)[1], username=username,
                               display_name=display_name, town=demo.town, password=password)
    finally:
        await instance.close()


def _next_tuesday_evening() -> str:
    """Next Tuesday, 18:30 in Paris, as UTC ISO (the demo's recurring welcome meeting)."""
    now = datetime.now(ZoneInfo("Europe/Paris"))
    day = now + timedelta(days=(1 - now.weekday()) % 7 or 7)
    start = day.replace(hour=18, minute=30, second=0, microsecond=0)
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _start_server(demo: DemoInstance) -> subprocess.Popen[bytes]:
    log = open(demo.directory / "server.log", "ab")
    command = ["relay", "serve"] if demo.name == RELAY_NAME else ["serve"]
    return subprocess.Popen(
        [sys.executable, "-m", "fedi", *command, "--dir", str(demo.directory)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


async def _wait_until_up(instances: list[DemoInstance], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        for demo in instances:
            while True:
                if demo.process and demo.process.poll() is not None:
                    raise RuntimeError(f"{demo.name} stopped; see {demo.directory / 'server.log'}")
                try:
                    if (await client.get(demo.url + "/.well-known/nodeinfo")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{demo.name} did not start; see {demo.directory / 'server.log'}")
                await asyncio.sleep(0.2)


async def _introduce(hub: DemoInstance, associations: list[DemoInstance]) -> None:
    """Every association subscribes to the relay and follows the others; once all of that is
    accepted, each publishes its welcome post (the running servers deliver what this queues)."""
    for demo in associations:
        instance = await open_instance(demo.directory)
        try:
            await following.subscribe_to_relay(instance, hub.url)
            for other in associations:
                if other is not demo:
                    await following.follow(instance, f"{other.url}/users/{other.name}")
        finally:
            await instance.close()
    for demo in associations:  # nobody publishes before every subscription and follow is accepted
        instance = await open_instance(demo.directory)
        try:
            await _wait_until_accepted(instance, instance.instance_actor.uri, f"{hub.url}/actor")
            for other in associations:
                if other is not demo:
                    await _wait_until_accepted(instance, instance.association.uri,
                                               f"{other.url}/users/{other.name}")
        finally:
            await instance.close()
    for demo in associations:
        instance = await open_instance(demo.directory)
        try:
            await outbox.publish_post(instance, demo.welcome, title=f"{demo.title} rejoint le réseau")
            await outbox.publish_post(
                instance, "Un moment convivial pour les nouveaux arrivants : venez faire connaissance "
                "autour d'un café.", title="Café d'accueil des nouveaux arrivants",
                event=EventFields(start=_next_tuesday_evening(), recurrence="FREQ=WEEKLY;INTERVAL=3",
                                  place={"name": "Maison des associations", "locality": demo.town}))
            await outbox.publish_post(
                instance, "L'assemblée générale aura lieu le mois prochain : ordre du jour et "
                "procurations dans ce fil. Vos questions en commentaire !",
                title="Assemblée générale des adhérents", visibility="followers")
        finally:
            await instance.close()


async def _wait_until_accepted(instance: Instance, follower: str, followee: str,
                               timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        follow = await storage.get_follow(instance.db, follower, followee)
        if follow is not None and follow.state == "accepted":
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{followee} did not accept the follow of {follower}; see the server logs")


def _print_summary(instances: list[DemoInstance], base: Path) -> None:
    print(f"\nfedi demo is running (data in {base}):")
    for demo in instances:
        handle = f"@{demo.name}@{urlsplit(demo.url).netloc}" if demo.name != RELAY_NAME else "(the relay)"
        print(f"  {demo.title:<16} {demo.url}/   {handle}")
    for demo in instances:
        print(f"  desk of {demo.title}: {demo.url}/login"
              f"  user {DESK_USER}, password {desk_password(demo)}")
    for demo in (demo for demo in instances if demo.name != RELAY_NAME):
        print(f"  members' space of {demo.title}: {demo.url}/members"
              f"  user {MEMBER[0]}, password {MEMBER[2]}")
    print("Press Ctrl-C to stop.\n", flush=True)


def _wait_for_interrupt() -> None:
    stop = False

    def handler(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handler)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _stop_all(instances: list[DemoInstance]) -> None:
    for demo in instances:
        if demo.process and demo.process.poll() is None:
            os.killpg(demo.process.pid, signal.SIGTERM)
    for demo in instances:
        if demo.process:
            try:
                demo.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(demo.process.pid, signal.SIGKILL)
    print("fedi demo stopped.")
