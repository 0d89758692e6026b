"""A small state machine: the allowed transitions of one kind of thing, declared as data.

Each entity with a status (asset, caption track; upload slot, channel item and live stream
next) declares one ``StateMachine`` with the states it may start in and, for each state, the
states it may move to. Staying in a state is a transition too, allowed only where it is listed
(an asset stays `preparing` from one stage to the next; a `ready` asset never moves again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from ingest.errors import Conflict

S = TypeVar("S", bound=StrEnum)


class InvalidTransition(Conflict):
    """A status change the entity's state machine does not allow; nothing was saved."""

    code = "invalid_transition"


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    entity: str
    """What the states belong to, for messages: "asset", "caption track"..."""
    initial: frozenset[S]
    """States a new entity may start in."""
    transitions: Mapping[S, frozenset[S]]
    """For each state, the states it may move to (itself included where staying is allowed)."""

    def allowed(self, before: S | None, after: S) -> bool:
        """Whether ``before`` (None: the entity does not exist yet) may become ``after``."""
        targets = self.initial if before is None else self.transitions.get(before, frozenset())
        return after in targets

    def check(self, before: S | None, after: S, what: str = "") -> None:
        """Raise InvalidTransition unless ``before`` may become ``after``."""
        if not self.allowed(before, after):
            name = f"{self.entity} {what}".strip()
            origin = "nothing" if before is None else f"'{before.value}'"
            raise InvalidTransition(f"The {name} cannot go from {origin} to '{after.value}'.")

    @property
    def states(self) -> frozenset[S]:
        every: set[S] = set(self.initial) | set(self.transitions)
        for targets in self.transitions.values():
            every |= targets
        return frozenset(every)
