"""CloudPOS sandbox: request fields, value formats and the JSON envelope.

Everything here follows docs/cloudpos-wire.md: query and body both carry fields; bodies
come as forms (urlencoded or multipart), a JSON object, JSON strings inside form
fields or PHP-style `name[0][key]` fields; money is a 2-decimal string, quantities and
VAT percents are strings, datetimes are local `YYYY-MM-DD HH:MM:SS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from posbridge.sandboxes.world import money

__all__ = [
    "ArrayError",
    "Fail",
    "Fields",
    "error",
    "fmt_date",
    "fmt_dt",
    "fmt_money",
    "fmt_qty",
    "fmt_rate",
    "ok",
    "ok_list",
    "parse_request",
]

_encode = msgspec.json.Encoder().encode
_json = msgspec.json.Decoder(float_hook=Decimal)
_PHP_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")


class Fail(Exception):
    """A documented CloudPOS error answer: `{"success":0,"errorcode":N,"message":...}`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


class ArrayError(ValueError):
    """An array field is present but is not a JSON/PHP array."""


def ok(**fields: Any) -> bytes:
    """A success answer with the documented fields beside `"success": 1`."""
    return _encode({"success": 1, **fields})


def ok_list(records: list[dict[str, Any]]) -> bytes:
    return _encode({"success": 1, "data": records})


def error(code: int, message: str) -> bytes:
    return _encode({"success": 0, "errorcode": code, "message": message})


def fmt_money(value: Decimal) -> str:
    return f"{money(value):.2f}"


def fmt_qty(value: Decimal) -> str:
    """`"2"`, `"-1"`, or three decimals for fractional quantities (`"0.500"`)."""
    return str(int(value)) if value == value.to_integral_value() else f"{value:.3f}"


def fmt_rate(value: Decimal) -> str:
    """VAT percent without trailing zeros: `"21"`, `"5.5"`, `"0"`."""
    return format(value.normalize(), "f") if value else "0"


def fmt_dt(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def fmt_date(value: date) -> str:
    return value.isoformat()


class Fields:
    """Request fields (query + body) with the vendor's notion of "empty".

    Empty means missing or blank; `"0"` is a value. Typed getters return None for
    empty *or* unparseable values, which is how the functions treat both.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def has(self, key: str) -> bool:
        return key in self.data

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, (list, dict)):
            return None
        if isinstance(value, bool):
            return "1" if value else "0"
        text = str(value).strip()
        return text or None

    def integer(self, key: str) -> int | None:
        text = self.text(key)
        if text is None or not re.fullmatch(r"-?\d+", text):
            return None
        return int(text)

    def number(self, key: str) -> Decimal | None:
        text = self.text(key)
        if text is None:
            return None
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation:
            return None
        return value if value.is_finite() else None

    def day(self, key: str) -> date | None:
        text = self.text(key)
        try:
            return date.fromisoformat(text) if text and len(text) == 10 else None
        except ValueError:
            return None

    def moment(self, key: str) -> datetime | None:
        text = self.text(key)
        try:
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S") if text else None
        except ValueError:
            return None

    def array(self, key: str) -> list[Any] | None:
        """A list field (JSON, JSON string or PHP-style); None when empty.

        Raises ArrayError when the field is present but not an array.
        """
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            try:
                value = _json.decode(value)
            except msgspec.DecodeError:
                raise ArrayError(key) from None
        if not isinstance(value, list):
            raise ArrayError(key)
        return value


def parse_request(query: str, body: bytes, content_type: str) -> tuple[list[str], dict[str, Any]]:
    """(names given in the query, merged fields); body fields override query fields."""
    pairs = parse_qsl(query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    fields: dict[str, Any] = {}
    for name, value in pairs:
        _assign(fields, name, value)
    if body:
        for name, value in _body_items(body, content_type.lower()):
            _assign(fields, name, value)
    return names, {name: _listify(value) for name, value in fields.items()}


def _body_items(body: bytes, content_type: str) -> list[tuple[str, Any]]:
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        items: list[tuple[str, Any]] = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                items.append((name, payload.decode("utf-8", "replace")))
        return items
    stripped = body.lstrip()
    if content_type.startswith("application/json") or stripped[:1] == b"{":
        try:
            data = _json.decode(body)
        except msgspec.DecodeError:
            return []
        return list(data.items()) if isinstance(data, dict) else []
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _assign(fields: dict[str, Any], name: str, value: Any) -> None:
    """Store `value`, unfolding PHP-style `a[0][k]` names into nested dicts."""
    match = _PHP_KEY.match(name)
    if not match:
        fields[name] = value
        return
    keys = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
    node = fields
    for i, key in enumerate(keys[:-1]):
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        if keys[i + 1] == "":  # `a[]`: the next key is "append"
            keys[i + 1] = str(len(child))
        node = child
    node[keys[-1]] = value


def _listify(value: Any) -> Any:
    """Turn dicts keyed 0..n (from PHP-style names) into lists, recursively."""
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    if converted and all(isinstance(k, str) and k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted
