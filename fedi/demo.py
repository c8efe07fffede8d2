"""`fedi demo`: associations on loopback that follow each other and publish, until Ctrl-C.

Each association is a real `fedi serve` process with its own data directory, as in production;
this module only prepares them, starts them, and makes them talk.
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
from pathlib import Path

import httpx

from . import outbox
from .config import new_config
from .instance import create_instance_files, open_instance

ASSOCIATIONS = [
    ("avf-lyon", "AVF Lyon", "Bienvenue à Lyon ! Permanence d'accueil chaque mardi à 14 h."),
    ("avf-nantes", "AVF Nantes", "Bienvenue à Nantes ! Rejoignez notre café-rencontre du jeudi."),
]


@dataclass
class DemoInstance:
    name: str
    title: str
    welcome: str
    directory: Path
    url: str
    process: subprocess.Popen[bytes] | None = None


def run_demo(base_dir: Path | None, base_port: int) -> int:
    base = base_dir or Path(tempfile.mkdtemp(prefix="fedi-demo-"))
    instances = [
        DemoInstance(name, title, welcome, base / name, f"http://127.0.0.1:{base_port + i}")
        for i, (name, title, welcome) in enumerate(ASSOCIATIONS)
    ]
    try:
        for demo in instances:
            if not (demo.directory / "fedi.toml").exists():
                config = new_config(demo.url, demo.name, demo.title, allow_private=True)
                asyncio.run(create_instance_files(demo.directory, config))
            demo.process = _start_server(demo)
        asyncio.run(_wait_until_up(instances))
        asyncio.run(_introduce(instances))
        _print_summary(instances, base)
        _wait_for_interrupt()
    finally:
        _stop_all(instances)
    return 0


def _start_server(demo: DemoInstance) -> subprocess.Popen[bytes]:
    log = open(demo.directory / "server.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "fedi", "serve", "--dir", str(demo.directory)],
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


async def _introduce(instances: list[DemoInstance]) -> None:
    """Every association follows the others and publishes its welcome post (the running
    servers deliver what this queues)."""
    for demo in instances:
        instance = await open_instance(demo.directory)
        try:
            for other in instances:
                if other is not demo:
                    await outbox.follow(instance, f"{other.url}/users/{other.name}")
            await outbox.publish_post(instance, demo.welcome, title=f"{demo.title} rejoint le réseau")
        finally:
            await instance.close()


def _print_summary(instances: list[DemoInstance], base: Path) -> None:
    print("\nfedi demo is running (data in %s):" % base)
    for demo in instances:
        print(f"  {demo.title:<12} {demo.url}/   handle @{demo.name}@{demo.url.split('//')[1]}")
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
