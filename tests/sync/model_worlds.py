"""World mutations of each vendor sandbox, as the merchant's day makes them, for the model test.

Each vendor names the changes its sync promises to pick up: new sales after the last one,
catalogue and customer edits, deletions from the full lists (soft-deleted in the store),
and for AvaPOS a late tip on a recent invoice (inside the re-read overlap). A mutation runs
under the sandbox lock, returns the (object type, source id) it removed from the vendor, if
any, and moves the frozen sandbox clock forward so new sales come after the last sync.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from posbridge.sandboxes.avapos_world import CONSUMIDOR_FINAL
from posbridge.sandboxes.cloudpos_reads import OrderIndex
from posbridge.sandboxes.icash_gen import sale

#: (object type, source id) a deletion removed from the vendor, or None
Removed = tuple[str, str] | None
Mutation = Callable[[Any, random.Random], Removed]


@dataclass(frozen=True)
class VendorModel:
    """What the model test needs to know of one vendor."""

    vendor: str
    mutations: dict[str, Mutation]
    world: dict[str, int] = field(default_factory=lambda: {"days": 2, "orders_per_day": 20})
    settings: dict[str, Any] = field(default_factory=dict)


# --- CloudPOS ----------------------------------------------------------------------------


def _cloudpos_new_orders(state: Any, rng: random.Random) -> Removed:
    world = state.world
    state.clock.advance(rng.randint(60, 3600))
    now = state.clock.local().replace(microsecond=0)
    dbid = max([o.dbid for o in world.orders] + [c.dbid for c in world.clock_entries]) + 1
    for n in range(rng.randint(1, 3)):
        model = rng.choice(world.orders)
        world.orders.append(
            dataclasses.replace(
                model, dbid=dbid + n, ticket=world.orders[-1].ticket + 1, ordertime=now
            )
        )
    state.orders = OrderIndex(world.orders)
    return None


def _cloudpos_edit_product(state: Any, rng: random.Random) -> Removed:
    product = rng.choice(list(state.world.products.values()))
    product.name = f"{product.name[:40]} v{rng.randint(2, 99)}"
    product.price += Decimal("0.10")
    product.modtime = state.clock.unix()
    return None


def _cloudpos_new_product(state: Any, rng: random.Random) -> Removed:
    products = state.world.products
    new = dataclasses.replace(rng.choice(list(products.values())), id=max(products) + 1)
    new.name, new.modtime = f"Nieuw {new.id}", state.clock.unix()
    products[new.id] = new
    return None


def _cloudpos_delete_product(state: Any, rng: random.Random) -> Removed:
    pid = rng.choice(sorted(state.world.products))
    del state.world.products[pid]
    return ("product", str(pid))


def _cloudpos_edit_customer(state: Any, rng: random.Random) -> Removed:
    customer = rng.choice(list(state.world.customers.values()))
    customer.email = f"klant{rng.randint(1, 10**6)}@example.be"
    customer.modtime = state.clock.unix()
    return None


def _cloudpos_delete_customer(state: Any, rng: random.Random) -> Removed:
    cid = rng.choice(sorted(state.world.customers))
    del state.world.customers[cid]
    return ("customer", str(cid))


def _cloudpos_z_report(state: Any, rng: random.Random) -> Removed:
    state.clock.advance(rng.randint(60, 600))
    state.take_z_report()
    return None


CLOUDPOS = VendorModel(
    "cloudpos",
    {
        "new_orders": _cloudpos_new_orders,
        "edit_product": _cloudpos_edit_product,
        "new_product": _cloudpos_new_product,
        "delete_product": _cloudpos_delete_product,
        "edit_customer": _cloudpos_edit_customer,
        "delete_customer": _cloudpos_delete_customer,
        "z_report": _cloudpos_z_report,
    },
    settings={"page_size": 20, "lookback": 5},
)


# --- iCash ---------------------------------------------------------------------------------


def _icash_new_sale(state: Any, rng: random.Random) -> Removed:
    state.clock.advance(rng.randint(60, 3600))
    op = sale(state.world, rng, rng.choice(state.world.registers), state.now(), None)
    state.operations[op.id] = op
    return None


def _icash_edit_item(state: Any, rng: random.Random) -> Removed:
    item = rng.choice(state.world.sale_items)
    item.name = f"{item.name[:40]} v{rng.randint(2, 99)}"
    return None


def _icash_delete_item(state: Any, rng: random.Random) -> Removed:
    item = rng.choice(state.world.sale_items)
    state.world.sale_items.remove(item)
    return ("product", str(item.id))


def _icash_edit_contragent(state: Any, rng: random.Random) -> Removed:
    party = rng.choice(state.world.contragents)
    party.name = f"{party.name[:40]} {rng.randint(2, 99)}"
    return None


def _icash_delete_contragent(state: Any, rng: random.Random) -> Removed:
    world = state.world
    used = {d.contragent_id for d in world.documents} | {o.contragent_id for o in world.operations}
    party = rng.choice([c for c in world.contragents if c.id not in used] or world.contragents)
    world.contragents.remove(party)
    return ("customer", str(party.id) if party.type == "CLIENT" else f"supplier:{party.id}")


ICASH = VendorModel(
    "icash",
    {
        "new_sale": _icash_new_sale,
        "edit_item": _icash_edit_item,
        "delete_item": _icash_delete_item,
        "edit_contragent": _icash_edit_contragent,
        "delete_contragent": _icash_delete_contragent,
    },
)


# --- AvaPOS --------------------------------------------------------------------------------


def _avapos_new_factura(state: Any, rng: random.Random) -> Removed:
    world = state.world
    state.clock.advance(rng.randint(60, 3600))
    model = rng.choice(world.facturas)
    same_till = [
        int(f.numerofactura)
        for f in world.facturas
        if (f.establecimiento, f.caja) == (model.establecimiento, model.caja)
    ]
    world.facturas.append(
        dataclasses.replace(
            model,
            id=world.next_factura_id,
            fecha=state.clock.now().replace(microsecond=0),
            numerofactura=f"{max(same_till) + 1:09d}",
            pagos=list(model.pagos),
        )
    )
    world.next_factura_id += 1
    return None


def _avapos_late_tip(state: Any, rng: random.Random) -> Removed:
    """A tip added to the latest invoice: inside the overlap the next sync re-reads."""
    factura = state.world.facturas[-1]
    amount = Decimal(rng.randint(1, 5))
    factura.propina += amount
    factura.total += amount
    last = factura.pagos[-1]
    factura.pagos[-1] = dataclasses.replace(last, valor=last.valor + amount)
    return None


def _avapos_edit_producto(state: Any, rng: random.Random) -> Removed:
    producto = rng.choice(list(state.world.productos.values()))
    producto.precio += Decimal("0.2500")
    producto.nombre = f"{producto.nombre[:40]} v{rng.randint(2, 99)}"
    return None


def _avapos_delete_producto(state: Any, rng: random.Random) -> Removed:
    """A dish taken off the menu; stocked goods keep their physical count, so stay."""
    stocked = {pid for _est, pid in state.world.fisico}
    candidates = sorted(set(state.world.productos) - stocked)
    if not candidates:
        return None
    pid = rng.choice(candidates)
    del state.world.productos[pid]
    return ("product", str(pid))


def _avapos_edit_cliente(state: Any, rng: random.Random) -> Removed:
    cliente = state.world.clientes[rng.choice(sorted(state.world.clientes))]
    cliente.email = f"cliente{rng.randint(1, 10**6)}@example.ec"
    return None


def _avapos_delete_cliente(state: Any, rng: random.Random) -> Removed:
    ced = rng.choice(sorted(set(state.world.clientes) - {CONSUMIDOR_FINAL}))
    del state.world.clientes[ced]
    return ("customer", ced)


AVAPOS = VendorModel(
    "avapos",
    {
        "new_factura": _avapos_new_factura,
        "late_tip": _avapos_late_tip,
        "edit_producto": _avapos_edit_producto,
        "delete_producto": _avapos_delete_producto,
        "edit_cliente": _avapos_edit_cliente,
        "delete_cliente": _avapos_delete_cliente,
    },
    settings={"history_days": 40, "window_days": 7},
)

MODELS = {m.vendor: m for m in (CLOUDPOS, ICASH, AVAPOS)}
