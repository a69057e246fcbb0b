"""Malformed records for every vendor (scenario 8, issue 9).

Each vendor's sandbox corrupts the record named by the `malformed_orders` knob the way
`malformed_kind` says. The sync must quarantine exactly that record with a clear reason,
store everything else (store == world minus that record), and a later fix (knob cleared,
full resync of orders) must resolve the quarantine and end equal to the world. Kinds a
vendor's records cannot carry are refused by its sandbox (and listed in docs/reliability.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posbridge.sandboxes import Sandbox, avapos, cloudpos, icash, smartnow, wservice
from posbridge.sandboxes.avapos_reads import MALFORMED_KINDS as AVAPOS_KINDS
from posbridge.sandboxes.cloudpos_reads import MALFORMED_KINDS as CLOUDPOS_KINDS
from posbridge.sandboxes.faults import MALFORMED_KINDS
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.smartnow_reads import MALFORMED_KINDS as SMARTNOW_KINDS
from posbridge.sandboxes.wservice_reads import MALFORMED_KINDS as WSERVICE_KINDS
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine
from posbridge.testing import world_differences

#: a victim: (the id the knob and the oracle use, the source id its quarantine row has)
Victim = tuple[int, str]


def _cloudpos(world: Any) -> Victim:
    order = next(
        o
        for o in world.orders
        if o.total > 1 and o.lines and o.lines[0].quantity > 0 and o.lines[0].price >= 1
    )
    return order.ticket, str(order.dbid)


def _avapos(world: Any) -> Victim:
    f = next(
        f
        for f in world.facturas
        if f.iva > 0 and f.consumos and f.consumos[0].taxed and f.consumos[0].neto >= 1
    )
    return f.id, str(f.id)


def _icash(world: Any) -> Victim:
    op = next(
        o
        for o in world.operations
        if o.type == "Sell"
        and o.status == "NORMAL"
        and o.lines
        and o.lines[0].status == "NORMAL"
        and Decimal(1) <= o.lines[0].price * o.lines[0].qty <= Decimal(30)
    )
    return op.id, str(op.id)


def _smartnow(world: Any) -> Victim:
    tx = next(t for t in world.tables["revenuetransaction"].values() if t["price"] >= 100)
    return tx["id"], str(tx["id"])


def _wservice(world: Any) -> Victim:
    idm, _doc = next(
        (i, d)
        for i, d in sorted(world.documents.items())
        if d["documenttype"] == "VEN"
        and d["documentrows"]
        and d["documentrows"][0].get("rowtype") == "P"
        and Decimal(d["documentrows"][0]["totalprice"]) >= 1
    )
    return idm, str(idm)


# Reasons: the record's own bad value, or both figures of the rule it breaks.
_COMMON = {
    "bad_amount": r"'abc'",
    "missing_field": r"missing",
    "impossible_date": r"2026-02-30 25:61:00",
    "unknown_vat": r"unknown (VAT|IVA) rate",
    "currency_mismatch": r"in USD, the connection in (EUR|BGN)",
}
_TOTALS = r"lines add up to -?\d+\.\d+, the ticket says \d+\.\d+ (EUR|BGN)"


@dataclass(frozen=True)
class Vendor:
    """How to serve one vendor small and pick a record each kind can corrupt."""

    name: str
    make: Callable[[], Sandbox]
    settings: Callable[[Path], dict[str, Any]]
    victim: Callable[[Any], Victim]
    kinds: tuple[str, ...]
    negative_quantity: str  # the reason a flipped quantity sign is quarantined with


VENDORS = [
    Vendor(
        "cloudpos",
        lambda: cloudpos.create_sandbox(seed=3, days=2, orders_per_day=25),
        lambda _: {"page_size": 50, "lookback": 10},
        _cloudpos,
        CLOUDPOS_KINDS,
        _TOTALS,
    ),
    Vendor(
        "avapos",
        lambda: avapos.create_sandbox(seed=3, days=2, orders_per_day=20),
        lambda _: {"window_days": 30},
        _avapos,
        AVAPOS_KINDS,
        r"consumo 1 has cantidad -\S+ on a factura",
    ),
    Vendor(
        "icash",
        lambda: icash.create_sandbox(seed=3, days=2, orders_per_day=20),
        lambda tmp: {"state_dir": str(tmp)},
        _icash,
        MALFORMED_KINDS,
        _TOTALS,
    ),
    Vendor(
        "smartnow",
        lambda: smartnow.create_sandbox(seed=4, days=2, orders_per_day=8),
        lambda _: {},
        _smartnow,
        SMARTNOW_KINDS,
        r"payments add up to \d+\.\d+, the vend's price is -\d+\.\d+",
    ),
    Vendor(
        "wservice",
        lambda: wservice.create_sandbox(seed=2, days=2, orders_per_day=6),
        lambda _: {},
        _wservice,
        WSERVICE_KINDS,
        r"line 1 has quantity -\S+ but amount \d+\.\d+: a quantity and its amount share a sign",
    ),
]
CASES = [pytest.param(v, k, id=f"{v.name}-{k}") for v in VENDORS for k in v.kinds]
NARROW = [v for v in VENDORS if set(MALFORMED_KINDS) - set(v.kinds)]


@pytest.fixture
def served(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[Any]:
    """The case's vendor on loopback, connected as `shop`."""
    vendor: Vendor = request.param
    box = vendor.make()
    with SandboxServer(box.app) as server:
        store.add_connection(
            "shop",
            vendor.name,
            server.url + box.base_path,
            box.credentials,
            vendor.settings(tmp_path),
        )
        yield box


