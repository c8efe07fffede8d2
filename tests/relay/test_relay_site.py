"""The relay's own site and admin: a page per association, the network's figures, and the
relay admin approving subscriptions, keeping the allowlist and hiding posts from the web."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape
from html.parser import HTMLParser

import pytest
from starlette.routing import Route

from desk_testing import alert_of, csrf_of, log_in
from fedi import following, outbox, storage
from fedi.relay.subscriptions import set_subscription_state
from fedi_testing import settle
from web.app import create_app


@pytest.fixture
async def network(make_instance):
    hub = await make_instance("relay", role="relay")
    lyon = await make_instance("avf-lyon")
    paris = await make_instance("avf-paris")
    await storage.put_relay_allowed(hub.db, lyon.instance.config.host)
    for member in (lyon, paris):
        await following.subscribe_to_relay(member.instance, hub.url)
    await settle(hub, lyon, paris)
    return hub, lyon, paris


async def test_each_association_has_its_page_and_the_network_its_figures(network):
    hub, lyon, paris = network
    await outbox.publish_post(lyon.instance, "Forum des associations samedi", title="Forum")
    await settle(hub, lyon, paris)
    desk = await log_in(hub)  # any visitor would see the same pages

    directory = (await desk.page("/associations")).text
    host = lyon.instance.config.host
    assert f'href="/associations/{host}"' in directory and "Avf Lyon" in directory
    page = await desk.page(f"/associations/{host}")
    assert page.status_code == 200
    assert "Forum des associations samedi" in page.text and f"@avf-lyon@{host}" in page.text
    unknown = await desk.page(f"/associations/{paris.instance.config.host}")  # not approved yet
    assert unknown.status_code == 404

    stats = unescape((await desk.page("/stats")).text)
    assert "1 association dans le réseau" in stats
    assert "1 abonnement en attente d'approbation" in stats
    assert "<td>1</td>" in stats  # this week's one post
    await desk.aclose()


class _MainText(HTMLParser):
    """The words a visitor reads in a page's <main>, one text node a line."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.lines = False, []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.inside = self.inside or tag == "main"

    def handle_endtag(self, tag: str) -> None:
        self.inside = self.inside and tag != "main"

    def handle_data(self, data: str) -> None:
        if self.inside and data.strip():
            self.lines.append(data.strip())


def read_main(page: str) -> str:
    parser = _MainText()
    parser.feed(page)
    return "\n".join(parser.lines)


async def test_the_network_news_names_each_association_and_shows_a_title_once(network):
    """Given Lyon's titled post, the relay's news credits it to AVF Lyon (linking to its page in
    the directory), not to a host name, and neither page repeats the title or prints raw URLs."""
    hub, lyon, paris = network
    await outbox.publish_post(lyon.instance, "Rendez-vous samedi au parc de la Tête d'or.",
                              title="Pique-nique")
    await settle(hub, lyon, paris)
    desk = await log_in(hub)
    host = lyon.instance.config.host

    home = (await desk.page("/")).text
    assert f'<a href="/associations/{host}">Avf Lyon</a>' in home
    news = read_main(home)
    assert "Avf Lyon" in news and news.count("Pique-nique") == 1
    assert host not in news and "http" not in news
    page = read_main((await desk.page(f"/associations/{host}")).text)
    assert page.count("Pique-nique") == 1 and "Tête d'or" in page
    assert f"{lyon.url}/posts/" not in page
    admin = read_main((await desk.page("/desk/relay")).text)  # where the relay admin hides posts
    assert admin.count("Pique-nique") == 1
    await desk.aclose()


