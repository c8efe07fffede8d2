"""The association's greeters on its site: their cards and the form to write to one of them.

A greeter's e-mail never reaches these pages: they read `GreeterCard`s, which have none. A
message through the contact form is stored for the desk (the sender's e-mail is shown there
only). The form is guarded by a token in a cookie (no session for visitors), a honeypot field,
length limits and a rate limit per IP address and per site."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from activitypub.errors import NotFound, TooLarge
from fedi import storage
from fedi.storage import GreeterCard

from .admission import read_body
from .auth import refuse_foreign_origin
from .context import AssociationRoute, instance_of
from .formatting import duration
from .ratelimit import RateLimiter
from .rendering import gettext, language_of, render

CONTACT_COOKIE = "fedi_contact"
MAX_CONTACT_BODY = 32_000  # bytes of the whole form
LIMITS = {"name": 100, "email": 254, "message": 5_000}
HONEYPOT = "website"  # hidden from people; robots fill it in
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\".]+(?:\.[^@\s<>()\[\],;:\".]+)+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # keeps tab and line feed


def is_email(value: str) -> bool:
    """Looks like an e-mail address (no attempt at the whole RFC: a typo check)."""
    return len(value) <= LIMITS["email"] and _EMAIL.fullmatch(value) is not None


async def greeters(request: Request) -> Response:
    cards = await storage.list_greeter_cards(instance_of(request).db)
    return render(request, "greeters.html", {"greeters": cards})


# --- the contact form ---------------------------------------------------------------------------


@dataclass
class ContactLimits:
    """Five messages from one address, then one every ten minutes; fifty a site, then one a
    minute (many addresses at once cannot fill the desk either)."""

    by_ip: RateLimiter
    by_site: RateLimiter

    @classmethod
    def of(cls, request: Request) -> ContactLimits:
        limits: ContactLimits | None = getattr(request.app.state, "contact_limits", None)
        if limits is None:
            limits = cls(RateLimiter(1 / 600, 5), RateLimiter(1 / 60, 50))
            request.app.state.contact_limits = limits
        return limits


async def contact_form(request: Request) -> Response:
    greeter = await _greeter(request)
    return _contact_page(request, greeter, {})


async def send_message(request: Request) -> Response:
    greeter = await _greeter(request)
    refuse_foreign_origin(request)
    try:
        form = await _read_small_form(request)
    except _FormTooLarge:
        return _contact_page(request, greeter, {}, gettext(
            request, "Your message is too long (at most %(count)s characters).",
            count=LIMITS["message"]), status_code=413)
    except ValueError:
        return _contact_page(request, greeter, {}, gettext(
            request, "The form could not be read. Please try again."), status_code=400)
    values = {name: _clean(form.get(name, ""), name) for name in LIMITS}
    cookie = request.cookies.get(CONTACT_COOKIE, "")
    if not cookie or not secrets.compare_digest(form.get("csrf", "").encode(), cookie.encode()):
        return _contact_page(request, greeter, values, gettext(
            request, "The form has expired. Please try again."), status_code=400)
    sent = RedirectResponse(f"/greeters/{greeter.id}/contact/sent", status_code=303)
    if form.get(HONEYPOT, "").strip():
        _allowed(request)  # a robot: it sees the confirmation, nothing is stored
        return sent
    error = _invalid(request, values)
    if error:
        return _contact_page(request, greeter, values, error, status_code=400)
    wait = _allowed(request)
    if wait:
        minutes = max(1, round(wait / 60))
        return _contact_page(request, greeter, values, gettext(
            request, "Several messages were sent from your connection in a short time. Please "
                     "try again in %(wait)s.", wait=duration(minutes * 60, language_of(request))),
            status_code=429, headers={"Retry-After": str(minutes * 60)})
    await storage.put_message(instance_of(request).db, greeter.id, values["name"], values["email"],
                              values["message"])
    return sent


async def message_sent(request: Request) -> Response:
    greeter = await _greeter(request)
    return render(request, "contact_sent.html", {"greeter": greeter})


def _allowed(request: Request) -> float:
    """0 if one more message may be taken now, else the seconds to wait."""
    instance = instance_of(request)
    limits = ContactLimits.of(request)
    now = instance.clock()
    site = instance.config.host  # one process may serve several sites
    client = f"{site} {request.client.host if request.client else '?'}"
    if not limits.by_ip.allow(client, now):
        return max(1.0, limits.by_ip.retry_after(client, now))
    if not limits.by_site.allow(site, now):
        return max(1.0, limits.by_site.retry_after(site, now))
    return 0.0


def _invalid(request: Request, values: dict[str, str]) -> str:
    """What is wrong with the message, in the visitor's words ("" if nothing)."""
    if not values["name"]:
        return gettext(request, "Give your name, so the greeter knows who is writing.")
    if not is_email(values["email"]):
        return gettext(request, "Give your e-mail address (for example: prenom@exemple.fr), so "
                                "the association can answer you.")
    if not values["message"]:
        return gettext(request, "Write your message.")
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            return gettext(request, "A field is too long (at most %(count)s characters).", count=limit)
    return ""


def _clean(value: str, name: str) -> str:
    """Control characters removed; one line for the name and e-mail. Cut just past the limit,
    so an overlong field is still refused rather than silently shortened."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n"))[: LIMITS[name] + 1]
    return value.strip() if name == "message" else " ".join(value.split())


class _FormTooLarge(ValueError):
    pass


async def _read_small_form(request: Request) -> dict[str, str]:
    """An url-encoded form of at most MAX_CONTACT_BODY bytes, read without trusting the
    declared length; anything else (a multipart upload, invalid UTF-8) is a ValueError."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise ValueError("not an url-encoded form")
    try:
        body = await read_body(request, MAX_CONTACT_BODY)
    except TooLarge as error:
        raise _FormTooLarge() from error
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=20)
    return dict(pairs)


async def _greeter(request: Request) -> GreeterCard:
    card = await storage.get_greeter_card(instance_of(request).db, request.path_params["greeter_id"])
    if card is None:
        raise NotFound("no such greeter")
    return card


def _contact_page(request: Request, greeter: GreeterCard, values: Mapping[str, Any], error: str = "",
                  status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The form with a token in a cookie (kept if the visitor already has one: several tabs)."""
    token = request.cookies.get(CONTACT_COOKIE, "")
    if not _TOKEN.fullmatch(token):
        token = secrets.token_urlsafe(24)
    response = render(request, "contact.html", {
        "greeter": greeter, "values": values, "error": error, "token": token, "limits": LIMITS,
        "honeypot": HONEYPOT}, status_code=status_code, headers=headers)
    response.set_cookie(CONTACT_COOKIE, token, httponly=True, samesite="strict", path="/greeters",
                        secure=instance_of(request).config.url.startswith("https://"))
    return response


routes = [
    AssociationRoute("/greeters", greeters, methods=["GET"]),
    AssociationRoute("/greeters/{greeter_id:id}/contact", contact_form, methods=["GET"]),
    AssociationRoute("/greeters/{greeter_id:id}/contact", send_message, methods=["POST"]),
    AssociationRoute("/greeters/{greeter_id:id}/contact/sent", message_sent, methods=["GET"]),
]
