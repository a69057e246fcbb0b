"""The base of every normalized record.

Models are `msgspec.Struct`s, not pydantic models: the sync hot path builds tens of
thousands of them per second and msgspec is 4-5x cheaper to construct, encode and
decode (perf-limits/RESULTS.md §1). The API layer converts them at its boundary.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import msgspec

__all__ = ["Record"]


class Record(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """A normalized object as one vendor knows it.

    `source_id` is the vendor's id as a string; posbridge's own id, the connection and
    the raw vendor payload are kept beside the record by the store.
    """

    object_type: ClassVar[str]
    source_id: str
    source_updated_at: datetime | None = None
