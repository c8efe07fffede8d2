"""The browser harness itself: its accessibility check does catch what it must."""

from __future__ import annotations

import pytest

INACCESSIBLE = """<!doctype html><html><head></head><body>
<p style="color: #bbb; background: #fff">Texte trop pâle</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<button></button></body></html>"""


async def test_the_accessibility_check_lists_each_serious_violation_with_its_element(
        browser, assert_accessible):
    page = await browser.new_page()
    await page.set_content(INACCESSIBLE)

    with pytest.raises(AssertionError) as failure:
        await assert_accessible(page)

    message = str(failure.value)
    for rule in ("color-contrast", "image-alt", "button-name", "html-has-lang", "document-title"):
        assert rule in message
    assert "[critical] image-alt: Images must have alternative text" in message
    assert "    img: " in message and "    button: " in message
