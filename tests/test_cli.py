"""The CLI as a user runs it: real processes, real sandbox, clear errors, help everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posbridge.cli import app

COMMANDS = [
    "sandbox",
    "connect",
    "sync",
    "export",
    "status",
    "verify",
    "quarantine",
    "serve",
    "account",
    "key",
    "demo",
]


def _run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posbridge", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    """Each command answers --help with a description (and the README lists it)."""
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert f"posbridge {command}" in readme


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    """An environment whose store is a fresh database (SQLite file or PostgreSQL schema)."""
    return {
        **os.environ,
        "POSBRIDGE_DATABASE_URL": db_url,
        "POSBRIDGE_SECRET_KEY": "cli-test",
        "COLUMNS": "200",
    }


def test_sandbox_connect_sync_export_verify_status(env: dict[str, str], tmp_path: Path) -> None:
    """The documented tour works end to end with the sandbox in its own process."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posbridge",
            "sandbox",
            "cloudpos",
            "--days",
            "3",
            "--orders-per-day",
            "30",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["vendor"] == "cloudpos"
        creds = info["credentials"]
        connected = _run(
            env,
            "connect",
            "cloudpos",
            "--name",
            "bxl",
            "--base-url",
            info["base_url"],
            "--set",
            f"licname={creds['licname']}",
            "--set",
            f"token={creds['token']}",
        )
        assert connected.returncode == 0, connected.stderr
        assert creds["token"] not in connected.stdout + connected.stderr
        synced = _run(env, "sync", "bxl")
        assert synced.returncode == 0, synced.stderr
        out = tmp_path / "orders.jsonl"
        exported = _run(env, "export", "ORDERS", "--format", "jsonl", "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        first = json.loads(out.read_text().splitlines()[0])
        assert isinstance(first["total_gross"], str)
        assert first["lines"]
        assert first["payments"]
        for fmt in ("csv", "parquet"):
            done = _run(
                env, "export", "products", "--format", fmt, "--out", str(tmp_path / f"p.{fmt}")
            )
            assert done.returncode == 0, done.stderr
        verified = _run(env, "verify", "bxl")
        assert verified.returncode == 0, verified.stdout
        assert "days verified" in verified.stdout
        status = _run(env, "status")
        assert "bxl" in status.stdout
        assert "cloudpos" in status.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sync", "nope"], "no connection named 'nope'"),
        (["connect", "cloudpos", "--name", "x", "--set", "licname"], "--set expects key=value"),
        (["connect", "unknown", "--name", "x"], "unknown vendor"),
        (
            [
                "connect",
                "cloudpos",
                "--name",
                "x",
                "--base-url",
                "http://127.0.0.1:9/api/",
                "--set",
                "licname=a",
            ],
            "token",
        ),
        (["export", "widgets"], "cannot export 'widgets'"),
        (["sync", "--since", "yesterday"], "--since expects a date"),
    ],
)
def test_bad_input_gets_a_clear_message_not_a_traceback(
    env: dict[str, str], args: list[str], message: str
) -> None:
    """Mistakes print one line that says what to fix, and exit non-zero without a traceback."""
    result = _run(env, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_vendor_is_a_clear_error(env: dict[str, str]) -> None:
    """Connecting to a port nobody listens on fails with a message, not a traceback."""
    result = _run(
        env,
        "connect",
        "cloudpos",
        "--name",
        "x",
        "--base-url",
        "http://127.0.0.1:9/api/",
        "--set",
        "licname=a",
        "--set",
        "token=b",
    )
    assert result.returncode == 2
    assert "connection failed" in result.stderr
    assert "Traceback" not in result.stderr
