"""Generating an iCash world: the chain, its catalogue and weeks of fiscal receipts.

Deterministic from the seed (one `random.Random`, no wall clock). Also the two steps the
sandbox's sale flow shares with the generator: adding a priced line and printing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from posbridge.sandboxes.icash_world import (
    BankAccount,
    CashRegister,
    Contragent,
    Document,
    DocumentLine,
    ICashWorld,
    Named,
    Operation,
    OpLine,
    OpPayment,
    SaleItem,
    Store,
    Storno,
    TaxGroup,
    q2,
    q5,
)
from posbridge.sandboxes.profiles import PROFILES

__all__ = ["add_line", "finalize", "generate_icash_world", "receipt_text", "sale"]

_HUNDRED = Decimal(100)


_PAY_TYPES = {
    "BG": ("В брой", "Кредитна карта", "Чек", "Банков превод", "Ваучер"),
    "AL": ("Cash", "Kartë krediti", "Çek", "Transfertë bankare", "Kupon"),
}
_UNITS = {"BG": ("бр.", "кг", "л"), "AL": ("copë", "kg", "l")}
_TAX_NAMES = {"BG": ("Б", "Г", "А"), "AL": ("A", "B", "C")}
_BANKS = {
    "BG": (("УниКредит Булбанк", "UNCRBGSF", "BG"), ("Банка ДСК", "STSABGSF", "BG")),
    "AL": (("Banka Kombëtare Tregtare", "NCBAALTX", "AL"), ("Raiffeisen Bank", "SGSBALTX", "AL")),
}


def _digits(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randint(0, 9)) if c == "#" else c for c in pattern)


def generate_icash_world(
    profile: str = "bg_retail",
    *,
    seed: int = 1,
    days: int = 28,
    orders_per_day: int = 120,
    end_date: date = date(2026, 11, 1),
) -> ICashWorld:
    """The world of one iCash account for `days` days before `end_date` (deterministic)."""
    prof = PROFILES[profile]
    rng = random.Random(f"icash:{profile}:{seed}")
    country = prof.country
    as_of = datetime.combine(end_date, time(7, 30))
    start = datetime.combine(end_date - timedelta(days=days), time(0))
    stores = [
        Store(i + 1, name, prof.towns[i % len(prof.towns)][1], f"{prof.streets[i]} {i + 3}")
        for i, name in enumerate(prof.establishments)
    ]
    registers: list[CashRegister] = []
    for i, name in enumerate(prof.devices):
        store_id = stores[min(i, len(stores) - 1)].id
        prefix = "DY" if country == "BG" else "AL"
        registers.append(
            CashRegister(
                id=i + 1,
                name=name,
                type="HARDWARE" if i != len(prof.devices) - 1 else "VIRTUAL",
                store_id=store_id,
                device_num=int(_digits(rng, "36######")),
                serial=prefix + _digits(rng, "######"),
            )
        )
    rates = dict(prof.vat_classes)
    tax_groups = [
        TaxGroup(i + 1, f"{_TAX_NAMES[country][i]} {rate}%", rate)
        for i, rate in enumerate(rates.values())
    ]
    group_of = {cls: i + 1 for i, cls in enumerate(rates)}
    pay_types = [Named(i + 1, n) for i, n in enumerate(_PAY_TYPES[country])]
    units = [Named(i + 1, n) for i, n in enumerate(_UNITS[country])]
    users = [
        Named(1, "API"),
        *(Named(i + 2, f"{n} {prof.last_names[i]}") for i, n in enumerate(prof.first_names[:3])),
    ]
    contragents: list[Contragent] = []
    for i in range(18):
        company = i % 3 == 0 or i >= 15
        town = rng.choice(prof.towns)[1]
        first, last = rng.choice(prof.first_names), rng.choice(prof.last_names)
        name = prof.companies[i % len(prof.companies)] if company else f"{first} {last}"
        contragents.append(
            Contragent(
                id=i + 1,
                name=name if i < 15 else f"{name} (доставчик)" if country == "BG" else name,
                type="SUPPLIER" if i >= 15 else "CLIENT",
                country=country,
                city=town,
                tax_num=_digits(rng, prof.vat_number_pattern) if company else "",
                vat_registered=1 if company else 0,
                address=f"{rng.choice(prof.streets)} {rng.randint(1, 120)}",
                phone=_digits(rng, prof.phone_pattern),
                email=f"info{i + 1}@{rng.choice(prof.email_domains)}",
                mol=f"{first} {last}" if company else "",
                barcode=_digits(rng, "2000####") if not company else "",
                create_date=start - timedelta(days=rng.randint(10, 300)),
                active=0 if i == 14 else 1,
            )
        )
    items: list[SaleItem] = []
    for cat in prof.categories:
        for spec in cat.items:
            name, price_text = spec[0], spec[1]
            vat_class = spec[2] if len(spec) > 2 else cat.vat_class
            price = Decimal(price_text.lstrip("~"))
            n = len(items) + 1
            weighed = rng.random() < 0.15 and cat.vat_class == "standard"
            store_prices: dict[int, Decimal] = {}
            if rng.random() < 0.3:  # the second store sells a little dearer
                store_prices[stores[-1].id] = q2(price * Decimal("1.05"))
            items.append(
                SaleItem(
                    id=100 + n,
                    inventory_id=f"{1000 + n}",
                    barcode=prof.barcode_prefix + _digits(rng, "##########"),
                    name=name,
                    cash_register_name=name[:32],
                    type="SERVICE" if cat.vat_class == "exempt" else "PRODUCT",
                    measure_unit_id=2 if weighed else 1,
                    tax_group_id=group_of[vat_class],
                    price=price,
                    store_prices=store_prices,
                    stock={s.id: Decimal(rng.randint(5, 400)) for s in stores},
                )
            )
    accounts = [
        BankAccount(
            i + 1,
            bank,
            f"{cc}{_digits(rng, '##')}{bic[:4]}{_digits(rng, '##############')}",
            bic,
            prof.currency,
            start - timedelta(days=400 + i),
            1,
        )
        for i, (bank, bic, cc) in enumerate(_BANKS[country])
    ]
    world = ICashWorld(
        profile=profile,
        country=country,
        currency=prof.currency,
        timezone=prof.timezone,
        warehouse_id=700 + seed,
        user_id=1,
        as_of=as_of,
        stores=stores,
        registers=registers,
        tax_groups=tax_groups,
        pay_types=pay_types,
        measure_units=units,
        users=users,
        contragents=contragents,
        sale_items=items,
        operations=[],
        documents=[],
        bank_accounts=accounts,
        next_ids={
            "operation": 50001,
            "line": 80001,
            "payment": 30001,
            "document": 901,
            "contragent": len(contragents) + 1,
            "sale_item": 100 + len(items) + 1,
            "movement": 1,
        },
    )
    _trade(world, rng, start.date(), days, orders_per_day)
    return world


def receipt_text(world: ICashWorld, op: Operation) -> str:
    """The cash register's text of a printed receipt (control chars as the device sends)."""
    reg = world.register(op.cash_register_id)
    at = (op.completed or op.created).strftime("%d-%m-%Y %H:%M")
    num = f"{op.receipt_num or 0:07d}"
    rows = [f"\x1aD\t{num} {at}\r", f"\x1aT\tN B УНП: {op.fisk_uuid} \r"]
    items = {i.id: i for i in world.sale_items}
    for line in op.live_lines():
        gross, _ = line.amounts
        rows.append(f"\x1aT\tN B {line.qty.normalize():f} x {line.price:.2f} = \r")
        rows.append(f"\x1aT\tN B {items[line.sale_item_id].cash_register_name} \r")
        rows.append(f"\x1aT\tN B {gross:.2f}\r")
    rows.append(f"\x1aT\tB B ОБЩА СУМА: {op.total:.2f}\r")
    for p in op.payments:
        rows.append(f"\x1aT\tN P {world.pay_types[p.pay_type_id - 1].name} {p.amount:.2f}\r")
    rows.append(f"\x1aT\tN D {num} {at}\r")
    rows.append(f"\x1aT\tN Y {reg.serial} {reg.device_num}\r\x1aE\r")
    return "".join(rows)


