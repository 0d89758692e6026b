"""record_lock: the one Redis lock idiom of every stored record (asset, channel, upload slot)."""

from __future__ import annotations

import secrets
import threading

import pytest
from redis import Redis

from ingest.errors import TransientError
from ingest.locks import record_lock
from tests.conftest import Stack


class Busy(TransientError):
    code = "thing_busy"


@pytest.fixture
def redis(stack: Stack) -> Redis:
    """The suite's Redis (keys of this test only)."""
    return Redis.from_url(stack.redis_url, socket_timeout=5)


def test_a_held_lock_makes_the_second_writer_busy(redis: Redis) -> None:
    name = f"podiumtest:lock:{secrets.token_hex(4)}"
    with record_lock(redis, name, busy=Busy, what="Thing 1", wait_s=0.2):
        with pytest.raises(Busy) as err, record_lock(redis, name, busy=Busy, what="Thing 1",
                                                     wait_s=0.2):
            pass
        assert err.value.message == "Thing 1 is being changed by another request; try again."
    with record_lock(redis, name, busy=Busy, what="Thing 1", wait_s=0.2):
        pass  # released: free again


def test_a_lock_not_bound_to_a_thread_is_released_by_another(redis: Redis) -> None:
    name = f"podiumtest:lock:{secrets.token_hex(4)}"
    held = record_lock(redis, name, busy=Busy, what="Slot", wait_s=0.2, thread_local=False)
    held.__enter__()
    releaser = threading.Thread(target=held.__exit__, args=(None, None, None))
    releaser.start()
    releaser.join(5)
    with record_lock(redis, name, busy=Busy, what="Slot", wait_s=0.2):
        pass


def test_unreachable_redis_is_busy_without_its_address_in_the_message() -> None:
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with pytest.raises(Busy) as err, record_lock(down, "x", busy=Busy, what="Thing"):
        pass
    assert "127.0.0.1" not in err.value.message and err.value.code == "thing_busy"
