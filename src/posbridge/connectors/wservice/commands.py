"""WService writes: departments, products, documents (load/unload/sale), prepaid cards, deletes.

Payloads use the vendor's own field names (they are few and documented; the API passes
them through). Departments, products and prepaid cards are upserts by code on the vendor
side, so a retry cannot duplicate them. `setdocument` has no such key: the outbox
reference goes into the document's `notes`, the write is sent once, and before sending
(and after a lost answer) the newest documents are searched for that reference — so a
retried command finds its document instead of writing a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from posbridge.connectors.base import Capability, Command, CommandResult
from posbridge.errors import NetworkError, UsageError

if TYPE_CHECKING:
    from posbridge.connectors.wservice import WService

__all__ = ["CAPABILITIES", "build_request", "execute_command", "find_reference"]

#: command → (method, endpoint, id field of the answer)
ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "upsert_department": ("POST", "setdepartments", "iddepartment"),
    "upsert_product": ("POST", "setproducts", "idproduct"),
    "create_document": ("POST", "setdocument", "idmovement"),
    "upsert_prepaid_card": ("POST", "setprepaid", "idprepaid"),
    "delete_department": ("DELETE", "departments", "iddepartment"),
    "delete_product": ("DELETE", "products", "idproduct"),
}
CAPABILITIES = (
    Capability("upsert_department", "category", "setdepartments (by departmentcode; VAT inserted)"),
    Capability("upsert_product", "product", "setproducts (id → code → EAN → name lookup)"),
    Capability("create_document", "stock_movement", "setdocument: CAR load, SCA unload, VEN sale"),
    Capability("upsert_prepaid_card", "voucher", "setprepaid (new card with credit, or validity)"),
    Capability("delete_department", "category", "DELETE departments?iddepartment"),
    Capability("delete_product", "product", "DELETE products?idproduct"),
)
REF_PREFIX = "posbridge:"
SEARCH_BACK = 30  # newest documents searched for a reference


def _endpoint(command: Command) -> tuple[str, str, str]:
    try:
        return ENDPOINTS[command.name]
    except KeyError:
        raise UsageError(f"wservice has no write command {command.name!r}") from None


def build_request(command: Command) -> dict[str, Any]:
    """The request `execute` sends (without the SessionCode), for dry runs."""
    method, name, key = _endpoint(command)
    payload = dict(command.payload)
    if method == "DELETE":
        if payload.get(key) in (None, ""):
            raise UsageError(f"{command.name} needs {key!r}")
        return {"method": "DELETE", "path": f"/api/{name}/{{SessionCode}}", "params": payload}
    if command.name == "create_document":
        if not payload.get("documentrows"):
            raise UsageError("create_document needs documentrows")
        if command.reference:
            note = str(payload.get("notes") or "")
            payload["notes"] = (note + " " if note else "") + REF_PREFIX + command.reference
    return {"method": "POST", "path": f"/api/{name}", "body": payload}


def find_reference(connector: WService, reference: str) -> dict[str, Any] | None:
    """The newest document whose notes carry `reference` (searching `SEARCH_BACK` back)."""
    top = _top_document(connector)
    tag = REF_PREFIX + reference
    for idm in range(top, max(0, top - SEARCH_BACK), -1):
        found = connector.document(idm)
        if found is not None and tag in str(found[1].get("notes") or "").split():
            return found[1]
    return None


def _top_document(connector: WService) -> int:
    """The highest document id: gallop up, then bisect (ids grow from 1, gaps are rare)."""
    connector._docs.clear()  # writes happened since the last read
    low, high = 0, 1
    while connector.document(high) is not None:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if connector.document(mid) is not None:
            low = mid
        else:
            high = mid
    return low


def execute_command(connector: WService, command: Command) -> CommandResult:
    """Send one write; documents are deduplicated by their outbox reference."""
    request = build_request(command)
    method, name, key = _endpoint(command)
    if method == "DELETE":
        answer = connector.call("DELETE", name, params=request["params"], write=True)
        return CommandResult(source_id=str(answer.get(key)), response=_plain(answer))
    if command.name == "create_document" and command.reference:
        existing = find_reference(connector, command.reference)
        if existing is not None:
            return CommandResult(source_id=str(existing["idmovement"]), response=_plain(existing))
        try:
            answer = connector.call("POST", name, body=request["body"], write=True, once=True)
        except NetworkError:
            existing = find_reference(connector, command.reference)
            if existing is None:
                raise
            return CommandResult(source_id=str(existing["idmovement"]), response=_plain(existing))
    else:
        answer = connector.call("POST", name, body=request["body"], write=True)
    return CommandResult(source_id=str(answer.get(key)), response=_plain(answer))


def _plain(value: Any) -> Any:
    """JSON-ready copy (Decimals as strings) for the outbox."""
    from decimal import Decimal

    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value