def finalize(world: ICashWorld, op: Operation, at: datetime, user_id: int) -> None:
    """Print the operation: fiscal receipt number, UNP, receipt text; stock moves."""
    reg = world.register(op.cash_register_id)
    reg.receipts += 1
    op.status, op.completed, op.complete_user = "NORMAL", at, user_id
    op.receipt_num = reg.receipts
    op.fisk_uuid = f"{reg.serial}-{user_id:04d}-{reg.receipts:07d}"
    op.receipt_text = receipt_text(world, op)
    op.qr = f"{reg.device_num}*{op.receipt_num:07d}*{at:%Y-%m-%d*%H:%M:%S}*{op.total:.2f}"
    sign = Decimal(-1) if op.type == "Sell" else Decimal(1)
    for line in op.live_lines():
        item = next((i for i in world.sale_items if i.id == line.sale_item_id), None)
        if item is not None and item.type == "PRODUCT":
            item.stock[op.store_id] = item.stock.get(op.store_id, Decimal(0)) + sign * line.qty


def _trade(world: ICashWorld, rng: random.Random, first: date, days: int, per_day: int) -> None:
    sales: list[Operation] = []
    hardware = list(world.registers)
    clients = [c for c in world.contragents if c.type == "CLIENT" and c.active]
    for d in range(days):
        day = first + timedelta(days=d)
        moments = sorted(rng.randint(8 * 3600, 21 * 3600) for _ in range(per_day))
        for seconds in moments:
            at = datetime.combine(day, time()) + timedelta(seconds=seconds)
            reg = rng.choice(hardware)
            if sales and rng.random() < 0.04:
                _return(world, rng, rng.choice(sales[-60:]), at)
                continue
            op = sale(world, rng, reg, at, rng.choice(clients) if rng.random() < 0.12 else None)
            sales.append(op)
            if op.contragent_id and world.contragents[op.contragent_id - 1].vat_registered:
                _document(world, rng, op, "INVOICE", "NORMAL")
    for op in [o for o in world.operations if o.type == "ReturnClient" and o.contragent_id][:5]:
        _document(world, rng, op, "INVOICE", "CREDIT")
    for op in [o for o in sales if o.contragent_id][:3]:
        _document(world, rng, op, "PROFORMA", "NORMAL")
    for op in [o for o in sales if o.contragent_id][3:5]:
        _document(world, rng, op, "INVOICE", "DEBIT")


