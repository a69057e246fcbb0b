"""The WService.ini `[midware]` lines that point WService's document webhook at posbridge.

`posbridge connect wservice` generates the receiver's Basic credentials (unless given),
stores them encrypted with the connection, and prints these lines to paste. The vendor
password never appears in them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from posbridge.connectors.wservice.codes import DEFAULT_EXCLUDED

__all__ = ["DEFAULT_API_URL", "ini_lines", "with_receiver_credentials"]

DEFAULT_API_URL = "http://127.0.0.1:8000"


def with_receiver_credentials(values: Mapping[str, str]) -> dict[str, str]:
    """`values` plus a generated receiver user and password where they are missing."""
    out = dict(values)
    out.setdefault("receiver_user", "posbridge")
    if not out.get("receiver_password"):
        out["receiver_password"] = secrets.token_urlsafe(24)
    return out


def ini_lines(connection_id: str, values: Mapping[str, str]) -> str:
    """The `[midware]` section to paste into WService.ini (webhook cursor left to WService)."""
    from posbridge.api.receivers import RECEIVER_PATH

    base = (values.get("receiver_url") or DEFAULT_API_URL).rstrip("/")
    url = base + RECEIVER_PATH.format(connection_id=connection_id)
    return (
        "\n".join(
            [
                "[midware]",
                f"WebhookDocUrl={url}",
                f"WebhookDocBasicAuthUsername={values.get('receiver_user', '')}",
                f"WebhookDocBasicAuthPassword={values.get('receiver_password', '')}",
                f"WebhookDocSuccessKey={values.get('success_key') or 'POSBRIDGE-OK'}",
                "DocTypeExcluded=" + ",".join(DEFAULT_EXCLUDED),
            ]
        )
        + "\n"
    )
