"""``msgspec.field(default_factory=...)`` for the core's Structs, typed to return ``Any``.

msgspec's stub types ``field(default_factory=f)`` as returning what ``f`` returns, so a field reads
``x: dict[str, int] = msgspec.field(default_factory=dict)``. When the core is compiled with mypyc
(``make compiled``), mypyc trusts that type and checks the value when the class is created — where
it really is a ``msgspec`` ``Field`` — and the import fails. Typed ``Any``, the value is not checked;
at run time this is exactly ``msgspec.field(default_factory=make)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec


def factory(make: Callable[[], object]) -> Any:
    """A Struct field whose default is ``make()``, called for every new instance."""
    return msgspec.field(default_factory=make)
