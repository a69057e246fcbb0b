"""The dashboard in a real headless browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from posbridge.api import create_app
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine

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


def test_dashboard_totals_equal_the_api_and_the_world(sqlite_url: str, tmp_path: Path) -> None:
    """After a sync the dashboard shows the same gross total as the API report and the world."""
    from playwright.sync_api import sync_playwright

    from posbridge.store.crypto import Vault

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: scripts/test.sh installs Debian's chromium")
    store = Store.open(sqlite_url, Vault(b"d" * 32))
    box = create_sandbox(seed=14, days=3, orders_per_day=30)
    with SandboxServer(box.app) as vendor:
        store.add_connection("shop", "cloudpos", vendor.url + box.base_path, box.credentials)
        assert SyncEngine(store).run("shop").ok
    account = create_account(store, "A")
    assign_connection(store, "shop", account)
    key = create_api_key(store, account)
    world_total = sum((o.total for o in box.state.world.orders), Decimal(0))
    with SandboxServer(create_app(store)) as api:
        report = httpx.get(
            api.url + "/v1/reports/revenue", headers={"Authorization": f"Bearer {key}"}
        ).json()["data"]
        api_total = sum(Decimal(r["gross"]) for r in report)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(api.url + "/")
            page.fill("#key", key)
            page.click("#login button")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            shown = page.get_attribute("#totals div[data-currency='EUR']", "data-gross")
            rows = page.locator("#orders tr").count()
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            page.locator("#orders tr").nth(1).click()
            page.wait_for_selector("#order-detail:not([hidden])")
            detail = page.text_content("#order-detail") or ""
            browser.close()
    assert Decimal(shown or "0") == api_total == world_total
    assert rows > 1
    assert '"raw"' in detail
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
