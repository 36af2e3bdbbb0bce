"""The learner: backbone + scenario head + loss, and ``fit`` for methods' inner training phases."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lifelong.models.backbones import build_backbone
from lifelong.models.heads import LayerFactory, TiedAnswers, build_head, linear_layer
from lifelong.models.init import initialise
from lifelong.streams.stream import Stream
from lifelong.streams.task import Batch, Task


class Learner(nn.Module):
    """A model that maps (inputs, task ids) to logits in the scenario's target space.

    Methods reach the network only through this object: ``learner(x, task_ids)`` for logits,
    ``learner.features`` for the backbone's output, ``learner.loss`` for the task loss, and
    :meth:`fit` for any training they run themselves.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, stream: Stream) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.scenario = stream.scenario
        self.init = "default"  # the weight initialisation scheme (models/init.py); layers added later follow it

    @classmethod
    def build(cls, model: str, stream: Stream, seed: int, init: str = "default") -> Learner:
        """A freshly initialised model named ``model`` for ``stream``; the seed fixes the initial weights,
        ``init`` names the scheme (see ``models/init.py``)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            backbone = build_backbone(model, stream.input_shape, stream.vocab)
            head = build_head(stream, backbone_width(backbone), answer_layer(model, backbone, stream))
            learner = cls(backbone, head, stream)
            initialise(learner, init)
        learner.init = init
        return learner

    def forward(self, x: Tensor, task_ids: Tensor) -> Tensor:
        return self.head(self.backbone(x), task_ids)

    def features(self, x: Tensor) -> Tensor:
        return self.backbone(x)

    def loss(self, logits: Tensor, targets: Tensor) -> Tensor:
        """Mean cross-entropy: the task loss every method adds its penalty to."""
        return F.cross_entropy(logits, targets)

    def begin_task(self, task: Task) -> None:
        """Let the head know a task's labels are now in play (class-incremental heads open units)."""
        observe: Callable[[Task], None] = self.head.observe  # type: ignore[assignment]
        observe(task)

    def fit(
        self,
        parameters: Iterable[nn.Parameter],
        batches: Iterable[Batch],
        loss_fn: Callable[[Batch], Tensor],
        *,
        lr: float = 1e-3,
        optimizer: str = "adam",
        after_step: Callable[[], None] | None = None,
    ) -> float:
        """Train ``parameters`` on ``batches`` minimising ``loss_fn``; returns the last loss.

        The one inner training loop for methods (PackNet's retraining, a generator, an autoencoder),
        so none writes its own.
        """
        params = list(parameters)
        opt = make_optimizer(params, optimizer, lr)
        last = float("nan")
        for batch in batches:
            loss = loss_fn(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if after_step is not None:
                after_step()
            last = float(loss.detach())
        return last


def answer_layer(model: str, backbone: nn.Module, stream: Stream) -> LayerFactory:
    """The head's layers: linear, or tied to the backbone's word embedding where it asks (``tied_answers``)."""
    if not getattr(backbone, "tied_answers", False):
        return linear_layer
    if not stream.answer_tokens:
        raise ValueError(f"{model}: the tied answer layer needs a stream whose answers are words (babi); "
                         f"stream {stream.name!r} has none")
    embedding: Callable[[], Tensor] = backbone.answer_embedding  # type: ignore[assignment]
    return lambda in_features, classes: TiedAnswers(embedding, [stream.answer_tokens[c] for c in classes])


def backbone_width(backbone: nn.Module) -> int:
    """Every backbone declares ``out_features``, the width of the features the head reads."""
    width = getattr(backbone, "out_features", None)
    if not isinstance(width, int):
        raise TypeError(f"backbone {type(backbone).__name__} must declare an integer out_features")
    return width


def make_optimizer(
    params: list[nn.Parameter], name: str, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.Optimizer:
    """SGD (with optional momentum) or Adam; ``foreach`` kernels keep the step cheap on small models."""
    if not params:
        raise ValueError("the method chose no parameters to train")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=True)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, foreach=True)
    raise ValueError(f"unknown optimizer {name!r}; valid: adam, sgd")
