"""The unified REST API."""

from posbridge.api.app import create_app

__all__ = ["create_app"]
