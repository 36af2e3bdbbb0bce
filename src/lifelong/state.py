"""A deployed model that keeps learning: ``init``, then ``learn`` one task folder at a time, ``evaluate``, ``predict``.

A :class:`State` holds what later learning needs — the configuration, the network (grown parts
included), the method's ``_`` state, the optimizer, every random generator (data order, the
method's own, torch's global), the accuracy matrix so far — and, for each learned task, a
*reference* to its folder with a SHA-256 of its files, not a copy of its data: a state stays the
size of the network, the optimizer and the method's state (EWC: the weights three times, as
parameters, anchors and Fisher; measured sizes in the README), and re-evaluating old tasks needs
their folders, unchanged (a changed or missing folder is refused in one line naming it).

**One learning, two paths.** ``learn`` rebuilds the stream of the folders learned so far plus the
new one with the files stream's own reader (:func:`task_folders_stream`, whose rules a prefix keeps)
and trains it with :func:`lifelong.train.learn_phase`, the function ``lifelong run`` trains every
phase with. The network for k tasks is built from the state's seed exactly as ``run`` builds it for
all T (a task head's initial weights depend only on the heads before it), so every entry a deployed
model can know — row 0 (the initial network rebuilt from the seed), R[i−1, i] (evaluated before
training task i) and everything at or below the diagonal — equals ``lifelong run``'s over the same
folders, bit for bit, and so do ACC, BWT, FWT and forgetting. Entries R[i, j] with j > i + 1 are
not measured (NaN; null in JSON); no metric uses them. Methods that train on several tasks at once
(``joint``, ``cumulative``) need the whole stream up front and are refused.

The file is a header, a checksum and ``torch.save`` of tensors and plain containers (loaded with
``weights_only=True``), written atomically; the previous file is kept as ``<state>.prev`` until the
new one is complete. A corrupt, foreign or newer-format state is refused in one line and left as it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lifelong.api import DEFAULT_MODEL, build_learner, build_method, train_config
from lifelong.config import RunConfig, TrainConfig
from lifelong.data.files import path_kind
from lifelong.device import stream_on
from lifelong.environment import describe_environment
from lifelong.errors import CheckpointError, DataError, OptionError
from lifelong.methods.base import Method
from lifelong.metrics import AccuracyMatrix
from lifelong.models.learner import Learner
from lifelong.observers import Observer
from lifelong.options import resolve
from lifelong.result import Result
from lifelong.resume import read_checked, write_checked
from lifelong.streams.files import _declared, _parse_size, files_stream, task_folders_stream
from lifelong.streams.scenario import Scenario
from lifelong.streams.stream import Stream
from lifelong.streams.synthetic import synthetic
from lifelong.train import (
    NonFinite,
    _diverged,
    evaluate,
    learn_phase,
    parameter_counts,
    peak_rss_mb,
    plain_state,
    restore_training_state,
    training_state,
)

MAGIC = b"lifelong-state 1\n"
FORMAT = 1
# The files stream's options a state keeps (how its folders are read); the folders bring the data.
READ_OPTIONS = ("label_column", "image_size", "channels", "classes", "holdout")


def folder_checksum(path: Path) -> str:
    """SHA-256 over a task folder's files (relative paths and contents), or of one ``.npz`` task file."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        digest.update(f.relative_to(path.parent if f == path else path).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()


