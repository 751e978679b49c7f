"""Time units of the core, in integer nanoseconds: every timestamp is UTC epoch ns.

One definition each; engines/ (and daemon/, where it converts) imports them instead of spelling
``86_400 * 10**9`` again. A day here is 24 hours of UTC: a market whose trading day turns at another
hour says so by its offset (:data:`engines.markets.sessions.TRADING_DAY_OFFSET_NS`).
"""

from __future__ import annotations

from typing import Final

__all__ = ["NS_PER_DAY", "NS_PER_HOUR", "NS_PER_MINUTE", "NS_PER_MS", "NS_PER_SECOND"]

NS_PER_MS: Final = 1_000_000
NS_PER_SECOND: Final = 1_000 * NS_PER_MS
NS_PER_MINUTE: Final = 60 * NS_PER_SECOND
NS_PER_HOUR: Final = 60 * NS_PER_MINUTE
NS_PER_DAY: Final = 24 * NS_PER_HOUR
