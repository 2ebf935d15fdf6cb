"""The notifier's pure core: configuration, routing, grouping, quiet times, rate limits, rendering.

No I/O, no clock: time comes in as epoch seconds. The shell (``services/notify/service.py``)
feeds :class:`Dispatcher` and performs what it returns.
"""

from .alert import Alert, BadTransition, from_wire
from .config import NotifyConfig, RateLimit, Receiver, Route
from .dispatcher import Dispatcher, Notification
from .loader import load_config
from .nodes import ConfigError
from .ratelimit import Ledger

__all__ = ["Alert", "BadTransition", "ConfigError", "Dispatcher", "Ledger", "Notification", "NotifyConfig",
           "RateLimit", "Receiver", "Route", "from_wire", "load_config"]
