"""Rehearse a write against a local sandbox of its vendor: nothing reaches the real POS.

The command goes through the same connector code as a real write — validation, mapping,
auth, the vendor call — but against a freshly generated sandbox world, so what the vendor
would answer (or refuse) is seen before anything is sent for real. Ids that exist only in
the merchant's POS are unknown to the sandbox, so an update of one is refused there; the
rehearsal reports that answer rather than hiding it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from posbridge.connectors import REGISTRY
from posbridge.connectors.base import Command
from posbridge.connectors.http import VendorClient
from posbridge.errors import PosbridgeError
from posbridge.sandboxes import SANDBOXES
from posbridge.sandboxes.runner import SandboxServer

__all__ = ["rehearse_in_sandbox"]


def rehearse_in_sandbox(vendor: str, command: Command) -> dict[str, Any]:
    """Execute the command on a small in-process sandbox of the vendor; its outcome."""
    factory, cls = SANDBOXES.get(vendor), REGISTRY.get(vendor)
    if factory is None or cls is None:
        return {"sandbox": vendor, "ok": False, "error": f"no sandbox for {vendor}"}
    box = factory(seed=1, days=2, orders_per_day=5)
    with SandboxServer(box.app) as server:
        client = VendorClient(server.url + box.base_path, vendor=vendor)
        try:
            connector = cls(cls.Settings.model_validate(dict(box.credentials)), client)
            result = connector.execute(command)
        except PosbridgeError as exc:
            return {
                "sandbox": vendor,
                "ok": False,
                "error": exc.message,
                "error_kind": exc.problem_kind,
                "requests": client.requests_made,
            }
        finally:
            client.close()
    return {
        "sandbox": vendor,
        "ok": True,
        "source_id": result.source_id,
        "response": msgspec.to_builtins(result.response),
        "requests": client.requests_made,
    }
