"""SmartNow list conventions over HTTP: each `where` operator, paging, sorting, useArchive,
bracket arrays and the 400s for bad input (one implementation serves every list)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.smartnow import create_sandbox

Row = dict[str, Any]


@pytest.fixture(scope="module")
def lists() -> Iterator[tuple[Sandbox, httpx.Client]]:
    box = create_sandbox(seed=7, days=20, orders_per_day=6, archive_days=7)
    with SandboxServer(box.app) as srv, httpx.Client(base_url=srv.url) as client:
        token = client.post("/auth/login", json=box.credentials).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield box, client


def _get(lists: tuple[Sandbox, httpx.Client], path: str, params: Any) -> Any:
    response = lists[1].get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _all(lists: tuple[Sandbox, httpx.Client], model: str) -> list[Row]:
    return list(lists[0].state.world.tables[model].values())


MID = 3
OPERATORS: list[tuple[str, str, Any, Callable[[Row, Any], bool]]] = [
    ("price", "<", 200, lambda r, v: r["price"] < v),
    ("price", "<=", 200, lambda r, v: r["price"] <= v),
    ("price", ">", 200, lambda r, v: r["price"] > v),
    ("price", ">=", 200, lambda r, v: r["price"] >= v),
    ("machine", "!=", 80, lambda r, v: r["machine"] != v),
    ("name", "contains", "cola", lambda r, v: v in r["name"].lower()),
    ("name", "startsWith", "Koffie", lambda r, v: r["name"].startswith(v)),
    ("name", "endsWith", "50cl", lambda r, v: r["name"].endswith(v)),
]


@pytest.mark.parametrize(("col", "op", "value", "keep"), OPERATORS, ids=[o[1] for o in OPERATORS])
def test_each_comparison_operator(lists: Any, col: str, op: str, value: Any, keep: Any) -> None:
    """`where[col][op]=value` keeps exactly the matching rows (archive included)."""
    got = _get(
        lists,
        "/revenuetransaction",
        {f"where[{col}][{op}]": value, "useArchive": "true", "limit": 100},
    )
    want = [r["id"] for r in _all(lists, "revenuetransaction") if keep(r, value)][:100]
    assert want, "the world must have matching rows for the test to mean something"
    assert [r["id"] for r in got] == want


@pytest.mark.parametrize("op", ["in", "nin"])
def test_in_and_nin_with_bracket_arrays_and_comma_lists(lists: Any, op: str) -> None:
    """`where[col][in][]=a&…[]=b` and `where[col][in]=a,b` select the same rows."""
    brackets = _get(
        lists,
        "/paymenttransaction",
        [
            (f"where[method][{op}][]", "cash"),
            (f"where[method][{op}][]", "token"),
            ("useArchive", "true"),
        ],
    )
    commas = _get(
        lists, "/paymenttransaction", {f"where[method][{op}]": "cash,token", "useArchive": "true"}
    )
    assert brackets == commas
    inside = {r["method"] in ("cash", "token") for r in brackets}
    assert inside == {op == "in"}


def test_equality_and_combined_filters(lists: Any) -> None:
    """`where[col]=v` is equality; several filters are ANDed."""
    got = _get(
        lists,
        "/revenuetransaction",
        {"where[machine]": 81, "where[price][>=]": 250, "useArchive": "true"},
    )
    assert got
    assert all(r["machine"] == 81 and r["price"] >= 250 for r in got)


def test_limit_and_skip_page_through_without_gaps_or_overlap(lists: Any) -> None:
    """Pages of `limit` with increasing `skip` concatenate to the whole ordered list."""
    everything = [r["id"] for r in _all(lists, "revenuetransaction")]
    pages, skip = [], 0
    while True:
        page = _get(lists, "/revenuetransaction", {"limit": 25, "skip": skip, "useArchive": "true"})
        pages += [r["id"] for r in page]
        if len(page) < 25:
            break
        skip += 25
    assert pages == everything
    assert len(_get(lists, "/revenuetransaction", {"useArchive": "true"})) == 100  # default limit


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [("price DESC", "price", True), ("price ASC", "price", False), ("name", "name", False)],
)
def test_sorting(lists: Any, sort: str, key: str, reverse: bool) -> None:
    """`sort=col [ASC|DESC]` orders the rows (ties keep id order)."""
    got = _get(lists, "/revenuetransaction", {"sort": sort, "useArchive": "true"})
    values = [r[key] for r in got]
    assert values == sorted(values, reverse=reverse)


def test_sort_by_two_columns(lists: Any) -> None:
    """`sort=machine ASC,id DESC`: machines ascending, newest first within each."""
    got = _get(lists, "/revenuetransaction", {"sort": "machine ASC,id DESC", "useArchive": "true"})
    keys = [(r["machine"], -r["id"]) for r in got]
    assert keys == sorted(keys)


def test_use_archive_returns_older_rows_only_when_true(lists: Any) -> None:
    """Without `useArchive=true` only the last `archive_days` are served."""
    world = lists[0].state.world
    recent = _get(lists, "/log", {"limit": 100})
    everything = _get(lists, "/log", {"limit": 100, "useArchive": "true"})
    cutoff = world.archive_cutoff()
    assert recent
    assert all(r["timestamp"] >= cutoff - 5 for r in recent)
    assert any(r["timestamp"] < cutoff - 5 for r in everything)
    assert everything[0]["id"] < recent[0]["id"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"limit": "many"},
        {"skip": -1},
        {"sort": "price SIDEWAYS"},
        {"sort": "colour"},
        {"where[colour]": "red"},
        {"where[price][~]": 3},
        {"where[price][>]": "cheap"},
        {"where[price][contains]": "1"},
        {"useArchive": "maybe"},
        {"wherever": 1, "where[price": 1},
    ],
)
def test_bad_list_input_is_400_with_a_message(lists: Any, params: dict[str, Any]) -> None:
    """Every malformed convention answers 400 `{message}`."""
    response = lists[1].get("/revenuetransaction", params=params)
    assert response.status_code == 400
    assert response.json()["message"]


def test_bracket_array_filters_of_summaries(lists: Any) -> None:
    """`locations[]=1&locations[]=2` restricts a summary to those locations."""
    world = lists[0].state.world
    got = _get(
        lists,
        "/revenuetransaction/summary",
        [
            ("startDate", "2026-01-01"),
            ("endDate", "2026-12-31"),
            ("locations[]", 1),
            ("locations[]", 2),
        ],
    )
    total = sum(v["value"] for v in got["EUR"])
    want = sum(
        r["price"] for r in world.tables["revenuetransaction"].values() if r["location"] in (1, 2)
    )
    assert total == want
    assert (
        lists[1]
        .get(
            "/revenuetransaction/summary",
            params={"startDate": "2026-01-01", "endDate": "2026-12-31", "locations[]": "x"},
        )
        .status_code
        == 400
    )