@dataclasses.dataclass
class State:
    """A model in deployment: its configuration, what it learned, and how it did (see the module doc)."""

    config: dict[str, Any]
    tasks: list[dict[str, str]]  # per learned task: name, path (absolute), checksum
    matrix: np.ndarray  # (k + 1, k): row 0 = initial network, NaN where not measured
    seconds: list[float]
    parameters: list[dict[str, int]]
    weights: dict[str, Any] = dataclasses.field(default_factory=dict)  # learner, method state, optimizer, RNGs

    # -- making one ------------------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        method: str = "finetune",
        model: str = DEFAULT_MODEL,
        *,
        scenario: str = "task",
        seed: int = 0,
        init: str = "default",
        method_params: dict[str, Any] | None = None,
        train: dict[str, Any] | None = None,
        stream_params: dict[str, Any] | None = None,
    ) -> State:
        """A new state: checked configuration, no task learned yet (the network is built with the first).

        ``stream_params`` are the files stream's reading options (``label_column``, ``image_size``,
        ``channels``, ``classes``, ``holdout``); a class-incremental state needs ``classes``: its
        head has one unit per class from the start, as ``run`` builds it.
        """
        built = build_method(method, method_params)
        probe = synthetic(tasks=2, features=4, examples=4, test_examples=4, scenario=scenario)
        probing = build_method(method, method_params)
        probing.attach(Learner.build("mlp-8", probe, 0), 0, probe.scenario)
        if [p.tasks for p in probing.phases(probe)] != [(t,) for t in probe]:
            raise OptionError(f"--method {method}: it plans its training over the whole stream up front (joint and "
                              "cumulative train several tasks at once; cpg and net2net draw every task's held-out "
                              "split at the start), so a deployed model cannot learn with it task by task; use "
                              "lifelong run")
        kind = Scenario.parse(scenario)
        if kind not in built.scenarios:
            supported = ", ".join(sorted(s.value for s in built.scenarios))
            raise OptionError(f"--scenario {scenario}: method {method!r} supports {supported}")
        reading = resolve(files_stream, dict(stream_params or {}), "--stream.", "a deployed model's task folders")
        unknown = set(reading) - set(READ_OPTIONS)
        if unknown:
            raise OptionError(f"--stream.{sorted(unknown)[0]}: not an option of a deployed model; valid: "
                              f"{', '.join(READ_OPTIONS)} (the task folders bring the data)")
        _parse_size(reading.get("image_size", ""))
        if kind is Scenario.CLASS and not reading.get("classes"):
            raise OptionError("--scenario class: a deployed class-incremental model needs its classes up front "
                              "(--stream.classes a,b,c: every class name, in id order), so its head has every unit "
                              "from the first task on")
        tc = train_config("files", dict(train or {}))
        build_learner_check(model, init)
        asked = {"device": str((train or {}).get("device", "auto"))}  # re-resolved wherever the state is loaded
        config = {"format": FORMAT, "method": method, "method_params": built.hyperparameters(), "model": model,
                  "init": init, "scenario": kind.value, "seed": seed, "train": {**dataclasses.asdict(tc), **asked},
                  "stream": {k: list(v) if isinstance(v, tuple) else v for k, v in reading.items()}}
        return cls(config, [], np.zeros((1, 0)), [], [])

    # -- learning --------------------------------------------------------------------------------------
    def learn(self, folder: str | Path, observers: Sequence[Observer] = ()) -> Result:
        """Train on one new task folder; return the state's result (R so far, metrics). The state
        changes only when training succeeded; save it with :meth:`save`. ``observers`` watch the
        phase (a progress display)."""
        path = Path(folder).resolve()
        for k, task in enumerate(self.tasks):
            if Path(task["path"]) == path:
                raise DataError(f"{folder}: already learned (task {k + 1}, {task['name']})")
        stream = self._stream([*self._learned_paths(), path])
        k = len(self.tasks)
        if k and tuple(stream.input_shape) != tuple(self.config["input_shape"]):
            raise DataError(f"{folder}: its examples have shape {tuple(stream.input_shape)} "
                            f"({int(np.prod(stream.input_shape))} features), but this model was built for "
                            f"{tuple(self.config['input_shape'])} ({int(np.prod(self.config['input_shape']))})")
        tc = self._train()
        torch.set_num_threads(tc.threads)
        learner, method, data_order, optimizer = self._restore(stream)
        initial_learner, initial_method = self._build(stream)  # row 0: the network before any training
        row0 = evaluate(initial_learner, initial_method, [stream[k]], tc.eval_batch_size, tc=tc)[0]
        before = evaluate(learner, method, [stream[k]], tc.eval_batch_size, tc=tc)[0] if k else row0
        phase = method.phases(stream)[k]
        t0 = time.perf_counter()
        try:
            for o in observers:
                o.run_started(self._run_config(stream, method), [t.name for t in stream])
            optimizer = learn_phase(k, phase, learner, method, tc, optimizer, data_order, observers)
        except NonFinite as bad:
            raise _diverged(method, self._run_config(stream, method), phase, f"task {k + 1}", bad,
                            lambda: self.result(stream.name)) from None
        seconds = time.perf_counter() - t0
        row = evaluate(learner, method, stream, tc.eval_batch_size, tc=tc)
        matrix = np.full((k + 2, k + 1), np.nan)
        matrix[:k + 1, :k] = self.matrix
        matrix[0, k], matrix[k, k], matrix[k + 1] = row0, before, row
        self.matrix = matrix
        if not k:
            self.config["input_shape"] = list(stream.input_shape)
        self.tasks.append({"name": stream[k].name, "path": str(path), "checksum": folder_checksum(path)})
        self.seconds.append(seconds)
        self.parameters.append(parameter_counts(learner))
        self.weights = training_state(learner, method, optimizer, data_order)
        self._method = method
        return self.result(stream.name)

    def evaluate(self, folders: Sequence[str | Path] = ()) -> dict[str, float]:
        """Accuracy of the current model on every learned task and on ``folders`` (not learned: only in
        the domain- and class-incremental scenarios, where no task needs a head of its own)."""
        extra = [Path(f).resolve() for f in folders]
        if not self.tasks:
            raise OptionError("--state: no task learned yet; learn one first (lifelong learn --task DIR)")
        learned = self._learned_paths()
        new = [p for p in extra if p not in learned]
        if new and self.config["scenario"] == "task":
            raise OptionError(f"--task {new[0]}: not learned; in the task-incremental scenario a task needs its own "
                              "head, which only learning it gives")
        stream = self._stream(learned + new, check=True)
        learner, method = self._restore(stream)[:2]
        tc = self._train()
        accuracies = evaluate(learner, method, stream, tc.eval_batch_size, tc=tc)
        return {task.name: float(a) for task, a in zip(stream, accuracies, strict=True)}

    def predict(self, x: np.ndarray, task: int | None = None, source: str = "inputs") -> np.ndarray:
        """Predicted global class ids for model inputs ``x`` (examples first, as the task folders hold them);
        ``task`` (0-based, default the last learned) picks a task-incremental head; ``source`` names the
        inputs in errors (their file)."""
        if not self.tasks:
            raise OptionError("--state: no task learned yet; learn one first (lifelong learn --task DIR)")
        k = len(self.tasks) - 1 if task is None else task
        if not 0 <= k < len(self.tasks):
            raise OptionError(f"--task-id: must be between 1 and {len(self.tasks)}, got {k + 1}")
        stream = self._stream(self._learned_paths(), check=True)
        shape = tuple(self.config["input_shape"])
        if x.ndim < 2 or int(np.prod(x.shape[1:])) != int(np.prod(shape)):
            raise DataError(f"{source}: inputs of shape {x.shape[1:]} ({int(np.prod(x.shape[1:]))} features); this "
                            f"model takes {shape} ({int(np.prod(shape))})")
        learner, method = self._restore(stream)[:2]
        chosen = stream[k]
        stored = torch.as_tensor(np.ascontiguousarray(x)).reshape(len(x), *chosen.test.x.shape[1:])
        inputs = chosen.inputs(stored.to(chosen.test.x.device))
        ids = torch.full((len(x),), k, dtype=torch.long, device=inputs.device)
        learner.eval()
        with torch.no_grad():
            predicted = method.predict(inputs, ids)
            if predicted is None:
                predicted = learner(inputs, ids).argmax(1)
        classes = np.asarray(chosen.classes if self.config["scenario"] != "class" else range(stream.n_classes))
        return np.asarray(classes[predicted.cpu().numpy()])

    def result(self, name: str = "deployed") -> Result:
        """The state as a run's result: R (NaN where not measured), metrics, costs, configuration."""
        rows = tuple(range(len(self.tasks) + 1))
        matrix = AccuracyMatrix(self.matrix.copy(), rows, tuple(t["name"] for t in self.tasks))
        config = {**{k: v for k, v in self.config.items() if k not in ("format", "input_shape")}, "stream": name,
                  "tasks": [t["path"] for t in self.tasks]}
        method_report = plain_state(self._method) if hasattr(self, "_method") else {}
        return Result(config, matrix, list(self.seconds), float(sum(self.seconds)), list(self.parameters),
                      _method_bytes(self.weights), peak_rss_mb(),
                      describe_environment(self.config["train"]["threads"]), method_report)

    # -- files -----------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write atomically; the file it replaces is kept as ``<path>.prev`` until the new one is complete."""
        target = Path(path)
        payload = {"format": FORMAT, "config": self.config, "tasks": self.tasks,
                   "matrix": torch.from_numpy(self.matrix), "seconds": self.seconds, "parameters": self.parameters,
                   "weights": self.weights}
        if target.exists():
            previous = target.with_name(target.name + ".prev")
            with previous.open("wb") as f:
                f.write(target.read_bytes())
                f.flush()
                os.fsync(f.fileno())
        write_checked(target, payload, MAGIC)

    @classmethod
    def load(cls, path: str | Path) -> State:
        """Read a state file; a corrupt, foreign or newer-format one is refused in one line naming it."""
        p = Path(path)
        if path_kind(p, CheckpointError) is None:
            raise CheckpointError(f"{p}: state file does not exist (make one with lifelong init --state {p})")
        data = read_checked(p, MAGIC, "lifelong state")
        if data.get("format") != FORMAT:
            raise CheckpointError(f"{p}: state format {data.get('format')!r}; this lifelong reads format {FORMAT}"
                                  + ("; upgrade lifelong to read it" if isinstance(data.get("format"), int)
                                     and data["format"] > FORMAT else ""))
        try:
            matrix = data["matrix"].numpy()
            return cls(dict(data["config"]), list(data["tasks"]), matrix, list(data["seconds"]),
                       list(data["parameters"]), dict(data["weights"]))
        except (KeyError, AttributeError, TypeError) as err:
            raise CheckpointError(f"{p}: not a complete lifelong state ({err})") from None

    # -- inside ----------------------------------------------------------------------------------------
    def _learned_paths(self) -> list[Path]:
        return [Path(t["path"]) for t in self.tasks]

    def _stream(self, paths: list[Path], check: bool = True) -> Stream:
        """The task folders as one stream, read as ``run --stream files`` reads them; learned folders must
        be there and unchanged."""
        for k, task in enumerate(self.tasks):
            path = Path(task["path"])
            if path_kind(path) is None:
                raise DataError(f"{path}: the folder of learned task {k + 1} ({task['name']}) is gone; a state "
                                "keeps references to its tasks' data, not copies")
            if check and folder_checksum(path) != task["checksum"]:
                raise DataError(f"{path}: changed since it was learned as task {k + 1} (its files' checksum differs)")
        reading = dict(self.config["stream"])
        stream = task_folders_stream(
            paths, Scenario.parse(self.config["scenario"]), label_column=reading.get("label_column", "label"),
            size=_parse_size(reading.get("image_size", "")), channels=reading.get("channels", "auto"),
            declared=_declared(tuple(reading.get("classes", ()))), holdout=reading.get("holdout", 0.0),
            seed=self.config["seed"], name="deployed")
        return stream_on(stream, torch.device(self._train().device))

    def _build(self, stream: Stream) -> tuple[Learner, Method]:
        c = self.config
        learner = build_learner(c["model"], stream, c["seed"], c["init"]).to(self._train().device)
        method = build_method(c["method"], c["method_params"])
        method.attach(learner, c["seed"], stream.scenario)
        return learner, method

    def _restore(self, stream: Stream) -> tuple[Learner, Method, torch.Generator, torch.optim.Optimizer | None]:
        """A learner for ``stream`` with what the state learned; the head of a task the state has not
        trained yet keeps the initial weights ``run`` gives it."""
        learner, method = self._build(stream)
        data_order = torch.Generator().manual_seed(self.config["seed"])
        if not self.weights:
            torch.manual_seed(self.config["seed"])  # as train() seeds a run
            return learner, method, data_order, None
        optimizer = restore_training_state(self.weights, learner, method, data_order, self._train(), "--state",
                                           new_task=len(stream) > len(self.tasks))
        return learner, method, data_order, optimizer

    def _train(self) -> TrainConfig:
        """The training settings; the device as asked for at ``init`` (``auto`` by default), resolved on the
        machine that loads the state."""
        return TrainConfig(**{**self.config["train"], "betas": tuple(self.config["train"]["betas"])})

    def _run_config(self, stream: Stream, method: Method) -> RunConfig:
        c = self.config
        return RunConfig(stream.name, dict(stream.params), c["model"], c["method"], method.hyperparameters(),
                         self._train(), c["seed"], c["init"])


def build_learner_check(model: str, init: str) -> None:
    """Refuse a model name or init that cannot be built, before any data is read: a tiny stand-in stream of
    32×32 one-channel inputs, which an MLP reads flat and a cnn as an image."""
    probe = synthetic(tasks=1, features=32 * 32, examples=4, test_examples=4)
    build_learner(model, dataclasses.replace(probe, input_shape=(1, 32, 32)), 0, init)


def _method_bytes(weights: dict[str, Any]) -> int:
    stack: list[Any] = [weights.get("method_state", {})]
    total = 0
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            total += item.numel() * item.element_size()
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total