def _new_op(world: ICashWorld, kind: str, reg: CashRegister, at: datetime) -> Operation:
    op = Operation(
        id=world.next_id("operation"),
        type=kind,
        cash_register_id=reg.id,
        store_id=reg.store_id,
        num=world.next_id(f"num:{reg.store_id}"),
        status="TEMP",
        contragent_id=None,
        comment="",
        create_user=2 + reg.id % 3,
        created=at,
    )
    world.operations.append(op)
    return op


def sale(
    world: ICashWorld,
    rng: random.Random,
    reg: CashRegister,
    at: datetime,
    client: Contragent | None,
) -> Operation:
    op = _new_op(world, "Sell", reg, at - timedelta(seconds=rng.randint(20, 240)))
    op.contragent_id = client.id if client else None
    op.electronic_receipt = "YES" if rng.random() < 0.85 else "NO"
    if rng.random() < 0.05:
        op.discount = Decimal(rng.choice((5, 10)))
    for item in rng.sample(world.sale_items, rng.choice((1, 1, 2, 2, 3, 4, 5))):
        unit = world.measure_units[item.measure_unit_id - 1]
        qty = (
            Decimal(rng.randint(150, 2500)) / 1000
            if unit.id == 2
            else Decimal(rng.choice((1, 1, 1, 2, 3)))
        )
        line_disc = Decimal(rng.choice((10, 15))) if rng.random() < 0.06 else Decimal(0)
        add_line(world, op, item, qty, line_disc)
    _pay_and_print(world, rng, op, at)
    return op


