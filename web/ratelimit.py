"""A small in-memory token bucket per key (a client IP, a sending host), with bounded memory.

Each key holds up to `burst` tokens and regains `rate_per_second` of them every second; a request
takes one. A key idle long enough to have refilled its bucket is indistinguishable from a key never
seen, so it is forgotten; and the number of keys is capped (least recently used goes first), so a
flood of distinct keys cannot grow memory without bound. Time is passed in by the caller, which
keeps the limiter deterministic to test. One process, one event loop: no locking needed.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["RateLimiter"]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: int, *, max_keys: int = 10_000) -> None:
        if rate_per_second <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate, burst and max_keys must be positive")
        self.rate = float(rate_per_second)
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # least recently used first

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, key: str, now: float) -> bool:
        """Takes one token for `key` if it has one; False when the key is over its rate."""
        bucket = self._refilled(key, now)
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until `key` has a token again (0 when it has one now). Takes nothing."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def retry_after_header(self, key: str, now: float) -> str:
        """`retry_after` as whole seconds for a `Retry-After` header (at least 1)."""
        return str(max(1, math.ceil(self.retry_after(key, now))))

    def full_after(self, key: str, now: float) -> float:
        """Seconds until `key`'s bucket is full again, as if never used (0 when it is)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = bucket.tokens + max(0.0, now - bucket.updated) * self.rate
        return max(0.0, (self.burst - tokens) / self.rate)

    def empty(self, key: str, now: float) -> None:
        """Takes every token of `key`: it must wait for the whole bucket to refill to be unknown."""
        self._refilled(key, now).tokens = 0.0

    def forget(self, key: str) -> None:
        """`key` starts afresh, with a full bucket."""
        self._buckets.pop(key, None)

    def _refilled(self, key: str, now: float) -> _Bucket:
        self._forget_idle(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return bucket
        self._buckets.move_to_end(key)
        elapsed = max(0.0, now - bucket.updated)  # a clock going backwards refills nothing
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
        bucket.updated = max(bucket.updated, now)
        return bucket

    def _forget_idle(self, now: float) -> None:
        """Drops keys, oldest first, whose bucket would be full again by now."""
        while self._buckets:
            key, bucket = next(iter(self._buckets.items()))
            if bucket.tokens + (now - bucket.updated) * self.rate < self.burst:
                return
            del self._buckets[key]
