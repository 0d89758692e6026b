"""OS process helpers: children that die with their parent, and niceness.

Used by the one ffmpeg runner, by the RQ worker for the processes it forks, and by `podium up`
for the services it starts. Linux only (prctl)."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def set_parent_death_signal() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def child_setup(nice: int, parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` for a child that must die with ``parent_pid`` and run at ``nice``."""

    def setup() -> None:
        set_parent_death_signal()
        if os.getppid() != parent_pid:  # the parent died between fork and prctl
            os._exit(1)
        if nice:
            os.nice(nice)

    return setup


def die_with_spawning_parent() -> None:
    """In a process started by ``multiprocessing`` (uvicorn's ``--workers`` children): die
    with the parent that spawned it. Without this, a supervisor SIGKILLed (as `podium up`'s
    children are when it dies) leaves its workers serving the port. No-op elsewhere."""
    import multiprocessing

    spawner = multiprocessing.parent_process()
    if spawner is None:
        return
    set_parent_death_signal()
    # The parent that spawned us, not whoever is our parent now: a worker that uvicorn
    # (re)started just before it was killed is adopted while it still imports, and would
    # otherwise serve the port on its own for ever.
    if os.getppid() != spawner.pid:
        os._exit(1)


def die_with_forking_parent() -> None:
    """Make every child this process forks from now on die with it (os.register_at_fork).

    A child that finds its parent already gone (it died before the flag was set) exits at once.
    """
    parent = [0]

    def remember() -> None:
        parent[0] = os.getpid()

    def in_child() -> None:
        set_parent_death_signal()
        if os.getppid() != parent[0]:
            os._exit(1)

    os.register_at_fork(before=remember, after_in_child=in_child)
