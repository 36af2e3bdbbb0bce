"""Task streams: ``Task``, ``Stream``, the scenarios, and one builder per file (each registered)."""

from lifelong.streams.babi import babi
from lifelong.streams.files import files_stream
from lifelong.streams.noisy import noisy_mnist
from lifelong.streams.permuted import permuted_mnist
from lifelong.streams.rotated import rotated_mnist
from lifelong.streams.scenario import Scenario
from lifelong.streams.split import split_mnist
from lifelong.streams.stream import Stream, StreamError
from lifelong.streams.synthetic import synthetic
from lifelong.streams.task import Split, Task

__all__ = [
    "Scenario",
    "Split",
    "Stream",
    "StreamError",
    "Task",
    "babi",
    "files_stream",
    "noisy_mnist",
    "permuted_mnist",
    "rotated_mnist",
    "split_mnist",
    "synthetic",
]