@pytest.mark.parametrize(("served", "kind"), CASES, indirect=["served"])
def test_each_kind_is_quarantined_the_rest_synced_and_a_fix_resolves_it(
    store: Store, served: Sandbox, kind: str, request: pytest.FixtureRequest
) -> None:
    """One corrupt record: quarantined with a clear reason, nothing else lost or doubled;
    cleared at the vendor and resynced in full, the quarantine resolves."""
    vendor: Vendor = request.node.callspec.params["served"]
    world = served.state.world
    knob_id, source_id = vendor.victim(world)
    served.state.faults.update(malformed_orders={knob_id}, malformed_kind=kind)
    cid = store.get_connection("shop").id

    result = SyncEngine(store).run("shop")
    assert result.ok, [(s.name, s.error) for s in result.streams if s.error]
    orders = next(s for s in result.streams if s.name == "orders")
    assert orders.quarantined == 1
    (row,) = store.quarantined(cid)
    assert (row["stream"], row["source_id"]) == ("orders", source_id)
    expected = vendor.negative_quantity if kind == "negative_quantity" else _COMMON[kind]
    assert re.search(expected, row["reason"]), row["reason"]
    assert world_differences(store, cid, world, vendor=vendor.name, skip_tickets=[knob_id]) == []

    served.state.faults.update(malformed_orders=set())
    fixed = SyncEngine(store).run("shop", full=True, streams=["orders"])
    assert fixed.ok, fixed.error
    assert store.quarantined(cid) == []
    assert world_differences(store, cid, world, vendor=vendor.name) == []


@pytest.mark.parametrize("vendor", NARROW, ids=[v.name for v in NARROW])
def test_a_kind_the_vendor_cannot_carry_is_refused_by_its_sandbox(vendor: Vendor) -> None:
    """CloudPOS, AvaPOS and WService name no currency; SmartNow's VAT rate is the
    machine product's, not one vend's: their sandboxes refuse those kinds by name."""
    box = vendor.make()
    for kind in set(MALFORMED_KINDS) - set(vendor.kinds):
        with pytest.raises(ValueError, match=f"for this vendor, got '{kind}'"):
            box.state.faults.update(malformed_kind=kind)
    box.state.faults.reset()
    missing = sorted(set(MALFORMED_KINDS) - set(vendor.kinds))[0]
    with pytest.raises(ValueError, match="for this vendor"):  # still refused after a reset
        box.state.faults.update(malformed_kind=missing)
