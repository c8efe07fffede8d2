"""The rules behind the desk's buttons live in fedi/, so that the web routes only read a form,
call one function and show the answer: what the editor's Save does to a post's lifecycle, the
"other audience" a published post is published again for, and the admin account that stays."""

from __future__ import annotations

import pytest

from activitypub.errors import BadRequest
from fedi import accounts, outbox, storage


async def test_save_publishes_schedules_or_keeps_a_draft_and_a_published_post_stays(instance):
    site = instance.instance
    draft = await outbox.publish_post(site, "Brouillon", status="draft")

    later = await outbox.save_post(site, draft.uri, "Pour plus tard", status="scheduled",
                                   scheduled_at="2099-01-01T08:00:00Z")
    assert (later.status, later.scheduled_at, later.source) == ("scheduled", "2099-01-01T08:00:00Z",
                                                                 "Pour plus tard")
    back = await outbox.save_post(site, draft.uri, "De nouveau brouillon", status="draft",
                                  scheduled_at="2099-01-01T08:00:00Z")
    assert (back.status, back.scheduled_at) == ("draft", None)

    late = await outbox.save_post(site, draft.uri, "Trop tard", status="scheduled",
                                  scheduled_at="2020-01-01T08:00:00Z")
    assert late.status == "published"
    kept = await outbox.save_post(site, draft.uri, "Corrigée", status="draft")
    assert (kept.status, kept.source) == ("published", "Corrigée")


async def test_save_refuses_an_unknown_status_before_changing_anything(instance):
    site = instance.instance
    draft = await outbox.publish_post(site, "Brouillon", status="draft")
    with pytest.raises(BadRequest):
        await outbox.save_post(site, draft.uri, "Autre texte", status="archived")
    assert (await storage.get_post_by_uri(site.db, draft.uri)).source == "Brouillon"


async def test_a_post_is_published_again_for_the_other_audience(instance):
    site = instance.instance
    public = await outbox.publish_post(site, "Pour tous")
    members = await outbox.republish_for_other_audience(site, public.uri)
    assert members.visibility == "followers" and members.source == "Pour tous"
    again = await outbox.republish_for_other_audience(site, members.uri)
    assert again.visibility == "public"
    assert (await storage.get_post_by_uri(site.db, public.uri)).is_deleted


async def test_the_only_admin_account_cannot_be_deleted(instance):
    db = instance.db
    marie, _ = await accounts.create_account(db, "marie", "admin")
    julie, _ = await accounts.create_account(db, "julie", "editor")
    with pytest.raises(accounts.LastAdmin):
        await accounts.delete_account(db, marie)
    assert await storage.get_account_by_username(db, "marie") is not None
    await accounts.delete_account(db, julie)
    assert await storage.get_account_by_username(db, "julie") is None
    paul, _ = await accounts.create_account(db, "paul", "admin")
    await accounts.delete_account(db, marie)
    assert [account.username for account in await storage.list_accounts(db)] == ["paul"]
