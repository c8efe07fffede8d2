"""`fedi relay ...` (the national relay) and `fedi relay-subscribe` (an instance joins a relay)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from activitypub.errors import NotFound

from .. import following, storage
from ..config import ConfigError, load_config, new_config
from ..instance import Instance, create_relay_files
from .network import hide_post
from .subscriptions import parse_subscriber_domain, set_subscription_state

Command = Callable[[argparse.Namespace], int]


def add_relay_commands(sub: argparse._SubParsersAction, with_instance: Callable[..., Command],  # type: ignore[type-arg]
                       serve: Command) -> None:
    p = sub.add_parser("relay-subscribe", help="this instance subscribes to a relay")
    p.add_argument("--dir", required=True)
    p.add_argument("relay_url", help="the relay's URL (its /actor, /inbox or base URL)")
    p.set_defaults(handler=with_instance(_subscribe))

    relay_parser = sub.add_parser("relay", help="run the network's relay")
    relay_sub = relay_parser.add_subparsers(dest="relay_command", required=True)

    def command(name: str, handler: Command, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = relay_sub.add_parser(name, help=help)
        p.add_argument("--dir", required=True, help="the relay's data directory")
        p.set_defaults(handler=handler)
        return p

    p = command("init", _init, "create the relay")
    p.add_argument("--url", required=True)
    p.add_argument("--title", default="Relais du réseau")
    p.add_argument("--allow-private", action="store_true", help="local tests and demo only")
    p.add_argument("--database-url", metavar="URL",
                   help="keep the relay in this PostgreSQL database (postgresql://user@host/db),"
                        " not in DIR/fedi.sqlite3")
    p = command("serve", lambda args: _serve(args, serve), "run the relay (until SIGTERM/SIGINT)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    for decision, help in (("approve", "accept a waiting subscription"),
                           ("reject", "refuse a waiting subscription"),
                           ("remove", "end a subscription")):
        p = command(decision, with_instance(_decide(decision)), help)
        p.add_argument("domain")
    p = command("allow", with_instance(_allow), "accept subscriptions from DOMAIN at once from now on")
    p.add_argument("domain")
    command("list", with_instance(_list), "list subscriptions")
    p = command("hide", with_instance(_hide), "hide a post from the relay's pages (it is not deleted)")
    p.add_argument("post_id")


def _init(args: argparse.Namespace) -> int:
    config = new_config(args.url, "relay", args.title, role="relay", allow_private=args.allow_private)
    config = replace(config, database_url=args.database_url)
    asyncio.run(create_relay_files(Path(args.dir), config))
    print(f"Relay ready in {args.dir}: {config.url}/actor (inbox {config.url}/inbox)")
    return 0


def _serve(args: argparse.Namespace, serve: Command) -> int:
    if load_config(Path(args.dir)).role != "relay":
        raise ConfigError(f"{args.dir} is an association's instance: use `fedi serve`")
    return serve(args)


async def _subscribe(instance: Instance, args: argparse.Namespace) -> int:
    remote = await following.subscribe_to_relay(instance, args.relay_url)
    print(f"subscription requested: {remote.uri} (waiting for the relay to accept)")
    return 0


def _decide(decision: str) -> Callable[[Instance, argparse.Namespace], object]:
    async def run(instance: Instance, args: argparse.Namespace) -> int:
        _require_relay(instance)
        subscription = await set_subscription_state(instance, args.domain.lower(), decision)
        print(f"{decision}: {subscription.domain} ({subscription.actor})")
        return 0

    return run


async def _allow(instance: Instance, args: argparse.Namespace) -> int:
    _require_relay(instance)
    domain = parse_subscriber_domain(args.domain)
    await storage.put_relay_allowed(instance.db, domain)
    print(f"allowed: {domain}")
    return 0


async def _list(instance: Instance, args: argparse.Namespace) -> int:
    _require_relay(instance)
    subscriptions = await storage.list_relay_subscriptions(instance.db)
    for subscription in subscriptions:
        print(f"{subscription.state:<9} {subscription.domain:<40} {subscription.actor}")
    if not subscriptions:
        print("no subscriptions yet")
    return 0


async def _hide(instance: Instance, args: argparse.Namespace) -> int:
    _require_relay(instance)
    if not await hide_post(instance, args.post_id):
        raise NotFound(f"the relay holds no post {args.post_id}")
    print(f"hidden: {args.post_id}")
    return 0


def _require_relay(instance: Instance) -> None:
    if instance.config.role != "relay":
        raise ConfigError("this is an association's instance, not a relay")
