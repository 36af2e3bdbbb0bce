"""Where a sweep's runs execute: a local process pool or Ray. Workers only compute and return results;
the driver alone writes the store (SQLite is never shared between machines).

A worker rebuilds its run from a :class:`RunSpec` (plain values), trains it with per-task
checkpoints (so an interrupted sweep resumes each run where it was) and returns an outcome:
``{"run_id", "status": "finished" | "failed", "message", "result"}`` — a failed run's result holds the
rows of R it finished, or is None when it failed before training.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from lifelong.errors import DivergedError, LifelongError, OptionError, one_line
from lifelong.sweep.grid import RunSpec

Outcome = dict[str, Any]
_streams: dict[str, Any] = {}  # per worker process: a stream is built once for all runs that share it


def execute(spec: RunSpec, checkpoints: str | None, keep: bool, logs: tuple[str, ...] = ()) -> Outcome:
    """Train one run (resuming from its checkpoints if it has any), logging to each ``--log`` spec;
    never raises for a failed run."""
    from lifelong.api import build_learner, build_method, build_stream, run_config
    from lifelong.loggers import parse_log
    from lifelong.resume import RunCheckpoints
    from lifelong.train import train

    try:
        key = repr((spec.stream, sorted(spec.stream_params.items()), spec.seed))
        if key not in _streams:
            _streams.clear()  # one stream at a time: a worker's memory stays that of one run
            _streams[key] = build_stream(spec.stream, spec.stream_params, spec.seed)
        stream = _streams[key]
        method = build_method(spec.method, spec.method_params)
        config = run_config(stream, method, spec.model, spec.seed, spec.train, spec.init)
        learner = build_learner(spec.model, stream, spec.seed, spec.init)
        saver = RunCheckpoints(checkpoints, config.run_id, keep=keep) if checkpoints else None
        result = train(stream, method, learner, config, [parse_log(spec) for spec in logs], saver)
        if saver is not None:
            saver.finish()
        return {"run_id": spec.run_id, "status": "finished", "message": None, "result": result.to_dict()}
    except DivergedError as err:
        return {"run_id": spec.run_id, "status": "failed", "message": one_line(err), "result": err.result.to_dict()}
    except Exception as err:  # a failing configuration is stored as failed; the others go on
        message = one_line(err) if isinstance(err, LifelongError) else f"{type(err).__name__}: {one_line(err)}"
        return {"run_id": spec.run_id, "status": "failed", "message": message, "result": None}


class Engine:
    """Runs specs and yields outcomes as they finish."""

    def submit(self, spec: RunSpec) -> None:
        raise NotImplementedError

    def outcomes(self, timeout: float) -> Iterator[Outcome]:
        """Outcomes finished within ``timeout`` seconds (possibly none)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop at once: cancel what has not started, end workers (their checkpoints stay)."""

    def close(self) -> None:
        """Everything returned: release the workers."""


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: workers leave it to the driver, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalEngine(Engine):
    """A pool of ``workers`` processes (spawned: no torch state is inherited through fork)."""

    def __init__(self, workers: int, checkpoints: str | None, keep: bool, logs: tuple[str, ...] = ()) -> None:
        self.workers = workers
        self.pool = self._pool()
        self.checkpoints, self.keep, self.logs = checkpoints, keep, logs
        self.futures: dict[Future[Outcome], tuple[str, ProcessPoolExecutor]] = {}  # -> run id, its pool

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_ignore_interrupts)

    def submit(self, spec: RunSpec) -> None:
        future = self.pool.submit(execute, spec, self.checkpoints, self.keep, self.logs)
        self.futures[future] = (spec.run_id, self.pool)

    def outcomes(self, timeout: float) -> Iterator[Outcome]:
        """Finished outcomes; a worker that died (killed, out of memory) fails the runs it held, and a new
        pool takes the runs still to come."""
        if not self.futures:
            time.sleep(timeout)
            return
        done, _ = wait(self.futures, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            run_id, pool = self.futures.pop(future)
            try:
                yield future.result()
            except BrokenProcessPool:
                if pool is self.pool:  # the first of its runs to report it: later runs go to a new pool
                    pool.shutdown(wait=False, cancel_futures=True)
                    self.pool = self._pool()
                yield {"run_id": run_id, "status": "failed", "result": None,
                       "message": "its worker process died (killed, or out of memory); the next sweep redoes it "
                                  "from its last checkpoint"}

    def stop(self) -> None:
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(5)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class RayEngine(Engine):
    """Each run a Ray task with ``num_cpus`` = its thread count, on a local Ray instance (``workers``
    CPUs) or, with ``address``, on an existing cluster (every node needs lifelong installed)."""

    def __init__(self, workers: int, address: str | None, checkpoints: str | None, keep: bool,
                 logs: tuple[str, ...] = ()) -> None:
        ray = require_ray()
        if not ray.is_initialized():
            if address:
                _check_reachable(address)
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                         object_store_memory=100 * 1024 ** 2, configure_logging=False)
        self.ray = ray
        self.task = ray.remote(execute)
        self.checkpoints, self.keep, self.logs = checkpoints, keep, logs
        self.refs: list[Any] = []

    def submit(self, spec: RunSpec) -> None:
        self.refs.append(self.task.options(num_cpus=spec.train.threads).remote(spec, self.checkpoints, self.keep,
                                                                                       self.logs))

    def outcomes(self, timeout: float) -> Iterator[Outcome]:
        if not self.refs:
            time.sleep(timeout)
            return
        done, self.refs = self.ray.wait(self.refs, num_returns=len(self.refs), timeout=timeout)
        for ref in done:
            yield self.ray.get(ref)

    def stop(self) -> None:
        for ref in self.refs:
            self.ray.cancel(ref, force=True)
        self.refs = []
        self.close()

    def close(self) -> None:
        self.ray.shutdown()


def _check_reachable(address: str) -> None:
    """A ``host:port`` that nothing answers on is one line now, not Ray's minutes of retries. (``auto`` and
    ``ray://`` addresses are left to Ray.)"""
    host, sep, port = address.rpartition(":")
    if address == "auto" or "://" in address or not sep or not port.isdigit():
        return
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return
    except OSError as err:
        raise OptionError(f"--address {address}: no Ray cluster answers there ({err.strerror or err}); start one "
                          "with `ray start --head` or give its address") from None


def require_ray() -> Any:
    """Ray, or the one line that says how to install it."""
    try:
        import ray
    except ImportError:
        raise OptionError('--engine ray: Ray is not installed; install the extra with pip install -e ".[ray]" '
                          '(or pip install "lifelong[ray]")') from None
    return ray


def make_engine(kind: str, workers: int, address: str | None, checkpoints: Path | None, keep: bool,
                logs: tuple[str, ...] = ()) -> Engine:
    folder = None if checkpoints is None else str(checkpoints.resolve())
    if kind == "ray":
        return RayEngine(workers, address, folder, keep, logs)
    if address:
        raise OptionError("--address: only with --engine ray")
    return LocalEngine(workers, folder, keep, logs)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

