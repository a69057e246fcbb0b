"""The vendor benchmark's --quick mode runs end to end (no timing asserted: speed lives in bench/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dlt")  # the `bench` extra

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_vendors.py"


@pytest.mark.parametrize("vendor", ["cloudpos", "avapos", "icash", "smartnow", "wservice"])
def test_quick_mode_pulls_the_same_orders_on_both_sides(tmp_path: Path, vendor: str) -> None:
    """Every vendor's peer and posbridge see the same orders (the peer reuses connector
    wire code, so a change there must not silently break the benchmark)."""
    out = tmp_path / "vendors.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--vendors", vendor, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (result,) = json.loads(out.read_text())["vendors"]
    ours, peer, limit = result["posbridge"], result["dlt"], result["limit"]
    assert ours["streams"] == ["orders"]
    assert ours["orders"] > 0
    assert ours["orders"] == peer["orders"] == limit["orders"]
    if vendor == "cloudpos":
        assert ours["lines"] == peer["tables"]["orders__orderdetail"]
    assert ours["requests"] >= result["physical"]["minimum_requests"] > 0
    assert result["full_1x"]["records"] > ours["orders"]
