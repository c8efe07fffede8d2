"""Privacy is the point (issue 14): what the members' space holds (its posts, its events, the
discussion under them, who its members are) never shows on a surface anyone can read. Each
surface is fetched as a visitor or a peer server would, unsigned, and read as they would read it
(entities, JSON escapes and iCalendar folding undone). Each surface also shows a public post, so
a check that finds nothing private has really read a page that lists posts.

Adding a surface is one line in SURFACES (or COLLECTIONS for a paged ActivityStreams collection)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from html import unescape
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from desk_testing import HTML
from fedi import following, members, outbox, storage
from fedi.config import new_config
from fedi.instance import Instance, _put_new_actor, create_instance_files, open_instance
from fedi.storage import EventFields, Post, utc_now_iso
from fedi_testing import AP_HEADERS, Served, serve_instance, settle
from web.app import create_app
from web.site_news import ARCHIVE_PAGE

ANY = {"Accept": "*/*"}

PUBLIC_NEWS = "Permanence du mardi"
PUBLIC_EVENT = "Forum des associations"
LATEST_FILLER = f"Nouvelle numéro {ARCHIVE_PAGE}"

MEMBERS_TITLE = "Réunion du bureau"
MEMBERS_TEXT = "Le code de la porte est 4821"
MEMBERS_EVENT_TITLE = "Pot des adhérents"
MEMBERS_EVENT_TEXT = "Apportez vos gâteaux préférés"
MEMBERS_EVENT_PLACE = {"name": "Salle Rameau", "street": "12 rue des Lilas", "postal_code": "69004",
                       "locality": "Lyon"}
COPY_TEXT = "Je viendrai avec ma voisine Odile"
REPLY_TEXT = "Merci pour le rappel du code"


@dataclass
class Space:
    """An association whose members' space holds a post, a weekly event and a discussion; one
    member (another association, approved) took part. Its public news and event sit beside them."""

    site: Served
    member: Served
    news: Post  # public
    event: Post  # public
    private: list[Post]  # the members' post, its event, the space's copy of a reply, the reply
    activities: dict[str, str]  # the space's Create of its post and of its event, its Accept of the member

    @property
    def secrets(self) -> list[str]:
        """What no visitor may read: the private posts' titles, texts, places and addresses,
        and who the member is."""
        words = [MEMBERS_TITLE, MEMBERS_TEXT, MEMBERS_EVENT_TITLE, MEMBERS_EVENT_TEXT,
                 MEMBERS_EVENT_PLACE["name"], MEMBERS_EVENT_PLACE["street"], COPY_TEXT, REPLY_TEXT]
        member_handle = f"@{self.member.instance.association.username}@{self.member.instance.config.host}"
        local_member = self.site.instance.urls.actor("odile")
        return [*words, *(post.uri for post in self.private), member_handle, self.member.actor_url,
                local_member, "Odile M."]

    def path(self, template: str) -> str:
        """A surface's path, its placeholders filled: {news} {event} {post} {members_event} {copy}
        (a post's id in its URL), {create} {event_create} {accept} (an activity's), {host}."""
        tokens = {name: token_of(post) for name, post in
                  (("news", self.news), ("event", self.event), ("post", self.private[0]),
                   ("members_event", self.private[1]), ("copy", self.private[2]))}
        tokens |= {name: uri.rsplit("/", 1)[-1] for name, uri in self.activities.items()}
        return template.format(host=self.site.instance.config.host, **tokens)


def token_of(post: Post) -> str:
    return post.uri.rsplit("/", 1)[-1]


async def fill_space(instance: Instance, member_actor: str, member_url: str) -> tuple[Post, Post, list[Post]]:
    """Publishes, oldest first: a members' event, enough public news to need a second page of
    news, the public news and event, a members' post and the discussion under it. A leaking list
    would show the members' post first and the members' event on the news' second page."""
    members_event = await outbox.publish_post(
        instance, MEMBERS_EVENT_TEXT, title=MEMBERS_EVENT_TITLE, visibility="followers",
        event=EventFields("2026-01-08T17:00:00Z", "2026-01-08T19:00:00Z", MEMBERS_EVENT_PLACE,
                          "FREQ=WEEKLY"))
    for number in range(1, ARCHIVE_PAGE + 1):
        await outbox.publish_post(instance, f"Brève du jour {number}.", title=f"Nouvelle numéro {number}")
    news = await outbox.publish_post(instance, "Accueil des nouveaux arrivants.", title=PUBLIC_NEWS)
    event = await outbox.publish_post(
        instance, "Venez nombreux.", title=PUBLIC_EVENT,
        event=EventFields("2031-09-06T08:00:00Z", "2031-09-06T16:00:00Z",
                          {"name": "Gymnase Tola Vologe", "locality": "Lyon"}))
    post = await outbox.publish_post(instance, MEMBERS_TEXT, title=MEMBERS_TITLE, visibility="followers")
    assert instance.members is not None and post.group_uri == members_event.group_uri == instance.members.uri
    copy = await _put_reply(instance, instance.urls.new_post(), instance.members.uri, True, post, COPY_TEXT)
    reply = await _put_reply(instance, f"{member_url}/posts/reponse-1", member_actor, False, post, REPLY_TEXT)
    return news, event, [post, members_event, copy, reply]


