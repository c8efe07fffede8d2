"""Posts marked "members only" before the members' space existed went to every follower of the
association. The desk says so, changes nobody's audience by itself, and offers to delete each
one or publish a copy in the members' space."""

from __future__ import annotations

from html import unescape

from desk_testing import log_in
from fedi import storage
from fedi.storage import utc_now_iso


async def _old_members_post(site) -> int:
    """Stored as the association stored such a post before: its own, for its followers."""
    uri = site.instance.urls.new_post()
    async with site.db.transaction() as tx:
        await storage.put_post(tx, uri=uri, author=site.actor_url, is_local=True, type="Note",
                               title="Sortie réservée", content="<p>Rendez-vous à la gare.</p>",
                               source="Rendez-vous à la gare.", in_reply_to=None, visibility="followers",
                               status="published", url=uri, raw=None, published_at=utc_now_iso())
    return (await storage.get_post_by_uri(site.db, uri)).id


async def test_the_desk_warns_and_nothing_changes_by_itself(make_instance):
    site = await make_instance("avf-lyon")
    old_id = await _old_members_post(site)
    desk = await log_in(site)

    page = unescape((await desk.page("/desk")).text)

    assert "Publications des adhérents envoyées à tous les abonnés" in page
    assert "ne peuvent pas être rappelées" in page and "Sortie réservée" in page
    old = await storage.get_post_by_id(site.db, old_id)
    assert (old.author, old.visibility, old.group_uri, old.status) == (
        site.actor_url, "followers", None, "published")
    await desk.aclose()


async def test_a_copy_goes_to_the_members_space_and_the_old_post_stays(make_instance):
    site = await make_instance("avf-lyon")
    old_id = await _old_members_post(site)
    desk = await log_in(site)

    response = await desk.submit("/desk", f"/desk/posts/{old_id}/copy-for-members", {})

    assert response.status_code == 303
    copy = await storage.get_post_by_id(site.db, int(response.headers["location"].split("/")[3].split("?")[0]))
    assert (copy.author, copy.group_uri, copy.title, copy.source) == (
        site.instance.members.uri, site.instance.members.uri, "Sortie réservée", "Rendez-vous à la gare.")
    assert not (await storage.get_post_by_id(site.db, old_id)).is_deleted
    assert "publié dans l’espace adhérents" in unescape((await desk.page(response.headers["location"])).text).lower()

    deleted = await desk.submit("/desk", f"/desk/posts/{old_id}/delete", {})
    assert deleted.status_code == 303 and (await storage.get_post_by_id(site.db, old_id)).is_deleted
    assert "Publications des adhérents envoyées à tous les abonnés" not in unescape((await desk.page("/desk")).text)
    refused = await desk.submit("/desk", f"/desk/posts/{copy.id}/copy-for-members", {})
    assert refused.status_code == 404  # only old posts sent to every follower get a copy
    await desk.aclose()
