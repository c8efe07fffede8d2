"""The storage API as its callers see it: `storage.<verb>`, one module per entity behind it."""

from __future__ import annotations

import inspect
import types

from fedi import storage


def test_storage_exposes_exactly_the_verbs_its_modules_list():
    """Given the storage package, when a caller looks at its names, then it finds each module's
    `__all__` and nothing else: no standard-library module or helper leaks (`storage.json`)."""
    modules = {name: value for name, value in vars(storage).items() if isinstance(value, types.ModuleType)}
    # the PostgreSQL driver is loaded on demand (`Database.open`), not re-exported
    listed = [name for key, module in modules.items() if key != "postgres"
              for name in getattr(module, "__all__", [])]
    public = {name for name in vars(storage) if not name.startswith("_") and name not in modules}

    assert public == set(storage.__all__) == set(listed)
    assert len(listed) == len(set(listed)), "one name listed by two modules"
    assert all(module.__name__.startswith("fedi.storage.") for module in modules.values())
    assert not {"json", "urlsplit", "ipaddress", "datetime", "Any"} & public


def test_each_query_is_typed_and_defined_where_it_is_listed():
    for name in storage.__all__:
        value = getattr(storage, name)
        if inspect.iscoroutinefunction(value):
            signature = inspect.signature(value)
            assert signature.return_annotation is not inspect.Signature.empty, name
            assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values()), name


async def test_every_table_and_index_the_migrations_name_is_created(tmp_path):
    """Given a new database, each CREATE of the migrations ran, whatever comment stands around it
    (a comment after a `;` once made the next statement vanish)."""
    import re

    from fedi.storage.schema import MIGRATIONS

    script = "".join(MIGRATIONS)
    expected = set(re.findall(r"CREATE (?:TABLE|INDEX) (\w+)", script))
    columns = set(re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", script))
    db = await storage.Database.open(str(tmp_path / "fedi.sqlite3"))
    try:
        created = {row[0] for row in await db.fetchall("SELECT name FROM sqlite_master")}
        present = {(table, column) for table, _ in columns
                   for column in [row[1] for row in await db.fetchall(f"PRAGMA table_info({table})")]}
    finally:
        await db.close()
    assert expected <= created, expected - created
    assert columns <= present, columns - present
