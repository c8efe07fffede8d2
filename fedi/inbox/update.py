from __future__ import annotations

from activitypub.errors import Rejected
from activitypub.vocab import ACTOR_TYPES, Activity, as_list

from ..instance import Instance
from ..remote import get_actor
from ..remote_posts import check_author
from .notes import apply_remote_edit, note_of


async def handle_update(instance: Instance, activity: Activity) -> None:
    """An edited post, or a changed profile (refetched from its origin, never taken as sent)."""
    kinds = as_list((activity.object or {}).get("type"))
    is_actor = ACTOR_TYPES.intersection(k for k in kinds if isinstance(k, str))
    if is_actor or activity.object_id == activity.actor:
        if activity.object_id != activity.actor:
            raise Rejected("an actor can only update itself")
        await get_actor(instance, activity.actor, refresh=True)
        return
    note = await note_of(instance, activity.object, activity.object_id)
    check_author(note, activity.actor)
    await apply_remote_edit(instance, note, activity.actor)
