"""The login limit counts wrong passwords only, so an association office behind one connection
logs in all day, and a guesser on many addresses cannot lock the admin out.

Addresses are told to uvicorn with X-Forwarded-For (it trusts it from 127.0.0.1, as from a
reverse proxy on the same machine); the instance's clock is moved instead of sleeping.
"""

from __future__ import annotations

import time

import httpx

from desk_testing import HTML, PASSWORD, alert_of, csrf_of
from fedi import accounts
from fedi_testing import Served


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def try_login(site: Served, username: str, password: str, address: str) -> httpx.Response:
    """One visit to the login form from `address`, as a browser without cookies would."""
    async with httpx.AsyncClient(base_url=site.url, headers={**HTML, "X-Forwarded-For": address},
                                 timeout=30) as client:
        form = await client.get("/login")
        return await client.post("/login", data={"csrf": csrf_of(form.text), "username": username,
                                                 "password": password})


def refused(response: httpx.Response) -> bool:
    if response.status_code != 429:
        return False
    assert alert_of(response.text).startswith("Trop de tentatives. Réessayez dans")
    assert int(response.headers["retry-after"]) >= 60
    return True


async def test_an_office_behind_one_address_logs_in_as_often_as_it_likes(instance):
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    responses = [await try_login(instance, "marie", PASSWORD, "203.0.113.7") for _ in range(14)]
    assert [r.status_code for r in responses] == [303] * 14


async def test_guesses_from_many_addresses_do_not_lock_the_admin_out(instance):
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    instance.instance.clock = FakeClock()
    guesses = [await try_login(instance, "marie", f"essai-{n}", f"198.51.100.{n}") for n in range(12)]
    assert [r.status_code for r in guesses[:10]] == [401] * 10
    # The name is now under attack: an address that already failed gets no more tries on it...
    assert refused(await try_login(instance, "marie", "encore", "198.51.100.3"))
    # ...while the admin, from an address with no failure of its own, gets in at once.
    assert (await try_login(instance, "marie", PASSWORD, "192.0.2.1")).status_code == 303


async def test_one_address_gets_ten_wrong_passwords_then_one_a_minute_even_the_right_one(instance):
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    clock = instance.instance.clock = FakeClock()
    wrong = [await try_login(instance, "marie", "mauvais", "203.0.113.7") for _ in range(10)]
    assert [r.status_code for r in wrong] == [401] * 10
    last = await try_login(instance, "marie", PASSWORD, "203.0.113.7")
    assert refused(last)
    assert alert_of(last.text) == "Trop de tentatives. Réessayez dans 1 minute."
    # another person of the same office, with her own name, is not held up
    await accounts.create_account(instance.db, "paul", "editor", PASSWORD)
    assert (await try_login(instance, "paul", PASSWORD, "203.0.113.7")).status_code == 303
    clock.now += 61
    assert (await try_login(instance, "marie", PASSWORD, "203.0.113.7")).status_code == 303


async def test_the_right_password_clears_the_failures(instance):
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    instance.instance.clock = FakeClock()
    for _ in range(9):
        assert (await try_login(instance, "marie", "mauvais", "203.0.113.7")).status_code == 401
    assert (await try_login(instance, "marie", PASSWORD, "203.0.113.7")).status_code == 303
    again = [await try_login(instance, "marie", "mauvais", "203.0.113.7") for _ in range(9)]
    assert [r.status_code for r in again] == [401] * 9


async def test_logging_in_to_ones_own_account_does_not_reset_guesses_on_another(instance):
    """A volunteer with an account cannot clear the count of guesses at the admin's password."""
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    await accounts.create_account(instance.db, "paul", "editor", "le-mot-de-passe-de-paul")
    instance.instance.clock = FakeClock()
    for _ in range(10):
        assert (await try_login(instance, "marie", "mauvais", "203.0.113.9")).status_code == 401
    assert (await try_login(instance, "paul", "le-mot-de-passe-de-paul", "203.0.113.9")).status_code == 303
    assert refused(await try_login(instance, "marie", "mauvais", "203.0.113.9"))


async def test_one_address_trying_many_names_is_stopped(instance):
    instance.instance.clock = FakeClock()
    tries = [await try_login(instance, f"nom-{n}", "123456", "203.0.113.66") for n in range(31)]
    assert [r.status_code for r in tries[:30]] == [401] * 30
    assert refused(tries[30])
    assert (await try_login(instance, "nom-99", "123456", "203.0.113.67")).status_code == 401


async def test_the_addresses_of_one_ipv6_network_count_as_one(instance):
    """One IPv6 connection has a whole /64 of addresses: a guesser may not take a new one per try."""
    await accounts.create_account(instance.db, "marie", "admin", PASSWORD)
    instance.instance.clock = FakeClock()
    tries = [await try_login(instance, "marie", "mauvais", f"2001:db8:1:2::{n:x}") for n in range(11)]
    assert [r.status_code for r in tries[:10]] == [401] * 10
    assert refused(tries[10])
    assert (await try_login(instance, "marie", PASSWORD, "2001:db8:1:3::1")).status_code == 303
