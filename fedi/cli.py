"""The `fedi` command (see README): one sub-command per admin action.

`fedi serve` serves the web application it is given (`create_app`): the program is composed in
web/cli.py, where both fedi/ and web/ are known, so that fedi/ imports nothing from web/.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from activitypub.errors import ActivityPubError, NotFound

from . import backup, blocks, following, outbox, storage
from .cli_admin import add_admin_commands
from .cli_members import add_members_commands
from .config import ConfigError, database_path, load_config, new_config
from .instance import Instance, create_instance_files, open_instance
from .relay.cli import add_relay_commands
from .storage import StorageError
from .tenants import add_tenant, open_tenants, tenant_directories
from .workers import deliver_until_stopped, run_until_idle

Action = Callable[[Instance, argparse.Namespace], Awaitable[int]]
AppFactory = Callable[..., ASGIApp]
"""`create_app(instances, close_instance=True)`: the ASGI app serving one or several instances."""


def _with_instance(action: Action) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        async def run() -> int:
            instance = await open_instance(Path(args.dir))
            try:
                return await action(instance, args)
            finally:
                await instance.close()

        return asyncio.run(run())

    return command


def cmd_init(args: argparse.Namespace) -> int:
    config = new_config(args.url, args.name, args.title, allow_private=args.allow_private)
    asyncio.run(create_instance_files(Path(args.dir), config, args.summary or ""))
    print(f"Instance ready in {args.dir}: @{config.name}@{config.host}")
    print(f"Start it with: fedi serve --dir {args.dir}")
    return 0


def cmd_serve(args: argparse.Namespace, create_app: AppFactory) -> int:
    from .server import run

    tenants_dir = getattr(args, "tenants", None)
    if bool(args.dir) == bool(tenants_dir):
        raise ConfigError("give either --dir DIR (one association) or --tenants TENANTS (several)")
    if tenants_dir:
        tenants = Path(tenants_dir)
        configs = [load_config(directory) for directory in tenant_directories(tenants)]
        if not configs:
            raise ConfigError(f"{tenants} holds no tenant yet: add one with `fedi tenant add`")
        opener: Callable[[], Awaitable[object]] = lambda: open_tenants(tenants)  # noqa: E731
    else:
        directory = Path(args.dir)
        configs = [load_config(directory)]
        opener = lambda: open_instance(directory)  # noqa: E731
    if any(config.allow_private for config in configs):
        logging.warning("allow_private is ON: plain http and private addresses are allowed (tests only)")
    local = all(urlsplit(config.url).hostname in ("localhost", "127.0.0.1") for config in configs)
    host = args.host or ("127.0.0.1" if local else "0.0.0.0")
    run(_app_opened_at_startup(opener, create_app), host, args.port or configs[0].default_port)
    return 0


def _app_opened_at_startup(open_served: Callable[[], Awaitable[object]],
                           create_app: AppFactory) -> ASGIApp:
    """The ASGI app, its instances opened inside the server's event loop when it starts (their
    database connections belong to that loop); the app closes them on shutdown."""
    state: dict[str, ASGIApp] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await state["app"](scope, receive, send)
            return
        state["app"] = create_app(await open_served(), close_instance=True)
        await state["app"](scope, receive, send)

    return app


def cmd_tenant_add(args: argparse.Namespace) -> int:
    config = new_config(args.url, args.name, args.title, allow_private=args.allow_private)
    directory = asyncio.run(add_tenant(Path(args.dir), config, args.summary or ""))
    print(f"Tenant ready in {directory}: @{config.name}@{config.host}")
    print(f"Serve every tenant with: fedi serve --tenants {args.dir}")
    return 0


def cmd_tenant_list(args: argparse.Namespace) -> int:
    for directory in tenant_directories(Path(args.dir)):
        config = load_config(directory)
        print(f"{config.url}\t@{config.name}@{config.host}\t{directory}")
    return 0


@_with_instance
async def cmd_post(instance: Instance, args: argparse.Namespace) -> int:
    post = await outbox.publish_post(instance, args.text, title=args.title,
                                     visibility="followers" if args.members else "public")
    print(post.uri)
    return 0


@_with_instance
async def cmd_edit(instance: Instance, args: argparse.Namespace) -> int:
    post = await outbox.edit_post(instance, args.post_id, args.text)
    print(post.uri)
    return 0


@_with_instance
async def cmd_delete(instance: Instance, args: argparse.Namespace) -> int:
    await outbox.delete_post(instance, args.post_id)
    print(f"deleted {args.post_id}")
    return 0


@_with_instance
async def cmd_follow(instance: Instance, args: argparse.Namespace) -> int:
    remote = await following.follow(instance, args.target)
    print(f"follow requested: {remote.uri}")
    return 0


@_with_instance
async def cmd_unfollow(instance: Instance, args: argparse.Namespace) -> int:
    remote = await following.unfollow(instance, args.target)
    print(f"unfollowed: {remote.uri}")
    return 0


@_with_instance
async def cmd_deliver(instance: Instance, args: argparse.Namespace) -> int:
    if args.forever:
        await deliver_until_stopped(instance)
    else:
        await run_until_idle(instance)
    return 0


@_with_instance
async def cmd_block(instance: Instance, args: argparse.Namespace) -> int:
    domain = blocks.parse_domain(args.domain)
    purge = await blocks.block_domain(instance, domain, args.reason or "")
    print(f"blocked {domain} (its subdomains too, on any port); removed {purge.follows} follows,"
          f" {purge.posts} posts or comments, {purge.reactions} likes or boosts;"
          f" {purge.deliveries} queued deliveries skipped")
    return 0


@_with_instance
async def cmd_unblock(instance: Instance, args: argparse.Namespace) -> int:
    domain = blocks.parse_domain(args.domain)
    if not await blocks.unblock_domain(instance, domain):
        raise NotFound(f"{domain} is not blocked (see `fedi blocks`)")
    print(f"unblocked {domain} (what the block removed does not come back)")
    return 0


@_with_instance
async def cmd_blocks(instance: Instance, args: argparse.Namespace) -> int:
    listed = await storage.list_domain_blocks(instance.db)
    for block in listed:
        print(f"{block.domain}\t{block.created_at}\t{block.reason}")
    if not listed:
        print("no blocked domains")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    asyncio.run(backup.backup(Path(args.dir), Path(args.file)))
    print(f"backup written to {args.file}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    backup.restore(Path(args.dir), Path(args.file))
    print(f"{args.dir} restored from {args.file}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    if backup.postgres_url(directory):
        queues = asyncio.run(backup.queue_summary(directory))
        print("database: PostgreSQL (database_url in fedi.toml), reachable; checking its pages is"
              " PostgreSQL's own job (pg_amcheck), and its backup tool is pg_dump")
    else:
        problems = backup.integrity_problems(database_path(directory))
        if problems:
            print("database damaged:\n  " + "\n  ".join(problems))
            return 1
        queues = asyncio.run(backup.queue_summary(directory))
        print("database ok")
    for name, states in queues.items():
        counts = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
        print(f"{name}: {counts or 'empty'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, args.base_port)


def build_parser(create_app: AppFactory) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fedi", description="ActivityPub server for welcome associations")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], int], help: str, *,
                needs_dir: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        if needs_dir:
            p.add_argument("--dir", required=True, help="the instance's data directory")
        p.set_defaults(handler=handler)
        return p

    p = command("init", cmd_init, "create an instance for one association")
    p.add_argument("--url", required=True, help="public base URL, e.g. https://avf-lyon.example")
    p.add_argument("--name", required=True, help="the association's account name (@name@domain)")
    p.add_argument("--title", help="the association's display name")
    p.add_argument("--summary", help="a one-line presentation of the association")
    p.add_argument("--allow-private", action="store_true",
                   help="allow http and private addresses (local tests and demo only)")
    serve = partial(cmd_serve, create_app=create_app)
    p = command("serve", serve, "run the instance (until SIGTERM/SIGINT)", needs_dir=False)
    p.add_argument("--dir", help="the instance's data directory")
    p.add_argument("--tenants", help="serve every tenant of this directory (by Host header)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p = command("post", cmd_post, "publish a post (Markdown); prints its id")
    p.add_argument("--members", action="store_true",
                   help="a post of the members' space: published by it, for its approved members only")
    p.add_argument("--title")
    p.add_argument("text")
    p = command("edit", cmd_edit, "edit a post (sends Update)")
    p.add_argument("post_id")
    p.add_argument("text")
    p = command("delete", cmd_delete, "delete a post (sends Delete)")
    p.add_argument("post_id")
    p = command("follow", cmd_follow, "follow an actor: URL or @name@host")
    p.add_argument("target")
    p = command("unfollow", cmd_unfollow, "stop following an actor")
    p.add_argument("target")
    p = command("deliver", cmd_deliver, "deliver what is queued now, without serving")
    p.add_argument("--forever", action="store_true",
                   help="keep delivering beside the server until SIGTERM/SIGINT (run several"
                        " on a relay on PostgreSQL)")
    p = command("block", cmd_block, "block a domain: refuse it, purge what came from it, stop delivering")
    p.add_argument("domain", help="e.g. spam.example (subdomains and every port included)")
    p.add_argument("--reason", help="a note for the other admins")
    p = command("unblock", cmd_unblock, "lift a domain block")
    p.add_argument("domain")
    command("blocks", cmd_blocks, "list blocked domains")
    p = command("backup", cmd_backup, "write an online backup of the instance to FILE")
    p.add_argument("file")
    p = command("restore", cmd_restore, "replace the instance's data with a backup (server stopped)")
    p.add_argument("file")
    command("check", cmd_check, "check the database and show the queues")
    tenant = sub.add_parser("tenant", help="several associations served by one process")
    tenant_actions = tenant.add_subparsers(dest="tenant_command", required=True)
    p = tenant_actions.add_parser("add", help="add an association to a tenants directory")
    p.set_defaults(handler=cmd_tenant_add)
    p.add_argument("--dir", required=True, help="the tenants directory")
    p.add_argument("--url", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--title")
    p.add_argument("--summary")
    p.add_argument("--allow-private", action="store_true")
    p = tenant_actions.add_parser("list", help="list the tenants")
    p.set_defaults(handler=cmd_tenant_list)
    p.add_argument("--dir", required=True, help="the tenants directory")
    add_relay_commands(sub, _with_instance, serve)
    add_admin_commands(sub, _with_instance)
    add_members_commands(sub, _with_instance)
    p = command("demo", cmd_demo, "a demo federation on loopback", needs_dir=False)
    p.add_argument("--dir", help="where to keep the demo's data (default: a temporary directory)")
    p.add_argument("--base-port", type=int, default=8701)
    return parser


OWNER_ONLY_UMASK = 0o077  # the database holds private keys, password hashes, e-mails and messages


def main(argv: list[str] | None = None, *, create_app: AppFactory) -> int:
    os.umask(OWNER_ONLY_UMASK)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser(create_app).parse_args(argv)
    try:
        return int(args.handler(args))
    except (ConfigError, ActivityPubError, StorageError) as error:
        print(f"fedi: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