async def test_the_relay_admin_approves_a_subscription_on_the_web(network):
    hub, lyon, paris = network
    desk = await log_in(hub)
    assert (await desk.page("/desk")).headers["location"] == "/desk/relay"
    admin = await desk.page("/desk/relay")
    assert paris.instance.config.host in admin.text and "Approuver" in admin.text

    response = await desk.submit("/desk/relay", "/desk/relay/decide", {
        "domain": paris.instance.config.host, "decision": "approve"})
    assert response.status_code == 303
    await settle(hub, lyon, paris)
    follow = await storage.get_follow(paris.db, paris.instance.instance_actor.uri, f"{hub.url}/actor")
    assert follow.state == "accepted"
    post = await outbox.publish_post(lyon.instance, "Pique-nique au parc")
    await settle(hub, lyon, paris)
    assert await storage.get_post_by_uri(paris.db, post.uri) is not None
    await desk.aclose()


async def test_the_allowlist_hiding_and_bad_input(network):
    hub, lyon, paris = network
    post = await outbox.publish_post(lyon.instance, "Annonce douteuse")
    await settle(hub, lyon, paris)
    desk = await log_in(hub)

    await desk.submit("/desk/relay", "/desk/relay/allow", {"domain": "https://avf-ville.fr/", "action": "add"})
    assert await storage.is_relay_allowed(hub.db, "avf-ville.fr")
    response = await desk.submit("/desk/relay", "/desk/relay/allow", {"domain": "pas un domaine", "action": "add"})
    assert response.status_code == 400 and "avf-ville.fr" in alert_of(response.text)

    await desk.submit("/desk/relay", "/desk/relay/hide", {"post": post.uri})
    assert "Annonce douteuse" not in (await desk.page("/")).text
    response = await desk.submit("/desk/relay", "/desk/relay/decide", {"domain": "nope.example", "decision": "approve"})
    assert response.status_code == 404
    await desk.aclose()


async def test_editors_and_instances_have_no_relay_admin(network):
    hub, lyon, paris = network
    editor = await log_in(hub, "paul", role="editor")
    assert (await editor.page("/desk/relay")).status_code == 403
    await editor.aclose()
    desk = await log_in(lyon)
    assert (await desk.page("/desk/relay")).status_code == 404
    assert (await desk.page("/stats")).status_code == 404
    await desk.aclose()


# What the relay serves of the app's routes (by module, plus the two pages both kinds of site
# have); every other route is the association's site or desk, which a relay does not have.
RELAY_MODULES = {"web.federation", "web.feeds", "web.site_frame", "web.media", "web.relay_site", "web.auth",
                 "web.desk.relay", "web.desk.accounts"}
RELAY_PATHS = {"/", "/desk"}


def _association_routes(instance) -> list[tuple[str, str]]:
    """(method, path) of every route an association has and the relay has not, its parameters
    filled in: read from the app itself, so that a route added later is checked too."""
    found = []
    for route in create_app(instance, run_workers=False).routes:
        if not isinstance(route, Route) or route.path in RELAY_PATHS:
            continue
        if route.endpoint.__module__ in RELAY_MODULES:
            continue
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: "1" if m.group(1).endswith("_id") else "about", route.path)
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


async def test_the_relay_has_no_association_pages_nor_their_desk(network):
    """The relay's admin, logged in, finds none of an association's pages or desk areas on the
    relay (404 to every method), and nothing is written: no post, no greeter, no settings."""
    hub, lyon, _ = network
    routes = _association_routes(hub.instance)
    assert {"/about", "/news", "/greeters", "/events", "/desk/posts/new", "/desk/settings", "/desk/greeters",
            "/desk/pages", "/desk/messages", "/desk/comments", "/desk/network"} <= {path for _, path in routes}
    desk = await log_in(hub)
    token = csrf_of((await desk.page("/desk/accounts")).text)
    outbox_before = await storage.count_outbox(hub.db, hub.instance.association.uri)
    for method, path in routes:
        if method == "POST":
            response = await desk.client.post(path, data={"csrf": token, "title": "Relais", "text": "Rien",
                                                          "action": "publish", "first_name": "Zoé"})
        else:
            response = await desk.client.get(path)
        assert response.status_code == 404, (method, path, response.status_code)
    assert await storage.list_greeter_cards(hub.db) == []
    assert await storage.list_local_posts(hub.db, hub.instance.association.uri,
                                          ("draft", "scheduled", "published"), 10) == []
    assert await storage.count_outbox(hub.db, hub.instance.association.uri) == outbox_before
    await desk.aclose()
    visitor = await log_in(lyon)  # the same pages are there on an association's site
    for path in ("/about", "/news", "/greeters", "/events", "/desk/posts/new", "/desk/settings"):
        assert (await visitor.page(path)).status_code == 200, path
    await visitor.aclose()


