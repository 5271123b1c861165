"""L-BFGS with an optional strong-Wolfe line search (torch.optim.LBFGS's semantics).

The quasi-Newton direction is the two-loop recursion over the last ``history_size``
curvature pairs (s, y) with the initial inverse Hessian γI, γ = sᵀy/yᵀy (Nocedal &
Wright, "Numerical Optimization", 2nd ed., Algorithm 7.4 and eq. 7.20); a pair is kept
only when sᵀy > 1e-10. The line search is the bracketing phase (Algorithm 3.5) followed
by the zoom phase (Algorithm 3.6), each trial step the minimiser of the cubic through the
two bracket ends' values and slopes (eq. 3.59), clamped to the bracket (or, while
bracketing, to [t + 0.01(t − t_prev), 10t]); a zoom trial within 10% of a bracket end
twice in a row (or outside it) is moved to 10% inside. These constants (c1 = 1e-4,
c2 = 0.9, at most ``max_eval`` evaluations) are those of PyTorch's and minFunc's
implementations, so the trajectories agree.

The vector algebra runs on one flat NumPy copy of the parameters' gradients (in their
dtype); parameters are written with in-place ``copy_`` under ``no_grad``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np

from .._tensor import tensor as _tensor
from ..autograd import enable_grad, no_grad
from ..ops import Tensor
from .optimizer import Optimizer


def _cubic_min(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: Optional[tuple[float, float]] = None,
) -> float:
    """Minimiser of the cubic interpolating (x1, f1, f'=g1) and (x2, f2, f'=g2), clamped to
    ``bounds`` (default: the interval between x1 and x2); the interval's midpoint when the
    cubic has no real minimiser (Nocedal & Wright eq. 3.59)."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    # Written from the farther point's side (as eq. 3.59 with x2 the larger abscissa).
    if x1 <= x2:
        m = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        m = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(m, lo), hi)


Evaluate = Callable[[float], tuple[float, np.ndarray]]


