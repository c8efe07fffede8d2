"""The photos of posts."""

from __future__ import annotations

from .db import Database, Reader, Transaction
from .dialect import utc_now_iso
from .models import Attachment

__all__ = [
    "put_media",
    "set_post_media",
    "list_attachments_of",
    "list_attachments",
]


async def put_media(
    db: Database, filename: str, media_type: str, width: int, height: int, size: int
) -> int:
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO media (filename, media_type, width, height, size, created_at)"
            " VALUES (?,?,?,?,?,?) RETURNING id",
            (filename, media_type, width, height, size, utc_now_iso()),
        )
    assert row is not None
    return int(row[0])


async def set_post_media(tx: Transaction, uri: str, media: list[tuple[int, str]]) -> None:
    """The post's photos become exactly `media`: (media id, alt text), in order."""
    row = await tx.fetchone("SELECT id FROM posts WHERE uri = ?", (uri,))
    assert row is not None
    await tx.execute("DELETE FROM post_media WHERE post_id = ?", (row["id"],))
    await tx.executemany(
        "INSERT INTO post_media (post_id, media_id, position, alt) VALUES (?,?,?,?)",
        [(row["id"], media_id, position, alt) for position, (media_id, alt) in enumerate(media)],
    )


async def list_attachments_of(db: Reader, uris: list[str]) -> dict[str, list[Attachment]]:
    """The photos of several posts at once (one query for a page of posts)."""
    found: dict[str, list[Attachment]] = {uri: [] for uri in uris}
    if not uris:
        return found
    marks = ",".join("?" * len(uris))
    rows = await db.fetchall(
        "SELECT p.uri, m.id AS media_id, m.filename, m.media_type, m.width, m.height, pm.alt"
        " FROM post_media pm JOIN posts p ON p.id = pm.post_id JOIN media m ON m.id = pm.media_id"
        f" WHERE p.uri IN ({marks}) ORDER BY pm.position",
        uris,
    )
    for row in rows:
        found[row["uri"]].append(Attachment(
            media_id=row["media_id"], filename=row["filename"], media_type=row["media_type"],
            width=row["width"], height=row["height"], alt=row["alt"]))
    return found


async def list_attachments(db: Reader, uri: str) -> list[Attachment]:
    return (await list_attachments_of(db, [uri]))[uri]
