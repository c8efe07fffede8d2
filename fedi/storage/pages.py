"""Queries of the association's own pages: "who we are", "meet us", the welcome booklet's
sections, the greeters' profiles and the messages sent to them through the contact form.

A greeter's e-mail is private: only `get_greeter` (for the desk's form) reads it. The public
pages get `GreeterCard`s, which have no e-mail field at all, so no template can show one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .db import Database, Reader, Row, Transaction
from .dialect import utc_now_iso

__all__ = [
    "Page", "Greeter", "GreeterCard", "Message",
    "get_page_by_kind", "put_single_page", "list_booklet_sections", "get_booklet_section",
    "put_booklet_section", "update_booklet_section", "delete_booklet_section", "move_booklet_section",
    "list_greeter_cards", "get_greeter_card", "get_greeter", "put_greeter", "update_greeter",
    "delete_greeter", "move_greeter",
    "put_message", "list_messages", "count_new_messages", "set_message_read", "delete_message",
]

SINGLE_PAGES = ("about", "meet")


@dataclass(frozen=True)
class Page:
    """A page the association writes: its Markdown source and the sanitised HTML shown."""

    id: int
    kind: str  # about | meet | booklet (one row per booklet section)
    title: str
    source: str
    content: str
    position: int
    updated_at: str

    @classmethod
    def from_row(cls, row: Row) -> Page:
        return cls(**dict(row))


@dataclass(frozen=True)
class Greeter:
    """A greeter's whole profile, for the desk only (it holds the private e-mail)."""

    id: int
    first_name: str
    area: str
    languages: str
    interests: str
    media_id: int | None
    email: str
    position: int
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> Greeter:
        return cls(**dict(row))


@dataclass(frozen=True)
class GreeterCard:
    """What the public sees of a greeter: never an e-mail or postal address."""

    id: int
    first_name: str
    area: str
    languages: str
    interests: str
    photo: str | None  # file name under /media/
    photo_width: int | None
    photo_height: int | None

    @classmethod
    def from_row(cls, row: Row) -> GreeterCard:
        return cls(**dict(row))


@dataclass(frozen=True)
class Message:
    """A message sent to a greeter through the contact form, read on the desk."""

    id: int
    greeter_id: int | None
    greeter_name: str | None  # None once the profile was removed
    sender_name: str
    sender_email: str
    body: str
    state: str  # new | read
    created_at: str

    @property
    def is_new(self) -> bool:
        return self.state == "new"

    @classmethod
    def from_row(cls, row: Row) -> Message:
        return cls(**dict(row))


# --- "who we are", "meet us" --------------------------------------------------------------------


async def get_page_by_kind(db: Reader, kind: str) -> Page | None:
    row = await db.fetchone("SELECT * FROM pages WHERE kind = ? ORDER BY id LIMIT 1", (kind,))
    return Page.from_row(row) if row else None


async def put_single_page(db: Database, kind: str, title: str, source: str, content: str) -> None:
    """Writes the one page of `kind` ("about" or "meet"), creating it the first time."""
    assert kind in SINGLE_PAGES
    async with db.transaction() as tx:
        changed = await tx.rowcount(
            "UPDATE pages SET title = ?, source = ?, content = ?, updated_at = ? WHERE kind = ?",
            (title, source, content, utc_now_iso(), kind))
        if not changed:
            await tx.execute(
                "INSERT INTO pages (kind, title, source, content, position, updated_at)"
                " VALUES (?,?,?,?,0,?)", (kind, title, source, content, utc_now_iso()))


# --- the welcome booklet ------------------------------------------------------------------------


async def list_booklet_sections(db: Reader) -> list[Page]:
    rows = await db.fetchall("SELECT * FROM pages WHERE kind = 'booklet' ORDER BY position, id")
    return [Page.from_row(row) for row in rows]


async def get_booklet_section(db: Reader, section_id: int) -> Page | None:
    row = await db.fetchone("SELECT * FROM pages WHERE id = ? AND kind = 'booklet'", (section_id,))
    return Page.from_row(row) if row else None


async def put_booklet_section(db: Database, title: str, source: str, content: str) -> int:
    """A new section at the end of the booklet; returns its id."""
    async with db.transaction() as tx:
        position = await _next_position(tx, "SELECT MAX(position) FROM pages WHERE kind = 'booklet'")
        return await tx.execute(
            "INSERT INTO pages (kind, title, source, content, position, updated_at)"
            " VALUES ('booklet',?,?,?,?,?)", (title, source, content, position, utc_now_iso()))


async def update_booklet_section(db: Database, section_id: int, title: str, source: str,
                                 content: str) -> bool:
    async with db.transaction() as tx:
        return await tx.rowcount(
            "UPDATE pages SET title = ?, source = ?, content = ?, updated_at = ?"
            " WHERE id = ? AND kind = 'booklet'", (title, source, content, utc_now_iso(), section_id)) > 0


async def delete_booklet_section(db: Database, section_id: int) -> bool:
    async with db.transaction() as tx:
        return await tx.rowcount("DELETE FROM pages WHERE id = ? AND kind = 'booklet'", (section_id,)) > 0


async def move_booklet_section(db: Database, section_id: int, step: int) -> None:
    """One place up (step -1) or down (step +1) in the booklet; nothing at either end."""
    async with db.transaction() as tx:
        await _move(tx, "pages", "kind = 'booklet'", section_id, step)


