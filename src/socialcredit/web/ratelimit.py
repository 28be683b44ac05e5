"""Per-key rate limits: a token bucket per key (per server process)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from socialcredit.errors import RateLimitedError


@dataclass
class RateLimiter:
    """``rate`` requests a second per key, in bursts of up to ``rate``."""

    rate: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, cost: float = 1.0) -> None:
        """Spend ``cost`` tokens of ``key``, or RateLimitedError saying when to retry."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.rate, now))
            tokens = min(self.rate, tokens + (now - then) * self.rate)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                wait = (cost - tokens) / self.rate
                raise RateLimitedError(
                    f"rate limit: at most {self.rate:g} requests a second for this key",
                    retry_after_seconds=round(wait, 3),
                )
            self._buckets[key] = (tokens - cost, now)
