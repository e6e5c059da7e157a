"""Per-process rate limiting by key and minute (no ``odoo``).

Each Odoo worker process counts on its own (the limits are per process, as
documented on the site); a budget is a key such as ``("api", site_id)`` or
``("ip", site_id, "203.0.113.7")``.  Only the current minute's counters are
kept, so memory stays bounded by the keys seen in one minute.
"""

import threading
import time


class RateLimiter:
    """Fixed one-minute windows, one counter per key.

    >>> limiter = RateLimiter(clock=lambda: 120.0)
    >>> limiter.allow(("api", 1), 10, 8), limiter.allow(("api", 1), 10, 3)
    (True, False)
    >>> limiter.allow(("public", 1), 10, 3)  # another budget
    True
    >>> limiter.allow(("api", 1), 0, 10**6)  # 0: no limit
    True
    """

    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._minute = None
        self._used = {}

    def allow(self, key, limit, count=1):
        """Count ``count`` units on ``key``; False (nothing counted) when the
        minute's ``limit`` would be passed."""
        return self.allow_all([(key, limit, count)])

    def allow_all(self, budgets):
        """Count on every ``(key, limit, count)`` budget, or on none when one
        of them would be passed (then False); a limit of 0 is no limit.

        >>> limiter = RateLimiter(clock=lambda: 0.0)
        >>> limiter.allow_all([(("site", 1), 100, 2), (("ip", "a"), 2, 2)])
        True
        >>> limiter.allow_all([(("site", 1), 100, 1), (("ip", "a"), 2, 1)])
        False
        >>> limiter.allow_all([(("site", 1), 100, 1), (("ip", "b"), 2, 1)])
        True
        """
        budgets = [(key, limit, count) for key, limit, count in budgets if limit]
        if not budgets:
            return True
        minute = int(self._clock() // 60)
        with self._lock:
            if minute != self._minute:
                self._minute, self._used = minute, {}
            used = self._used
            if any(used.get(key, 0) + count > limit for key, limit, count in budgets):
                return False
            for key, _limit, count in budgets:
                used[key] = used.get(key, 0) + count
            return True
