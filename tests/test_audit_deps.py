"""The dependency audit CI runs (scripts/audit_deps.py) can fail: a fake PyPI on loopback
serves advisories for locked pins, and the script's exit code and report must name them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "audit_deps.py"


def _advisory(ident: str, fixed_in: list[str], withdrawn: bool = False) -> dict[str, Any]:
    return {
        "id": ident,
        "aliases": [f"CVE-{ident}"],
        "fixed_in": fixed_in,
        "withdrawn": "2026-01-01" if withdrawn else None,
    }


#: path → JSON document the fake index answers (anything else is a 404, like PyPI's proxy)
DOCUMENTS: dict[str, dict[str, Any]] = {
    # answered by the per-release endpoint
    "/pypi/alpha/1.0/json": {"vulnerabilities": [_advisory("PYSEC-1", ["1.1"])]},
    "/pypi/beta/2.0/json": {
        "vulnerabilities": [_advisory("PYSEC-2", ["1.5"]), _advisory("PYSEC-3", [], True)]
    },
    # only the project document: the pin is the latest release
    "/pypi/gamma/json": {
        "info": {"version": "3.0"},
        "vulnerabilities": [_advisory("GHSA-4", [])],
    },
    "/pypi/delta/json": {"info": {"version": "4.0"}, "vulnerabilities": []},
    # only the project document, and the pin is older than its latest release
    "/pypi/stale/json": {"info": {"version": "9.0"}, "vulnerabilities": []},
}


class _Index(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        document = DOCUMENTS.get(self.path)
        body = json.dumps(document).encode() if document is not None else b""
        self.send_response(200 if document is not None else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def index() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _audit(tmp_path: Path, index: str, *pins: str, strict: bool = False) -> tuple[int, str]:
    lock = tmp_path / "requirements.lock"
    lock.write_text("# header\n" + "\n".join(pins) + "\n")
    args = [sys.executable, str(SCRIPT), str(lock), "--index", index]
    done = subprocess.run(
        args + (["--strict"] if strict else []), capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout + done.stderr


def test_clean_pins_pass(tmp_path: Path, index: str) -> None:
    code, out = _audit(tmp_path, index, "beta==2.0", "delta==4.0")
    assert code == 0, out
    assert "2 locked packages, 0 affected, 0 not auditable" in out


def test_an_advisory_on_a_release_fails_and_names_the_fix(tmp_path: Path, index: str) -> None:
    code, out = _audit(tmp_path, index, "alpha==1.0", "delta==4.0")
    assert code == 1
    assert "VULNERABLE alpha==1.0: PYSEC-1, CVE-PYSEC-1: fixed in 1.1" in out


def test_an_advisory_on_the_latest_release_fails(tmp_path: Path, index: str) -> None:
    code, out = _audit(tmp_path, index, "gamma==3.0")
    assert code == 1
    assert "VULNERABLE gamma==3.0: GHSA-4, CVE-GHSA-4: no fix released" in out


def test_a_stale_pin_is_reported_and_fails_only_when_strict(tmp_path: Path, index: str) -> None:
    code, out = _audit(tmp_path, index, "stale==1.0")
    assert code == 0
    assert "UNAUDITED  stale==1.0: PyPI serves advisories for stale 9.0 only" in out
    assert _audit(tmp_path, index, "stale==1.0", strict=True)[0] == 1


def test_unknown_project_and_unpinned_lines_are_errors(tmp_path: Path, index: str) -> None:
    code, out = _audit(tmp_path, index, "nosuch==1.0", strict=True)
    assert code == 1
    assert "PyPI has no project 'nosuch' (HTTP 404)" in out
    code, out = _audit(tmp_path, index, "delta>=4")
    assert code == 1
    assert "is not pinned with ==" in out


def test_an_unreachable_index_is_not_a_pass(tmp_path: Path) -> None:
    code, out = _audit(tmp_path, "http://127.0.0.1:9", "delta==4.0")
    assert code == 2
    assert "cannot reach http://127.0.0.1:9" in out
