"""What every answer carries for the browser's sake, and the forms that refuse another site:

- `X-Content-Type-Options: nosniff` on every response (pages, JSON, feeds, images, errors);
- `Cache-Control: no-store` on the desk and the login form (messages carry senders' e-mails: a
  shared computer's cache must not keep them);
- a state-changing form of the desk, /login or /logout sent with another site's `Origin` gets 403
  and changes nothing (no Origin at all is let through: older browsers omit it). The origin to
  compare with is the instance's configured URL, each tenant's own in a shared process.
"""

from __future__ import annotations

import httpx

from desk_testing import HTML, PASSWORD, csrf_of, log_in
from fedi import accounts, storage
from fedi_testing import AP_HEADERS, serve_app
from web.app import create_app

FOREIGN = "Ce formulaire vient d&#39;un autre site"


async def test_every_kind_of_response_says_nosniff(instance):
    desk = await log_in(instance)
    async with httpx.AsyncClient(base_url=instance.url) as client:
        answers = [
            await client.get("/", headers=HTML),
            await client.get("/users/avf-lyon", headers=AP_HEADERS),
            await client.get("/.well-known/nodeinfo"),
            await client.get("/feed.rss"),
            await client.get("/events.ics"),
            await client.get("/static/fedi.css"),
            await client.get("/static/logo.png"),
            await client.get("/no-such-page", headers=HTML),
            await client.get("/users/nobody", headers=AP_HEADERS),
            await client.post("/inbox", content=b"{}", headers={"Content-Type": "application/activity+json"}),
            await desk.page("/desk"),
        ]
    for answer in answers:
        assert answer.headers.get("x-content-type-options") == "nosniff", (answer.url, answer.status_code)
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"]
    await desk.aclose()


async def test_the_desk_and_the_login_form_are_never_cached(instance):
    await storage.put_message(instance.db, await storage.put_greeter(
        instance.db, "Amina", "Centre", "arabe", "cuisine", "amina@example.org"),
        "Paul", "paul@example.net", "Bonjour")
    async with httpx.AsyncClient(base_url=instance.url, headers=HTML) as visitor:
        answers = [await visitor.get("/desk"), await visitor.get("/desk/messages"),
                   await visitor.get("/login"),
                   await visitor.post("/login", data={"csrf": "x", "username": "a", "password": "b"})]
    desk = await log_in(instance)
    answers += [await desk.page("/desk"), await desk.page("/desk/messages"),
                await desk.page("/desk/posts/new"), await desk.page("/login")]
    assert "paul@example.net" in answers[5].text
    answers.append(await desk.submit("/desk", "/logout", {}))
    for answer in answers:
        assert answer.headers.get("cache-control") == "no-store", (answer.url, answer.status_code)
    async with httpx.AsyncClient(base_url=instance.url, headers=HTML) as visitor:
        assert "no-store" not in (await visitor.get("/")).headers.get("cache-control", "")


async def post_with_origin(desk_client: httpx.AsyncClient, form_page: str, action: str,
                           data: dict[str, str], origin: str | None) -> httpx.Response:
    token = csrf_of((await desk_client.get(form_page, headers=HTML)).text)
    headers = {**HTML, **({"Origin": origin} if origin is not None else {})}
    return await desk_client.post(action, data={"csrf": token, **data}, headers=headers)


async def test_a_desk_form_from_another_site_is_refused_and_changes_nothing(instance):
    desk = await log_in(instance)
    new_account = {"username": "intrus", "role": "admin"}
    for origin in ("https://evil.example", "null", "http://127.0.0.1:1"):
        response = await post_with_origin(desk.client, "/desk/accounts", "/desk/accounts",
                                          new_account, origin)
        assert response.status_code == 403 and FOREIGN in response.text, origin
    assert await storage.get_account_by_username(instance.db, "intrus") is None
    response = await post_with_origin(desk.client, "/desk", "/logout", {}, "https://evil.example")
    assert response.status_code == 403
    assert (await desk.page("/desk")).status_code == 200  # still logged in
    # the same site, or no Origin at all, is let through
    response = await post_with_origin(desk.client, "/desk/accounts", "/desk/accounts",
                                      new_account, instance.url)
    assert response.status_code in (200, 303), response.text[:300]
    assert await storage.get_account_by_username(instance.db, "intrus") is not None
    assert (await post_with_origin(desk.client, "/desk", "/logout", {}, None)).status_code == 303
    await desk.aclose()


async def test_a_login_from_another_site_is_refused(instance):
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    async with httpx.AsyncClient(base_url=instance.url, headers=HTML) as client:
        login = {"username": "marie", "password": PASSWORD}
        response = await post_with_origin(client, "/login", "/login", login, "https://evil.example")
        assert response.status_code == 403 and FOREIGN in response.text
        assert "fedi_session" not in response.cookies
        response = await post_with_origin(client, "/login", "/login", login, instance.url)
        assert response.status_code == 303


async def test_each_tenant_compares_with_its_own_url(make_instance):
    lyon, nantes = await make_instance("avf-lyon"), await make_instance("avf-nantes")
    app = create_app([lyon.instance, nantes.instance], run_workers=False)
    async with serve_app(app) as shared:
        await accounts.create_account(nantes.db, "marie", "admin", PASSWORD)
        host = httpx.URL(nantes.url).netloc.decode()
        async with httpx.AsyncClient(base_url=shared, headers={**HTML, "Host": host}) as client:
            login = {"username": "marie", "password": PASSWORD}
            response = await post_with_origin(client, "/login", "/login", login, lyon.url)
            assert response.status_code == 403
            response = await post_with_origin(client, "/login", "/login", login, nantes.url)
            assert response.status_code == 303


async def test_a_message_to_a_greeter_from_another_site_is_refused(instance):
    greeter = await storage.put_greeter(instance.db, "Amina", "Centre", "arabe", "cuisine",
                                        "amina@example.org")
    async with httpx.AsyncClient(base_url=instance.url, headers=HTML) as visitor:
        message = {"name": "Paul", "email": "paul@example.net", "message": "Bonjour"}
        path = f"/greeters/{greeter}/contact"
        response = await post_with_origin(visitor, path, path, message, "https://evil.example")
        assert response.status_code == 403 and FOREIGN in response.text
        assert await storage.list_messages(instance.db, 10) == []
        response = await post_with_origin(visitor, path, path, message, instance.url)
        assert response.status_code == 303
        assert len(await storage.list_messages(instance.db, 10)) == 1
