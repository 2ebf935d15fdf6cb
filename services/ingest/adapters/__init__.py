"""Vendor adapters: one per event source, vendor bytes → canonical events (pure; see ``base``).

``get_adapter(name, site=…, source=…, **options)`` builds one by name; ``ADAPTERS`` lists the names.
``files.split_records(lines, fmt)`` splits a vendor file's content into the records an adapter
decodes; ``services/ingest/vendor_files.py`` reads the file (the adapters do no I/O).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from services.ingest.adapters.ami import AmiAdapter, iter_ami_blocks
from services.ingest.adapters.anonymous_bank import AnonymousBankAdapter
from services.ingest.adapters.base import Adapter
from services.ingest.adapters.canonical import CanonicalAdapter
from services.ingest.adapters.connect_agent import ConnectAgentAdapter
from services.ingest.adapters.connect_ctr import ConnectCtrAdapter
from services.ingest.adapters.files import FORMATS, split_records
from services.ingest.adapters.queue_log import QueueLogAdapter

__all__ = [
    "ADAPTERS",
    "FORMATS",
    "Adapter",
    "AmiAdapter",
    "AnonymousBankAdapter",
    "CanonicalAdapter",
    "ConnectAgentAdapter",
    "ConnectCtrAdapter",
    "QueueLogAdapter",
    "get_adapter",
    "iter_ami_blocks",
    "split_records",
]

_FACTORIES: Final[dict[str, Callable[..., Adapter]]] = {
    CanonicalAdapter.name: CanonicalAdapter,
    QueueLogAdapter.name: QueueLogAdapter,
    AmiAdapter.name: AmiAdapter,
    ConnectAgentAdapter.name: ConnectAgentAdapter,
    ConnectCtrAdapter.name: ConnectCtrAdapter,
    AnonymousBankAdapter.name: AnonymousBankAdapter,
}
ADAPTERS: Final[tuple[str, ...]] = tuple(_FACTORIES)


def get_adapter(name: str, *, site: str, source: str, **options: Any) -> Adapter:
    """A fresh adapter (adapters hold per-call state: one per consumed topic / replayed file).

    Raises ``ValueError`` for an unknown name, an unknown option or a bad option value.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ValueError(f"unknown adapter {name!r}; known: {', '.join(ADAPTERS)}")
    try:
        return factory(site=site, source=source, **options)
    except TypeError as exc:
        raise ValueError(f"adapter {name!r}: bad options {sorted(options)}: {exc}") from None
