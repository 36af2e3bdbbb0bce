"""Shared fixtures: a tiny seeded synthetic stream and a small fake MNIST directory.

Tests never need the network; only ``data/test_mnist.py`` and ``methods/test_defaults.py`` read the real MNIST
package (the defaults contract is about real digits).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import lifelong
from lifelong.streams.stream import Stream

torch.set_num_threads(1)


@pytest.fixture
def tiny_stream() -> Stream:
    """Two tasks, two classes each, 8 features: trains in milliseconds."""
    return lifelong.streams.synthetic(tasks=2, classes_per_task=2, features=8, examples=32, test_examples=32)


def write_fake_mnist(directory: Path, n_train: int = 300, n_test: int = 100, seed: int = 0) -> Path:
    """An ``mnist.npz`` of the real layout: noisy copies of one dense random prototype per class.

    Dense prototypes make every pixel carry class information, so permuted tasks interfere the way
    real permuted MNIST tasks do.
    """
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 256, size=(10, 28, 28))

    def images(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 10
        x = np.clip(prototypes[y] + rng.normal(0, 60, size=(n, 28, 28)), 0, 255).astype(np.uint8)
        return x, y.astype(np.int64)

    x_train, y_train = images(n_train)
    x_test, y_test = images(n_test)
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(directory / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return directory


@pytest.fixture(scope="session")
def fake_mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture
def fake_mnist(fake_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every MNIST stream at the fake directory."""
    monkeypatch.setenv("LIFELONG_MNIST_DIR", str(fake_mnist_dir))
    return fake_mnist_dir


def one_line_error(kind: type[Exception], call: Callable[[], object]) -> str:
    """The message of the ``kind`` error ``call`` raises, checked to be one line (as the CLI prints it)."""
    with pytest.raises(kind) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message
    return message
