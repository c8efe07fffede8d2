"""The schema, as an ordered list of migrations applied at start.

Written in SQLite's dialect (its version kept in `PRAGMA user_version`); PostgreSQL gets the same
migrations translated by `postgres_ddl`, its version kept in the `schema_version` table.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .db import Transaction

MIGRATIONS: list[str] = [
    """
    CREATE TABLE local_actors (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        uri TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,               -- association | instance | members | person
        ap_type TEXT NOT NULL,            -- Organization | Application | Group | Person
        name TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        manually_approves INTEGER NOT NULL DEFAULT 0,
        private_key_pem TEXT NOT NULL,
        public_key_pem TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE remote_actors (
        uri TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        type TEXT NOT NULL,
        inbox TEXT NOT NULL,
        shared_inbox TEXT,
        preferred_username TEXT,
        name TEXT,
        public_key_id TEXT,
        public_key_pem TEXT,
        raw TEXT NOT NULL,
        fetched_at REAL NOT NULL
    );
    CREATE INDEX remote_actors_key ON remote_actors(public_key_id);
    CREATE TABLE follows (
        follower TEXT NOT NULL,
        followee TEXT NOT NULL,
        activity_uri TEXT,
        state TEXT NOT NULL,              -- pending | accepted
        created_at TEXT NOT NULL,
        PRIMARY KEY (follower, followee)
    );
    CREATE INDEX follows_followee ON follows(followee, state);
    CREATE TABLE posts (
        id INTEGER PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        author TEXT NOT NULL,
        is_local INTEGER NOT NULL,
        type TEXT NOT NULL,
        title TEXT,
        content TEXT NOT NULL,            -- sanitised HTML
        source TEXT,                      -- Markdown, for local posts
        in_reply_to TEXT,
        visibility TEXT NOT NULL,         -- public | unlisted | followers | direct
        status TEXT NOT NULL,             -- published | pending | hidden | deleted
        url TEXT,
        raw TEXT,
        published_at TEXT NOT NULL,
        updated_at TEXT,
        deleted_at TEXT
    );
    CREATE INDEX posts_in_reply_to ON posts(in_reply_to);
    CREATE INDEX posts_author ON posts(author, published_at);
    CREATE TABLE activities (
        id INTEGER PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        actor TEXT NOT NULL,
        type TEXT NOT NULL,
        object_uri TEXT,
        public INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX activities_actor ON activities(actor, id);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        activity_id INTEGER NOT NULL REFERENCES activities(id),
        inbox TEXT NOT NULL,
        host TEXT NOT NULL,
        state TEXT NOT NULL,              -- queued | done | failed | skipped
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        locked_until REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
    CREATE INDEX deliveries_inbox ON deliveries(inbox, state, id);
    CREATE TABLE hosts (
        host TEXT PRIMARY KEY,
        first_failure_at REAL,
        unavailable INTEGER NOT NULL DEFAULT 0,
        retry_after REAL NOT NULL DEFAULT 0,
        signature_scheme TEXT
    );
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        activity_uri TEXT NOT NULL UNIQUE,
        actor TEXT NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,              -- queued | done | failed
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        locked_until REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        received_at TEXT NOT NULL
    );
    CREATE INDEX inbox_due ON inbox(state, next_attempt_at);
    CREATE TABLE reactions (
        activity_uri TEXT PRIMARY KEY,
        type TEXT NOT NULL,               -- Like | Announce
        actor TEXT NOT NULL,
        object_uri TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (type, actor, object_uri)
    );
    CREATE INDEX reactions_object ON reactions(object_uri, type);
    """,
    """
    CREATE TABLE domain_blocks (
        domain TEXT PRIMARY KEY,          -- lower-case host name or IP, no port: covers subdomains
        reason TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE relay_subscriptions (
        domain TEXT PRIMARY KEY,          -- host[:port] of the subscribing instance
        actor TEXT NOT NULL,
        inbox TEXT NOT NULL,
        follow TEXT NOT NULL,             -- the Follow, answered later by Accept or Reject
        state TEXT NOT NULL,              -- pending | accepted
        created_at TEXT NOT NULL
    );
    CREATE TABLE relay_allowlist (
        domain TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,      -- argon2
        role TEXT NOT NULL,               -- admin | editor
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,      -- sha256 of the cookie's token: a stolen file opens no session
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ALTER TABLE posts ADD COLUMN scheduled_at TEXT;
    ALTER TABLE posts ADD COLUMN event_start TEXT;
    ALTER TABLE posts ADD COLUMN event_end TEXT;
    ALTER TABLE posts ADD COLUMN event_place TEXT;
    ALTER TABLE posts ADD COLUMN event_recurrence TEXT;
    CREATE INDEX posts_status ON posts(is_local, status, published_at);
    CREATE TABLE media (
        id INTEGER PRIMARY KEY,
        filename TEXT NOT NULL UNIQUE,    -- under DIR/media/
        media_type TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE post_media (
        post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        media_id INTEGER NOT NULL REFERENCES media(id),
        position INTEGER NOT NULL,
        alt TEXT NOT NULL,
        PRIMARY KEY (post_id, media_id)
    );
    CREATE TABLE pages (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,               -- about | meet | booklet
        title TEXT NOT NULL,
        source TEXT NOT NULL,             -- Markdown
        content TEXT NOT NULL,            -- sanitised HTML
        position INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE greeters (
        id INTEGER PRIMARY KEY,
        first_name TEXT NOT NULL,
        area TEXT NOT NULL DEFAULT '',
        languages TEXT NOT NULL DEFAULT '',
        interests TEXT NOT NULL DEFAULT '',
        media_id INTEGER REFERENCES media(id),
        email TEXT NOT NULL DEFAULT '',   -- never shown: the contact form's messages go to the desk
        position INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        greeter_id INTEGER REFERENCES greeters(id) ON DELETE SET NULL,
        sender_name TEXT NOT NULL,
        sender_email TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,              -- new | read
        created_at TEXT NOT NULL
    );
    CREATE TABLE account_blocks (
        actor TEXT PRIMARY KEY,           -- a remote account whose comments are refused
        created_at TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE relay_associations (
        domain TEXT PRIMARY KEY,          -- a subscribed instance, host[:port]
        association TEXT,                 -- its association's actor, as its NodeInfo names it
        town TEXT NOT NULL DEFAULT '',
        region TEXT NOT NULL DEFAULT '',
        learned_at TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE comment_edits (
        post_uri TEXT PRIMARY KEY,        -- an approved comment its author edited since
        approved_content TEXT NOT NULL,   -- the text the admin approved, shown next to the new one
        edited_at TEXT NOT NULL
    );
    """,
    """
    -- posts.group_uri: the Group whose members alone may see a post,
    -- accounts.actor_uri: a member's Person actor (NULL: a desk account only)
    ALTER TABLE posts ADD COLUMN group_uri TEXT;
    CREATE INDEX posts_group ON posts(group_uri, published_at);
    ALTER TABLE accounts ADD COLUMN actor_uri TEXT;
    CREATE TABLE invitations (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,  -- sha256 of the link's token: the file opens nothing
        purpose TEXT NOT NULL,            -- join | reset
        group_uri TEXT NOT NULL,          -- the Group a join link makes its user a member of
        account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,  -- reset: whose password
        created_by TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT,
        used_by INTEGER,                  -- join: the account it created
        revoked_at TEXT
    );
    CREATE TABLE group_copies (
        original_uri TEXT PRIMARY KEY,    -- a member's reply or post in a Group
        copy_uri TEXT NOT NULL UNIQUE,    -- the Group's re-publication of it, for every member
        group_uri TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
]


MIGRATION_LOCK = 0x66656469  # "fedi": PostgreSQL processes starting together migrate one at a time

# Tables whose rows are numbered by an `id` (SQLite's rowid; an identity column on PostgreSQL).
TABLES_WITH_ID = frozenset(re.findall(r"CREATE TABLE (\w+) \(\s*id INTEGER PRIMARY KEY", "".join(MIGRATIONS)))


async def migrate(tx: Transaction) -> None:
    version = await _schema_version(tx)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        if tx.dialect == "postgresql":
            script = postgres_ddl(script)
        for statement in _statements(script):
            await tx.execute(statement)
        await _set_schema_version(tx, number)


def postgres_ddl(script: str) -> str:
    """A migration in PostgreSQL's dialect: identity keys, 64-bit integers, double precision."""
    script = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", script)
    script = re.sub(r"\bINTEGER\b", "BIGINT", script)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", script)


async def _schema_version(tx: Transaction) -> int:
    if tx.dialect == "sqlite":
        row = await tx.fetchone("PRAGMA user_version")
    else:
        await tx.fetchone(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")  # held until commit
        await tx.execute("CREATE TABLE IF NOT EXISTS schema_version"
                         " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        row = await tx.fetchone("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    return int(row[0]) if row else 0


async def _set_schema_version(tx: Transaction, number: int) -> None:
    if tx.dialect == "sqlite":
        await tx.execute(f"PRAGMA user_version = {number}")
    else:
        await tx.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))


def _statements(script: str) -> list[str]:
    """The statements of a script, each without the comment lines before it (a comment after a
    statement's `;` belongs to the next chunk, which must still run)."""
    chunks = (_without_leading_comments(chunk) for chunk in script.split(";"))
    return [chunk for chunk in chunks if chunk]


def _without_leading_comments(chunk: str) -> str:
    lines = chunk.strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].strip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()