# --- greeters -----------------------------------------------------------------------------------

_CARD_COLUMNS = ("g.id, g.first_name, g.area, g.languages, g.interests, m.filename AS photo,"
                 " m.width AS photo_width, m.height AS photo_height")


async def list_greeter_cards(db: Reader) -> list[GreeterCard]:
    rows = await db.fetchall(
        f"SELECT {_CARD_COLUMNS} FROM greeters g LEFT JOIN media m ON m.id = g.media_id"
        " ORDER BY g.position, g.id")
    return [GreeterCard.from_row(row) for row in rows]


async def get_greeter_card(db: Reader, greeter_id: int) -> GreeterCard | None:
    row = await db.fetchone(
        f"SELECT {_CARD_COLUMNS} FROM greeters g LEFT JOIN media m ON m.id = g.media_id"
        " WHERE g.id = ?", (greeter_id,))
    return GreeterCard.from_row(row) if row else None


async def get_greeter(db: Reader, greeter_id: int) -> Greeter | None:
    """The whole profile, e-mail included: for the desk's form only."""
    row = await db.fetchone("SELECT * FROM greeters WHERE id = ?", (greeter_id,))
    return Greeter.from_row(row) if row else None


async def put_greeter(db: Database, first_name: str, area: str, languages: str, interests: str,
                      email: str, media_id: int | None = None) -> int:
    """A new profile, shown last; returns its id."""
    async with db.transaction() as tx:
        position = await _next_position(tx, "SELECT MAX(position) FROM greeters")
        return await tx.execute(
            "INSERT INTO greeters (first_name, area, languages, interests, media_id, email, position,"
            " created_at) VALUES (?,?,?,?,?,?,?,?)",
            (first_name, area, languages, interests, media_id, email, position, utc_now_iso()))


async def update_greeter(db: Database, greeter_id: int, first_name: str, area: str, languages: str,
                         interests: str, email: str, media_id: int | None) -> bool:
    async with db.transaction() as tx:
        return await tx.rowcount(
            "UPDATE greeters SET first_name = ?, area = ?, languages = ?, interests = ?, email = ?,"
            " media_id = ? WHERE id = ?",
            (first_name, area, languages, interests, email, media_id, greeter_id)) > 0


async def delete_greeter(db: Database, greeter_id: int) -> bool:
    """Removes the profile; the messages sent to it stay on the desk (their greeter becomes None)."""
    async with db.transaction() as tx:
        return await tx.rowcount("DELETE FROM greeters WHERE id = ?", (greeter_id,)) > 0


async def move_greeter(db: Database, greeter_id: int, step: int) -> None:
    async with db.transaction() as tx:
        await _move(tx, "greeters", "1 = 1", greeter_id, step)


# --- messages of the contact form ---------------------------------------------------------------


async def put_message(db: Database, greeter_id: int, sender_name: str, sender_email: str,
                      body: str) -> int:
    async with db.transaction() as tx:
        return await tx.execute(
            "INSERT INTO messages (greeter_id, sender_name, sender_email, body, state, created_at)"
            " VALUES (?,?,?,?,'new',?)", (greeter_id, sender_name, sender_email, body, utc_now_iso()))


async def list_messages(db: Reader, limit: int) -> list[Message]:
    """Newest first."""
    rows = await db.fetchall(
        "SELECT msg.id, msg.greeter_id, g.first_name AS greeter_name, msg.sender_name,"
        " msg.sender_email, msg.body, msg.state, msg.created_at"
        " FROM messages msg LEFT JOIN greeters g ON g.id = msg.greeter_id"
        " ORDER BY msg.created_at DESC, msg.id DESC LIMIT ?", (limit,))
    return [Message.from_row(row) for row in rows]


async def count_new_messages(db: Reader) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM messages WHERE state = 'new'")
    return int(row[0]) if row else 0


async def set_message_read(db: Database, message_id: int) -> bool:
    async with db.transaction() as tx:
        return await tx.rowcount("UPDATE messages SET state = 'read' WHERE id = ?", (message_id,)) > 0


async def delete_message(db: Database, message_id: int) -> bool:
    async with db.transaction() as tx:
        return await tx.rowcount("DELETE FROM messages WHERE id = ?", (message_id,)) > 0


# --- ordering -----------------------------------------------------------------------------------


async def _next_position(tx: Transaction, sql: str) -> int:
    row = await tx.fetchone(sql)
    return 0 if row is None or row[0] is None else int(row[0]) + 1


async def _move(tx: Transaction, table: str, scope: str, row_id: int, step: int) -> None:
    """Swaps a row with its neighbour in (position, id) order; positions are renumbered 0..n-1
    first, so equal or missing positions never make a move do nothing."""
    rows = await tx.fetchall(f"SELECT id FROM {table} WHERE {scope} ORDER BY position, id")
    ids = [row["id"] for row in rows]
    if row_id not in ids:
        return
    index = ids.index(row_id)
    target = index + (1 if step > 0 else -1)
    if 0 <= target < len(ids):
        ids[index], ids[target] = ids[target], ids[index]
    await tx.executemany(f"UPDATE {table} SET position = ? WHERE id = ?",
                         [(position, id_) for position, id_ in enumerate(ids)])
