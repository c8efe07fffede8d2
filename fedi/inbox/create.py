from __future__ import annotations

from activitypub.vocab import Activity

from ..instance import Instance
from ..remote_posts import check_author
from .notes import note_of, store_remote_note


async def handle_create(instance: Instance, activity: Activity) -> None:
    note = await note_of(instance, activity.object, activity.object_id)
    check_author(note, activity.actor)
    await store_remote_note(instance, note)
