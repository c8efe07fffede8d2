"""The association's own pages on the desk: "who we are", "meet us" and the welcome booklet's
sections (add, edit, delete, reorder), written in Markdown with the editor's live preview.
An empty page comes with a suggested outline, so nobody starts from a blank form."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from activitypub.errors import NotFound
from fedi import storage
from fedi.content import render_markdown
from fedi.storage import Page

from ..auth import require_session
from ..context import AssociationRoute, instance_of
from ..i18n import N_
from ..params import parse_int
from ..rendering import gettext, render
from ..site_about import anchor_of
from .forms import FormError, read_editor_form, text_field, too_long
from .ordering import OrderedList

MAX_TITLE = 200
MAX_TEXT = 50_000

TITLES = {"about": N_("Who we are"), "meet": N_("Meet us")}
OUTLINES = {
    "about": N_(
        "## Our association\n\n[Who we are in two or three sentences: since when, how many "
        "volunteers, for whom.]\n\n## What we offer\n\n- Welcome coffees for newcomers\n"
        "- Outings and visits\n- Conversation groups in French and other languages\n\n"
        "## Join us\n\n[How to become a member, the yearly fee, who to ask.]"),
    "meet": N_(
        "## Where\n\n[The meeting place: name of the place, street, town. Never a volunteer's "
        "home address.]\n\n## When\n\n- [Day and time of the welcome desk, e.g. every Tuesday "
        "from 2 to 5 pm]\n- [Holidays: closed in August]\n\n## Getting there\n\n[Bus or tram "
        "stop, parking, access for wheelchairs.]"),
}
SUGGESTED_SECTIONS = [
    (N_("Housing"), N_("- [Estate agents and websites for renting]\n- [Housing benefit: the CAF]\n"
                       "- [Electricity, water, internet: who to call]")),
    (N_("Health"), N_("- [Finding a family doctor]\n- [Hospital and emergencies: 15, 112]\n"
                      "- [Pharmacies on duty]\n- [Health insurance: the CPAM]")),
    (N_("School"), N_("- [Enrolling a child at school: the town hall]\n- [Canteen and after-school "
                      "care]\n- [Secondary schools and colleges]")),
    (N_("Transport"), N_("- [Buses, trams and trains: tickets and passes]\n- [Bicycles and car "
                         "sharing]\n- [Exchanging a driving licence]")),
    (N_("Clubs and leisure"), N_("- [Sports clubs]\n- [Libraries, cinemas, theatres]\n"
                                 "- [Markets and local festivals]")),
    (N_("Paperwork"), N_("- [Town hall: opening hours, what it is for]\n- [Residence permits: the "
                         "prefecture]\n- [Changing your address: service-public.fr]")),
]


async def overview(request: Request) -> Response:
    """The pages, the booklet's sections in order, and the suggested sections not written yet."""
    await require_session(request)
    db = instance_of(request).db
    sections = await storage.list_booklet_sections(db)
    written = {section.title.strip().casefold() for section in sections}
    suggestions = [(index, gettext(request, title)) for index, (title, _) in enumerate(SUGGESTED_SECTIONS)]
    return render(request, "desk/pages.html", {
        "about": await storage.get_page_by_kind(db, "about"),
        "meet": await storage.get_page_by_kind(db, "meet"),
        "sections": sections,
        "suggestions": [(index, title) for index, title in suggestions if title.casefold() not in written],
        "done": request.query_params.get("done", ""),
    })


async def single_page_form(request: Request) -> Response:
    await require_session(request)
    kind = _single_kind(request)
    page = await storage.get_page_by_kind(instance_of(request).db, kind)
    if page is None:
        values = {"title": gettext(request, TITLES[kind]), "text": gettext(request, OUTLINES[kind])}
    else:
        values = {"title": page.title, "text": page.source}
    return _editor(request, kind, values, outline=page is None,
                   saved=bool(request.query_params.get("saved")))


async def save_single_page(request: Request) -> Response:
    await require_session(request)
    kind = _single_kind(request)
    form: FormData | None = None
    try:
        form = await read_editor_form(request, MAX_TEXT)
        title, text = _page_fields(request, form, title_required=False)
    except FormError as error:
        return _editor(request, kind, dict(form or {}), str(error), status_code=400)
    await storage.put_single_page(instance_of(request).db, kind, title or gettext(request, TITLES[kind]),
                                  text, render_markdown(text))
    return RedirectResponse(f"/desk/pages/{kind}?saved=1", status_code=303)


