"""The association's profile and its site's settings, as an admin changes them: the name and
presentation (on its actor, which federates), the logo (DIR/logo.png), the accent colour and
the rest (the `settings` table). Saving is all or nothing, and a new name, presentation or logo
queues an Update of the actor for its followers in the same transaction."""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from pathlib import Path

from . import outbox, storage
from .instance import Instance
from .media import MAX_BYTES, prepare_image
from .settings import SiteSettings

__all__ = [
    "LOGO_FILE",
    "LOGO_SIDE",
    "MAX_LOGO_BYTES",
    "MAX_NAME_LENGTH",
    "MAX_SUMMARY_LENGTH",
    "MIN_CONTRAST",
    "contrast_with_white",
    "logo_png",
    "save_site",
]

MAX_NAME_LENGTH = 100
MAX_SUMMARY_LENGTH = 500
MIN_CONTRAST = 4.5  # WCAG AA for normal text: the site's menus are white on the accent colour
LOGO_FILE = "logo.png"
LOGO_SIDE = 512
MAX_LOGO_BYTES = MAX_BYTES


def contrast_with_white(colour: str) -> float:
    """The WCAG contrast ratio of white text on `colour` (#rrggbb): from 1 (white) to 21 (black)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def logo_png(data: bytes) -> bytes:
    """An uploaded picture as the logo: checked and cleaned by `media.prepare_image` (raises
    its MediaError), at most LOGO_SIDE pixels, centred on a transparent square (fediverse apps
    show avatars square), as PNG. CPU work: call it in a thread."""
    from PIL import Image  # imported when a logo is first handled

    prepared = prepare_image(data, max_bytes=MAX_LOGO_BYTES, max_side=LOGO_SIDE)
    with Image.open(io.BytesIO(prepared.data)) as picture:
        picture.load()
        side = max(picture.size)
        square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        square.paste(picture.convert("RGBA"), ((side - picture.width) // 2, (side - picture.height) // 2))
    buffer = io.BytesIO()
    square.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


async def save_site(instance: Instance, settings: SiteSettings, name: str, summary: str,
                    logo: bytes | None = None) -> bool:
    """Saves the settings page: settings, name, presentation and (a PNG from `logo_png`) the
    logo. Returns True when followers are sent an Update (the profile changed)."""
    association = instance.association
    changed = logo is not None or (name, summary) != (association.name, association.summary)
    staged = await asyncio.to_thread(_stage, instance.directory, logo) if logo is not None else None
    try:
        async with instance.db.transaction() as tx:
            await storage.put_settings(tx, settings.to_values())
            if changed:
                await storage.set_local_actor_profile(tx, association.uri, name, summary)
                association = await storage.get_local_actor_by_uri(tx, association.uri) or association
                version = str(staged.stat().st_mtime_ns) if staged is not None else None
                await outbox.update_actor(instance, tx, association, version)
            if staged is not None:  # last step of the transaction, so a failure undoes everything
                os.replace(staged, instance.directory / LOGO_FILE)
                staged = None
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
    instance.settings = settings
    instance.association = association
    return changed


def _stage(directory: Path, data: bytes) -> Path:
    """The new logo written in full next to the old one, ready to take its place."""
    handle, name = tempfile.mkstemp(dir=directory, prefix=".logo-", suffix=".png")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)