def _strong_wolfe(
    evaluate: Evaluate,
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, np.ndarray, float, int]:
    """A step t along d satisfying the strong Wolfe conditions
    f(t) ≤ f + c1·t·gtd and |f'(t)| ≤ c2·|gtd| (Nocedal & Wright Algorithms 3.5 and 3.6).

    ``evaluate(t)`` -> (f(x + t d), ∇f(x + t d) flat). Returns (f, gradient, t, evaluations).
    """
    d_norm = float(np.abs(d).max())
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = float(g_new @ d)
    # Bracketing (Algorithm 3.5): grow t until an interval is known to hold a Wolfe point.
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    it = 0
    ends: list[float] = []
    fs: list[float] = []
    gs: list[np.ndarray] = []
    slopes: list[float] = []
    while it < max_ls:
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev):
            ends, fs, gs, slopes = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            ends, fs, gs, slopes = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:
            ends, fs, gs, slopes = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # Extrapolate: the cubic's minimiser, at least 1% beyond t and at most 10 t.
        t_next = _cubic_min(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(t + 0.01 * (t - t_prev), t * 10)
        )
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
    if it == max_ls:
        ends, fs, gs = [0.0, t], [f, f_new], [g, g_new]
    # Zoom (Algorithm 3.6): shrink [lo, hi] keeping f(lo) the lowest sufficient-decrease value.
    stalled = False
    lo, hi = (0, 1) if fs[0] <= fs[-1] else (1, 0)
    while not done and it < max_ls:
        if abs(ends[1] - ends[0]) * d_norm < tolerance_change:
            break
        t = _cubic_min(ends[0], fs[0], slopes[0], ends[1], fs[1], slopes[1])
        a, b = min(ends), max(ends)
        margin = 0.1 * (b - a)
        # A trial at (or twice running near) an end makes little progress: move it 10% in.
        if min(b - t, t - a) < margin:
            if stalled or t >= b or t <= a:
                t = b - margin if abs(t - b) < abs(t - a) else a + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
        if f_new > f + c1 * t * gtd or f_new >= fs[lo]:
            ends[hi], fs[hi], gs[hi], slopes[hi] = t, f_new, g_new, gtd_new
            lo, hi = (0, 1) if fs[0] <= fs[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (ends[hi] - ends[lo]) >= 0:
                ends[hi], fs[hi], gs[hi], slopes[hi] = ends[lo], fs[lo], gs[lo], slopes[lo]
            ends[lo], fs[lo], gs[lo], slopes[lo] = t, f_new, g_new, gtd_new
    return fs[lo], gs[lo], ends[lo], evals


class LBFGS(Optimizer):
    """L-BFGS (torch.optim.LBFGS): each ``step(closure)`` runs up to ``max_iter``
    quasi-Newton iterations (at most ``max_eval`` closure calls), with a fixed step
    ``lr`` (the first iteration ever: min(1, 1/‖g‖₁)·lr) or a strong-Wolfe line search
    (``line_search_fn="strong_wolfe"``); stops when max|g| ≤ tolerance_grad, or a step or
    loss change falls below tolerance_change.

    ``params``: leaf float Tensors of any shapes, one group (no per-group options);
    ``closure()`` clears the gradients, computes the loss (a 0-d Tensor), calls backward
    and returns the loss. ``step`` returns the closure's first loss. The history lives in
    the state of the first parameter (flat vectors of the total parameter count).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: Optional[int] = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: Optional[str] = None,
    ) -> None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)):
            raise TypeError(f"LBFGS: lr must be a real number, got {type(lr).__name__}")
        if not 0.0 <= lr:
            raise ValueError(f"LBFGS: invalid learning rate: {lr}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def add_param_group(self, group: dict[str, Any]) -> None:
        """LBFGS has one parameter group: a second one is a ValueError."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(group)

    def _load_state_value(self, k: str, v: Any, p: Tensor) -> Any:
        """LBFGS state is global (kept on the first parameter): flat vectors stay NumPy
        arrays, lists of them lists, scalars floats/ints."""

        def arr(x: Any) -> Any:
            if isinstance(x, Tensor):
                x = x.detach()
            if isinstance(x, (list, tuple)):
                return [arr(e) for e in x]
            if x is None or isinstance(x, (int, float)):
                return x
            a = np.asarray(x)
            return a.item() if a.shape == () else np.array(a, dtype=self._dtype())

        return arr(v)

    def _dtype(self) -> Any:
        return np.asarray(self._params[0].detach()).dtype

    def _flat_grad(self) -> np.ndarray:
        """All gradients as one flat vector (zeros for parameters without one)."""
        parts = []
        dt = self._dtype()
        for p in self._params:
            g = p.grad
            parts.append(
                np.zeros(p.numel(), dt) if g is None else np.asarray(g.detach(), dtype=dt).reshape(-1)
            )
        return np.concatenate(parts)

    def _flat_params(self) -> list[np.ndarray]:
        return [np.array(p.detach(), copy=True) for p in self._params]

    def _set(self, values: list[np.ndarray]) -> None:
        with no_grad():
            for p, v in zip(self._params, values):
                p.copy_(_tensor(v, dtype=p.dtype))

    def _add(self, t: float, d: np.ndarray, base: Optional[list[np.ndarray]] = None) -> None:
        """Parameters ← (base or current) + t·d (d flat, in parameter order)."""
        cur = base if base is not None else self._flat_params()
        out, off = [], 0
        for p, x in zip(self._params, cur):
            n = p.numel()
            out.append(x + t * d[off : off + n].reshape(x.shape))
            off += n
        self._set(out)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:  # type: ignore[override]
        """Up to ``max_iter`` L-BFGS iterations; ``closure`` (required) re-evaluates the
        loss with gradients. Returns the loss of the closure's first call."""
        if closure is None:
            raise TypeError("LBFGS.step: a closure that re-evaluates the loss is required")

        def evaluate() -> Any:
            with enable_grad():
                return closure()

        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = int(group["max_iter"]), int(group["max_eval"])
        tol_grad, tol_change = float(group["tolerance_grad"]), float(group["tolerance_change"])
        history = int(group["history_size"])
        search = group["line_search_fn"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        dirs: list[np.ndarray] = state.get("old_dirs") or []
        stps: list[np.ndarray] = state.get("old_stps") or []
        ro: list[float] = state.get("ro") or []
        h_diag = state.get("H_diag", 1.0)
        g_prev, loss_prev = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                dirs, stps, ro, h_diag = [], [], [], 1.0
            else:
                assert d is not None and t is not None and g_prev is not None
                y = g - g_prev
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # curvature condition: keep the pair (N&W section 7.2)
                    if len(dirs) == history:
                        dirs.pop(0)
                        stps.pop(0)
                        ro.pop(0)
                    dirs.append(y)
                    stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                # Two-loop recursion (N&W Algorithm 7.4): d = -H g.
                # (kept in the state as torch keeps it, so the state's keys are torch's)
                al: list[Any] = state.setdefault("al", [None] * history)
                q = -g
                for i in range(len(dirs) - 1, -1, -1):
                    al[i] = float(stps[i] @ q) * ro[i]
                    q = q - al[i] * dirs[i]
                r = q * h_diag
                for i in range(len(dirs)):
                    be = float(dirs[i] @ r) * ro[i]
                    r = r + (al[i] - be) * stps[i]
                d = r
            g_prev = g.copy()
            loss_prev = loss
            t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:  # not a descent direction (any more)
                break
            ls_evals = 0
            if search is not None:
                x0 = self._flat_params()

                def along(
                    step: float, dd: np.ndarray = d, x0: list[np.ndarray] = x0
                ) -> tuple[float, np.ndarray]:
                    self._add(step, dd, x0)
                    fv = float(evaluate())
                    gv = self._flat_grad()
                    self._set(x0)
                    return fv, gv

                loss, g, t, ls_evals = _strong_wolfe(along, t, d, loss, g, gtd, max_ls=max_eval - evals)
                self._add(t, d)
                opt_cond = np.abs(g).max() <= tol_grad
            else:
                self._add(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    # The last iteration's value is not re-evaluated (torch: in a
                    # stochastic setting the next step() evaluates it anyway).
                    loss = float(evaluate())
                    g = self._flat_grad()
                    opt_cond = np.abs(g).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - loss_prev) < tol_change:
                break

        state.update(
            d=d,
            t=t,
            old_dirs=dirs,
            old_stps=stps,
            ro=ro,
            H_diag=h_diag,
            prev_flat_grad=g_prev,
            prev_loss=loss_prev,
        )
        return orig_loss