async def _put_reply(instance: Instance, uri: str, author: str, is_local: bool, parent: Post,
                     text: str) -> Post:
    """A reply in the space: a member's (received) or the space's own copy of it for every member."""
    async with instance.db.transaction() as tx:
        await storage.put_post(
            tx, uri=uri, author=author, is_local=is_local, type="Note", title=None,
            content=f"<p>{text}</p>", source=text if is_local else None, in_reply_to=parent.uri,
            visibility="followers", status="published", url=uri, raw=None, published_at=utc_now_iso(),
            group_uri=parent.group_uri)
    stored = await storage.get_post_by_uri(instance.db, uri)
    assert stored is not None
    return stored


async def show_followers(instance: Instance) -> None:
    """The admin chose to list who follows the association (the settings page's choice)."""
    instance.settings = replace(instance.settings, list_followers=True)
    async with instance.db.transaction() as tx:
        await storage.put_settings(tx, instance.settings.to_values())


async def build_space(site: Served, member: Served) -> Space:
    """The space, with its two members: `member`'s association (approved on request) and a
    local member (a Person of the instance, as an invitation makes one)."""
    instance = site.instance
    assert instance.members is not None
    await following.follow(member.instance, instance.members.uri)
    await settle(site, member)
    await members.approve(instance, member.actor_url)
    local_member = instance.urls.actor("odile")
    async with instance.db.transaction() as tx:
        await _put_new_actor(tx, "odile", local_member, "person", "Person", "Odile M.", "Lyon",
                             manually_approves=True)
        await storage.put_follow(tx, local_member, instance.members.uri, None, "accepted")
    await show_followers(instance)
    news, event, private = await fill_space(instance, member.actor_url, member.url)
    await settle(site, member)
    assert await storage.get_post_by_uri(member.db, private[0].uri) is not None  # the member got it
    return Space(site, member, news, event, private, await _activities_of_space(instance, private))


async def _activities_of_space(instance: Instance, private: list[Post]) -> dict[str, str]:
    assert instance.members is not None
    rows = await instance.db.fetchall(
        "SELECT type, object_uri, uri FROM activities WHERE actor = ?", (instance.members.uri,))
    found = {(row["type"], row["object_uri"]): row["uri"] for row in rows}
    accepts = [row["uri"] for row in rows if row["type"] == "Accept"]
    assert len(accepts) == 1
    return {"create": found["Create", private[0].uri], "event_create": found["Create", private[1].uri],
            "accept": accepts[0]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def space(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Space]:
    """One space for every read-only check of this module (starting instances is what costs)."""
    directory = tmp_path_factory.mktemp("space")
    site = await serve_instance(directory / "lyon", "avf-lyon")
    member = await serve_instance(directory / "nantes", "avf-nantes")
    try:
        yield await build_space(site, member)
    finally:
        await member.stop()
        await site.stop()


READ_ONLY = pytest.mark.asyncio(loop_scope="module")


def readable(response: httpx.Response) -> str:
    """What a reader of this answer reads: JSON without its escapes, iCalendar lines unfolded
    and unescaped, HTML (also inside XML) without its entities."""
    kind = response.headers.get("content-type", "")
    text = response.text
    if "json" in kind:
        text = json.dumps(response.json(), ensure_ascii=False)
    elif "calendar" in kind:
        text = text.replace("\r\n ", "").replace("\\,", ",").replace("\\;", ";").replace("\\n", "\n")
    return unescape(unescape(text))


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret in text]


