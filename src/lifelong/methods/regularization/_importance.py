"""The family's shared maths, written once: importance estimates, the quadratic anchor penalty, path integrals.

Every method of the family adds to the task loss the lecture's penalty

    s · Σ_t Σ_i b_{t,i} (θ_i − θ*_{t,i})²,      s = λ (``half=False``) or λ/2 (``half=True``),

with one term t per anchor θ*_t (EWC keeps one per finished task, the others one at the latest
parameters) and importances b_t that differ by method. ``half`` makes each paper's own scaling
explicit: EWC (arXiv 1612.00796, eq. 3) and online EWC write (λ/2)·Σ F(θ−θ*)²; SI, MAS, RWalk,
SCP, the homework (NTU ML2021 HW14) and Hsu et al.'s L2 write λ·Σ b(θ−θ*)². A preset for a protocol
written without ½ sets ``half = false``; under ``half = true`` our λ is the paper's λ unchanged.

Importances are computed from the finished task's *training* data (never test data), from
per-sample gradients, vectorised:

- For ``nn.Linear`` layers called once on a 2-D batch (every MLP and head here), the per-sample
  gradient of the weight is the outer product δ_n a_nᵀ of the gradient at the layer's output and
  its input, so Σ_n w_n |δ_n a_nᵀ|^p = (w ⊙ |δ|^p)ᵀ |a|^p: one matrix product per layer, exact,
  with no (examples × parameters) tensor. This is what keeps EWC at a fraction of an epoch.
- Every other parameter (convolutions, embeddings, shared layers) gets its per-sample gradients
  from ``torch.func`` (``functional_call`` + ``vmap`` + ``grad``) in chunks.

Both give the same numbers as a slow loop over single examples (tests check both paths).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, vjp, vmap

from lifelong.methods.base import Method
from lifelong.models.heads import MASKED
from lifelong.models.learner import Learner
from lifelong.streams.scenario import ALL_SCENARIOS
from lifelong.streams.task import Batch, Task, train_batch

Params = dict[str, Tensor]
LossFn = Callable[[Tensor, Tensor], Tensor]
"""(logits (B, C), per-sample auxiliary values (B,)) -> per-sample losses (B,); must work under vmap."""

Term = tuple[LossFn, Tensor, Tensor | None]
"""One per-sample loss with its auxiliary values (e.g. labels) and optional per-sample weights."""

CHUNK = 256  # examples per forward pass of an importance estimate on the CPU
ACCELERATOR_CHUNK = 4096  # on a GPU: large passes keep it busy (the sums' order, so their last bits, differ)
FUNC_CHUNK = 32  # examples per vmap chunk on the torch.func path: bounds (examples × parameters) memory


# -- parameters -------------------------------------------------------------------------------------
def trainable(module: nn.Module) -> dict[str, nn.Parameter]:
    """The parameters that learn (the ones a penalty can guard), by name."""
    return {name: p for name, p in module.named_parameters() if p.requires_grad}


def snapshot(module: nn.Module) -> Params:
    """Detached copies of the trainable parameters: an anchor θ*."""
    return {name: p.detach().clone() for name, p in trainable(module).items()}


def zeros_like(params: Params) -> Params:
    return {name: torch.zeros_like(p) for name, p in params.items()}


@contextmanager
def evaluation(module: nn.Module) -> Iterator[None]:
    """Eval mode for importance estimates (samples independent, no dropout), restored afterwards."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def task_batches(task: Task, samples: int | None, rng: torch.Generator, size: int | None = None) -> Iterator[Batch]:
    """The finished task's *training* examples, all of them in order or ``samples`` drawn with ``rng``, in
    passes of ``size`` (default: ``CHUNK`` on the CPU, ``ACCELERATOR_CHUNK`` elsewhere)."""
    if size is None:
        size = CHUNK if task.train.y.device.type == "cpu" else ACCELERATOR_CHUNK
    n = len(task.train)
    if n == 0:
        raise ValueError(f"task {task.name!r} has no training examples to estimate importances from")
    if samples is not None and samples < 1:
        raise ValueError(f"samples must be at least 1 or None (all), got {samples}")
    index = torch.arange(n, device="cpu") if samples is None or samples >= n else \
        torch.randperm(n, generator=rng, device="cpu")[:samples]
    for start in range(0, len(index), size):
        yield train_batch(task, index[start:start + size])


