#!/usr/bin/env bash
# Install posbridge with its test tools into .venv and run every check CI runs:
# the dependency audit, ruff, mypy --strict, and the whole pytest suite (SQLite, plus PostgreSQL when
# POSBRIDGE_TEST_POSTGRES_URL is set). Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
# The dashboard's browser test drives Debian's chromium (no browser download at run time).
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev,bench]'
# Known advisories against the locked set (PyPI's advisory data; see the script's docstring).
.venv/bin/python scripts/audit_deps.py requirements.lock
.venv/bin/ruff check src tests bench scripts
.venv/bin/ruff format --check src tests bench scripts
.venv/bin/mypy
.venv/bin/python -m pytest -n 2 "$@"