def add_line(
    world: ICashWorld,
    op: Operation,
    item: SaleItem,
    qty: Decimal,
    discount: Decimal,
    price: Decimal | None = None,
) -> OpLine:
    list_price = price if price is not None else item.price_in(op.store_id)
    factor = (1 - discount / _HUNDRED) * (1 - op.discount / _HUNDRED)
    line = OpLine(
        id=world.next_id("line"),
        sale_item_id=item.id,
        qty=q5(qty),
        list_price=list_price,
        discount=discount,
        price=q5(list_price * factor),
        rate=world.tax_rate(item.tax_group_id),
        unit=world.unit_name(item.measure_unit_id),
    )
    op.lines.append(line)
    return line


def _pay_and_print(world: ICashWorld, rng: random.Random, op: Operation, at: datetime) -> None:
    total = op.total
    if rng.random() < 0.08 and total > 2:  # split tender: part card, rest cash
        part = q2(total / 2)
        methods = [(2, part), (1, total - part)]
    else:
        methods = [(rng.choice((1, 1, 1, 2, 2, 5)), total)]
    for pay_type, amount in methods:
        op.payments.append(
            OpPayment(
                world.next_id("payment"),
                pay_type,
                amount,
                op.cash_register_id,
                op.create_user,
                at - timedelta(seconds=3),
            )
        )
    finalize(world, op, at, op.create_user)


def _return(world: ICashWorld, rng: random.Random, sale: Operation, at: datetime) -> None:
    if sale.receipt_num is None or at <= (sale.completed or at):
        return
    reg = world.register(sale.cash_register_id)
    op = _new_op(world, "ReturnClient", reg, at - timedelta(seconds=60))
    op.contragent_id = sale.contragent_id
    op.electronic_receipt = sale.electronic_receipt
    assert sale.completed is not None
    op.storno = Storno(
        type=rng.choice((0, 1, 1, 2)),
        rcp_num=sale.receipt_num,
        device_num=reg.device_num,
        bon_date=sale.completed.strftime("%d-%m-%y %H:%M"),
        uuid=sale.fisk_uuid,
    )
    op.sell_operation_id = sale.id
    items = {i.id: i for i in world.sale_items}
    for line in sale.live_lines()[: rng.randint(1, len(sale.live_lines()))]:
        back = OpLine(
            world.next_id("line"),
            line.sale_item_id,
            line.qty,
            line.list_price,
            line.discount,
            line.price,
            line.rate,
            line.unit,
        )
        op.lines.append(back)
        assert line.sale_item_id in items
    op.payments.append(
        OpPayment(
            world.next_id("payment"),
            1,
            op.total,
            op.cash_register_id,
            op.create_user,
            at - timedelta(seconds=3),
        )
    )
    finalize(world, op, at, op.create_user)


def _document(world: ICashWorld, rng: random.Random, op: Operation, kind: str, sub: str) -> None:
    items = {i.id: i for i in world.sale_items}
    assert op.contragent_id is not None
    lines = [
        DocumentLine(x.sale_item_id, items[x.sale_item_id].name, x.qty, x.price, x.rate)
        for x in op.live_lines()
    ]
    if sub == "DEBIT":
        lines = lines[:1]
    doc_id = world.next_id("document")
    at = (op.completed or op.created) + timedelta(minutes=rng.randint(1, 30))
    world.documents.append(
        Document(
            id=doc_id,
            type=kind,
            sub_type=sub,
            num=f"{(1 if kind == 'INVOICE' else 5) * 10**9 + doc_id:010d}",
            date=at.date(),
            store_id=op.store_id,
            contragent_id=op.contragent_id,
            operation_id=op.id,
            pay_type_id=op.payments[0].pay_type_id if op.payments else 1,
            bank_account_id=world.bank_accounts[0].id if kind == "PROFORMA" else None,
            created=at,
            lines=lines,
        )
    )
