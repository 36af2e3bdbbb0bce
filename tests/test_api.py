"""The Python entry point and the user-data stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lifelong
from lifelong.data.mnist import DataError
from lifelong.errors import OptionError


def test_run_by_name_records_the_resolved_config() -> None:
    result = lifelong.run("synthetic", "finetune", "mlp-8x1", seed=1, stream_params={"tasks": 2}, epochs=1)
    assert result.config["stream_params"]["seed"] == 1  # the run seed fills the stream's seed
    assert result.matrix.values.shape == (3, 2)
    assert result.run_id == lifelong.RunConfig(**{k: v for k, v in result.config.items()
                                                   if k not in ("run_id", "train")},
                                               train=lifelong.TrainConfig(epochs=1)).run_id


def test_different_seeds_differ_same_seed_repeats() -> None:
    a = lifelong.run("synthetic", "finetune", "mlp-8x1", seed=0, epochs=1)
    b = lifelong.run("synthetic", "finetune", "mlp-8x1", seed=0, epochs=1)
    c = lifelong.run("synthetic", "finetune", "mlp-8x1", seed=1, epochs=1)
    assert np.array_equal(a.matrix.values, b.matrix.values)
    assert not np.array_equal(a.matrix.values, c.matrix.values)


def test_unknown_training_keyword() -> None:
    with pytest.raises(OptionError, match="epoch: unknown training option; valid: batch_size, betas, clip_norm, "
                                          "deterministic, device, epochs"):
        lifelong.run("synthetic", epoch=3)


def test_finetune_forgets_where_joint_does_not() -> None:
    """The lecture's point on real permuted MNIST (2000 digits a task): sequential training loses
    part of task 1, training on all tasks at once shows the network could have kept it."""
    stream = lifelong.streams.permuted_mnist(tasks=3, seed=0, examples=2000)
    options = dict(epochs=5, optimizer="sgd", lr=0.1, momentum=0.9, batch_size=32)
    seq = lifelong.run(stream, "finetune", "mlp-100x1", **options)  # type: ignore[arg-type]
    joint = lifelong.run(stream, "joint", "mlp-100x1", **options)  # type: ignore[arg-type]
    assert seq.matrix.values[1, 0] > 0.85  # learned task 1
    assert seq.metrics["bwt"] < -0.05  # and forgot part of it
    assert joint.metrics["acc"] > seq.metrics["acc"] + 0.03


def _task_file(path: Path, n: int = 20, labels: int = 3, **override: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.normal(size=(n, 5)).astype(np.float32), "y_train": np.arange(n) % labels,
              "x_test": rng.normal(size=(n, 5)).astype(np.float32), "y_test": np.arange(n) % labels}
    np.savez(path, **{**arrays, **override})


def test_files_stream_reads_a_directory_of_tasks(tmp_path: Path) -> None:
    _task_file(tmp_path / "a.npz")
    _task_file(tmp_path / "b.npz")
    stream = lifelong.streams.files_stream(str(tmp_path), scenario="task")
    assert [t.name for t in stream] == ["a", "b"] and stream.input_shape == (5,)
    assert lifelong.run(stream, "finetune", "mlp-8x1", epochs=1).matrix.values.shape == (3, 2)


def test_files_stream_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data directory does not exist"):
        lifelong.streams.files_stream(str(tmp_path / "none"))
    _task_file(tmp_path / "a.npz", x_train=np.full((20, 5), np.nan, np.float32))
    with pytest.raises(DataError, match=r"a.npz: x_train contains NaN"):
        lifelong.streams.files_stream(str(tmp_path))
    _task_file(tmp_path / "a.npz", y_train=np.zeros(0, int), x_train=np.zeros((0, 5), np.float32))
    with pytest.raises(DataError, match=r"a.npz: the task is empty"):
        lifelong.streams.files_stream(str(tmp_path))
    (tmp_path / "a.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"a.npz: not a readable .npz file"):
        lifelong.streams.files_stream(str(tmp_path))
