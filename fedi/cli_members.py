"""`fedi members ...`: the members' space from the command line (invitations, requests, members)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from . import invitations, members
from .instance import Instance
from .storage import Membership


async def cmd_members_invite(instance: Instance, args: argparse.Namespace) -> int:
    url = await invitations.create_invitation(instance, "cli")
    print(f"a one-time invitation to the members' space, valid {invitations.INVITATION_DAYS} days:")
    print(url)
    return 0


def _line(membership: Membership) -> str:
    where = "local" if membership.is_local else "remote"
    state = "member" if membership.state == "accepted" else "pending"
    return f"{membership.handle}\t{where}\t{state}\t{membership.since[:10]}"


async def cmd_members_list(instance: Instance, args: argparse.Namespace) -> int:
    listed = await members.list_requests(instance)
    if not args.pending:
        listed += await members.list_members(instance)
    for membership in listed:
        print(_line(membership))
    if not listed:
        print("no waiting requests" if args.pending else "no members and no waiting requests")
    return 0


async def cmd_members_approve(instance: Instance, args: argparse.Namespace) -> int:
    membership = await members.approve(instance, args.target)
    print(f"approved: {membership.handle} is a member")
    return 0


async def cmd_members_reject(instance: Instance, args: argparse.Namespace) -> int:
    membership = await members.reject(instance, args.target)
    print(f"refused: {membership.handle}")
    return 0


async def cmd_members_remove(instance: Instance, args: argparse.Namespace) -> int:
    membership = await members.remove(instance, args.target)
    print(f"removed: {membership.handle} is no longer a member")
    return 0


def add_members_commands(sub: Any, with_instance: Callable[..., Callable[[argparse.Namespace], int]]) -> None:
    space = sub.add_parser("members", help="the members' space (acct:membres@DOMAIN): invitations,"
                                           " requests, members")
    actions = space.add_subparsers(dest="members_command", required=True)

    def action(name: str, handler: Any, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = actions.add_parser(name, help=help)
        p.add_argument("--dir", required=True, help="the instance's data directory")
        p.set_defaults(handler=with_instance(handler))
        return p

    action("invite", cmd_members_invite, "create a one-time invitation link (printed last)")
    p = action("list", cmd_members_list, "members and waiting requests: handle, local|remote, state, since")
    p.add_argument("--pending", action="store_true", help="waiting requests only")
    for name, handler, help in (
            ("approve", cmd_members_approve, "accept a waiting request (sends Accept)"),
            ("reject", cmd_members_reject, "refuse a waiting request (sends Reject)"),
            ("remove", cmd_members_remove, "end a membership (a remote member gets Reject)")):
        p = action(name, handler, help)
        p.add_argument("target", metavar="ACTOR_URL_OR_HANDLE",
                       help="@name@host, an actor URL or a local name")
