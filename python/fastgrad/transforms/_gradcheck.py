"""``gradcheck``: a function's derivatives in float64 against central differences."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._tensor import from_numpy
from ..autograd import no_grad
from ..ops import Tensor
from ..pytree import tree_flatten
from ._args import Primals, c_array, output_leaves
from ._forward import jvp
from ._jacobian import jacfwd, jacrev
from ._reverse import vjp


class GradcheckError(AssertionError):
    """A derivative of ``f`` disagrees with central finite differences."""


def _to64(x: Any) -> Tensor:
    a = np.array(x.detach().numpy() if isinstance(x, Tensor) else x, dtype=np.float64)
    return from_numpy(c_array(a))


def _f64(t: Tensor) -> np.ndarray:
    return np.array(t.detach().numpy(), dtype=np.float64)


def gradcheck(
    f: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Checks ``f``'s derivatives in float64 against central differences.

    Every input (a tensor, array, number or pytree of them, any shapes) is cast to
    float64 and differentiated; ``f`` returns a tensor or a pytree of tensors. Checked:
    the full Jacobian (blocks ``out.shape + in.shape``) by ``jacrev`` and by ``jacfwd``,
    a VJP ``Jᵀ w`` and a JVP ``J u`` for random ``w, u``, and the identity
    ``<w, J u> = <Jᵀ w, u>``. Returns True, or raises :class:`GradcheckError` (an
    AssertionError) naming the input, the element and the discrepancy.
    """
    args = []
    for x in inputs:
        lv, td = tree_flatten(x)
        args.append(td.unflatten([_to64(v) for v in lv]))
    nargs = len(args)
    if nargs == 0:
        raise TypeError("gradcheck: at least one input is required")
    nums = tuple(range(nargs))
    pr = Primals(args, nums, "gradcheck", lambda x: x)
    base = [np.array(x.numpy()) for x in pr.leaves]

    def where(j: int) -> str:
        """Which argument / leaf the flat leaf index ``j`` belongs to, for the report."""
        for k, (a, b) in enumerate(pr.bounds):
            if a <= j < b:
                return f"input {k}" + (f" (leaf {j - a})" if b - a > 1 else "")
        return f"input leaf {j}"

    def run(leaf_vals: list[np.ndarray]) -> list[np.ndarray]:
        with no_grad():
            out = f(*pr.call_args([from_numpy(c_array(v)) for v in leaf_vals]))
        ol, _ = output_leaves(out, "gradcheck")
        return [np.array(o.numpy(), dtype=np.float64) for o in ol]

    out0 = run(base)
    out_shapes = [o.shape for o in out0]
    # numeric Jacobian blocks num[k][j] of shape (m_k, n_j)
    num = [[np.zeros((o.size, x.size)) for x in base] for o in out0]
    for j, x in enumerate(base):
        for e in range(x.size):
            xp = [b.copy() for b in base]
            xm = [b.copy() for b in base]
            xp[j].reshape(-1)[e] += eps
            xm[j].reshape(-1)[e] -= eps
            fp, fm = run(xp), run(xm)
            for k in range(len(out0)):
                num[k][j][:, e] = ((fp[k] - fm[k]) / (2 * eps)).reshape(-1)

    def compare_blocks(jac: Any, what: str) -> None:
        blocks, _ = tree_flatten(jac)
        nin = len(base)
        for k in range(len(out0)):
            for j in range(nin):
                want = num[k][j]
                got = _f64(blocks[k * nin + j]).reshape(want.shape)
                bad = np.abs(got - want) > atol + rtol * np.abs(want)
                if bad.any():
                    r, c = (int(v) for v in np.argwhere(bad)[0])
                    oi = np.unravel_index(r, out_shapes[k]) if out_shapes[k] else ()
                    ii = np.unravel_index(c, base[j].shape) if base[j].shape else ()
                    g, w = float(got[r, c]), float(want[r, c])
                    raise GradcheckError(
                        f"gradcheck: {what}: d output {k}{tuple(int(v) for v in oi)} / d {where(j)} element "
                        f"{tuple(int(v) for v in ii)}: analytic {g:.10g}, numeric {w:.10g}, |diff| {abs(g - w):.3g} > "
                        f"atol + rtol·|numeric| = {atol + rtol * abs(w):.3g}"
                    )

    compare_blocks(jacrev(f, nums)(*args), "jacrev Jacobian")
    compare_blocks(jacfwd(f, nums)(*args), "jacfwd Jacobian")

    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(s) for s in out_shapes]
    us = [rng.standard_normal(x.shape) for x in base]
    out_t, vjp_fn = vjp(f, *args)
    _, out_td = tree_flatten(out_t)
    cot = vjp_fn(out_td.unflatten([from_numpy(c_array(w)) for w in ws]))
    vj = [_f64(c) for c in tree_flatten(cot)[0]]
    for j in range(len(base)):
        want = sum((num[k][j].T @ ws[k].reshape(-1) for k in range(len(out0))), np.zeros(base[j].size))
        got = vj[j].reshape(-1)
        bad = np.abs(got - want) > atol + rtol * np.abs(want)
        if bad.any():
            e = int(np.argwhere(bad)[0][0])
            ii = np.unravel_index(e, base[j].shape) if base[j].shape else ()
            raise GradcheckError(
                f"gradcheck: VJP (Jᵀw, random w) w.r.t. {where(j)} element "
                f"{tuple(int(v) for v in ii)}: analytic {got[e]:.10g}, numeric {want[e]:.10g}, "
                f"|diff| {abs(got[e] - want[e]):.3g}"
            )
    tangents = pr.per_arg([from_numpy(c_array(u)) for u in us])
    _, jv = jvp(f, tuple(args), tuple(tangents))
    jvl = [_f64(t) for t in tree_flatten(jv)[0]]
    for k in range(len(out0)):
        want = sum((num[k][j] @ us[j].reshape(-1) for j in range(len(base))), np.zeros(out0[k].size))
        got = jvl[k].reshape(-1)
        bad = np.abs(got - want) > atol + rtol * np.abs(want)
        if bad.any():
            e = int(np.argwhere(bad)[0][0])
            oi = np.unravel_index(e, out_shapes[k]) if out_shapes[k] else ()
            raise GradcheckError(
                f"gradcheck: JVP (J u, random u) of output {k} element {tuple(int(v) for v in oi)}: "
                f"analytic {got[e]:.10g}, numeric {want[e]:.10g}, |diff| {abs(got[e] - want[e]):.3g}"
            )
    lhs = sum(float(np.dot(ws[k].reshape(-1), jvl[k].reshape(-1))) for k in range(len(out0)))
    rhs = sum(float(np.dot(vj[j].reshape(-1), us[j].reshape(-1))) for j in range(len(base)))
    if abs(lhs - rhs) > atol + rtol * max(abs(lhs), abs(rhs)):
        raise GradcheckError(
            f"gradcheck: <w, J u> = {lhs:.10g} but <Jᵀ w, u> = {rhs:.10g} (|diff| "
            f"{abs(lhs - rhs):.3g}): forward and reverse mode disagree"
        )
    return True
