"""The one wait-until helper of the tests: poll a condition instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition did not hold in time; carries the last value seen for the message."""


def wait_until(predicate: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1,
               what: str = "condition") -> T:
    """Call ``predicate`` until it returns something truthy and return that; raise WaitTimeout
    (an AssertionError, so pytest shows it as a failure) after ``timeout`` seconds. A predicate
    that answers "not yet" with None returns the value itself (typed without the None)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{what} did not hold within {timeout:.0f} s (last: {last!r})")
        time.sleep(interval)
