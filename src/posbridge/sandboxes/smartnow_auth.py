"""SmartNow sandbox auth: login (201), refresh with rotation, password reset/set, e-mail
confirmation and user creation (which sends the activation token)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from posbridge.sandboxes.smartnow_lists import ApiError
from posbridge.sandboxes.smartnow_writes import create_handler

if TYPE_CHECKING:
    from posbridge.sandboxes.smartnow import Call, Handler, SmartNowState

__all__ = ["HANDLERS"]


def login(state: SmartNowState, call: Call) -> tuple[int, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    name, password = body.get("username"), body.get("password")
    if not name or not password:
        raise ApiError(400, "Missing parameters")
    user = next(
        (u for u in state.world.table("user").values() if name in (u["username"], u["email"])), None
    )
    if user is None or state.passwords.get(user["id"]) != password:
        raise ApiError(401, "Unauthorized")
    if not user["emailConfirmed"]:
        raise ApiError(401, "Unauthorized. E-mail address is not confirmed")
    return 201, state.issue(user["id"])


def refresh(state: SmartNowState, call: Call) -> tuple[int, Any]:
    token = call.body.get("refresh_token") if isinstance(call.body, dict) else None
    if not token:
        raise ApiError(400, "Missing parameters")
    user = state.refresh.pop(str(token), None)  # rotation: a refresh token works once
    if user is None:
        raise ApiError(401, "Unauthorized: invalid refresh token")
    return 201, state.issue(user)


def reset_password(state: SmartNowState, call: Call) -> tuple[int, Any]:
    body = call.obj()
    if not body.get("username") and not body.get("email"):
        raise ApiError(400, "Missing parameters")
    user = next(
        (
            u
            for u in state.world.table("user").values()
            if u["username"] == body.get("username") or u["email"] == body.get("email")
        ),
        None,
    )
    if user is not None:
        state.mail_tokens[secrets.token_urlsafe(16)] = user["id"]
    return 200, {"message": "If the user exists, an e-mail has been sent"}


def _mail_token(state: SmartNowState, call: Call) -> tuple[int, str]:
    body = call.obj()
    token, password = body.get("token"), body.get("password")
    if not token or not password:
        raise ApiError(400, "Missing parameters")
    if not isinstance(password, str) or len(password) < 8:
        raise ApiError(400, "password must have at least 8 characters")
    user = state.mail_tokens.pop(str(token), None)
    if user is None:
        raise ApiError(401, "Unauthorized: invalid or used token")
    return user, password


def set_password(state: SmartNowState, call: Call) -> tuple[int, Any]:
    user, password = _mail_token(state, call)
    state.passwords[user] = password
    return 200, state.issue(user)


def confirm(state: SmartNowState, call: Call) -> tuple[int, Any]:
    user, password = _mail_token(state, call)
    state.passwords[user] = password
    state.world.table("user")[user]["emailConfirmed"] = 1
    return 200, {"message": "User confirmed"}


def create_user(state: SmartNowState, call: Call) -> tuple[int, Any]:
    status, answer = create_handler("user")(state, call)
    row = state.world.table("user")[answer["id"]]
    row.update(emailConfirmed=0, disabledAt=None, password_expires=None)
    state.mail_tokens[secrets.token_urlsafe(16)] = row["id"]  # the activation e-mail
    return status, answer


HANDLERS: dict[str, Handler] = {
    "auth.login": login,
    "auth.refresh": refresh,
    "auth.password": set_password,
    "auth.reset": reset_password,
    "auth.confirm": confirm,
    "user.create": create_user,
}
