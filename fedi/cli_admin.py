"""`fedi admin ...`: the desk's accounts, from the command line (the first one must be made here)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from . import accounts, storage
from .accounts import AccountError
from .instance import Instance


def _password(args: argparse.Namespace) -> str | None:
    """With --password-stdin, the first line of standard input; else None (one is generated)."""
    if not args.password_stdin:
        return None
    return sys.stdin.readline().rstrip("\n")


async def cmd_admin_create(instance: Instance, args: argparse.Namespace) -> int:
    try:
        account, password = await accounts.create_account(instance.db, args.username, args.role,
                                                          _password(args))
    except AccountError as error:
        print(f"fedi: {error}", file=sys.stderr)
        return 1
    print(f"created {account.role} account {account.username}; log in at {instance.config.url}/login")
    if not args.password_stdin:
        print(f"password: {password}")
    return 0


async def cmd_admin_password(instance: Instance, args: argparse.Namespace) -> int:
    account = await storage.get_account_by_username(instance.db, args.username.strip().lower())
    if account is None:
        print(f"fedi: no account {args.username}", file=sys.stderr)
        return 1
    password = _password(args) or accounts.new_password()
    try:
        accounts.check_new_password(password)
    except AccountError as error:
        print(f"fedi: {error}", file=sys.stderr)
        return 1
    await storage.set_account_password(instance.db, account.id, await accounts.hash_password(password))
    print(f"new password for {account.username}; its open sessions are closed")
    if not args.password_stdin:
        print(f"password: {password}")
    return 0


async def cmd_admin_list(instance: Instance, args: argparse.Namespace) -> int:
    for account in await storage.list_accounts(instance.db):
        print(f"{account.username}\t{account.role}\t{account.created_at[:10]}")
    return 0


def add_admin_commands(sub: Any, with_instance: Callable[..., Callable[[argparse.Namespace], int]]) -> None:
    admin = sub.add_parser("admin", help="accounts of the web desk")
    actions = admin.add_subparsers(dest="admin_command", required=True)

    def action(name: str, handler: Any, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = actions.add_parser(name, help=help)
        p.add_argument("--dir", required=True, help="the instance's data directory")
        p.set_defaults(handler=with_instance(handler))
        return p

    p = action("create", cmd_admin_create, "create a desk account (prints its password)")
    p.add_argument("username")
    p.add_argument("--role", choices=accounts.ROLES, default="admin")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p = action("password", cmd_admin_password, "set a new password (prints it); closes its sessions")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    action("list", cmd_admin_list, "list the desk accounts")