async def _located(served, town: str, region: str) -> None:
    """The association's admin filled in its town and region on the settings page."""
    settings = replace(served.instance.settings, town=town, region=region)
    async with served.db.transaction() as tx:
        await storage.put_settings(tx, settings.to_values())
    served.instance.settings = settings


async def test_the_directory_and_the_news_by_region(make_instance):
    hub = await make_instance("relay", role="relay")
    lyon = await make_instance("avf-lyon")
    nantes = await make_instance("avf-nantes")
    await _located(lyon, "Lyon", "Auvergne-Rhône-Alpes")
    await _located(nantes, "Nantes", "Pays de la Loire")
    for member in (lyon, nantes):
        await storage.put_relay_allowed(hub.db, member.instance.config.host)
        await following.subscribe_to_relay(member.instance, hub.url)
    await settle(hub, lyon, nantes)
    await outbox.publish_post(lyon.instance, "Fête des lumières")
    await outbox.publish_post(nantes.instance, "Balade sur l'Erdre")
    await settle(hub, lyon, nantes)
    visitor = await log_in(hub)

    directory = unescape((await visitor.page("/associations")).text)
    assert "Lyon, Auvergne-Rhône-Alpes" in directory and "Nantes, Pays de la Loire" in directory
    only = unescape((await visitor.client.get("/associations", params={"region": "Pays de la Loire"})).text)
    assert "Avf Nantes" in only and "Avf Lyon" not in only
    news = unescape((await visitor.client.get("/", params={"region": "Pays de la Loire"})).text)
    assert "Balade sur l'Erdre" in news and "Fête des lumières" not in news
    feed = (await visitor.client.get("/feed.rss", params={"region": "Pays de la Loire"})).text
    assert "Erdre" in feed and "lumières" not in feed
    everything = unescape((await visitor.page("/")).text)
    assert "Balade sur l'Erdre" in everything and "Fête des lumières" in everything
    await visitor.aclose()


async def test_an_association_admin_joins_and_leaves_the_relay_from_the_desk(make_instance):
    hub = await make_instance("relay", role="relay")
    lyon = await make_instance("avf-lyon")
    desk = await log_in(lyon)
    response = await desk.submit("/desk/network", "/desk/network/subscribe", {"relay": hub.url})
    assert response.status_code == 303
    waiting = unescape((await desk.page("/desk/network")).text)
    assert f"{hub.url}/actor" in waiting and "en attente de l'approbation du relais" in waiting

    await settle(hub, lyon)
    await set_subscription_state(hub.instance, lyon.instance.config.host, "approve")
    await settle(hub, lyon)
    subscribed = unescape((await desk.page("/desk/network")).text)
    assert "abonnée" in subscribed  # the relay by its name, not by the URL of its actor
    assert f"<strong>{hub.instance.instance_actor.name}</strong> ({hub.instance.config.host})" in subscribed

    await desk.submit("/desk/network", "/desk/network/leave", {"relay": f"{hub.url}/actor"})
    await settle(hub, lyon)
    assert await storage.list_relay_subscriptions(hub.db) == []
    response = await desk.submit("/desk/network", "/desk/network/subscribe", {"relay": "pas une adresse"})
    assert response.status_code == 400 and "https://relais.avf.example" in alert_of(response.text)
    await desk.aclose()
