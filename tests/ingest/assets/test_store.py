"""AssetStore against real Redis and S3: a delete racing a write never brings the record back."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator

import pytest

from config import get_settings
from ingest.assets.models import Asset, new_asset_id
from ingest.assets.store import AssetStore
from ingest.errors import AssetNotFound
from ingest.storage import keys
from ingest.storage.s3 import Storage
from runtime import handles
from tests.conftest import Stack

DELETE_GETS_AHEAD_S = 3.0
"""How long the delete is given to run past a writer that is about to write `asset.json`.
Without the lock it needs a few requests (well under this); with it, it cannot pass at all,
however long it is given: the outcome does not depend on the machine's speed."""


class PausingStorage(Storage):
    """Real storage that stops a writer right before it writes `asset.json`, until released."""

    def __init__(self, storage: Storage) -> None:
        self.__dict__.update(storage.__dict__)
        self.writing = threading.Event()
        self.release = threading.Event()

    def put_bytes(self, key: str, data: bytes, content_type: str,
                  cache_control: str | None = None) -> None:
        if key.endswith("/asset.json") and not self.release.is_set():
            self.writing.set()
            assert self.release.wait(30), "the test never released the writer"
        super().put_bytes(key, data, content_type, cache_control)


@pytest.fixture
def prefix(stack: Stack) -> Iterator[str]:
    prefix = f"{get_settings().queue_prefix}store{secrets.token_hex(2)}"
    yield prefix
    conn = handles.redis_connection()
    for key in conn.scan_iter(match=f"{prefix}:*"):
        conn.delete(key)


def test_delete_racing_an_update_leaves_no_record(prefix: str) -> None:
    plain = AssetStore(handles.storage(), handles.redis_connection(), prefix)
    asset = plain.create(Asset(id=new_asset_id(), title="before"))
    pausing = PausingStorage(handles.storage())
    writer_store = AssetStore(pausing, handles.redis_connection(), prefix)
    outcome: dict[str, BaseException | None] = {}

    def retitle(a: Asset) -> None:
        a.title = "after"

    def run(name: str, work: Callable[[], object]) -> threading.Thread:
        def target() -> None:
            try:
                work()
                outcome[name] = None
            except BaseException as exc:  # reported by the asserts below
                outcome[name] = exc
        thread = threading.Thread(target=target)
        thread.start()
        return thread

    writer = run("update", lambda: writer_store.update(asset.id, retitle))
    assert pausing.writing.wait(30), "the update never reached its write"
    # the update has checked the tombstone and holds its new record: now the delete runs
    deleter = run("delete", lambda: plain.delete(asset.id))
    deleter.join(DELETE_GETS_AHEAD_S)
    pausing.release.set()
    writer.join(30)
    deleter.join(30)
    assert not writer.is_alive() and not deleter.is_alive()
    assert outcome["delete"] is None, outcome
    assert not plain.storage.exists(keys.asset_record(asset.id)), "asset.json came back"
    assert list(plain.storage.list_keys(keys.asset_prefix(asset.id))) == []
    with pytest.raises(AssetNotFound):
        plain.get(asset.id)
