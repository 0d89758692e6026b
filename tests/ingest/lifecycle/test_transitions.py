"""The state machines as tables: every allowed transition is listed here once more, and every
other pair (including creation in a state that is not initial) is refused."""

from __future__ import annotations

import itertools
from enum import StrEnum

import pytest

from ingest.assets.models import AssetStatus, CaptionStatus
from ingest.channels.models import ChannelState
from ingest.lifecycle.assets import ASSET, CAPTION_TRACK
from ingest.lifecycle.channels import CHANNEL
from ingest.lifecycle.deliveries import DELIVERY
from ingest.lifecycle.machine import InvalidTransition, StateMachine
from ingest.lifecycle.uploads import UPLOAD_SLOT
from ingest.uploads.models import UploadStatus
from ingest.webhooks.models import DeliveryState

A, C, D = AssetStatus, CaptionStatus, DeliveryState

Pairs = set[tuple[StrEnum | None, StrEnum]]
EXPECTED: dict[str, tuple[StateMachine[StrEnum], type[StrEnum], Pairs]] = {
    "asset": (ASSET, A, {  # type: ignore[dict-item]
        (None, A.WAITING),
        (A.WAITING, A.PREPARING), (A.WAITING, A.ERRORED),
        (A.PREPARING, A.PREPARING), (A.PREPARING, A.READY), (A.PREPARING, A.ERRORED),
        (A.READY, A.WAITING), (A.ERRORED, A.WAITING),  # a new version of the video
    }),
    "caption track": (CAPTION_TRACK, C, {  # type: ignore[dict-item]
        (None, C.PREPARING), (None, C.READY), (None, C.ERRORED),
        (C.PREPARING, C.PREPARING), (C.PREPARING, C.READY), (C.PREPARING, C.ERRORED),
        (C.READY, C.READY), (C.READY, C.PREPARING),
        (C.ERRORED, C.ERRORED), (C.ERRORED, C.PREPARING), (C.ERRORED, C.READY),
    }),
    "channel": (CHANNEL, ChannelState, {  # type: ignore[dict-item]
        (None, ChannelState.IDLE),
        (ChannelState.IDLE, ChannelState.ON_AIR), (ChannelState.ON_AIR, ChannelState.IDLE),
    }),
    "upload slot": (UPLOAD_SLOT, UploadStatus, {  # type: ignore[dict-item]
        (None, UploadStatus.WAITING),
        *((UploadStatus.WAITING, final) for final in (
            UploadStatus.ASSET_CREATED, UploadStatus.ERRORED, UploadStatus.CANCELLED,
            UploadStatus.TIMED_OUT)),
    }),
    "webhook delivery": (DELIVERY, D, {  # type: ignore[dict-item]
        (None, D.PENDING),
        (D.PENDING, D.PENDING), (D.PENDING, D.SUCCEEDED), (D.PENDING, D.FAILED),
    }),
}


def pairs(states: type[StrEnum]) -> list[tuple[StrEnum | None, StrEnum]]:
    return list(itertools.product([None, *states], list(states)))


@pytest.mark.parametrize("entity", sorted(EXPECTED))
def test_table_covers_every_state(entity: str) -> None:
    machine, states, _ = EXPECTED[entity]
    assert machine.entity == entity
    assert machine.states == frozenset(states)


@pytest.mark.parametrize(("entity", "before", "after"), [
    (entity, before, after) for entity, (_, states, _) in sorted(EXPECTED.items())
    for before, after in pairs(states)])
def test_each_pair_is_allowed_exactly_when_listed(entity: str, before: StrEnum | None,
                                                  after: StrEnum) -> None:
    machine, _, allowed = EXPECTED[entity]
    if (before, after) in allowed:
        assert machine.allowed(before, after)
        machine.check(before, after)
        return
    assert not machine.allowed(before, after)
    with pytest.raises(InvalidTransition) as refused:
        machine.check(before, after, "as-0123456789abcdef")
    assert refused.value.code == "invalid_transition"
    assert entity in refused.value.message and after.value in refused.value.message


def test_final_states_never_move() -> None:
    for final in (A.READY, A.ERRORED):  # final for their version: only a new one starts over
        assert {s for s in A if ASSET.allowed(final, s)} == {A.WAITING}
    for final in (D.SUCCEEDED, D.FAILED):
        assert not any(DELIVERY.allowed(final, s) for s in D)
