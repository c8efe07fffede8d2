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
        shift
        exec .venv/bin/python -m pytest -q "$@"
        ;;
    *)
        echo "usage: bash dev.sh demo | test" >&2
        exit 2
        ;;
esac
