"""Metric gradients: ``sharp(x̄, G) = G⁻¹ x̄`` (cheat sheet "Vector gradients via metrics").

A metric is an SPD matrix over the flattened cotangent (factored once by Cholesky,
applied as one matrix-vector product in fastgrad ops, so the sharp stays
differentiable) or an operator ``v ↦ G v`` (inverted by conjugate gradients in float64
NumPy, not differentiable).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

from .. import ops
from .._tensor import from_numpy
from ..autograd import no_grad
from ..ops import Tensor
from ..pytree import PyTreeDef, tree_flatten
from ._args import c_array, to_tensor


class MatrixMetric:
    """An SPD matrix ``G`` of shape (P, P) over the flattened cotangent, factored once.

    ``G⁻¹`` is formed through the Cholesky factor, so every sharp is one matrix-vector
    product in fastgrad ops (hence differentiable w.r.t. the cotangent, and carried
    through jvp levels).
    """

    def __init__(self, metric: Any, size: Optional[int] = None) -> None:
        if isinstance(metric, Tensor):
            M = np.array(metric.detach().numpy(), dtype=np.float64)
        else:
            M = np.array(metric, dtype=np.float64)
        if M.ndim != 2 or M.shape[0] != M.shape[1]:
            raise ValueError(f"sharp: metric must be a square matrix, got shape {M.shape}")
        if size is not None and M.shape[0] != size:
            raise ValueError(
                f"sharp: metric has shape {M.shape} (a {M.shape[0]}×{M.shape[0]} matrix) but the "
                f"flattened cotangent has {size} entries"
            )
        if not np.all(np.isfinite(M)):
            raise ValueError("sharp: metric is not symmetric positive definite (it has non-finite entries)")
        scale = float(np.max(np.abs(M))) if M.size else 0.0
        if not np.allclose(M, M.T, rtol=0.0, atol=1e-7 * max(scale, np.finfo(np.float64).tiny)):
            raise ValueError(
                "sharp: metric is not symmetric positive definite (it is not symmetric: "
                f"max |G - Gᵀ| = {float(np.max(np.abs(M - M.T))):.3g})"
            )
        try:
            L = np.linalg.cholesky(0.5 * (M + M.T))
        except np.linalg.LinAlgError:
            raise ValueError("sharp: metric is not symmetric positive definite (Cholesky failed)") from None
        Linv = np.linalg.solve(L, np.eye(M.shape[0]))
        self.inv = Linv.T @ Linv
        self.size = M.shape[0]
        self._cache: dict[Any, Tensor] = {}

    def _inv_tensor(self, dtype: Any) -> Tensor:
        t = self._cache.get(dtype)
        if t is None:
            t = from_numpy(c_array(self.inv.astype(np.dtype(dtype.name))))
            self._cache[dtype] = t
        return t

    def apply(self, cot: Any, who: str) -> Any:
        """``G⁻¹ x̄`` for a cotangent pytree with P entries in all; same structure and shapes."""
        raw, td = tree_flatten(cot)
        leaves = [to_tensor(x, f"{who}: cotangent") for x in raw]
        P = sum(x.numel() for x in leaves)
        if P != self.size:
            raise ValueError(
                f"{who}: metric has shape {(self.size, self.size)} (a {self.size}×{self.size} matrix) "
                f"but the flattened cotangent has {P} entries"
            )
        if P == 0:
            return td.unflatten(leaves)
        dtype = leaves[0].dtype
        flat = [ops.reshape(x if x.dtype == dtype else x.astype(dtype), [-1]) for x in leaves]
        vec = flat[0] if len(flat) == 1 else ops.concat(flat, 0)
        return _unflatten_like(ops.matmul(self._inv_tensor(dtype), vec), leaves, td)


def _unflatten_like(vec: Tensor, leaves: Sequence[Tensor], td: PyTreeDef) -> Any:
    sizes = [x.numel() for x in leaves]
    parts = [vec] if len(sizes) == 1 else ops.split(vec, sizes, 0)
    out = []
    for p, x in zip(parts, leaves):
        p = ops.reshape(p, x.shape)
        out.append(p if p.dtype == x.dtype else p.astype(x.dtype))
    return td.unflatten(out)


class OperatorMetric:
    """A callable ``v ↦ G v`` (pytree in, pytree out, with the cotangent's structure and
    shapes), inverted by conjugate gradients. The CG recurrences run in float64 NumPy;
    ``G`` is evaluated in the cotangent's dtype. Not differentiable (the iteration is not).
    """

    def __init__(self, op: Callable[[Any], Any], tol: float, maxiter: Optional[int]) -> None:
        self.op, self.tol, self.maxiter = op, float(tol), maxiter

    def apply(self, cot: Any, who: str) -> Any:
        """``G⁻¹ x̄`` for a cotangent pytree; same structure and shapes."""
        raw, td = tree_flatten(cot)
        leaves = [to_tensor(x, f"{who}: cotangent") for x in raw]
        sizes = [x.numel() for x in leaves]
        P = sum(sizes)
        offs = np.cumsum([0] + sizes)

        def to_vec(tree: Any) -> np.ndarray:
            if isinstance(tree, np.ndarray):
                tl = [tree]
            else:
                tl, ttd = tree_flatten(tree)
                if ttd != td and not (len(tl) == 1 and math.prod(np.shape(tl[0])) == P):
                    raise ValueError(f"{who}: metric(v) returned structure {ttd}, expected {td}")
            parts = [
                np.asarray(t.detach().numpy() if isinstance(t, Tensor) else t, dtype=np.float64).reshape(-1)
                for t in tl
            ]
            v = np.concatenate(parts) if parts else np.zeros(0)
            if v.shape != (P,):
                raise ValueError(f"{who}: metric(v) returned {v.size} entries, expected {P}")
            return v

        def to_tree(v: np.ndarray) -> Any:
            return td.unflatten(
                [
                    from_numpy(c_array(v[offs[i] : offs[i + 1]].reshape(tuple(x.shape)).astype(x.dtype.name)))
                    for i, x in enumerate(leaves)
                ]
            )

        def G(v: np.ndarray) -> np.ndarray:
            with no_grad():
                return to_vec(self.op(to_tree(v)))

        return to_tree(self._solve(G, to_vec(td.unflatten(leaves)), who))

    def _solve(self, G: Callable[[np.ndarray], np.ndarray], b: np.ndarray, who: str) -> np.ndarray:
        """Conjugate gradients for ``G x = b`` to relative residual ``tol``."""
        P = b.shape[0]
        x = np.zeros(P)
        bnorm = float(np.linalg.norm(b))
        maxiter = self.maxiter if self.maxiter is not None else max(10 * P, 10)
        if bnorm == 0.0:
            return x
        r = b.copy()
        p = r.copy()
        rr = float(r @ r)
        for it in range(maxiter):
            Gp = G(p)
            pGp = float(p @ Gp)
            if not pGp > 0.0:
                raise ValueError(
                    f"{who}: metric is not positive definite: conjugate gradients met p·Gp = "
                    f"{pGp:.3g} <= 0 at iteration {it}"
                )
            alpha = rr / pGp
            x += alpha * p
            r -= alpha * Gp
            rr_new = float(r @ r)
            if math.sqrt(rr_new) <= self.tol * bnorm:
                return x
            p = r + (rr_new / rr) * p
            rr = rr_new
        raise RuntimeError(
            f"{who}: conjugate gradients did not converge in {maxiter} iterations (relative "
            f"residual {math.sqrt(rr) / bnorm:.3g} > tol {self.tol:g}); raise maxiter or tol, or "
            "check that the metric is well conditioned"
        )


Metric = Union[MatrixMetric, OperatorMetric]


def prepare_metric(
    metric: Any, tol: float = 1e-10, maxiter: Optional[int] = None, size: Optional[int] = None
) -> Metric:
    """``metric`` (an SPD matrix of shape (P, P) or a callable ``v ↦ G v``) ready to apply."""
    if isinstance(metric, (MatrixMetric, OperatorMetric)):
        return metric
    if callable(metric) and not isinstance(metric, (Tensor, np.ndarray)):
        return OperatorMetric(metric, tol, maxiter)
    return MatrixMetric(metric, size)


def sharp(cotangent: Any, metric: Any, tol: float = 1e-10, maxiter: Optional[int] = None) -> Any:
    """The metric gradient ``g⁻¹ x̄`` (cheat sheet "Vector gradients via metrics").

    ``cotangent`` is a tensor or pytree (flattened in pytree order, concatenated, for the
    metric: P entries in all). ``metric`` is either an SPD matrix (fg.Tensor or array) of
    shape (P, P) over that flattened vector — solved through its Cholesky factor; a
    non-symmetric or non-positive-definite matrix raises ``ValueError("metric is not
    symmetric positive definite")`` — or a callable ``v ↦ G v`` on pytrees shaped like
    the cotangent, solved by conjugate gradients to relative residual ``tol``
    (``maxiter`` defaults to ``10 P``; non-positive curvature raises ValueError,
    non-convergence RuntimeError). The result has the cotangent's structure and shapes.
    Identity metric: ``sharp(x̄) = x̄``.
    """
    size = sum(
        int(np.prod(np.shape(x) if not isinstance(x, Tensor) else x.shape, dtype=np.int64))
        for x in tree_flatten(cotangent)[0]
    )
    return prepare_metric(metric, tol, maxiter, size).apply(cotangent, "sharp")
