"""Whatever number a URL carries (beyond 64 bits, negative, not ASCII digits), the answer is a
clean 404 (or 400 for a bad query parameter), never a server error with a traceback in the log."""

from __future__ import annotations

import logging
import re

import pytest
from starlette.routing import Route

from desk_testing import HTML, csrf_of, log_in
from web.app import create_app

BAD_IDS = ("99999999999999999999999", "-1", "9223372036854775808", "²")
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


@pytest.fixture
def errors_logged(caplog):
    """Records at ERROR or above, from the application and from uvicorn (which keeps its own)."""
    server_log = logging.getLogger("uvicorn.error")
    server_log.addHandler(caplog.handler)
    caplog.set_level(logging.ERROR)
    yield lambda: [record for record in caplog.records if record.levelno >= logging.ERROR]
    server_log.removeHandler(caplog.handler)


def _routes_with_ids(instance) -> list[tuple[str, str]]:
    """(method, path template) of every route whose path carries an id: found in the app itself,
    so that a route added later is walked too."""
    app = create_app(instance, run_workers=False)
    found = []
    for route in app.routes:
        if isinstance(route, Route) and any(name.endswith("_id") for name in PARAMETER.findall(route.path)):
            found += [(method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def _with(template: str, value: str) -> str:
    def fill(match: re.Match[str]) -> str:
        return value if match.group(1).endswith("_id") else "hide"
    return PARAMETER.sub(fill, template)


async def test_every_route_with_an_id_answers_404_to_ids_out_of_range(instance, errors_logged):
    routes = _routes_with_ids(instance.instance)
    assert len(routes) >= 20, routes  # greeters, booklet sections, messages, accounts, posts, comments
    desk = await log_in(instance)
    token = csrf_of((await desk.page("/desk/settings")).text)
    for method, template in routes:
        for value in BAD_IDS:
            path = _with(template, value)
            if method == "POST":
                response = await desk.client.post(path, data={"csrf": token}, headers=HTML)
            else:
                response = await desk.client.get(path, headers=HTML)
            assert response.status_code == 404, (method, path, response.status_code)
    await desk.aclose()
    assert not errors_logged()


async def test_page_numbers_out_of_range_are_refused_or_ignored_cleanly(instance, errors_logged):
    desk = await log_in(instance)
    for value in BAD_IDS + ("0", "abc", ""):
        outbox = await desk.client.get(f"{instance.actor_url}/outbox?page={value}",
                                       headers={"Accept": "application/activity+json"})
        assert outbox.status_code == 400, (value, outbox.status_code)
        news = await desk.client.get(f"/news?page={value}")  # people's pages: the first page
        assert news.status_code == 200, (value, news.status_code)
        suggested = await desk.client.get(f"/desk/pages/booklet/new?suggested={value}")
        assert suggested.status_code == 200, (value, suggested.status_code)
    await desk.aclose()
    assert not errors_logged()
