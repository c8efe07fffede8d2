"""Browser tests: Playwright drives Debian's `chromium` (headless) through an instance of ours.

    async def test_a_visitor_reads_the_news(site, phone, screenshot, assert_accessible,
                                            assert_fits_the_screen):
        await phone.goto("/")                    # the phone's base URL is the site's
        await screenshot(phone)                  # tests/browser/artifacts/<test name>.png
        await assert_accessible(phone)           # axe-core: no serious or critical violation
        await assert_fits_the_screen(phone)      # no sideways scrolling

`bash dev.sh test` installs chromium (apt) and axe-core (npm ci here). Without chromium these
tests fail, so that CI never passes without running them; FEDI_SKIP_BROWSER=1 skips them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from fedi.config import new_config
from fedi.instance import create_instance_files
from fedi_testing import Served, free_port, serve_instance

HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
AXE_SCRIPT = HERE / "node_modules" / "axe-core" / "axe.min.js"

# A phone (about an iPhone 12-15): what most visitors of an association's site hold.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "fr-FR",
    "timezone_id": "Europe/Paris",
}

# Headless, in a container run as root, and quiet: nothing but the pages under test goes out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pings",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
]

# axe-core's impacts, from "minor" to "critical": these two fail a test.
FAILING_IMPACTS = ("serious", "critical")


def _chromium_or_fail() -> str:
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("FEDI_SKIP_BROWSER") == "1":
            pytest.skip("FEDI_SKIP_BROWSER=1: browser tests skipped")
        pytest.fail("the browser tests need Debian's chromium: `bash dev.sh test` installs it "
                    "(or `apt-get install chromium`); FEDI_SKIP_BROWSER=1 skips them", pytrace=False)
    return executable


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless chromium, fresh for each test."""
    executable = _chromium_or_fail()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Served]:
    """The association "AVF Lyon" (@avf-lyon), served on loopback. As in the rest of the suite its
    workers do not run: `await settle(site)` (fedi_testing) applies and delivers what is queued."""
    port = free_port()
    directory = tmp_path / "avf-lyon"
    config = new_config(f"http://127.0.0.1:{port}", "avf-lyon", "AVF Lyon", allow_private=True)
    await create_instance_files(directory, config)
    served = await serve_instance(directory, "avf-lyon", port=port, run_workers=False)
    try:
        yield served
    finally:
        await served.stop()


@pytest.fixture
async def phone(browser: Browser, site: Served, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A page on a phone (390×844, French), whose relative URLs are the site's: `goto("/")`.
    An uncaught JavaScript error on any page fails the test; a failed test leaves a screenshot
    of where it stopped (artifacts/<test name>-failed.png)."""
    context = await browser.new_context(base_url=site.url, **PHONE)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    try:
        yield page
        report = request.node.stash.get(CALL_REPORT, None)
        if report is not None and report.failed:
            await page.screenshot(path=artifact_path(request.node, "failed"), full_page=True)
    finally:
        await context.close()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


@pytest.fixture
async def phone_at(browser: Browser) -> AsyncIterator[Callable[[str], Awaitable[Page]]]:
    """`await phone_at(url)`: a page on a phone like `phone`'s, whose relative URLs are that
    site's, for a test with several sites (a relay and an association)."""
    contexts = []

    async def open_page(base_url: str) -> Page:
        contexts.append(await browser.new_context(base_url=base_url, **PHONE))
        return await contexts[-1].new_page()

    yield open_page
    for context in contexts:
        await context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., Awaitable[Path]]:
    """`await screenshot(page)` or `await screenshot(page, "after-login")`: saves the full page
    to tests/browser/artifacts/<test name>[-<label>].png (kept for CI's artifacts) and returns it."""

    async def take(page: Page, label: str = "") -> Path:
        path = artifact_path(request.node, label)
        await page.screenshot(path=path, full_page=True)
        return path

    return take


def artifact_path(node: pytest.Item, label: str = "") -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", node.name)
    return ARTIFACTS / (f"{name}-{label}.png" if label else f"{name}.png")


CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keeps the outcome of each test's call on the test, for the fixtures' teardown to read."""
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report


@pytest.fixture(scope="session")
def axe_script() -> str:
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: `bash dev.sh test` installs it "
                    "(or `npm ci` in tests/browser)", pytrace=False)
    return AXE_SCRIPT.read_text(encoding="utf-8")


@pytest.fixture
def assert_accessible(axe_script: str) -> Callable[[Page], Awaitable[None]]:
    """`await assert_accessible(page)`: runs axe-core (WCAG 2.x A and AA rules and best
    practices) on the page as it is now; fails listing every serious or critical violation."""

    async def check(page: Page) -> None:
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.evaluate(axe_script + "\n;true")  # evaluated, not a <script>: no CSP in the way
        results = await page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        failures = [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]
        assert not failures, f"accessibility violations on {page.url}:\n" + describe_violations(failures)

    return check


@pytest.fixture
def assert_fits_the_screen() -> Callable[[Page], Awaitable[None]]:
    """`await assert_fits_the_screen(page)`: nothing sticks out sideways (a long address, a
    table, a photo), since a phone should never have to scroll horizontally to read a page."""

    async def check(page: Page) -> None:
        # the screen's width, not window.innerWidth: a phone widens its layout to a wide page
        overflow = await page.evaluate("document.documentElement.scrollWidth") - PHONE["viewport"]["width"]
        assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"

    return check


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One paragraph per axe-core rule: impact, id, what to do, and each element concerned."""
    lines = []
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']} "
                     f"({violation['helpUrl']})")
        for node in violation["nodes"]:
            target = " ".join(map(str, node["target"]))
            lines.append(f"    {target}: {node['failureSummary'].splitlines()[-1].strip()}")
    return "\n".join(lines)
