"""`fedi backup`, `fedi restore`, `fedi check`: an admin's safety net.

A backup is one SQLite file made with SQLite's online backup API (the server may be running),
carrying a copy of fedi.toml, the logo and the photos (DIR/media) so that a lost directory can
be rebuilt from the file alone.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from . import storage
from .config import (
    ConfigError,
    config_path,
    database_location,
    database_path,
    load_config,
    make_private_directory,
)
from .storage import Database
from .storage.db import BACKUP_HINT

CONFIG_TABLE = "backup_config"
FILES_TABLE = "backup_files"


def postgres_url(directory: Path) -> str | None:
    """The PostgreSQL database DIR/fedi.toml names (a relay at scale: its backups are pg_dump's
    job), or None (SQLite, or no settings yet)."""
    return load_config(directory).database_url if config_path(directory).exists() else None


async def backup(directory: Path, target: Path) -> None:
    if postgres_url(directory):
        raise ConfigError(BACKUP_HINT)
    if not database_path(directory).exists():
        raise ConfigError(f"{directory} has no fedi database")
    partial = target.with_name(target.name + ".partial")
    db = await Database.open(database_path(directory))
    try:
        await db.backup(partial)
    finally:
        await db.close()
    with sqlite3.connect(partial) as copy:
        copy.execute(f"CREATE TABLE {CONFIG_TABLE} (text TEXT NOT NULL)")
        copy.execute(f"INSERT INTO {CONFIG_TABLE} VALUES (?)",
                     (config_path(directory).read_text(encoding="utf-8"),))
        copy.execute(f"CREATE TABLE {FILES_TABLE} (path TEXT PRIMARY KEY, data BLOB NOT NULL)")
        for path in _site_files(directory):
            copy.execute(f"INSERT INTO {FILES_TABLE} VALUES (?, ?)",
                         (path.relative_to(directory).as_posix(), path.read_bytes()))
    copy.close()
    partial.replace(target)


def _site_files(directory: Path) -> list[Path]:
    """The files the desk wrote besides the database: the logo and the photos."""
    files = [directory / "logo.png"] if (directory / "logo.png").is_file() else []
    media = directory / "media"
    if media.is_dir():
        files += sorted(path for path in media.iterdir() if path.is_file() and not path.name.startswith("."))
    return files


def restore(directory: Path, source: Path) -> None:
    """Replaces the instance's database (and settings) with a backup, after checking it.
    Stop the server first."""
    if postgres_url(directory):
        raise ConfigError(BACKUP_HINT)
    problems = integrity_problems(source)
    if problems:
        raise ConfigError(f"{source} is not a usable fedi backup: {problems[0]}")
    make_private_directory(directory)
    with tempfile.TemporaryDirectory(dir=directory) as work:
        staged = Path(work) / "restored.sqlite3"
        shutil.copyfile(source, staged)
        with sqlite3.connect(staged) as db:
            config_text = db.execute(f"SELECT text FROM {CONFIG_TABLE}").fetchone()[0]
            db.execute(f"DROP TABLE {CONFIG_TABLE}")
            files = _take_files(db)
        db.close()
        for relative, data in files:
            _write_atomically(directory / relative, data)
        for suffix in ("-wal", "-shm"):
            Path(str(database_path(directory)) + suffix).unlink(missing_ok=True)
        staged.replace(database_path(directory))
        config_path(directory).write_text(config_text, encoding="utf-8")


def _take_files(db: sqlite3.Connection) -> list[tuple[str, bytes]]:
    """The backup's files (backups made before photos existed have none), removed from it."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if FILES_TABLE not in tables:
        return []
    files = [(path, bytes(data)) for path, data in db.execute(f"SELECT path, data FROM {FILES_TABLE}")
             if path == "logo.png" or (path.startswith("media/") and "/" not in path[6:]
                                       and not path[6:].startswith("."))]
    db.execute(f"DROP TABLE {FILES_TABLE}")
    return files


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.restoring")
    partial.write_bytes(data)
    partial.replace(path)


def integrity_problems(path: Path) -> list[str]:
    """What is wrong with a database file, or [] when it is sound and holds a fedi instance."""
    if not path.is_file():
        return [f"{path} does not exist"]
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            result = [row[0] for row in db.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                return result
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "local_actors" not in tables:
                return ["no fedi tables in it"]
            if path.suffix != ".sqlite3" and CONFIG_TABLE not in tables:
                return ["it is a database, but not a backup made by `fedi backup`"]
        db.close()
    except sqlite3.DatabaseError as error:
        return [str(error)]
    return []


async def queue_summary(directory: Path) -> dict[str, dict[str, int]]:
    db = await Database.open(database_location(directory, load_config(directory)))
    try:
        return {"deliveries": await storage.count_deliveries(db),
                "inbox": await storage.count_inbox_items(db)}
    finally:
        await db.close()
