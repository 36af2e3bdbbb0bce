"""A small exact solver for GEM's dual: min_v ½ vᵀPv + qᵀv subject to v ≥ lower.

GEM (arXiv 1706.08840, eq. 11–12) needs this once per conflicting step, with as many variables as
past tasks (tens at most), so an exact active-set method on K×K systems costs microseconds.
Other implementations call quadprog, which stops the run with "constraints are inconsistent" /
"matrix G is not positive definite" when task gradients are (numerically) collinear, so the
Gram matrix is singular. Here:

1. the exact solver is Lawson & Hanson's active-set NNLS algorithm written for the quadratic form
   (it only needs P and q, and solves on the free variables; P may be singular, each free set it
   builds is solved by least squares);
2. if it fails (a non-finite system, no convergence within its iteration budget), projected
   gradient descent with Nesterov momentum (FISTA) on the same box-constrained problem takes over:
   it is always feasible and converges for any PSD P;
3. the caller learns which happened (:class:`DualSolution.exact`) and reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class DualSolution:
    """v ≥ lower minimising the dual; ``exact`` is False when the fallback produced it."""

    v: Tensor
    exact: bool


def solve_box_qp(P: Tensor, q: Tensor, lower: float = 0.0, fallback_iterations: int = 20000) -> DualSolution:
    """min_v ½ vᵀPv + qᵀv subject to v ≥ lower, for symmetric positive semi-definite P (float64)."""
    c = q + P @ torch.full_like(q, lower)  # substitute v = lower + u, u ≥ 0
    u = _active_set(P, c)
    if u is not None:
        return DualSolution(u + lower, exact=True)
    return DualSolution(_projected_gradient(P, c, fallback_iterations) + lower, exact=False)


def _active_set(P: Tensor, c: Tensor) -> Tensor | None:
    """Lawson–Hanson for min ½ uᵀPu + cᵀu, u ≥ 0; None if it cannot finish cleanly."""
    k = len(c)
    if not (torch.isfinite(P).all() and torch.isfinite(c).all()):
        return None
    tol = 1e-12 * k * max(float(P.abs().max()), float(c.abs().max()), 1e-300)
    u = torch.zeros_like(c)
    free = torch.zeros(k, dtype=torch.bool, device=c.device)
    for _ in range(3 * k + 10):
        w = torch.where(free, torch.full_like(c, -torch.inf), -(P @ u + c))  # descent directions of bound vars
        j = int(w.argmax())
        if float(w[j]) <= tol:
            return u  # KKT: no bound variable wants to leave zero, free ones are at their minimiser
        free[j] = True
        for _ in range(3 * k + 10):
            s = _solve_free(P, c, free)
            if s is None:
                return None
            if bool((s[free] > 0).all()):
                u = s
                break
            blocking = free & (s <= 0)  # step from u towards s until the first free variable hits 0
            ratio = torch.where(blocking, u / (u - s), torch.full_like(u, torch.inf))
            i = int(ratio.argmin())
            u = u + float(ratio[i]) * (s - u)
            free[i] = False
            free &= u > 1e-12 * float(u.abs().max())
            u = torch.where(free, u, torch.zeros_like(u))
            if not bool(free.any()):
                break
        else:
            return None
    return None


def _solve_free(P: Tensor, c: Tensor, free: Tensor) -> Tensor | None:
    """The unconstrained minimiser over the free variables (least squares if P_FF is singular)."""
    idx = torch.nonzero(free).squeeze(1)
    s = torch.zeros_like(c)
    if len(idx) == 0:
        return s
    sub = P[idx][:, idx]
    solution = torch.linalg.lstsq(sub, -c[idx].unsqueeze(1), driver="gelsd").solution.squeeze(1)
    if not bool(torch.isfinite(solution).all()):
        return None
    s[idx] = solution
    return s


def _projected_gradient(P: Tensor, c: Tensor, iterations: int) -> Tensor:
    """FISTA on the box u ≥ 0 with step 1/L, L the largest eigenvalue of P; stops early once the
    projected-gradient residual ‖u − max(u − (Pu + c), 0)‖∞ is negligible."""
    finite_P = torch.nan_to_num(P, nan=0.0, posinf=0.0, neginf=0.0)
    finite_c = torch.nan_to_num(c, nan=0.0, posinf=0.0, neginf=0.0)
    lipschitz = float(torch.linalg.eigvalsh(0.5 * (finite_P + finite_P.T)).max().clamp(min=1e-300))
    tol = 1e-13 * max(float(finite_c.abs().max()), 1e-300)
    u = y = torch.zeros_like(finite_c)
    t = 1.0
    for i in range(iterations):
        u_next = (y - (finite_P @ y + finite_c) / lipschitz).clamp(min=0.0)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        y = u_next + ((t - 1) / t_next) * (u_next - u)
        u, t = u_next, t_next
        if i % 100 == 99 and float((u - (u - (finite_P @ u + finite_c)).clamp(min=0.0)).abs().max()) <= tol:
            break
    return u