# (path, headers, status, what public thing the surface shows, or None)
SURFACES = [
    ("/", HTML, 200, PUBLIC_NEWS),
    ("/news", HTML, 200, PUBLIC_NEWS),
    ("/news?page=2", HTML, 200, "Nouvelle numéro 1"),
    ("/users/avf-lyon", HTML, 200, PUBLIC_NEWS),
    ("/users/avf-lyon", AP_HEADERS, 200, None),
    ("/users/membres", HTML, 200, None),
    ("/users/membres", AP_HEADERS, 200, None),
    ("/feed.rss", ANY, 200, PUBLIC_NEWS),
    ("/feed.atom", ANY, 200, PUBLIC_NEWS),
    ("/events", HTML, 200, PUBLIC_EVENT),
    ("/events.ics", ANY, 200, PUBLIC_EVENT),
    ("/events/{event}.ics", ANY, 200, PUBLIC_EVENT),
    ("/events/{members_event}.ics", ANY, 404, None),
    ("/posts/{news}", HTML, 200, PUBLIC_NEWS),
    ("/posts/{event}", HTML, 200, PUBLIC_EVENT),
    ("/posts/{post}", HTML, 404, None),
    ("/posts/{post}", AP_HEADERS, 404, None),
    ("/posts/{members_event}", HTML, 404, None),
    ("/posts/{members_event}", AP_HEADERS, 404, None),
    ("/posts/{copy}", HTML, 404, None),
    ("/posts/{copy}", AP_HEADERS, 404, None),
    ("/activities/{create}", AP_HEADERS, 404, None),
    ("/activities/{event_create}", AP_HEADERS, 404, None),
    ("/activities/{accept}", AP_HEADERS, 404, None),  # the space's Accept would name a member
    ("/nodeinfo/2.0", ANY, 200, None),
    ("/nodeinfo/2.1", ANY, 200, None),
    ("/.well-known/webfinger?resource=acct:membres@{host}", ANY, 200, None),
    ("/desk", HTML, 303, None),  # the desk's pages and previews: a visitor is sent to log in
    ("/desk/posts/new", HTML, 303, None),
]


def _surface_id(value: object) -> str | None:
    return value["Accept"] if isinstance(value, dict) else None


@READ_ONLY
@pytest.mark.parametrize(("template", "headers", "status", "public"), SURFACES, ids=_surface_id)
async def test_no_public_surface_shows_the_members_space(space: Space, template: str,
                                                         headers: dict[str, str], status: int,
                                                         public: str | None) -> None:
    async with httpx.AsyncClient(base_url=space.site.url) as visitor:
        response = await visitor.get(space.path(template), headers=headers)
    assert response.status_code == status
    text = readable(response)
    if public is not None:
        assert public in text  # the surface lists posts: a members' one would be seen here
    assert leaked(text, space.secrets) == []


COLLECTIONS = ["/users/avf-lyon/outbox", "/users/membres/outbox", "/actor/outbox",
               "/users/avf-lyon/following", "/users/membres/following"]