async def new_section_form(request: Request) -> Response:
    await require_session(request)
    values = {"title": "", "text": ""}
    suggested = parse_int(request.query_params.get("suggested"))
    if suggested is not None and 0 <= suggested < len(SUGGESTED_SECTIONS):
        title, outline = SUGGESTED_SECTIONS[suggested]
        values = {"title": gettext(request, title), "text": gettext(request, outline)}
    return _editor(request, "booklet", values, outline=bool(values["text"]))


async def create_section(request: Request) -> Response:
    await require_session(request)
    form: FormData | None = None
    try:
        form = await read_editor_form(request, MAX_TEXT)
        title, text = _page_fields(request, form, title_required=True)
    except FormError as error:
        return _editor(request, "booklet", dict(form or {}), str(error), status_code=400)
    section_id = await storage.put_booklet_section(instance_of(request).db, title, text,
                                                   render_markdown(text))
    return RedirectResponse(f"/desk/pages/booklet/{section_id}?saved=1", status_code=303)


async def section_form(request: Request) -> Response:
    await require_session(request)
    section = await _section(request)
    return _editor(request, "booklet", {"title": section.title, "text": section.source}, section=section,
                   saved=bool(request.query_params.get("saved")))


async def save_section(request: Request) -> Response:
    await require_session(request)
    section = await _section(request)
    form: FormData | None = None
    try:
        form = await read_editor_form(request, MAX_TEXT)
        title, text = _page_fields(request, form, title_required=True)
    except FormError as error:
        return _editor(request, "booklet", dict(form or {}), str(error), section=section,
                       status_code=400)
    await storage.update_booklet_section(instance_of(request).db, section.id, title, text,
                                         render_markdown(text))
    return RedirectResponse(f"/desk/pages/booklet/{section.id}?saved=1", status_code=303)


def _page_fields(request: Request, form: FormData, *, title_required: bool) -> tuple[str, str]:
    title = text_field(form, "title", MAX_TITLE + 1)
    text = text_field(form, "text", MAX_TEXT + 1)
    if title_required and not title:
        raise FormError(gettext(request, "Give the section a title."))
    if len(title) > MAX_TITLE:
        raise FormError(gettext(request, "The title is too long (at most %(count)s characters).",
                                count=MAX_TITLE))
    if not text:
        raise FormError(gettext(request, "Write the text of the page."))
    if len(text) > MAX_TEXT:
        raise too_long(request, MAX_TEXT)
    return title, text


def _single_kind(request: Request) -> str:
    kind = str(request.path_params["kind"])
    if kind not in TITLES:
        raise NotFound("no such page")
    return kind


async def _section(request: Request) -> Page:
    section = await storage.get_booklet_section(instance_of(request).db, request.path_params["section_id"])
    if section is None:
        raise NotFound("no such section")
    return section


def _editor(request: Request, kind: str, values: Mapping[str, object], error: str = "", *,
            section: Page | None = None, outline: bool = False, saved: bool = False,
            status_code: int = 200) -> Response:
    if kind == "booklet":
        action = f"/desk/pages/booklet/{section.id}" if section else "/desk/pages/booklet/new"
        public = f"/booklet#{anchor_of(section.title)}" if section else "/booklet"
    else:
        action, public = f"/desk/pages/{kind}", f"/{kind}"
    return render(request, "desk/pages_edit.html", {
        "kind": kind, "section": section, "values": values, "error": error, "action": action,
        "public_url": public, "outline": outline, "saved": saved, "max_title": MAX_TITLE,
    }, status_code=status_code)


BOOKLET = OrderedList(_section, storage.delete_booklet_section, storage.move_booklet_section,
                      deleted_url="/desk/pages?done=deleted#booklet", moved_url="/desk/pages#section-{id}")

routes = [
    AssociationRoute("/desk/pages", overview, methods=["GET"]),
    AssociationRoute("/desk/pages/booklet/new", new_section_form, methods=["GET"]),
    AssociationRoute("/desk/pages/booklet/new", create_section, methods=["POST"]),
    AssociationRoute("/desk/pages/booklet/{section_id:id}", section_form, methods=["GET"]),
    AssociationRoute("/desk/pages/booklet/{section_id:id}", save_section, methods=["POST"]),
    AssociationRoute("/desk/pages/booklet/{section_id:id}/delete", BOOKLET.delete_item, methods=["POST"]),
    AssociationRoute("/desk/pages/booklet/{section_id:id}/move", BOOKLET.move_item, methods=["POST"]),
    AssociationRoute("/desk/pages/{kind}", single_page_form, methods=["GET"]),
    AssociationRoute("/desk/pages/{kind}", save_single_page, methods=["POST"]),
]
