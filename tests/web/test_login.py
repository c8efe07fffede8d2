"""Logging in to the desk: accounts made by the admin, sessions, CSRF, rate limits."""

from __future__ import annotations

import httpx

from desk_testing import HTML, PASSWORD, alert_of, browser_for, csrf_of, log_in
from fedi import accounts, storage


async def test_the_desk_asks_to_log_in_and_comes_back_after(instance):
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    client = await browser_for(instance)
    response = await client.get("/desk/posts/new")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/desk/posts/new"
    form = await client.get(response.headers["location"])
    assert "Se connecter" in form.text
    response = await client.post("/login", data={"csrf": csrf_of(form.text), "username": "Marie",
                                                 "password": PASSWORD, "next": "/desk/posts/new"})
    assert response.status_code == 303 and response.headers["location"] == "/desk/posts/new"
    assert (await client.get("/desk/posts/new")).status_code == 200
    await client.aclose()


async def test_a_wrong_password_ten_times_then_a_clear_wait(instance):
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    client = await browser_for(instance)
    for _ in range(10):
        form = await client.get("/login")
        response = await client.post("/login", data={"csrf": csrf_of(form.text), "username": "marie",
                                                     "password": "mauvais"})
        assert response.status_code == 401
        assert alert_of(response.text) == "Identifiant ou mot de passe incorrect."
    form = await client.get("/login")
    response = await client.post("/login", data={"csrf": csrf_of(form.text), "username": "marie",
                                                 "password": PASSWORD})
    assert response.status_code == 429 and response.headers["retry-after"]
    assert alert_of(response.text).startswith("Trop de tentatives. Réessayez dans")
    await client.aclose()


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(instance):
    desk = await log_in(instance)
    response = await desk.client.post("/desk/posts/new", data={"text": "Forgé", "action": "publish"})
    assert response.status_code == 400 and "Le formulaire a expiré" in response.text
    response = await desk.client.post("/desk/posts/new", data={"csrf": "faux", "text": "Forgé",
                                                               "action": "publish"})
    assert response.status_code == 400
    response = await desk.client.post("/desk/posts/new", data={"csrf": "é", "text": "Forgé"})
    assert response.status_code == 400
    assert await storage.count_local_posts(instance.db) == 0
    # a login form without the cookie it was shown with (another site posting it)
    other = httpx.AsyncClient(base_url=instance.url, headers=HTML)
    response = await other.post("/login", data={"csrf": "x", "username": "marie", "password": PASSWORD})
    assert response.status_code == 400 and "expiré" in alert_of(response.text)
    await other.aclose()
    await desk.aclose()


async def test_logging_out_ends_the_session(instance):
    desk = await log_in(instance)
    response = await desk.submit("/desk", "/logout", {})
    assert response.status_code == 303
    assert (await desk.client.get("/desk")).status_code == 303


async def test_session_cookie_is_http_only_and_the_pages_refuse_framing(instance):
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    client = await browser_for(instance)
    form = await client.get("/login")
    assert form.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in form.headers["content-security-policy"]
    response = await client.post("/login", data={"csrf": csrf_of(form.text), "username": "marie",
                                                 "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    await client.aclose()


async def test_only_a_path_on_this_site_is_followed_after_login(instance):
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    client = await browser_for(instance)
    form = await client.get("/login")
    response = await client.post("/login", data={"csrf": csrf_of(form.text), "username": "marie",
                                                 "password": PASSWORD, "next": "//evil.example/desk"})
    assert response.headers["location"] == "/desk"
    await client.aclose()
