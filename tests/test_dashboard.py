"""The dashboard in a real headless browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from posbridge.api import create_app
from posbridge.demo import demo_sandboxes, run_demo
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.repo import Store
from posbridge.testing import world_differences

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _store_totals(store: Store) -> dict[str, Decimal]:
    """Σ order totals per currency, straight from the orders table (not the rollups)."""
    out: dict[str, Decimal] = {}
    for record in store.records("order"):
        currency = record.record.currency  # type: ignore[attr-defined]
        out[currency] = out.get(currency, Decimal(0)) + record.record.total_gross  # type: ignore[attr-defined]
    return out


def test_dashboard_after_a_demo_sync_equals_the_api_and_the_worlds(
    db_url: str, tmp_path: Path
) -> None:
    """After a demo sync of every vendor, the dashboard's totals per currency equal the API
    report and the store, which equals every sandbox world; health, heat map, completeness,
    the order detail and a quarantine replay all show."""
    from playwright.sync_api import sync_playwright

    from posbridge.store.crypto import Vault

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: scripts/test.sh installs Debian's chromium")
    store = Store.open(db_url, Vault(b"d" * 32))
    with demo_sandboxes(days=3, orders_per_day=20) as endpoints:
        cloudpos = endpoints["cloudpos"].sandbox.state
        bad_ticket = cloudpos.world.orders[3].ticket
        cloudpos.faults.update(malformed_orders={bad_ticket}, malformed_kind="missing_field")
        run_demo(store, endpoints)
        for vendor, endpoint in endpoints.items():
            row = store.get_connection(f"demo-{vendor}")
            skip = {"skip_tickets": {bad_ticket}} if vendor == "cloudpos" else {}
            assert (
                world_differences(
                    store, row.id, endpoint.sandbox.state.world, vendor=vendor, **skip
                )
                == []
            )
        account = create_account(store, "A", locale="nl-BE")
        for vendor in endpoints:
            assign_connection(store, f"demo-{vendor}", account)
        key = create_api_key(store, account)
        truth = _store_totals(store)
        with SandboxServer(create_app(store)) as api:
            report = httpx.get(
                api.url + "/v1/reports/revenue", headers={"Authorization": f"Bearer {key}"}
            ).json()["data"]
            api_totals: dict[str, Decimal] = {}
            for r in report:
                api_totals[r["currency"]] = api_totals.get(r["currency"], Decimal(0)) + Decimal(
                    r["gross"]
                )
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(api.url + "/")
                page.fill("#key", key)
                page.click("#login button")
                page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                shown = {
                    el.get_attribute("data-currency"): Decimal(
                        el.get_attribute("data-gross") or "0"
                    )
                    for el in page.query_selector_all("#totals div")
                }
                locale = page.input_value("#locale")
                heat_cells = page.locator("#heatmap td[title]").count()
                verified = page.text_content("#verified-summary") or ""
                health = page.text_content("#connections") or ""
                rows = page.locator("#orders tr").count()
                page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
                page.locator("#orders tr").nth(1).click()
                page.wait_for_selector("#order-detail:not([hidden])")
                lines = page.locator("#order-lines tr").count()
                raw = page.text_content("#order-raw") or ""
                page.click("#connections button[data-connection]:not([disabled])")
                page.wait_for_function(
                    "document.getElementById('replay-status').textContent.length > 0"
                )
                replayed = page.text_content("#replay-status") or ""
                browser.close()
    assert shown == api_totals == truth
    assert len(shown) >= 2  # several vendors, several currencies
    assert locale == "nl-BE"
    assert heat_cells == 7 * 24
    assert "verified" in verified
    assert all(f"demo-{v}" in health for v in endpoints)
    assert rows > 1
    assert lines > 1
    assert '"raw"' in raw
    assert "0 fixed, 1 still failing" in replayed
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    store.close()


def test_dashboard_refuses_a_wrong_key(sqlite_url: str) -> None:
    """A wrong key shows the API's 401 message and no data."""
    from playwright.sync_api import sync_playwright

    from posbridge.store.crypto import Vault

    store = Store.open(sqlite_url, Vault(b"d" * 32))
    with SandboxServer(create_app(store)) as api, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page()
        page.goto(api.url + "/")
        page.fill("#key", "pbk_wrong")
        page.click("#login button")
        page.wait_for_function("document.getElementById('error').textContent.length > 0")
        assert "API key" in (page.text_content("#error") or "")
        browser.close()
    store.close()
