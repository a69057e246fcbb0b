"""A whole `posbridge demo` never reveals a vendor secret, nor keeps its API key in clear.

The demo is run as the README runs it (a subprocess, DEBUG logs), with every sandbox's
secret credentials as the markers: its console output, its log, every file it leaves in
its folder (database, WAL, key) and every answer of every GET route of its REST API (from
its OpenAPI document, and every record resource with raw payloads) are scanned for them.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from posbridge.app import open_store
from posbridge.connectors import REGISTRY
from posbridge.demo import demo_sandboxes
from posbridge.export import EXPORTABLE
from posbridge.settings import AppSettings

pytestmark = pytest.mark.slow

_KEY_LINE = re.compile(r"Authorization: Bearer (\S+)' (http://127\.0\.0\.1:\d+)/v1/")


def _demo_secrets() -> list[str]:
    """The secret credentials of the sandboxes the demo starts (seeded, so the same)."""
    with demo_sandboxes() as endpoints:
        out = []
        for vendor, endpoint in endpoints.items():
            fields = REGISTRY[vendor].Settings.model_fields
            keys = [name for name, f in fields.items() if f.annotation is SecretStr]
            out += [endpoint.credentials[k] for k in keys if endpoint.credentials.get(k)]
    return out


def _read_lines(stream: object, into: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)
    into.put(None)


def test_a_full_demo_never_shows_stores_or_serves_a_secret(tmp_path: Path) -> None:
    secrets = _demo_secrets()
    assert len(secrets) >= 5, secrets  # one secret credential per vendor at least
    assert all(len(s) >= 8 for s in secrets)
    env = {
        **os.environ,
        "POSBRIDGE_LOG_LEVEL": "DEBUG",
        "COLUMNS": "200",
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "posbridge", "demo", "--api-port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    output: list[str] = []
    answers: list[str] = []
    try:
        match = None
        while match is None:
            line = lines.get(timeout=240)
            assert line is not None, "demo exited early:\n" + "".join(output)
            output.append(line)
            match = _KEY_LINE.search(line)
        key, base = match.groups()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
            spec = http.get("/openapi.json").json()
            lists = [
                path
                for path, item in spec["paths"].items()
                if "get" in item and "{" not in path and path.startswith("/v1/")
            ]
            assert "/v1/connections" in lists
            assert "/v1/{resource}" in spec["paths"]
            for path in lists:
                answers.append(http.get(path).text)
            for resource in sorted(EXPORTABLE):  # `/v1/{resource}`, raw payloads included
                page = http.get(f"/v1/{resource}", params={"include": "raw", "limit": 50})
                assert page.status_code == 200, (resource, page.text)
                answers.append(page.text)
            for connection in http.get("/v1/connections").json()["data"]:
                answers.append(http.get(f"/v1/connections/{connection['id']}").text)
                answers.append(http.get(f"/v1/connections/{connection['id']}/runs").text)
        assert len(answers) > 10
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        while (line := lines.get(timeout=30)) is not None:
            output.append(line)
        assert proc.stdout is not None
        proc.stdout.close()
    printed = "".join(output)
    assert "orders" in printed
    assert "verify demo-cloudpos" in printed
    assert "Traceback" not in printed
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    store = open_store(AppSettings(database_url=f"sqlite:///{tmp_path / 'posbridge.db'}"))
    stored = {v for row in store.list_connections() for v in store.credentials(row).values()}
    store.close()
    assert set(secrets) <= stored, "the markers are not the credentials the demo used"
    assert key.encode() not in files, "the API key in clear in a file (keys are kept hashed)"
    assert key[:12].encode() in files  # its public prefix is kept, so the scan can see
    for secret in secrets:
        assert secret not in printed, "a vendor secret in the demo's output or log"
        assert secret.encode() not in files, "a vendor secret in a file the demo wrote"
        assert all(secret not in a for a in answers), "a vendor secret in an API answer"
