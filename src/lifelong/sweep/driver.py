"""The sweep's driver: claims runs in the store, feeds an engine, stores what comes back, shows progress.

A run is claimed (``running``, owned by this process) just before it is handed to a worker, in one
transaction, so two sweeps on one store share the work and never train a run twice: a run another
live process holds is waited for, and taken over only if that process is gone. A failing run is
stored as ``failed`` and the others go on. On Ctrl-C the workers stop, the runs in flight are marked
``failed: interrupted``, and the next call resumes each from its last finished task.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from lifelong.observers import _clock
from lifelong.result import Result
from lifelong.store import Store
from lifelong.sweep.engines import Engine, Outcome
from lifelong.sweep.grid import RunSpec


def spec_config(spec: RunSpec) -> dict[str, Any]:
    """The run's configuration as the store records it for a running row."""
    return {"stream": spec.stream, "stream_params": spec.stream_params, "model": spec.model, "method": spec.method,
            "method_params": spec.method_params, "train": dataclasses.asdict(spec.train), "seed": spec.seed,
            "init": spec.init}


@dataclass
class Tally:
    """What a sweep call did: run ids by how they ended."""

    finished: list[str] = field(default_factory=list)  # by this call or, while it waited, by another process
    trained: list[str] = field(default_factory=list)  # by this call's workers (finished or failed)
    failed: dict[str, str] = field(default_factory=dict)  # run id -> its one-line cause
    stored: list[str] = field(default_factory=list)  # finished before this call


class SweepProgress:
    """One line for the whole sweep: done / running / failed / waiting, and an ETA."""

    def __init__(self, total: int, out: TextIO | None = None, quiet: bool = False) -> None:
        self.total, self.out, self.quiet = total, out or sys.stderr, quiet
        self.started = time.perf_counter()
        self.completed_here = 0
        self._tty = bool(getattr(self.out, "isatty", lambda: False)())

    def show(self, done: int, failed: int, running: int, waiting: int, *, changed: bool) -> None:
        if self.quiet or not (changed or self._tty):
            return
        left = self.total - done
        elapsed = time.perf_counter() - self.started
        eta = f", ETA {_clock(elapsed / self.completed_here * left)}" if self.completed_here and left else ""
        line = (f"sweep: {done}/{self.total} done ({failed} failed), {running} running"
                f"{f', {waiting} running elsewhere' if waiting else ''}{eta}")
        self.out.write(("\r" + line + "\x1b[K") if self._tty else line + "\n")
        if self._tty and not left:
            self.out.write("\n")
        self.out.flush()


def run_sweep(
    runs: Sequence[RunSpec],
    store: Store,
    make_engine: Callable[[], Engine],
    capacity: int,
    *,
    rerun_stale: bool = False,
    progress: SweepProgress | None = None,
    poll: float = 0.5,
) -> Tally:
    """Run every spec not finished in ``store``, at most ``capacity`` at a time; return the tally."""
    tally = Tally()
    pending: list[RunSpec] = []
    for spec in runs:
        if store.has(spec.run_id, rerun_stale=rerun_stale):
            tally.stored.append(spec.run_id)
        else:
            pending.append(spec)
    progress = progress or SweepProgress(len(runs), quiet=True)
    waiting: dict[str, RunSpec] = {}
    in_flight: set[str] = set()
    engine: Engine | None = None

    def done() -> int:
        return len(tally.stored) + len(tally.finished) + len(tally.failed)

    try:
        while pending or in_flight or waiting:
            changed = False
            while pending and len(in_flight) < capacity:
                engine = engine or make_engine()  # before a run is claimed: an engine that cannot start claims none
                spec = pending.pop(0)
                claim = store.claim(spec_config(spec), spec.run_id, rerun_stale=rerun_stale)
                if claim == "finished":
                    tally.stored.append(spec.run_id)
                elif claim == "taken":
                    waiting[spec.run_id] = spec
                else:
                    engine.submit(spec)
                    in_flight.add(spec.run_id)
                changed = True
            if engine is not None and in_flight:
                for outcome in engine.outcomes(poll):
                    _store(store, outcome, tally)
                    in_flight.discard(outcome["run_id"])
                    progress.completed_here += 1
                    changed = True
            else:
                time.sleep(poll)
            for run_id, spec in list(waiting.items()):  # runs another process trains: done, failed or orphaned?
                state = store.status(run_id)
                if state is not None and state[0] == "finished":
                    tally.finished.append(run_id)
                elif state is not None and state[0] == "failed":
                    tally.failed[run_id] = state[1] or "failed"
                elif store.claim(spec_config(spec), run_id, rerun_stale=rerun_stale) == "taken":
                    continue
                else:  # its owner is gone and the run is now ours (claiming it again below keeps it so)
                    del waiting[run_id]
                    pending.insert(0, spec)
                    changed = True
                    continue
                del waiting[run_id]
                changed = True
            progress.show(done(), len(tally.failed), len(in_flight), len(waiting), changed=changed)
    except BaseException:
        if engine is not None:
            engine.stop()
        for run_id in in_flight:
            store.fail(run_id, "interrupted")
        raise
    if engine is not None:
        engine.close()
    return tally


def _store(store: Store, outcome: Outcome, tally: Tally) -> None:
    tally.trained.append(outcome["run_id"])
    result = Result.from_dict(outcome["result"]) if outcome["result"] is not None else None
    if outcome["status"] == "finished" and result is not None:
        store.put(result)
        tally.finished.append(outcome["run_id"])
    else:
        store.fail(outcome["run_id"], outcome["message"], result)
        tally.failed[outcome["run_id"]] = outcome["message"]
