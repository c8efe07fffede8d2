"""The shipped deployment files (deploy/) agree with what the application does."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from web.auth import MAX_FORM_BODY

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ONE_YEAR = 365 * 24 * 3600

# go-humanize, which Caddy uses: kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024
CADDY_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
               "kib": 2**10, "mib": 2**20, "gib": 2**30}
NGINX_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}


def _read(name: str) -> str:
    return (DEPLOY / name).read_text(encoding="utf-8")


def _caddy_body_limit(text: str) -> int:
    match = re.search(r"^\s*max_size\s+(\d+)\s*([a-z]*)\s*$", text, re.MULTILINE | re.IGNORECASE)
    assert match, "deploy/Caddyfile has no request_body max_size"
    return int(match[1]) * CADDY_UNITS[match[2].lower()]


def _nginx_body_limit(text: str) -> int:
    match = re.search(r"^\s*client_max_body_size\s+(\d+)([kmg]?)\s*;", text, re.MULTILINE | re.IGNORECASE)
    assert match, "deploy/nginx.conf has no client_max_body_size"
    return int(match[1]) * NGINX_UNITS[match[2].lower()]


def test_caddy_and_nginx_accept_the_largest_form_the_desk_accepts():
    """Given a volunteer posting four 10 MB photos, the proxy in front must not answer 413 first."""
    assert _caddy_body_limit(_read("Caddyfile")) >= MAX_FORM_BODY
    assert _nginx_body_limit(_read("nginx.conf")) >= MAX_FORM_BODY


def _hsts_max_age(header_line: str, text: str) -> int:
    match = re.search(header_line + r'\s+Strict-Transport-Security\s+"max-age=(\d+)[^"]*"', text, re.MULTILINE)
    assert match, "no Strict-Transport-Security header"
    return int(match[1])


def test_caddy_and_nginx_tell_browsers_to_use_https_only():
    assert _hsts_max_age(r"^\s*header", _read("Caddyfile")) >= ONE_YEAR
    nginx = _read("nginx.conf")
    assert _hsts_max_age(r"^\s*add_header", nginx) >= ONE_YEAR
    assert re.search(r'add_header\s+Strict-Transport-Security\s+"[^"]*"\s+always\s*;', nginx), \
        "nginx sends the header on errors too only with `always`"


def test_the_service_creates_files_readable_by_its_owner_only():
    assert re.search(r"^UMask=0?077$", _read("fedi.service"), re.MULTILINE)


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
@pytest.mark.parametrize("path", ["build/lib/fedi/cli.py", "fedi.egg-info/PKG-INFO"])
def test_build_outputs_are_ignored_by_git(path: str):
    result = subprocess.run(["git", "check-ignore", "--no-index", path], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, f"{path} is not ignored by .gitignore"
