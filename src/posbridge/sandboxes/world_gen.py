"""The machinery behind `world.generate_world` (private; world.py holds the schema).

Everything random comes from the one `random.Random` passed in, in a fixed order, so
a world is a pure function of (profile, seed, days, orders_per_day, end_date).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from posbridge.sandboxes import world as w
from posbridge.sandboxes.profiles import PAYMENT_KEYS, TRAFFIC, Profile

_ZERO = Decimal("0.00")
_QTYS = tuple(Decimal(q) for q in (1, 2, 3, 4, 5, 6))
_QTY_CUM = tuple(accumulate((70, 18, 7, 3, 1, 1)))
# One short table, kept on two lines (the formatter would spread it over thirty).
# fmt: off
_LATIN = ("a", "b", "v", "g", "d", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
          "s", "t", "u", "f", "h", "ts", "ch", "sh", "sht", "a", "y", "yu", "ya")
# fmt: on
_TRANSLIT = dict(zip("абвгдежзийклмнопрстуфхцчшщъьюя", _LATIN, strict=True))


def _ascii(text: str) -> str:
    """Lower-case ASCII for e-mail addresses and usernames (Cyrillic transliterated)."""
    text = "".join(_TRANSLIT.get(c, c) for c in text.lower())
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if c.isascii() and c.isalnum())


class Generator:
    """Builds the parts of a `World` from a profile and a seeded random source."""

    def __init__(self, profile: Profile, rng: Random, as_of: datetime) -> None:
        self.p = profile
        self.rng = rng
        self.as_of = as_of
        self.t = TRAFFIC[profile.traffic]
        self.hospitality = profile.traffic == "hospitality"
        self.tz = ZoneInfo(profile.timezone)

    # --- small helpers ----------------------------------------------------------------

    def _digits(self, n: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def _fill(self, pattern: str) -> str:
        return "".join(str(self.rng.randrange(10)) if c == "#" else c for c in pattern)

    def _ean13(self) -> str:
        body = self.p.barcode_prefix + self._digits(12 - len(self.p.barcode_prefix))
        odd_even = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
        return body + str((10 - odd_even % 10) % 10)

    def _secnr(self) -> str:
        """Belgian national register number: YYMMDD + serial + mod-97 check (2000+ gets '2')."""
        born = date(1962, 1, 1) + timedelta(days=self.rng.randrange(42 * 365))
        base = f"{born:%y%m%d}{self.rng.randint(1, 997):03d}"
        check = 97 - int(("2" if born.year >= 2000 else "") + base) % 97
        return f"{base}{check:02d}" if self.p.country == "BE" else self._digits(10)

    def _vat_number(self) -> str:
        if self.p.country == "BE":  # BE0 + 7 digits + mod-97 check of the first 8
            first8 = "0" + self._digits(7)
            return f"BE{first8}{97 - int(first8) % 97:02d}"
        return self._fill(self.p.vat_number_pattern)

    def _unix(self, local: datetime) -> int:
        return int(local.replace(tzinfo=self.tz).timestamp())

    def _modtime(self, oldest_days: int, newest_days: int = 1) -> int:
        back = timedelta(minutes=self.rng.randint(newest_days * 1440, oldest_days * 1440))
        return self._unix(self.as_of - back)

    # --- the parts ------------------------------------------------------------------------

    def build(self, first_day: date, days: int, orders_per_day: int) -> dict[str, Any]:
        """Every World field except the identity ones, generated in a fixed order."""
        parts: dict[str, Any] = {}
        parts.update(self._places())
        parts.update(self._catalog())
        parts["customers"] = self._customers()
        parts.update(self._sales(parts, first_day, days, orders_per_day))
        parts.update(self._paperwork(parts, first_day, days))
        return parts

    def _places(self) -> dict[str, Any]:
        p, rng = self.p, self.rng
        ests = [w.Establishment(i, n) for i, n in enumerate(p.establishments, 1)]
        devs = [w.Device(i, (i - 1) % len(ests) + 1, n) for i, n in enumerate(p.devices, 1)]
        names = rng.sample(p.first_names, min(self.t.users, len(p.first_names)))
        users = [
            w.User(
                i,
                _ascii(n),
                i <= (2 if self.t.users > 3 else 1),
                self._secnr(),
                (i - 1) % len(ests) + 1,
            )
            for i, n in enumerate(names, 1)
        ]
        numbers = [*range(1, 21), *range(101, 111)] if self.hospitality else []
        tables = [
            w.Table(i, n, rng.choices((0, 1, 2), (60, 30, 10))[0]) for i, n in enumerate(numbers, 1)
        ]
        pays = [
            w.PaymentType(i, k, n)
            for i, (k, n) in enumerate(zip(PAYMENT_KEYS, p.payment_names, strict=True), 1)
        ]
        return {
            "establishments": ests,
            "devices": devs,
            "users": users,
            "tables": tables,
            "printers": [w.Printer(i, n) for i, n in enumerate(p.printers, 1)],
            "payment_types": pays,
        }

    def _catalog(self) -> dict[str, Any]:
        p, rng = self.p, self.rng
        cats: dict[int, w.Category] = {}
        products: dict[int, w.Product] = {}
        self.weights: dict[int, float] = {}
        pid = 0
        for ci, spec in enumerate(p.categories, 1):
            cats[ci] = w.Category(ci, spec.name)
            for item in spec.items:
                name, price_text = item[0], item[1]
                vat_class = item[2] if len(item) > 2 else spec.vat_class
                pid += 2 if rng.random() < 0.05 else 1  # deleted products leave id gaps
                price = Decimal(price_text.lstrip("~"))
                drink = vat_class in ("alcohol", "drink")
                cost = w.money(price * spec.cost_ratio * rng.randint(85, 115) / 100)
                products[pid] = w.Product(
                    pid,
                    name,
                    ci,
                    price,
                    cost,
                    Decimal(rng.randint(0, 240 if drink else 60)),
                    p.rate(vat_class),
                    self._ean13(),
                    self._modtime(400, 2),
                    openprice=price_text.startswith("~"),
                )
                weight = rng.lognormvariate(0, 0.8) * (2.5 if drink and self.hospitality else 1)
                if price_text.startswith("~"):
                    weight *= 0.05
                self.weights[pid] = 0.0 if name == p.service_product else weight
        subs: dict[int, w.Subproduct] = {}
        self.links: dict[int, list[int]] = {}
        by_name = {prod.name: prod for prod in products.values()}
        for group in p.modifiers:
            linked = sorted(
                {by_name[n].id for n in group.products}
                | {
                    prod.id
                    for prod in products.values()
                    if cats[prod.category_id].name in group.categories
                }
            )
            for item in group.items:
                sid = len(subs) + 1
                subs[sid] = w.Subproduct(
                    sid,
                    item[0],
                    Decimal(item[1]),
                    p.rate(group.vat_class),
                    Decimal(rng.randint(0, 100)),
                    list(linked),
                    self._modtime(400, 2),
                    group.kind,
                )
                for prod_id in linked:
                    self.links.setdefault(prod_id, []).append(sid)
            for prod_id in linked:
                if group.kind == "menu":
                    products[prod_id].menupopup = True
                else:
                    products[prod_id].popup = True
        self.service = by_name[p.service_product] if p.service_product else None
        return {"categories": cats, "products": products, "subproducts": subs}

    def _customers(self) -> dict[int, w.Customer]:
        p, rng = self.p, self.rng
        count = 200
        companies = dict(
            zip(sorted(rng.sample(range(1, count + 1), len(p.companies))), p.companies, strict=True)
        )
        out: dict[int, w.Customer] = {}
        for cid in range(1, count + 1):
            first, last = rng.choice(p.first_names), rng.choice(p.last_names)
            company = companies.get(cid, "")
            zipcode, town = rng.choice(p.towns)
            handle = _ascii(company)[:18] if company else f"{_ascii(first)}.{_ascii(last)}"
            tag = rng.random() < 0.35
            rfid = tag and rng.random() < 0.4
            out[cid] = w.Customer(
                cid,
                "" if company else last,
                "" if company else first,
                company,
                f"{rng.choice(p.streets)} {rng.randint(1, 180)}",
                self._fill(p.phone_pattern),
                zipcode,
                town,
                self._vat_number() if company else "",
                f"{handle}{rng.randint(1, 99) if rng.random() < 0.3 else ''}"
                f"@{rng.choice(p.email_domains)}",
                (f"{rng.getrandbits(32):08X}" if rfid else "2" + self._digits(12)) if tag else "",
                ("rfid" if rfid else "barcode") if tag else "",
                rng.choice((0, 0, 1, 2, 3)) if tag else 0,
                self._modtime(700),
            )
        return out

    def _offset(self) -> float:
        """Minutes after the business-day start of one ticket (resampled into opening hours)."""
        rng, (lo, hi) = self.rng, self.t.window
        for _ in range(4):
            _, kind, a, b = rng.choices(self.t.mixture, cum_weights=self._mix_cum)[0]
            m = rng.gauss(a, b) if kind == "n" else rng.uniform(a, b)
            if lo <= m < hi:
                return m
        return min(max(m, lo), hi - 1)

    def _sales(
        self, parts: dict[str, Any], first_day: date, days: int, per_day: int
    ) -> dict[str, Any]:
        p, rng, t = self.p, self.rng, self.t
        self._mix_cum = tuple(accumulate(m[0] for m in t.mixture))
        ests: list[w.Establishment] = parts["establishments"]
        devs = {e.id: [d.id for d in parts["devices"] if d.establishment_id == e.id] for e in ests}
        staff = {
            e.id: [u.id for u in parts["users"] if u.establishment_id == e.id] or [1] for e in ests
        }
        est_cum = tuple(accumulate([62] + [38 // max(1, len(ests) - 1)] * (len(ests) - 1)))
        mean = sum(t.weekday) / 7
        ticket, dbid = rng.randint(10_000, 80_000), rng.randint(400_000, 600_000)
        z_id, clock_id = rng.randint(120, 480), rng.randint(1_000, 5_000)
        orders: list[w.Order] = []
        clocks: list[w.ClockEntry] = []
        zreports: list[w.ZReport] = []
        start = time(p.business_day_start_hour)
        period_start = datetime.combine(first_day, start)
        seller = _Seller(self, parts)
        for di in range(days):
            day0 = datetime.combine(first_day + timedelta(days=di), start)
            factor = t.weekday[day0.weekday()] / mean * rng.uniform(0.9, 1.1)
            offsets = sorted(self._offset() for _ in range(max(1, round(per_day * factor))))
            shifts, on_duty = [], {}
            for est in ests:
                crew = rng.sample(staff[est.id], min(len(staff[est.id]), len(t.shifts)))
                for si, (a, b) in enumerate(t.shifts):
                    on_duty[est.id, si] = crew[si % len(crew)]
                    cin = day0 + timedelta(minutes=a + rng.randint(-15, 10))
                    cout = day0 + timedelta(minutes=b + rng.randint(-10, 15))
                    shifts.append((cin, cout, est.id, on_duty[est.id, si], devs[est.id][0]))
            shifts.sort()
            first_ticket, day_orders, si = ticket, [], 0
            for off in offsets:
                when = day0 + timedelta(seconds=int(off * 60))
                while si < len(shifts) and shifts[si][0] <= when:
                    dbid += 1
                    clocks.append(
                        w.ClockEntry(
                            clock_id,
                            dbid,
                            shifts[si][3],
                            shifts[si][2],
                            shifts[si][4],
                            shifts[si][0],
                            shifts[si][1],
                        )
                    )
                    clock_id, si = clock_id + 1, si + 1
                est_id = rng.choices(ests, cum_weights=est_cum)[0].id
                shift = 0 if len(t.shifts) == 1 or off < t.shifts[0][1] else 1
                dbid += rng.randint(1, 3)
                order = seller.order(
                    dbid, ticket, est_id, rng.choice(devs[est_id]), on_duty[est_id, shift], when
                )
                day_orders.append(order)
                ticket += 1
            for cin, cout, est_id, user, dev in shifts[si:]:
                dbid += 1
                clocks.append(w.ClockEntry(clock_id, dbid, user, est_id, dev, cin, cout))
                clock_id += 1
            orders.extend(day_orders)
            net, gross = w.summarize(day_orders)
            if di < days - 1:
                close = min(
                    day_orders[-1].ordertime + timedelta(minutes=rng.randint(10, 40)),
                    day0 + timedelta(hours=24, minutes=-1),
                )
                zreports.append(
                    w.ZReport(
                        z_id,
                        period_start,
                        close,
                        first_ticket,
                        ticket - 1,
                        len(day_orders),
                        net,
                        gross,
                    )
                )
                z_id, period_start = z_id + 1, close
            else:
                xreport = w.XReport(z_id, period_start, first_ticket, len(day_orders), net, gross)
        return {"orders": orders, "clock_entries": clocks, "zreports": zreports, "xreport": xreport}

    def _paperwork(self, parts: dict[str, Any], first_day: date, days: int) -> dict[str, Any]:
        """Documents, vouchers, coupons, customer credits, reservations and web orders."""
        p, rng = self.p, self.rng
        products = [x for x in parts["products"].values() if not x.openprice]
        customers: dict[int, w.Customer] = parts["customers"]
        companies = [c.id for c in customers.values() if c.companyname] or list(customers)
        seq = {1: rng.randint(80, 400), 2: rng.randint(10, 60), 3: rng.randint(3, 20)}
        fmt = {1: "{y}/{n:04d}", 2: "OF{y}-{n:03d}", 3: "CN{y}-{n:03d}"}
        vatticket = rng.randint(100_000, 900_000)
        docs: list[w.Document] = []
        doc_id = rng.randint(500, 1500)
        for di in range(days):
            if len(docs) >= 3 and rng.random() > (0.15 if p.traffic == "vending" else 0.7):
                continue
            day = first_day + timedelta(days=di)
            # the first three are one of each type, so even a short world has all three
            doctype = len(docs) + 1 if len(docs) < 3 else rng.choices((1, 2, 3), (6, 3, 1))[0]
            lines = [
                w.DocumentLine(
                    Decimal(rng.choice((1, 1, 2, 4, 10, 25, 40))), x.name, x.price, x.vat
                )
                for x in rng.sample(products, rng.randint(1, 5))
            ]
            total = sum((w.money(li.quantity * li.price) for li in lines), Decimal(0))
            expires = day + timedelta(days={1: 30, 2: 14, 3: 0}[doctype])
            note = f"PO {rng.randint(4_500_000, 4_599_999)}" if rng.random() < 0.3 else ""
            docs.append(
                w.Document(
                    doc_id,
                    doctype,
                    fmt[doctype].format(y=day.year, n=seq[doctype]),
                    rng.choice(companies) if rng.random() < 0.85 else None,
                    day,
                    expires,
                    note,
                    lines,
                    total,
                    doctype == 1 and rng.random() < 0.25,
                    f"NS{vatticket:08d}",
                )
            )
            doc_id, seq[doctype], vatticket = doc_id + 1, seq[doctype] + 1, vatticket + 1

        def valid_window(length: int) -> tuple[date, date]:
            start = self.as_of.date() - timedelta(days=rng.randint(1, 330))
            return start, start + timedelta(days=length)

        vouchers = []
        for i in range(1, 31):
            frm, until = valid_window(365)
            sold = datetime.combine(frm, time(10)) + timedelta(minutes=rng.randint(0, 600))
            vouchers.append(
                w.GiftVoucher(
                    i,
                    "99" + self._digits(11),
                    Decimal(rng.choice((25, 50, 75, 100, 150))),
                    frm,
                    until,
                    rng.choice((1, 1, 2)),
                    self._unix(sold),
                )
            )
        coupons = []
        for i in range(1, 41):
            frm, until = valid_window(90)
            kind = 1 if rng.random() < 0.6 else 2
            face = rng.choice((5, 10, 15)) if kind == 1 else rng.choice((10, 15, 20, 25))
            coupons.append(
                w.Coupon(
                    i,
                    "98" + self._digits(11),
                    Decimal(face).quantize(w.CENT),
                    kind,
                    frm,
                    until,
                    rng.random() < 0.3,
                )
            )
        credits: list[w.CustomerCredit] = []
        tagged = [c.id for c in customers.values() if c.tag_id] or list(customers)
        cat_ids = list(parts["categories"])
        for cid in sorted(rng.sample(tagged, min(25, len(tagged)))):
            for _ in range(rng.randint(1, 4)):
                top_up = not credits or credits[-1].customer_id != cid or rng.random() < 0.6
                value = (
                    Decimal(rng.choice((10, 20, 25, 50)))
                    if top_up
                    else -Decimal(rng.randint(350, 3000)) / 100
                ).quantize(w.CENT)
                roll = rng.random()
                credits.append(
                    w.CustomerCredit(
                        len(credits) + 1,
                        cid,
                        value,
                        rng.choice(products).id if roll < 0.1 else None,
                        rng.choice(cat_ids) if 0.1 <= roll < 0.2 else None,
                        rng.choice((1, 2)),
                    )
                )
        return {
            "documents": docs,
            "gift_vouchers": vouchers,
            "coupons": coupons,
            "customer_credits": credits,
            "next_vatticket": vatticket,
            **self._bookings(parts, first_day, days, products),
        }

    def _bookings(
        self, parts: dict[str, Any], first_day: date, days: int, products: list[w.Product]
    ) -> dict[str, Any]:
        """Reservations (upcoming fortnight) and web orders (hospitality only)."""
        p, rng = self.p, self.rng
        slots = {
            f"{h:02d}:{m:02d}": (24 if h < 15 else 32)
            for h in (12, 13, 18, 19, 20, 21)
            for m in (0, 30)
            if (h, m) != (21, 30)
        }
        if not p.reservations:
            return {
                "reservation_slots": {},
                "reservation_max_persons": 0,
                "reservations": [],
                "weborders": {},
            }
        reservations: list[w.Reservation] = []
        for d in range(14):
            day = self.as_of.date() + timedelta(days=d)
            booked: dict[str, int] = {}
            for _ in range(rng.randint(3, 10)):
                hour, persons = rng.choice(list(slots)), rng.choice((2, 2, 2, 3, 4, 4, 5, 6, 8))
                if booked.get(hour, 0) + persons <= slots[hour]:
                    booked[hour] = booked.get(hour, 0) + persons
                    reservations.append(
                        w.Reservation(
                            len(reservations) + 1,
                            day,
                            hour,
                            persons,
                            rng.choice(p.last_names),
                            self._fill(p.phone_pattern),
                            rng.random() < 0.9,
                        )
                    )
        weborders: dict[int, w.WebOrder] = {}
        customer_ids = list(parts["customers"])
        for di in range(days):
            day0 = datetime.combine(first_day + timedelta(days=di), time(11))
            for _ in range(rng.randint(1 if di == days - 1 else 0, 3)):
                created = day0 + timedelta(minutes=rng.choice((30, 60, 90, 420, 450, 480, 510)))
                auto, planned = rng.random() < 0.5, rng.random() < 0.2
                when = created + timedelta(hours=rng.randint(1, 3)) if planned else None
                lines = []
                for x in rng.sample(products, rng.randint(1, 3)):
                    subs = tuple(
                        w.SubLine(s, parts["subproducts"][s].price, parts["subproducts"][s].vat)
                        for s in self.links.get(x.id, [])[: rng.randint(0, 1)]
                    )
                    lines.append(w.WebOrderLine(x.id, x.price, x.vat, subs))
                open_ = di == days - 1 and not auto
                wid = len(weborders) + 1
                weborders[wid] = w.WebOrder(
                    wid,
                    rng.choice(customer_ids),
                    rng.choice((0, 0, 1, 2)),
                    rng.random() < 0.6,
                    _ZERO,
                    auto,
                    when,
                    "",
                    lines,
                    created,
                    None if open_ else (when or created + timedelta(minutes=20)),
                )
        pending = weborders[max(weborders)]  # the newest one still waits for the merchant
        pending.autoconfirmation, pending.confirmed_at = False, None
        return {
            "reservation_slots": slots,
            "reservation_max_persons": 12,
            "reservations": reservations,
            "weborders": weborders,
        }


class _Seller:
    """Builds single tickets; precomputes the weighted choices the hot loop needs."""

    def __init__(self, gen: Generator, parts: dict[str, Any]) -> None:
        self.g, self.rng, self.p = gen, gen.rng, gen.p
        self.products: dict[int, w.Product] = parts["products"]
        self.subs: dict[int, w.Subproduct] = parts["subproducts"]
        self.ids = list(gen.weights)
        self.cum = tuple(accumulate(gen.weights[i] for i in self.ids))
        self.line_cum = tuple(accumulate(gen.t.lines))
        self.pay_cum = tuple(accumulate(self.p.payment_mix))
        self.splittable = sum(1 for m in self.p.payment_mix if m) >= 2
        self.customers = list(parts["customers"])
        self.tagged = [c.id for c in parts["customers"].values() if c.tag_id] or self.customers

    def order(
        self, dbid: int, ticket: int, est: int, dev: int, user: int, when: datetime
    ) -> w.Order:
        rng, p = self.rng, self.p
        is_return = rng.random() < p.return_share
        n = 1 if is_return else rng.choices(range(1, 7), cum_weights=self.line_cum)[0]
        lines = []
        for pid in rng.choices(self.ids, cum_weights=self.cum, k=n):
            prod = self.products[pid]
            qty = rng.choices(_QTYS, cum_weights=_QTY_CUM)[0]
            price = prod.price
            if prod.openprice:
                price = w.money(price * rng.randint(4, 20) / 10)
            subs: tuple[w.SubLine, ...] = ()
            linked = self.g.links.get(pid)
            if linked:
                k = 2 if prod.menupopup else rng.choices((0, 1, 2, 3), (25, 35, 25, 15))[0]
                subs = tuple(
                    w.SubLine(s, self.subs[s].price, self.subs[s].vat)
                    for s in rng.sample(linked, min(k, len(linked)))
                )
            lines.append(w.OrderLine(-qty if is_return else qty, pid, price, prod.vat, subs))
        if self.g.service is not None:  # e.g. Ecuador's 10 % service on the net amount
            net = sum((line.net for line in lines), Decimal(0))
            charge = abs(w.money(net * p.service_charge / 100))
            lines.append(
                w.OrderLine(
                    Decimal(-1 if is_return else 1), self.g.service.id, charge, self.g.service.vat
                )
            )
        total = sum((line.gross for line in lines), Decimal(0))
        method = rng.choices(PAYMENT_KEYS, cum_weights=self.pay_cum)[0]
        payments = {method: total}
        if not is_return and self.splittable and total >= 5 and rng.random() < p.split_share:
            other = method
            while other == method:
                other = rng.choices(PAYMENT_KEYS, cum_weights=self.pay_cum)[0]
            part = Decimal(rng.randint(1, int(total) - 1)).quantize(w.CENT)
            payments = {method: part, other: total - part}
        customer = rng.choice(self.customers) if rng.random() < 0.05 else None
        if customer is None and "chargecard" in payments:
            customer = rng.choice(self.tagged)  # a top-up card belongs to a customer
        return w.Order(dbid, ticket, customer, est, dev, user, when, tuple(lines), payments, total)
