"""docs/connectors.md is generated from the code and must never go stale."""

from __future__ import annotations

from posbridge.connectors.docs import DOC_PATH, render


def test_connectors_doc_is_current() -> None:
    """The committed doc equals what the registry and field maps render (else: regenerate it)."""
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/connectors.md is stale: run `python -m posbridge.connectors.docs --write`"
    )


def test_doc_lists_every_declared_field() -> None:
    """Every declared CloudPOS vendor field appears in the generated field map."""
    from posbridge.connectors.cloudpos.fields import FIELD_MAP

    text = render()
    for _source, fields in FIELD_MAP.values():
        for field in fields:
            assert f"`{field.vendor}`" in text