async def test_a_post_of_the_space_stays_off_every_list_whatever_its_visibility_says(make_instance):
    """The rule is the Group: a post with one is never listed publicly, even a row whose
    visibility reads "public" (a reply a member addressed to everyone, taken into the space),
    here as bad as it gets: the association's own news, event and reply to its public news."""
    site = await make_instance("avf-lyon")
    instance = site.instance
    assert instance.members is not None
    news = await outbox.publish_post(instance, "Accueil des nouveaux arrivants.", title=PUBLIC_NEWS)
    rows = []
    async with instance.db.transaction() as tx:
        for title, text, event, in_reply_to in (
                (MEMBERS_TITLE, MEMBERS_TEXT, None, None),
                (MEMBERS_EVENT_TITLE, MEMBERS_EVENT_TEXT, EventFields("2031-06-12T16:00:00Z"), None),
                (None, COPY_TEXT, None, news.uri)):
            uri = instance.urls.new_post()
            await storage.put_post(
                tx, uri=uri, author=instance.association.uri, is_local=True,
                type="Event" if event else "Note", title=title, content=f"<p>{text}</p>", source=text,
                in_reply_to=in_reply_to, visibility="public", status="published", url=uri, raw=None,
                published_at=utc_now_iso(), event=event, group_uri=instance.members.uri)
            rows.append(uri)
    secrets = [MEMBERS_TITLE, MEMBERS_TEXT, MEMBERS_EVENT_TITLE, MEMBERS_EVENT_TEXT, COPY_TEXT, *rows]
    async with httpx.AsyncClient(base_url=site.url) as visitor:
        for path in ("/", "/news", "/users/avf-lyon", "/feed.rss", "/feed.atom", "/events",
                     "/events.ics", f"/posts/{token_of(news)}"):
            response = await visitor.get(path, headers=HTML)
            assert response.status_code == 200
            assert leaked(readable(response), secrets) == [], path
        usage = (await visitor.get("/nodeinfo/2.1")).json()["usage"]
    assert usage["localPosts"] == 1


@READ_ONLY
@pytest.mark.parametrize("path", COLLECTIONS)
async def test_no_page_of_a_collection_holds_the_members_space(space: Space, path: str) -> None:
    """Every page, walked as a peer server walks them (first, then next)."""
    pages = []
    async with httpx.AsyncClient(base_url=space.site.url) as peer:
        url: str | None = path
        while url is not None and len(pages) < 50:
            response = await peer.get(url, headers=AP_HEADERS)
            assert response.status_code == 200
            pages.append(response)
            body = response.json()
            url = body.get("first") if body["type"] == "OrderedCollection" else body.get("next")
    assert [leaked(readable(page), space.secrets) for page in pages] == [[]] * len(pages)


@READ_ONLY
async def test_the_association_outbox_lists_its_public_posts_and_the_spaces_outbox_nothing(space: Space):
    async with httpx.AsyncClient(base_url=space.site.url) as peer:
        association = (await peer.get("/users/avf-lyon/outbox", headers=AP_HEADERS)).json()
        group = (await peer.get("/users/membres/outbox", headers=AP_HEADERS)).json()
    assert association["totalItems"] == ARCHIVE_PAGE + 2  # the fillers, the news, the event
    assert group["totalItems"] == 0 and "first" not in group


@READ_ONLY
async def test_nodeinfo_counts_only_what_anyone_can_read(space: Space):
    """localPosts: the association's public posts (the space's posts and their discussion are
    not counted: a count of them is already something outsiders should not learn). users: the
    association alone; a local member's Person is not counted, since the number of the
    association's members is not public (the space's followers are hidden)."""
    async with httpx.AsyncClient(base_url=space.site.url) as peer:
        for version in ("2.0", "2.1"):
            usage = (await peer.get(f"/nodeinfo/{version}")).json()["usage"]
            assert usage["localPosts"] == ARCHIVE_PAGE + 2
            assert usage["users"] == {"total": 1, "activeMonth": 1, "activeHalfyear": 1}


@READ_ONLY
async def test_the_spaces_page_does_not_tell_who_its_members_are_nor_how_many(space: Space):
    """The association lists its followers on its page (its choice); the members' space never does."""
    async with httpx.AsyncClient(base_url=space.site.url) as visitor:
        association = unescape((await visitor.get("/users/avf-lyon", headers=HTML)).text)
        group = unescape((await visitor.get("/users/membres", headers=HTML)).text)
    assert "0 abonné·e" in association  # the association's own page says how many follow it
    assert "abonné·e" not in group
    assert "@avf-nantes@" not in group


@READ_ONLY
async def test_the_spaces_followers_collection_is_not_given_to_an_unsigned_get(space: Space):
    async with httpx.AsyncClient(base_url=space.site.url) as stranger:
        collection = await stranger.get("/users/membres/followers", headers=AP_HEADERS)
        first_page = await stranger.get("/users/membres/followers?page=1", headers=AP_HEADERS)
    assert collection.status_code == first_page.status_code == 404
    assert "totalItems" not in collection.text and space.member.actor_url not in first_page.text


