"""iCash writes over loopback: the sale flow, returns, idempotency after a lost answer."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from posbridge.connectors.base import Command
from posbridge.connectors.icash import ICash
from posbridge.errors import UsageError, VendorValidationError
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.icash import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.testing import world_differences


@pytest.fixture
def box() -> Sandbox:
    """A small Bulgarian iCash chain."""
    return create_sandbox(seed=4, days=1, orders_per_day=10)


@pytest.fixture
def conn(box: Sandbox, db_url: str, tmp_path: Path) -> Iterator[tuple[ICash, Store]]:
    """A connector (and its store) pointed at the running sandbox."""
    from posbridge.store.crypto import Vault

    store = Store.open(db_url, Vault(b"k" * 32))
    with SandboxServer(box.app) as server:
        store.add_connection(
            "shop",
            "icash",
            server.url + box.base_path,
            box.credentials,
            {"state_dir": str(tmp_path)},
        )
        connector = build_connector(store, store.get_connection("shop"))
        assert isinstance(connector, ICash)
        yield connector, store
        connector.http.close()
    store.close()


def _sale(reference: str) -> Command:
    return Command(
        name="create_order",
        reference=reference,
        payload={
            "kind": "sale",
            "cash_register_id": 1,
            "lines": [
                {"product_id": 101, "quantity": "2", "discount_percent": "10"},
                {"product_id": 102, "quantity": "0.75000"},
            ],
            "payments": [{"pay_type_id": 2, "amount": "1.00"}],
            "pay_type_id": 1,
        },
    )


def _ours(box: Sandbox, reference: str) -> list[object]:
    return [o for o in box.state.world.operations if o.import_ref_id == reference]


def test_sale_flow_prints_a_fiscal_receipt(box: Sandbox, conn: tuple[ICash, Store]) -> None:
    """A sale goes new → lines → payment → print and comes back with receipt number, UNP and text."""
    connector, _store = conn
    result = connector.execute(_sale("outbox-1"))
    data = result.response
    assert data["OperationStatus"] == "NORMAL"
    assert data["OperationImportSource"] == "posbridge"
    assert data["OperationImportRefID"] == "outbox-1"
    assert data["OperationFiskBonUUID"]
    assert "\x1aD\t" in data["OperationElectronicDataReceipt"]
    lines = data["OperationSaleItems"]
    assert [x["OperationSaleItemDiscount"] for x in lines] == ["10.00000", "0.00000"]
    assert sum(Decimal(p["PaymentSum"]) for p in data["OperationPayments"]) == Decimal(
        data["OperationPrice"]
    )
    assert len(_ours(box, "outbox-1")) == 1


def test_lost_answer_then_retry_creates_one_operation(
    box: Sandbox, conn: tuple[ICash, Store]
) -> None:
    """Lost answers of new-operation, a line and print-operation: the retry finds one operation."""
    connector, _store = conn
    box.state.lose_response["new-operation"] = 1
    box.state.lose_response["add-operation-sale-item"] = 1
    box.state.lose_response["print-operation"] = 1
    first = connector.execute(_sale("outbox-7"))
    again = connector.execute(_sale("outbox-7"))  # the outbox retries the whole command
    ops = _ours(box, "outbox-7")
    assert len(ops) == 1
    assert first.source_id == again.source_id
    op = box.state.operations[int(first.source_id or 0)]
    assert op.status == "NORMAL"
    assert len(op.live_lines()) == 2
    assert op.receipt_num is not None
    new_ops = [e for e in box.state.request_log if e.operation == "new-operation"]
    assert len(new_ops) == 1


def test_return_refers_to_the_sale_receipt(box: Sandbox, conn: tuple[ICash, Store]) -> None:
    """A return by sale id carries the sale's fiscal receipt and syncs as a linked return."""
    connector, store = conn
    sale = connector.execute(_sale("outbox-s"))
    back = connector.execute(
        Command(
            name="create_order",
            reference="outbox-r",
            payload={
                "kind": "return",
                "cash_register_id": 1,
                "refund_of_source_id": sale.source_id,
                "storno_type": 1,
                "lines": [{"product_id": 102, "quantity": "0.75000"}],
            },
        )
    )
    data = back.response
    assert data["FiskBonUUID"] == sale.response["OperationFiskBonUUID"]
    assert data["SellOperationID"] == int(sale.source_id or 0)
    assert SyncEngine(store).run("shop").ok
    cid = store.get_connection("shop").id
    assert world_differences(store, cid, box.state.world, vendor="icash") == []


def test_customer_and_item_writes(box: Sandbox, conn: tuple[ICash, Store]) -> None:
    """A contragent, a new sale item with a store price, and an edit of it land in the world."""
    connector, _store = conn
    cust = connector.execute(
        Command(name="create_customer", payload={"name": "Нова Фирма ЕООД", "vat_number": "BG1"})
    )
    assert box.state.world.contragents[-1].id == int(cust.source_id or 0)
    item = connector.execute(
        Command(
            name="upsert_product",
            payload={"sku": "X-1", "name": "Чай", "price": "2.40", "store_prices": {"2": "2.55"}},
        )
    )
    added = next(s for s in box.state.world.sale_items if s.id == int(item.source_id or 0))
    assert added.price == Decimal("2.400000")
    assert added.price_in(2) == Decimal("2.550000")
    connector.execute(Command(name="upsert_product", payload={"sku": "X-1", "price": "2.50"}))
    assert added.price == Decimal("2.500000")


def test_writes_validate_before_sending(box: Sandbox, conn: tuple[ICash, Store]) -> None:
    """Floats and over-precise amounts are refused locally; a wrong register is the vendor's validation error."""
    connector, _store = conn
    bad = _sale("outbox-f")
    with pytest.raises(UsageError):
        connector.execute(
            Command(
                name="create_order",
                reference="x",
                payload={**bad.payload, "lines": [{"product_id": 101, "quantity": 1.5}]},
            )
        )
    with pytest.raises(VendorValidationError):
        connector.execute(
            Command(
                name="create_order", reference="y", payload={**bad.payload, "cash_register_id": 99}
            )
        )


def test_cash_amount_and_bank_accounts(box: Sandbox, conn: tuple[ICash, Store]) -> None:
    """A cash register amount is recorded; bank accounts are listed with IBAN and currency."""
    connector, _store = conn
    moved = connector.execute(
        Command(name="add_cash_amount", payload={"cash_register_id": 1, "amount": "50.00"})
    )
    assert box.state.world.cash_movements[-1].id == int(moved.source_id or 0)
    accounts = connector.execute(Command(name="bank_accounts", payload={})).response["accounts"]
    assert accounts
    assert all(a["BankAccountCurrencyCode"] == "BGN" for a in accounts)
