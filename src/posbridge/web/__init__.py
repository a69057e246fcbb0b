"""The dashboard: static assets shipped inside the package (no CDN), served by the API."""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC_DIR"]

STATIC_DIR = Path(__file__).with_name("static")