# -- per-sample gradient moments --------------------------------------------------------------------
def gradient_moments(
    learner: nn.Module,
    x: Tensor,
    task_ids: Tensor,
    terms: Sequence[Term],
    power: int,
    out: Params,
    *,
    fast: bool = True,
) -> None:
    """Add Σ_n Σ_terms w_n |∂ℓ_n/∂θ|^power to ``out`` (per-sample gradients, no loop over examples).

    Args:
        learner: maps (x, task ids) to logits.
        task_ids: each example's task; examples of different tasks are handled one task at a time
            (heads route by task, so a forward pass over one task keeps each layer's batch intact).
        terms: per-sample losses ℓ_n with their auxiliary values and optional weights w_n.
        power: 2 for Fisher-type moments (squares), 1 for MAS (absolute values).
        out: accumulators keyed by parameter name (the parameters whose moments are wanted).
        fast: use the exact outer-product identity for linear layers; False forces ``torch.func``
            everywhere (the reference the fast path is tested against).
    """
    present = task_ids.unique()
    for task in present.tolist():
        rows = None if len(present) == 1 else task_ids == task
        part = terms if rows is None else [(fn, aux[rows], None if w is None else w[rows]) for fn, aux, w in terms]
        xs = x if rows is None else x[rows]
        covered = _linear_moments(learner, xs, task, part, power, out) if fast else set()
        rest = [name for name in out if name not in covered]
        if rest:
            _func_moments(learner, rest, xs, task, part, power, out)


def _power(t: Tensor, power: int) -> Tensor:
    return t.square() if power == 2 else t.abs().pow(power)


def _linear_moments(learner: nn.Module, x: Tensor, task_id: int, terms: Sequence[Term], power: int,
                    out: Params) -> set[str]:
    """Moments of the weights and biases of ``nn.Linear`` layers from δ_n and a_n; returns the names done."""
    calls: dict[str, list[tuple[Tensor, Tensor]]] = {}
    handles = []
    for prefix, module in learner.named_modules():
        if type(module) is nn.Linear and (f"{prefix}.weight" in out or f"{prefix}.bias" in out):
            def record(m: nn.Module, inputs: tuple[Tensor, ...], output: Tensor, key: str = prefix) -> None:
                calls.setdefault(key, []).append((inputs[0].detach(), output))
            handles.append(module.register_forward_hook(record))
    try:
        logits = learner(x, torch.full((len(x),), task_id, dtype=torch.long, device=x.device))
    finally:
        for handle in handles:
            handle.remove()
    # One call on the whole 2-D batch: per-sample weight gradients factor as δ_n a_nᵀ.
    layers = {key: c[0] for key, c in calls.items() if len(c) == 1 and c[0][0].dim() == 2 and len(c[0][0]) == len(x)}
    done = {name for key in layers for name in (f"{key}.weight", f"{key}.bias")}
    # Linear layers never called on this task (another task's head) get no gradient: zero moments.
    for prefix, module in learner.named_modules():
        if type(module) is nn.Linear and prefix not in calls:
            done |= {f"{prefix}.weight", f"{prefix}.bias"}
    if not layers:
        return done
    keys = list(layers)
    # Σ_n Σ_terms w_n |δ_n|^p |a_n|^p = (Σ_terms w ⊙ |δ|^p)ᵀ |a|^p: sum over terms first, one product per
    # layer. The backward passes of several terms run batched (vmap over one-hot cotangents), not in a loop.
    losses = torch.stack([loss_fn(logits, aux) for loss_fn, aux, _ in terms])  # (terms, examples)
    outputs = [layers[k][1] for k in keys]
    if len(terms) == 1:
        grads = [None if g is None else g.unsqueeze(0)
                 for g in torch.autograd.grad(losses.sum(), outputs, allow_unused=True)]
    else:
        cotangents = torch.eye(len(terms), device=x.device).unsqueeze(2).expand(-1, -1, len(x))
        grads = list(torch.autograd.grad(losses, outputs, cotangents, is_grads_batched=True, allow_unused=True))
    weights = torch.stack([torch.ones(len(x), device=x.device) if w is None else w for _, _, w in terms]).unsqueeze(2)
    summed = {key: (_power(g.detach(), power) * weights).sum(0) for key, g in zip(keys, grads, strict=True)
              if g is not None}
    for key, d in summed.items():
        if f"{key}.weight" in out:
            out[f"{key}.weight"].addmm_(d.T, _power(layers[key][0], power))
        if f"{key}.bias" in out:
            out[f"{key}.bias"].add_(d.sum(0))
    return done


