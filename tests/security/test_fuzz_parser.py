"""Given any activity-like JSON a peer may send, the parsers either return a typed object whose
ids are all http(s) URLs, or raise BadRequest: never another exception (which would be a 500 in
the inbox or a crashed worker).

`pytest --fuzz-examples 100000 tests/security/test_fuzz_parser.py` for a long run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fuzz_strategies import is_http_url, json_values, objects
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activitypub.errors import BadRequest
from activitypub.vocab import (
    Activity,
    Actor,
    Note,
    parse_activity,
    parse_actor,
    parse_note,
)

DEFAULT_EXAMPLES = 300
documents = st.one_of(objects(depth=2), objects(depth=2), json_values)


@pytest.fixture
def examples(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--fuzz-examples") or DEFAULT_EXAMPLES)


def ids_of_activity(activity: Activity) -> list[str | None]:
    return [activity.id, activity.actor, activity.object_id, activity.target, *activity.to, *activity.cc]


def ids_of_note(note: Note) -> list[str | None]:
    return [note.id, note.attributed_to, note.in_reply_to, note.url, *note.to, *note.cc,
            *(attachment.url for attachment in note.attachments)]


def ids_of_actor(actor: Actor) -> list[str | None]:
    return [actor.id, actor.inbox, actor.shared_inbox, actor.public_key_id, actor.url, actor.icon_url,
            actor.outbox, actor.followers, actor.following, actor.moved_to, *actor.also_known_as]


def check_parser(parse: Callable[[Any], Any], ids_of: Callable[[Any], list[str | None]],
                 examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @given(documents)
    def parses_or_refuses(data: Any) -> None:
        try:
            parsed = parse(data)
        except BadRequest:
            return
        bad = [value for value in ids_of(parsed) if value is not None and not is_http_url(value)]
        assert not bad, f"{parse.__name__} returned non-http(s) ids: {bad!r}"

    parses_or_refuses()


def test_parse_activity_returns_http_ids_or_raises_bad_request(examples):
    check_parser(parse_activity, ids_of_activity, examples)


def test_parse_note_returns_http_ids_or_raises_bad_request(examples):
    check_parser(parse_note, ids_of_note, examples)


def test_parse_actor_returns_http_ids_or_raises_bad_request(examples):
    check_parser(parse_actor, ids_of_actor, examples)
