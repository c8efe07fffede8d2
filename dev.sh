#!/usr/bin/env bash
# Sets up everything fedi needs in .venv (and the interop peers' node_modules), then runs a job.
#   bash dev.sh demo    a demo federation on loopback (Ctrl-C stops it)
#   bash dev.sh test    the whole test suite, interop peers included
set -euo pipefail
cd "$(dirname "$0")"

setup_python() {
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    .venv/bin/pip install --quiet --disable-pip-version-check -e ".[test]"
}

setup_interop() {
    (cd tests/interop/fedify && npm ci --no-audit --no-fund --loglevel=error)
}

setup_activityrelay() {
    # ActivityRelay (a Python relay) for the interop tests, in its own venv: its dependencies
    # differ from ours. Pinned in tests/interop/activityrelay/requirements.txt.
    local venv=tests/interop/activityrelay/.venv
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/activityrelay/requirements.txt
}

setup_browser() {
    # The browser tests drive Debian's chromium with Playwright (its own browser download needs
    # the internet) and run axe-core, pinned in tests/browser/package-lock.json, in the page.
    if ! command -v chromium >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
}

setup_postgres() {
    # The relay's tests also run on PostgreSQL: tests/pg_testing.py starts a throwaway cluster
    # (initdb + pg_ctl, as the postgres user when root) from Debian's PostgreSQL 15 server.
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
}

check_code() {
    # Lint and types before the tests: ruff everywhere, mypy strict for activitypub/ and at the
    # level set in pyproject.toml for fedi/ and web/ (zero errors in each).
    .venv/bin/ruff check .
    .venv/bin/mypy activitypub fedi web
}

case "${1:-}" in
    demo)
        setup_python
        shift
        exec .venv/bin/fedi demo "$@"
        ;;
    test)
        setup_python
        setup_interop
        setup_activityrelay
        setup_browser
        setup_postgres
        shift
        check_code
        exec .venv/bin/python -m pytest -q "$@"
        ;;
    messages)
        # Lists every translatable message in web/locale/messages.pot (then translate the new
        # ones in web/locale/fr/*.po; tests/web/test_translations.py finds any left out).
        setup_python
        .venv/bin/pybabel extract -F babel.cfg -k gettext:2 -k N_ --no-location --omit-header \
            -o web/locale/messages.pot .
        ;;
    *)
        echo "usage: bash dev.sh demo | test | messages" >&2
        exit 2
        ;;
esac