class LinearTap:
    """Watches the training loop's own forward and backward: each linear layer's input and output gradient.

    Armed for one step, it gives that step's per-example empirical Fisher of the linear layers at no
    extra forward or backward: the loop's loss is the batch mean of per-example losses, so the gradient
    at a layer's output is δ_n = (1/B) ∂ℓ_n/∂out_n and Σ_n (∂ℓ_n/∂W)² / B = B (δ²)ᵀ(a²). It observes only;
    layers it cannot factor (called twice, or on part of the batch) are left to :func:`gradient_moments`.
    """

    def __init__(self, learner: nn.Module, names: set[str]) -> None:
        self.armed = False
        self.inputs: dict[str, list[Tensor]] = {}
        self.deltas: dict[str, list[Tensor]] = {}
        self.handles = [module.register_forward_hook(self._recorder(prefix))
                        for prefix, module in learner.named_modules()
                        if type(module) is nn.Linear and (f"{prefix}.weight" in names or f"{prefix}.bias" in names)]

    def _recorder(self, key: str) -> Callable[..., None]:
        def record(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            if self.armed and output.requires_grad:
                self.inputs.setdefault(key, []).append(inputs[0].detach())
                output.register_hook(lambda g: self.deltas.setdefault(key, []).append(g.detach()))
        return record

    def fisher(self, batch_size: int, out: Params) -> set[str]:
        """Add the armed step's empirical Fisher of the linear layers to ``out``; returns the names done."""
        done: set[str] = set()
        for key, inputs in self.inputs.items():
            deltas = self.deltas.get(key, [])
            if len(inputs) != 1 or len(deltas) != 1 or inputs[0].dim() != 2 or len(inputs[0]) != batch_size:
                continue
            d = deltas[0].square().mul_(batch_size)
            if f"{key}.weight" in out:
                out[f"{key}.weight"].addmm_(d.T, inputs[0].square())
            if f"{key}.bias" in out:
                out[f"{key}.bias"].add_(d.sum(0))
            done |= {f"{key}.weight", f"{key}.bias"}
        self.armed = False
        self.inputs, self.deltas = {}, {}
        return done

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def _func_moments(learner: nn.Module, names: list[str], x: Tensor, task_id: int, terms: Sequence[Term],
                  power: int, out: Params) -> None:
    """Per-sample gradients of the ``names`` parameters with ``torch.func`` (vmap over examples, in chunks)."""
    state = {**{n: p.detach() for n, p in learner.named_parameters()}, **dict(learner.named_buffers())}
    chosen = {n: state.pop(n) for n in names}
    task_ids = torch.full((1,), task_id, dtype=torch.long, device=x.device)  # not vmapped: heads pick one task as usual
    for loss_fn, aux, weight in terms:
        per_sample = vmap(grad(_one_sample_loss(learner, state, task_ids, loss_fn)), in_dims=(None, 0, 0))
        for start in range(0, len(x), FUNC_CHUNK):
            grads = per_sample(chosen, x[start:start + FUNC_CHUNK], aux[start:start + FUNC_CHUNK])
            for name, g in grads.items():
                m = _power(g, power)
                if weight is not None:
                    m = m * weight[start:start + FUNC_CHUNK].view(-1, *([1] * (m.dim() - 1)))
                out[name].add_(m.sum(0))


def _one_sample_loss(learner: nn.Module, state: Params, task_ids: Tensor, loss_fn: LossFn) -> Callable[..., Tensor]:
    def loss(chosen: Params, xi: Tensor, ai: Tensor) -> Tensor:
        logits = functional_call(learner, {**state, **chosen}, (xi.unsqueeze(0), task_ids))
        return loss_fn(logits, ai.unsqueeze(0)).sum()
    return loss


def _nll(logits: Tensor, targets: Tensor) -> Tensor:
    return F.cross_entropy(logits, targets, reduction="none")


def _squared_norm(logits: Tensor, unused: Tensor) -> Tensor:
    """||F(x)||²₂ over the outputs the head can produce (masked outputs are constants, not outputs)."""
    return logits.masked_fill(logits <= MASKED / 2, 0.0).square().sum(1)


# -- importance estimates ---------------------------------------------------------------------------
FISHER_KINDS = ("true", "sample", "predicted", "empirical")


def fisher_terms(learner: nn.Module, batch: Batch, kind: str, rng: torch.Generator) -> list[Term]:
    """The per-sample log-likelihood terms whose squared gradients average to the diagonal Fisher.

    - ``true``: E_{y~p_θ(y|x)} (∂ log p_θ(y|x)/∂θ)², the exact expectation over the model's
      predictive distribution (one weighted term per class the head can output).
    - ``sample``: one label drawn from p_θ(y|x) per example (an unbiased estimate of ``true``).
    - ``predicted``: the model's most likely label (van de Ven & Tolias's and HW14's "true" Fisher).
    - ``empirical``: the observed labels (the empirical Fisher; not the Fisher information).
    """
    if kind == "empirical":
        return [(_nll, batch.y, None)]
    with torch.no_grad():
        p = learner(batch.x, batch.task_ids).softmax(1)
    if kind == "predicted":
        return [(_nll, p.argmax(1), None)]
    if kind == "sample":
        drawn = torch.multinomial(p.cpu(), 1, generator=rng).squeeze(1)  # the method's generator is the host's
        return [(_nll, drawn.to(p.device), None)]
    if kind == "true":
        live = (p > 0).any(0).nonzero().squeeze(1).tolist()  # masked classes have p = 0 exactly
        return [(_nll, torch.full_like(batch.y, c), p[:, c]) for c in live]
    raise ValueError(f"unknown Fisher kind {kind!r}; valid: {', '.join(FISHER_KINDS)}")


def fisher_diagonal(learner: Learner, task: Task, kind: str, samples: int | None, rng: torch.Generator) -> Params:
    """Diagonal Fisher F_i = (1/N) Σ_n E_y (∂ log p(y|x_n)/∂θ_i)² on the task's training examples."""
    out = zeros_like(snapshot(learner))
    n = 0
    with evaluation(learner):
        for batch in task_batches(task, samples, rng):
            gradient_moments(learner, batch.x, batch.task_ids, fisher_terms(learner, batch, kind, rng), 2, out)
            n += len(batch)
    return {name: v / n for name, v in out.items()}


def output_sensitivity(learner: Learner, task: Task, samples: int | None, rng: torch.Generator) -> Params:
    """MAS (arXiv 1711.09601, eq. 2-4): Ω_i = (1/N) Σ_n |∂ ||F(x_n; θ)||²₂ / ∂θ_i|.

    Reads only the inputs: no label enters, so MAS works on unlabelled data.
    """
    out = zeros_like(snapshot(learner))
    n = 0
    with evaluation(learner):
        for batch in task_batches(task, samples, rng):
            unused = torch.zeros(len(batch), device=batch.x.device)
            gradient_moments(learner, batch.x, batch.task_ids, [(_squared_norm, unused, None)], 1, out)
            n += len(batch)
    return {name: v / n for name, v in out.items()}


def sliced_sensitivity(learner: Learner, task: Task, slices: int, batch_size: int, samples: int | None,
                       rng: torch.Generator) -> Params:
    """SCP (Kolouri et al., OpenReview BJge3TNKwH, Alg. 1): Γ_i = mean_B (1/L) Σ_l (∂ ξ_lᵀ φ̄_B / ∂θ_i)².

    φ̄_B is the mean network output over a batch B of ``batch_size`` training examples and ξ_l are
    L random directions on the unit sphere of the outputs the head can produce (drawn per batch with
    the method's generator). With J_B = ∂φ̄_B/∂θ (one row per output, from ``vmap`` over the vjp)
    and M = (1/L) Σ_l ξ_l ξ_lᵀ, Γ = mean_B Σ_{c,c'} M_{cc'} J_{B,c} J_{B,c'}: no loop over slices.
    """
    if slices < 1:
        raise ValueError(f"slices must be at least 1, got {slices}")
    params = snapshot(learner)
    out = zeros_like(params)
    state = {**{n: p.detach() for n, p in learner.named_parameters() if n not in params},
             **dict(learner.named_buffers())}
    batches = 0
    with evaluation(learner):
        for batch in task_batches(task, samples, rng, batch_size):
            def mean_output(p: Params, b: Batch = batch) -> Tensor:
                return functional_call(learner, {**state, **p}, (b.x, b.task_ids)).mean(0)
            linearised = vjp(mean_output, params)
            phi, pullback = linearised[0], linearised[1]
            live = (phi > MASKED / 2).nonzero().squeeze(1)  # outputs the head can produce (not masked)
            basis = torch.eye(len(phi), device=phi.device)[live]
            (jac,) = vmap(pullback)(basis)  # per output c: ∂φ̄_c/∂θ, stacked (C, ...)
            xi = F.normalize(torch.randn(slices, len(live), generator=rng, device="cpu"), dim=1).to(phi.device)
            m = xi.T @ xi / slices
            for name, j in jac.items():
                flat = j.reshape(len(live), -1)
                out[name].add_((flat * (m @ flat)).sum(0).view_as(out[name]))
            batches += 1
    return {name: v / batches for name, v in out.items()}


def minmax(values: Params) -> Params:
    """Scale to [0, 1] by the minimum and maximum over all parameters (Chaudhry et al.'s released code)."""
    flat = torch.cat([v.flatten() for v in values.values()])
    low, high = flat.min(), flat.max()
    return {name: (v - low) / (high - low + 1e-32) for name, v in values.items()}


# -- the quadratic anchor penalty -------------------------------------------------------------------
@dataclass(frozen=True)
class Quadratic:
    """Σ_t b_t (θ − θ*_t)² written as A (θ − μ)² + c per parameter: same value, same gradient.

    A = Σ_t b_t, μ = Σ_t b_t θ*_t / A, c = Σ_t b_t θ*_t² − A μ². With one anchor A = b, μ = θ*, c = 0.
    Merging makes a step's cost independent of the number of anchors kept.
    """

    precision: Params
    centre: Params
    constant: float


def merge_anchors(importances: Sequence[Params], anchors: Sequence[Params]) -> Quadratic:
    """Fold the per-anchor terms into one quadratic (in float64, then back to the parameters' dtype)."""
    if len(importances) == 1:
        return Quadratic(importances[0], anchors[0], 0.0)
    precision, centre, constant = {}, {}, 0.0
    for name in importances[0]:
        b = torch.stack([imp[name].double() for imp in importances])
        theta = torch.stack([anc[name].double() for anc in anchors])
        a = b.sum(0)
        mu = torch.where(a > 0, (b * theta).sum(0) / a.clamp_min(1e-300), theta[-1])
        constant += float(((b * theta.square()).sum(0) - a * mu.square()).sum())
        dtype = importances[0][name].dtype
        precision[name], centre[name] = a.to(dtype), mu.to(dtype)
    return Quadratic(precision, centre, constant)


class _AnchorPenalty(torch.autograd.Function):
    """Σ_i A_i (θ_i − μ_i)² whose gradient 2 A(θ − μ) reuses the forward pass's A(θ − μ).

    Three passes over the parameters forward, written into buffers kept from step to step, and one
    backward, against about nine freshly allocated ones through autograd's elementwise ops: the penalty
    is on every step's path, over every parameter, and on a CPU a fresh large tensor costs page faults.
    The buffers are the method's and are rewritten by the next call: one penalty per backward, as the
    loop calls it.
    """

    @staticmethod
    def forward(ctx: Any, quadratic: Quadratic, names: list[str], scratch: dict[str, tuple[Tensor, Tensor]],
                *params: Tensor) -> Tensor:
        value = torch.zeros((), dtype=params[0].dtype, device=params[0].device)
        for name, p in zip(names, params, strict=True):
            offset, pull = scratch[name]
            torch.sub(p, quadratic.centre[name], out=offset)
            torch.mul(offset, quadratic.precision[name], out=pull)
            value += torch.dot(pull.flatten(), offset.flatten())
        ctx.pulls = [scratch[name][1] for name in names]
        return value

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        factor = 2 * float(grad_output)
        return (None, None, None, *(pull * factor for pull in ctx.pulls))


@dataclass
class Consolidation(Method):
    """Base of the family: anchors, importances and the penalty s·Σ_t Σ_i b_{t,i}(θ_i − θ*_{t,i})².

    Subclasses compute b in their hooks and call :meth:`consolidate`. State (saved and restored):
    ``importances_`` and ``anchors_``, lists of {parameter name: tensor}, one entry per anchor.
    Every method of the family works in every scenario (the penalty only sees parameters), never
    grows the network and predicts with the learner's own head.
    """

    scenarios = ALL_SCENARIOS
    grows = False
    uses_task_id_at_test = False
    strength = "lam"

    lam: float = 1.0  # λ
    half: bool = False  # True: (λ/2)·Σ b(θ−θ*)², the papers that write ½; False: λ·Σ b(θ−θ*)²

    def __post_init__(self) -> None:
        if self.lam < 0:
            raise ValueError(f"lam (λ) must be non-negative, got {self.lam}")

    @property
    def scale(self) -> float:
        """s in s·Σ b(θ−θ*)²."""
        return self.lam / 2 if self.half else self.lam

    def setup(self, learner: Learner) -> None:
        self.importances_: list[Params] = []
        self.anchors_: list[Params] = []
        self._quadratic: Quadratic | None = None
        self._pulls: dict[str, Tensor] = {}  # A(θ − μ) at this step's starting point, from penalty()
        self._scratch: dict[str, tuple[Tensor, Tensor]] = {}  # per parameter: θ − μ and A(θ − μ)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._quadratic = None

    def consolidate(self, importance: Params, *, keep: bool) -> None:
        """Anchor at the current parameters with ``importance``: ``keep`` adds a term, else replaces all."""
        anchor = snapshot(self.learner)
        if keep:
            self.importances_.append(importance)
            self.anchors_.append(anchor)
        else:
            self.importances_, self.anchors_ = [importance], [anchor]
        self._quadratic = None

    def accumulate(self, new: Params) -> Params:
        """The latest importance plus ``new``: importances summed over tasks (MAS, SCP)."""
        if not self.importances_:
            return new
        return {name: self.importances_[-1][name] + b for name, b in new.items()}

    def quadratic(self) -> Quadratic | None:
        if not self.anchors_:
            return None
        if self._quadratic is None:
            self._quadratic = merge_anchors(self.importances_, self.anchors_)
        return self._quadratic

    def penalty(self, batch: Batch, logits: Tensor) -> Tensor | None:
        q = self.quadratic()
        self._pulls = {}
        if q is None or self.lam == 0:
            return None
        params = trainable(self.learner)
        names = [n for n in q.precision if n in params]
        if not names:
            return None
        for n in names:
            if n not in self._scratch or self._scratch[n][0].shape != params[n].shape:
                self._scratch[n] = (torch.empty_like(params[n].detach()), torch.empty_like(params[n].detach()))
        value = _AnchorPenalty.apply(q, names, self._scratch, *(params[n] for n in names))
        self._pulls = {n: self._scratch[n][1] for n in names}
        return self.scale * (value + q.constant)

    def task_gradients(self, out: Params) -> list[Tensor | None]:
        """Gradients of the task loss alone: ``.grad`` minus the penalty's own gradient 2s·A(θ − μ).

        Path integrals (SI, RWalk) credit a parameter with the decrease of the *task* loss only, as in
        the authors' code (ganguli-lab/pathint ``unreg_grads``; facebookresearch/agem
        ``vanilla_gradients``). The penalty's gradient is known in closed form, and this step's
        A(θ − μ) is kept from :meth:`penalty`, so it costs one pass into ``out`` (buffers by name)
        and no second backward.
        """
        grads: list[Tensor | None] = []
        for name, p in trainable(self.learner).items():
            pull = self._pulls.get(name)
            if p.grad is None or pull is None:
                grads.append(None if p.grad is None else p.grad.detach())
            else:
                grads.append(torch.add(p.grad.detach(), pull, alpha=-2 * self.scale, out=out[name]))
        return grads


# -- path integrals ---------------------------------------------------------------------------------
class PathIntegral:
    """Accumulates ω_i += −g_i Δθ_i over optimizer steps (SI's ω, RWalk's score numerator).

    ``g`` is the task-loss gradient at the step's starting point and Δθ the step's actual change, so
    the sum is the first-order contribution of each parameter to the decrease of the task loss.
    Scratch only (the running sums live in the method's state); its buffers are reused every step.
    """

    def __init__(self, learner: nn.Module) -> None:
        self.learner = learner
        self.previous = snapshot(learner)
        self.delta = zeros_like(self.previous)
        self.buffers = zeros_like(self.previous)  # for the task gradients of the current step
        self.grads: list[Tensor | None] = []

    def capture(self, method: Consolidation) -> None:
        """After backward: this step's task-loss gradients."""
        self.grads = method.task_gradients(self.buffers)

    def step(self, omega: Params) -> None:
        """After an optimizer step: add −g·Δθ to ``omega`` and remember the new parameters."""
        for (name, p), g in zip(trainable(self.learner).items(), self.grads, strict=True):
            now = p.detach()
            if g is not None:
                torch.sub(now, self.previous[name], out=self.delta[name])
                omega[name].addcmul_(g, self.delta[name], value=-1.0)
            self.previous[name].copy_(now)
