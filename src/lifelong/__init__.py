"""lifelong: continual learning with PyTorch — task streams, methods against forgetting, evaluation.

    import lifelong as ll
    stream = ll.streams.permuted_mnist(tasks=5)
    result = ll.run(stream, method="finetune", model="mlp-400x2", epochs=1)
    result.matrix, result.metrics
"""

from lifelong import methods, models, streams
from lifelong.api import build_method, build_stream, run
from lifelong.config import RunConfig, TrainConfig
from lifelong.environment import library_version
from lifelong.metrics import AccuracyMatrix
from lifelong.result import Result
from lifelong.state import State

__version__ = library_version()

__all__ = [
    "AccuracyMatrix",
    "Result",
    "RunConfig",
    "State",
    "TrainConfig",
    "__version__",
    "build_method",
    "build_stream",
    "methods",
    "models",
    "run",
    "streams",
]