async def test_a_members_person_shows_only_a_name_and_a_presentation(make_instance):
    """A local member's Person actor: the name and presentation they gave, nothing the
    association's profile has (no logo), not offered to search or discovery, and no way to reach
    them outside the fediverse (no e-mail, no postal address)."""
    site = await make_instance("avf-lyon")
    instance = site.instance
    uri = instance.urls.actor("odile")
    async with instance.db.transaction() as tx:
        await _put_new_actor(tx, "odile", uri, "person", "Person", "Odile M.",
                             "Arrivée à Lyon en septembre", manually_approves=True)
    async with httpx.AsyncClient() as peer:
        response = await peer.get(uri, headers=AP_HEADERS)
    assert response.status_code == 200
    person = response.json()
    assert (person["type"], person["name"], person["summary"]) == (
        "Person", "Odile M.", "<p>Arrivée à Lyon en septembre</p>")
    assert (person["discoverable"], person["indexable"]) == (False, False)
    assert set(person) == {"@context", "id", "type", "preferredUsername", "name", "summary", "url",
                           "inbox", "outbox", "followers", "following", "endpoints",
                           "manuallyApprovesFollowers", "discoverable", "indexable", "published",
                           "publicKey"}
    assert instance.urls.logo not in response.text


async def test_a_relay_subscribed_by_the_association_never_gets_the_space(make_instance):
    hub = await make_instance("relay", role="relay")
    site = await make_instance("avf-lyon")
    member = await make_instance("avf-nantes")
    await storage.put_relay_allowed(hub.db, site.instance.config.host)
    await following.subscribe_to_relay(site.instance, hub.url)
    await settle(hub, site)
    space = await build_space(site, member)
    news, private = space.news, space.private
    await outbox.edit_post(site.instance, private[0].uri, f"{MEMBERS_TEXT} (corrigé)")
    await settle(hub, site, member)

    assert await storage.get_post_by_uri(hub.db, news.uri) is not None  # the relay got the news
    assert [await storage.get_post_by_uri(hub.db, post.uri) for post in private] == [None] * 4
    async with httpx.AsyncClient(base_url=hub.url) as visitor:
        for path in ("/", "/feed.rss", "/feed.atom", f"/associations/{site.instance.config.host}"):
            response = await visitor.get(path, headers=HTML)
            assert response.status_code == 200
            assert PUBLIC_NEWS in readable(response) and leaked(readable(response), space.secrets) == []


TENANT_SURFACES = ["/", "/news", "/news?page=2", "/feed.rss", "/feed.atom", "/events", "/events.ics",
                   "/users/avf-nantes", "/users/membres"]


async def test_a_tenant_never_sees_another_tenants_space(tmp_path: Path):
    """Two associations served by one process: Lyon's members' space is nowhere on Nantes' site,
    nor in Nantes' database."""
    sites = []
    for host, name in (("lyon.test", "avf-lyon"), ("nantes.test", "avf-nantes")):
        await create_instance_files(tmp_path / name, new_config(f"http://{host}", name, name,
                                                                allow_private=True))
        sites.append(await open_instance(tmp_path / name))
    lyon, nantes = sites
    try:
        news, event, private = await fill_space(lyon, "http://member.test/users/odile", "http://member.test")
        secrets = [MEMBERS_TITLE, MEMBERS_TEXT, MEMBERS_EVENT_TITLE, COPY_TEXT, REPLY_TEXT,
                   *(post.uri for post in private)]
        app = create_app(sites, run_workers=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as visitor:
            lyon_home = await visitor.get("http://lyon.test/", headers=HTML)
            assert PUBLIC_NEWS in readable(lyon_home) and leaked(readable(lyon_home), secrets) == []
            for path in TENANT_SURFACES:
                response = await visitor.get(f"http://nantes.test{path}", headers=HTML)
                assert response.status_code == 200, path
                assert leaked(readable(response), [*secrets, PUBLIC_NEWS]) == [], path
            for post in private[:3]:
                other_host = post.uri.replace("http://lyon.test", "http://nantes.test")
                assert (await visitor.get(other_host, headers=AP_HEADERS)).status_code == 404
        assert [await storage.get_post_by_uri(nantes.db, post.uri) for post in private] == [None] * 4
    finally:
        for site in sites:
            await site.close()
