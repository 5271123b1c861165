"""JAX-style function transforms on pytrees of tensors.

``grad``, ``value_and_grad``, ``vjp`` (reverse mode on the tape), ``jvp`` (true forward
mode through the engine's tangent levels), ``jacrev``, ``jacfwd``, ``jacobian``,
``hessian``, ``hvp``, the metric gradient ``sharp`` and ``gradcheck``. Conventions follow
the differentiation cheat sheet: gradients have their primal's shape (§1.3), a Jacobian
has shape ``out.shape + in.shape`` (§2.2), a tuple ``argnums`` gives one block per
argument (§2.3), VJPs return one cotangent per primal (§4.2).

How nesting works
-----------------
Every transform works on *aliases* of its inputs, never on the user's tensors:

* reverse mode (``grad``, ``vjp``, ``jacrev``): when an input is already on a tape
  (``requires_grad`` under grad mode, e.g. inside an outer ``grad``) the alias is a
  zero-copy view recorded on that tape, so the inner result stays differentiable;
  otherwise it is a fresh detached leaf. The backward pass records itself
  (``create_graph=True``) only when something may differentiate it again: an input on a
  tape, a cotangent that requires grad, or an enclosing reverse transform (so closures
  over an outer transform's inputs work too).
* forward mode (``jvp``, ``jacfwd``): a level is pushed with ``fg._C.push_jvp_level()``
  and the tangent is attached to the alias with ``_set_tangent``; every primitive
  applies its own JVP rule. Tangents of enclosing ``jvp`` levels are carried over to
  the aliases, so ``jvp`` of ``jvp``, ``jvp`` of ``grad`` (forward-over-reverse) and
  ``grad`` of ``jvp`` all compose.

A closure over a tensor that requires grad outside any transform (PyTorch style)
contributes to the value, but the returned gradients are recorded on that tensor's tape
only when a differentiated input is itself on a tape or the call is nested in another
reverse transform; use the transforms all the way out for higher derivatives.

Leaving the graph is an error, not a zero derivative: while a transform evaluates ``f``,
converting a tensor that carries its derivative to a Python or NumPy value (``.item()``,
``float()``, ``.numpy()``, ``np.asarray``, ``fg.tensor(t)``, ...) raises a RuntimeError
naming the transform (see ``_trace.py``; ``.detach()`` first to use the value as a
constant), and an output that is not a tensor (None, a float, an array) a TypeError. A
function that truly ignores its input still gets zeros (JAX/torch.func semantics).

Reverse-over-forward (``grad`` of ``jvp``/``hvp``) through primitives whose JVP rule
reads the primitive's output (exp, tanh, sigmoid, softmax, sqrt, ...) relies on the
engine recording outputs on the tape before running JVP rules (tests marked
``needs_engine_fix`` in tests/test_transforms.py check it).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from . import _C, _trace
from ._C import Tensor
from .pytree import PyTreeDef, tree_flatten

__all__ = [
    "grad",
    "value_and_grad",
    "vjp",
    "jvp",
    "jacrev",
    "jacfwd",
    "jacobian",
    "hessian",
    "hvp",
    "sharp",
    "gradcheck",
    "GradcheckError",
]


# ----------------------------------------------------------------------------- state
class _State(threading.local):
    def __init__(self) -> None:
        self.levels: list[int] = []  # forward-mode levels pushed by jvp/jacfwd, oldest first
        self.depth = 0  # reverse transforms currently running their function


_state = _State()


class _RunningReverse:
    """Marks that a reverse transform is evaluating ``f``: whatever ``f`` differentiates
    inside may be differentiated again by us, so inner backward passes must record."""

    def __enter__(self) -> None:
        _state.depth += 1
        self._prev = _C.grad_enabled()
        _C.set_grad_enabled(True)

    def __exit__(self, *exc) -> None:
        _C.set_grad_enabled(self._prev)
        _state.depth -= 1


# ----------------------------------------------------------------------------- helpers
def _to_tensor(x: Any, what: str) -> Tensor:
    """A differentiated leaf as a floating tensor (numbers and arrays are converted)."""
    if isinstance(x, Tensor):
        t = x
    elif isinstance(x, (bool, int, float, np.ndarray, np.number)):
        from ._tensor import tensor

        t = tensor(x)
    else:
        raise TypeError(f"{what}: expected an fg.Tensor (or number/array), got {type(x).__name__}")
    if not t.dtype.is_floating_point:
        raise TypeError(
            f"{what}: only floating-point tensors can be differentiated, got dtype {t.dtype} "
            f"(shape {tuple(t.shape)}); cast it with .astype(fg.float32) or leave it out of argnums"
        )
    return t


def _c_array(a: Any) -> np.ndarray:
    """A C-contiguous copy that keeps 0-d arrays 0-d (np.ascontiguousarray makes them 1-d)."""
    return np.array(a, order="C", copy=True)


def _zeros_like(x: Tensor) -> Tensor:
    return _C.full(list(x.shape), 0.0, x.dtype)


def _keep_tangents(src: Tensor, dst: Tensor) -> Tensor:
    for L in _state.levels:
        t = src._tangent(L)
        if t is not None:
            dst._set_tangent(L, t)
    return dst


def _detached(x: Tensor) -> Tensor:
    """Drops the tape but keeps the tangents of enclosing jvp levels (zero copy)."""
    return _keep_tangents(x, x.detach())


def _tape_alias(x: Tensor) -> Tensor:
    """A zero-copy view of ``x`` recorded on its tape (and carrying its tangents): two
    reshapes, because the engine returns ``x`` itself for an identity reshape."""
    return _C.reshape(_C.unsqueeze(x, 0), list(x.shape))


def _on_tape(x: Tensor) -> bool:
    return x.requires_grad and _C.grad_enabled()


def _reverse_alias(x: Tensor) -> Tensor:
    if _on_tape(x):
        return _tape_alias(x)
    a = _detached(x)
    a.requires_grad = True
    return a


def _forward_alias(x: Tensor) -> Tensor:
    return _tape_alias(x) if _on_tape(x) else _detached(x)


def _check_callable(f: Any, who: str) -> None:
    if not callable(f):
        raise TypeError(f"{who}: f must be callable, got {type(f).__name__}")


def _norm_argnums(argnums: Any, nargs: int, who: str) -> tuple[tuple[int, ...], bool]:
    """Returns (positions, single) with negative positions resolved."""
    single = not isinstance(argnums, (tuple, list))
    nums = (argnums,) if single else tuple(argnums)
    if not single and len(nums) == 0:
        raise ValueError(f"{who}: argnums must not be empty")
    out = []
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}")
        a = int(a)
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{who}: argnums {a} is out of range for a function called with {nargs} "
                f"positional argument{'s' if nargs != 1 else ''}"
            )
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: argnums {argnums!r} repeats an argument")
    return tuple(out), single


def _split_aux(res: Any, who: str) -> tuple[Any, Any]:
    if not (isinstance(res, (tuple, list)) and len(res) == 2):
        raise TypeError(
            f"{who}: with has_aux=True, f must return a pair (output, aux), got {type(res).__name__}"
        )
    return res[0], res[1]


_CUT = (
    "a Python/NumPy value is not on the graph, so its derivative would silently be zero; return "
    "fastgrad ops of the inputs (or fg.tensor(...) for a genuine constant)"
)


def _output_leaves(out: Any, who: str) -> tuple[list[Tensor], PyTreeDef]:
    if out is None:
        raise TypeError(f"{who}: f returned None; it must return a tensor (or a pytree of tensors)")
    leaves, td = tree_flatten(out)
    for i, o in enumerate(leaves):
        if not isinstance(o, Tensor):
            extra = f" ({_CUT})" if isinstance(o, (bool, int, float, np.ndarray, np.number)) else ""
            raise TypeError(
                f"{who}: f must return tensors (or a pytree of them); output leaf {i} is a "
                f"{type(o).__name__}{extra}"
            )
    return list(leaves), td


def _strip(tree: Any, keep_graph: bool) -> Any:
    """Returned primal values: detached (tangents kept) unless an outer transform needs
    the graph; the graph then dies with the transform instead of with the value."""
    if keep_graph:
        return tree
    leaves, td = tree_flatten(tree)
    return td.unflatten([_detached(x) if isinstance(x, Tensor) and x.requires_grad else x for x in leaves])


class _Primals:
    """The differentiated arguments of one call: flattened, converted, aliased."""

    def __init__(self, args: Sequence[Any], argnums: tuple[int, ...], who: str, alias: Callable) -> None:
        self.args = list(args)
        self.argnums = argnums
        self.treedefs: list[PyTreeDef] = []
        self.leaves: list[Tensor] = []  # the caller's tensors (converted)
        self.aliases: list[Tensor] = []
        self.bounds: list[tuple[int, int]] = []
        new_args = list(args)
        for pos in argnums:
            lv, td = tree_flatten(args[pos])
            lv = [_to_tensor(x, f"{who}: argument {pos}") for x in lv]
            start = len(self.leaves)
            al = [alias(x) for x in lv]
            self.leaves.extend(lv)
            self.aliases.extend(al)
            self.treedefs.append(td)
            self.bounds.append((start, len(self.leaves)))
            new_args[pos] = td.unflatten(al)
        self.new_args = new_args

    def per_arg(self, flat: Sequence[Any]) -> list[Any]:
        """Splits a per-leaf list into one pytree per differentiated argument."""
        return [td.unflatten(flat[a:b]) for td, (a, b) in zip(self.treedefs, self.bounds)]


def _pull(
    roots: Sequence[Tensor], cots: Sequence[Tensor], inputs: Sequence[Tensor], create: bool
) -> list[Tensor]:
    """J^T w for every input (zeros for inputs the roots do not depend on)."""
    rs, ws = [], []
    for o, w in zip(roots, cots):
        if o.requires_grad and o.dtype.is_floating_point:
            rs.append(o)
            ws.append(w)
    if not rs:
        return [_zeros_like(x) for x in inputs]
    # retain_graph: the pullback may be called again (vjp_fn, jacrev rows), and the
    # walk may reach a closure's graph that is not ours to free.
    gs = _C.grad(rs, ws, list(inputs), True, create, True)
    return [g if g is not None else _zeros_like(x) for g, x in zip(gs, inputs)]


def _needs_create(aliases: Sequence[Tensor], extra: Sequence[Tensor] = ()) -> bool:
    if not _C.grad_enabled():
        return False
    return (
        _state.depth > 0
        or any(not a.is_leaf for a in aliases)
        or any(isinstance(w, Tensor) and w.requires_grad for w in extra)
    )


# ----------------------------------------------------------------------------- grad
def _check_scalar(out: Any, who: str) -> Tensor:
    if isinstance(out, (tuple, list, dict)):
        raise TypeError(
            f"{who}: f must return a scalar tensor, got a {type(out).__name__}"
            f"{' (did you mean has_aux=True?)' if isinstance(out, tuple) and len(out) == 2 else ''}; "
            "use fg.vjp or fg.jacrev for vector outputs"
        )
    if not isinstance(out, Tensor):
        extra = f" ({_CUT})" if isinstance(out, (bool, int, float, np.ndarray, np.number)) else ""
        raise TypeError(f"{who}: f must return a scalar tensor, got {type(out).__name__}{extra}")
    if out.numel() != 1:
        raise ValueError(
            f"{who}: f must return a scalar (a tensor with one element), got shape "
            f"{tuple(out.shape)}; use fg.vjp, fg.jacrev or fg.jacfwd for non-scalar outputs"
        )
    if not out.dtype.is_floating_point:
        raise TypeError(f"{who}: f must return a floating-point scalar, got dtype {out.dtype}")
    return out


def value_and_grad(
    f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False, metric: Any = None
) -> Callable:
    """Returns ``g(*args) -> (value, grads)`` (``((value, aux), grads)`` with ``has_aux``).

    ``grads`` has the structure of ``args[argnums]`` (a tuple of them for tuple
    ``argnums``), every leaf shaped like its primal (cheat sheet §1.3); inputs ``f`` does
    not use get zeros. With ``metric`` the gradients are the sharps ``g⁻¹ x̄`` (see
    :func:`sharp`; the metric is over all differentiated leaves, flattened in pytree
    order and concatenated).
    """
    return _value_and_grad(f, argnums, has_aux, metric, "value_and_grad")


def _value_and_grad(f: Callable, argnums: Any, has_aux: bool, metric: Any, who: str) -> Callable:
    _check_callable(f, "grad")
    prepared = _prepare_metric(metric) if metric is not None else None

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return _value_and_grad_call(f, args, kwargs, argnums, has_aux, prepared, who)

    return wrapper


def _value_and_grad_call(
    f: Callable,
    args: Sequence[Any],
    kwargs: dict,
    argnums: Any,
    has_aux: bool,
    prepared: Any = None,
    who: str = "grad",
):
    nums, single = _norm_argnums(argnums, len(args), "grad")
    with _RunningReverse():
        pr = _Primals(args, nums, "grad", _reverse_alias)
        with _trace.tracing(who, aliases=pr.aliases):
            res = f(*pr.new_args, **kwargs)
    out, aux = _split_aux(res, "grad") if has_aux else (res, None)
    out = _check_scalar(out, who)
    create = _needs_create(pr.aliases)
    root = out if out.shape == () else _C.reshape(out, [])
    gs = _pull([root], [_C.full([], 1.0, out.dtype)], pr.aliases, create)
    per = pr.per_arg(gs)
    grads = per[0] if single else tuple(per)
    if prepared is not None:
        grads = prepared.apply(grads, "grad")
    value = _strip(out, create)
    if has_aux:
        value = (value, _strip(aux, create))
    return value, grads


def grad(
    f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False, metric: Any = None
) -> Callable:
    """``grad(f)(x)`` = ∇f(x), shaped like ``x`` (JAX semantics; ``f`` returns a scalar).

    ``argnums`` may be a tuple (a tuple of gradients); ``has_aux=True`` returns
    ``(grads, aux)``; ``metric`` returns metric gradients (:func:`sharp`).
    """
    vg = _value_and_grad(f, argnums, has_aux, metric, "grad")

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


# ----------------------------------------------------------------------------- vjp
def _vjp(f: Callable, args: Sequence[Any], nums: tuple[int, ...], has_aux: bool, who: str, kwargs=None):
    with _RunningReverse():
        pr = _Primals(args, nums, who, _reverse_alias)
        with _trace.tracing(who, aliases=pr.aliases):
            res = f(*pr.new_args, **(kwargs or {}))
    out, aux = _split_aux(res, who) if has_aux else (res, None)
    out_leaves, out_td = _output_leaves(out, who)
    return pr, out, out_leaves, out_td, aux


def vjp(f: Callable, *primals: Any, has_aux: bool = False):
    """``out, vjp_fn = fg.vjp(f, x, θ)``; ``vjp_fn(w) -> (x̄, θ̄)`` = (J_xᵀw, J_θᵀw).

    ``w`` has the structure and shapes of ``out``; the result has one cotangent per
    primal (a tuple, even for one primal), each shaped like its primal (cheat sheet
    §4.2). ``vjp_fn`` may be called many times. With ``has_aux``: ``(out, vjp_fn, aux)``.
    """
    _check_callable(f, "vjp")
    if not primals:
        raise TypeError("vjp: at least one primal is required")
    pr, out, out_leaves, out_td, aux = _vjp(f, primals, tuple(range(len(primals))), has_aux, "vjp")

    def vjp_fn(w: Any) -> tuple:
        wl, wtd = tree_flatten(w)
        if wtd != out_td:
            raise ValueError(
                f"vjp_fn: the cotangent has structure {wtd} but the output has structure {out_td}"
            )
        ws = []
        for i, (wi, o) in enumerate(zip(wl, out_leaves)):
            wi = _to_tensor(wi, "vjp_fn: cotangent")
            if tuple(wi.shape) != tuple(o.shape):
                raise ValueError(
                    f"vjp_fn: cotangent {i} has shape {tuple(wi.shape)} but output {i} has shape "
                    f"{tuple(o.shape)}"
                )
            if wi.dtype != o.dtype and o.dtype.is_floating_point:
                wi = wi.astype(o.dtype)
            ws.append(wi)
        create = _needs_create(pr.aliases, ws)
        gs = _pull(out_leaves, ws, pr.aliases, create)
        return tuple(pr.per_arg(gs))

    out = _strip(out, any(not a.is_leaf for a in pr.aliases) or _state.depth > 0)
    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


# ----------------------------------------------------------------------------- jvp
class _Level:
    """One forward-mode level, pushed for the duration of a ``with`` block."""

    def __enter__(self) -> int:
        self.level = _C.push_jvp_level()
        _state.levels.append(self.level)
        return self.level

    def __exit__(self, *exc) -> None:
        _state.levels.remove(self.level)
        _C.pop_jvp_level(self.level)


def _as_args(primals: Any, who: str, what: str) -> tuple:
    if isinstance(primals, Tensor):
        return (primals,)
    if not isinstance(primals, (tuple, list)):
        raise TypeError(
            f"{who}: {what} must be a tuple (or list) with one entry per argument of f, got "
            f"{type(primals).__name__}"
        )
    return tuple(primals)


def _tangent_leaves(pr: _Primals, tangents: Sequence[Any], who: str) -> list[Tensor]:
    out = []
    for k, _pos in enumerate(pr.argnums):
        tl, ttd = tree_flatten(tangents[k])
        if ttd != pr.treedefs[k]:
            raise ValueError(
                f"{who}: tangent {k} has structure {ttd} but primal {k} has structure {pr.treedefs[k]}"
            )
        a, _ = pr.bounds[k]
        for j, t in enumerate(tl):
            x = pr.leaves[a + j]
            t = _to_tensor(t, f"{who}: tangent {k}")
            if tuple(t.shape) != tuple(x.shape):
                raise ValueError(
                    f"{who}: tangent {k} (leaf {j}) has shape {tuple(t.shape)} but its primal has "
                    f"shape {tuple(x.shape)}"
                )
            if t.dtype != x.dtype:
                t = t.astype(x.dtype)
            out.append(t)
    return out


def _read_tangents(level: int, leaves: Sequence[Tensor]) -> list[Tensor]:
    res = []
    for o in leaves:
        t = o._tangent(level)
        res.append(t if t is not None else _zeros_like(o))
    return res


def _forward_run(
    f: Callable,
    pr: _Primals,
    tangents: Sequence[Tensor | None],
    level: int,
    has_aux: bool,
    who: str,
    kwargs=None,
):
    """Runs f on fresh aliases with `tangents` attached at `level` (None = no tangent)."""
    aliases = [_forward_alias(x) for x in pr.leaves]
    for a, t in zip(aliases, tangents):
        if t is not None:
            a._set_tangent(level, t)
    args = list(pr.args)
    for k, pos in enumerate(pr.argnums):
        a, b = pr.bounds[k]
        args[pos] = pr.treedefs[k].unflatten(aliases[a:b])
    with _trace.tracing(who, level=level):
        res = f(*args, **(kwargs or {}))
    out, aux = _split_aux(res, who) if has_aux else (res, None)
    out_leaves, out_td = _output_leaves(out, who)
    tans = _read_tangents(level, out_leaves)
    for o in out_leaves:
        o._clear_tangent(level)
    if has_aux:
        for x in tree_flatten(aux)[0]:
            if isinstance(x, Tensor):
                x._clear_tangent(level)
    return out_leaves, out_td, tans, aux


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False):
    """``(out, out_tangent) = fg.jvp(f, (x, θ), (u_x, u_θ))``: J_x u_x + J_θ u_θ (cheat sheet §4.1).

    Forward mode proper: the tangents travel with the primals through every primitive's
    JVP rule in a single evaluation of ``f``. ``tangents`` mirrors ``primals`` (same
    structure and shapes). With ``has_aux``: ``(out, out_tangent, aux)``.
    """
    return _jvp(f, primals, tangents, has_aux, "jvp")


def _jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool, who: str):
    _check_callable(f, "jvp")
    primals = _as_args(primals, "jvp", "primals")
    tangents = _as_args(tangents, "jvp", "tangents")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    pr = _Primals(primals, tuple(range(len(primals))), "jvp", lambda x: x)
    tl = _tangent_leaves(pr, tangents, "jvp")
    with _Level() as level:
        out_leaves, out_td, tans, aux = _forward_run(f, pr, tl, level, has_aux, who)
    out = out_td.unflatten(out_leaves)
    out_t = out_td.unflatten(tans)
    if has_aux:
        return out, out_t, aux
    return out, out_t


# ----------------------------------------------------------------------------- Jacobians
def _prod(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


def _one_hot_rows(n: int, shape: Sequence[int], dtype) -> np.ndarray:
    from ._tensor import _NP_DTYPE

    return np.eye(n, dtype=_NP_DTYPE[dtype]).reshape((n,) + tuple(shape))


def _is_constant(t: Tensor) -> bool:
    """True when nothing can differentiate ``t`` any more (no tape, no live tangent)."""
    if t.requires_grad:
        return False
    for L in _state.levels:
        if t._tangent(L) is not None:
            return False
    return True


def _stack_block(ts: list[Tensor], axis: int, shape: list[int]) -> Tensor:
    """Stacks Jacobian rows/columns into a block of ``shape``. Through NumPy when the
    pieces are constants (cheap), through fastgrad ops when they may be differentiated
    again (jacfwd of jacrev, grad of jacrev, ...)."""
    from ._tensor import from_numpy

    if all(_is_constant(t) for t in ts):
        block = np.stack([t.numpy() for t in ts], axis).reshape(shape)
        return from_numpy(block if block.flags.c_contiguous else block.copy(order="C"))
    st = _C.stack(ts, axis) if len(ts) > 1 else _C.unsqueeze(ts[0], axis)
    return _C.reshape(st, shape)


def _assemble(out_leaves, out_td, pr: _Primals, single: bool, block: Callable[[int, int], Tensor]) -> Any:
    """Jacobian pytree: the output's structure, each leaf holding the argnums structure."""
    per_out = []
    for k in range(len(out_leaves)):
        blocks = [block(k, j) for j in range(len(pr.leaves))]
        per = pr.per_arg(blocks)
        per_out.append(per[0] if single else tuple(per))
    return out_td.unflatten(per_out)


def jacrev(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """Reverse-mode Jacobian: one VJP per output element, sharing one forward pass.

    Each block has shape ``out.shape + in.shape`` (cheat sheet §2.2); a tuple
    ``argnums`` gives a tuple of blocks (§2.3); pytree outputs give the same structure
    with the per-argument blocks as leaves.
    """
    return _jacrev(f, argnums, has_aux, "jacrev")


def _jacrev(f: Callable, argnums: Any, has_aux: bool, who: str) -> Callable:
    from ._tensor import from_numpy

    _check_callable(f, "jacrev")

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        nums, single = _norm_argnums(argnums, len(args), "jacrev")
        pr, out, out_leaves, out_td, aux = _vjp(f, args, nums, has_aux, who, kwargs)
        create = _needs_create(pr.aliases)
        inputs = pr.aliases
        rows: list[list[list[Tensor]]] = []  # rows[k][j] -> one cotangent per output element
        for o in out_leaves:
            m = o.numel()
            per_in: list[list[Tensor]] = [[] for _ in inputs]
            if m and o.dtype.is_floating_point and o.requires_grad:
                eye = _one_hot_rows(m, o.shape, o.dtype)
                for e in range(m):
                    gs = _C.grad(
                        [o],
                        [from_numpy(eye[e] if o.ndim else np.asarray(eye[e]))],
                        inputs,
                        True,
                        create,
                        True,
                    )
                    for j, g in enumerate(gs):
                        per_in[j].append(g if g is not None else _zeros_like(inputs[j]))
            rows.append(per_in)

        def block(k: int, j: int) -> Tensor:
            o, x = out_leaves[k], pr.leaves[j]
            shape = list(o.shape) + list(x.shape)
            r = rows[k][j]
            if not r:
                return _C.full(shape, 0.0, x.dtype)
            return _stack_block(r, 0, shape)

        jac = _assemble(out_leaves, out_td, pr, single, block)
        return (jac, aux) if has_aux else jac

    return wrapper


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """Forward-mode Jacobian: one JVP (one evaluation of f) per input basis direction.

    Same shapes and structure as :func:`jacrev`. All directions share one forward-mode
    level and one set of input aliases; only the tangent of the active leaf changes.
    """
    return _jacfwd(f, argnums, has_aux, "jacfwd")


def _jacfwd(f: Callable, argnums: Any, has_aux: bool, who: str) -> Callable:
    from ._tensor import from_numpy

    _check_callable(f, "jacfwd")

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        nums, single = _norm_argnums(argnums, len(args), "jacfwd")
        pr = _Primals(args, nums, "jacfwd", lambda x: x)
        aliases = [_forward_alias(x) for x in pr.leaves]
        call = list(pr.args)
        for k, pos in enumerate(pr.argnums):
            a, b = pr.bounds[k]
            call[pos] = pr.treedefs[k].unflatten(aliases[a:b])
        cols: list[list[list[Tensor]]] = []  # cols[j][e] -> out tangents (one per output leaf)
        out_leaves = out_td = aux = None

        def run(level: int):
            with _trace.tracing(who, level=level):
                res = f(*call, **kwargs)
            out, ax = _split_aux(res, "jacfwd") if has_aux else (res, None)
            ol, otd = _output_leaves(out, who)
            ts = _read_tangents(level, ol)
            for o in ol:
                o._clear_tangent(level)
            return ol, otd, ts, ax

        with _Level() as level:
            for j, x in enumerate(pr.leaves):
                n = x.numel()
                cj = []
                if n:
                    eye = _one_hot_rows(n, x.shape, x.dtype)
                    for e in range(n):
                        aliases[j]._set_tangent(level, from_numpy(eye[e] if x.ndim else np.asarray(eye[e])))
                        ol, otd, ts, ax = run(level)
                        if out_leaves is None:
                            out_leaves, out_td, aux = ol, otd, ax
                        cj.append(ts)
                    aliases[j]._clear_tangent(level)
                cols.append(cj)
            if out_leaves is None:  # every input is empty: still need the output's shape
                out_leaves, out_td, _, aux = run(level)

        def block(k: int, j: int) -> Tensor:
            o, x = out_leaves[k], pr.leaves[j]
            shape = list(o.shape) + list(x.shape)
            cj = cols[j]
            if not cj:
                return _C.full(shape, 0.0, o.dtype)
            return _stack_block([c[k] for c in cj], o.ndim, shape)

        jac = _assemble(out_leaves, out_td, pr, single, block)
        return (jac, aux) if has_aux else jac

    return wrapper


def jacobian(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    flatten: bool = False,
    mode: str = "rev",
    has_aux: bool = False,
) -> Callable:
    """``jacrev`` (``mode="rev"``) or ``jacfwd`` (``mode="fwd"``).

    With ``flatten=True`` the result is the single ``m × (Px + Pθ)`` matrix of cheat sheet
    §2.3: ``m`` is the total number of output elements (pytree outputs flattened in
    pytree order and concatenated), the columns are the row-major ``vec`` of each
    differentiated leaf, blocks concatenated in ``argnums`` order (and pytree order
    inside an argument). Row ``p`` is ``vec(∇G_p)``.
    """
    if mode not in ("rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'rev' or 'fwd', got {mode!r}")
    inner = (_jacrev if mode == "rev" else _jacfwd)(f, argnums, has_aux, "jacobian")
    if not flatten:
        return inner

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        res = inner(*args, **kwargs)
        jac, aux = res if has_aux else (res, None)
        nums, single = _norm_argnums(argnums, len(args), "jacobian")
        out_blocks, _ = tree_flatten(jac)
        in_shapes = []
        for pos in nums:
            for x in tree_flatten(args[pos])[0]:
                in_shapes.append(tuple(x.shape) if isinstance(x, Tensor) else np.shape(x))
        nin = len(in_shapes)
        rows = []
        for k in range(len(out_blocks) // nin):
            mats = []
            for b, s in zip(out_blocks[k * nin : (k + 1) * nin], in_shapes):
                m = _prod(b.shape[: b.ndim - len(s)])  # the block is out.shape + in.shape
                mats.append(_C.reshape(b, [m, _prod(s)]))
            rows.append(mats[0] if len(mats) == 1 else _C.concat(mats, 1))
        mat = rows[0] if len(rows) == 1 else _C.concat(rows, 0)
        return (mat, aux) if has_aux else mat

    return wrapper


def hessian(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """``jacfwd(jacrev(f))`` (forward-over-reverse): shape ``in.shape + in.shape``.

    A tuple ``argnums`` gives the nested tuple of blocks ``H[i][j]`` of shape
    ``args[i].shape + args[j].shape``.
    """
    inner = _jacrev(f, argnums, has_aux, "hessian")
    return _jacfwd(inner, argnums, has_aux, "hessian")


def hvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """Hessian-vector product H·v by forward-over-reverse, never forming H.

    Follows JAX's ``jax.jvp(jax.grad(f), primals, tangents)[1]``, with the gradient taken
    w.r.t. *all* primals: for one primal ``(x,)`` it returns ``H v`` shaped like ``x``;
    for several it returns a tuple shaped like ``primals`` (the blocks of the joint
    Hessian applied to the joint tangent). ``f`` must return a scalar.
    """
    _check_callable(f, "hvp")
    primals = _as_args(primals, "hvp", "primals")
    tangents = _as_args(tangents, "hvp", "tangents")
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: got {len(primals)} primals but {len(tangents)} tangents")
    nums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return _jvp(
        lambda *a: _value_and_grad_call(f, a, {}, nums, False, None, "hvp")[1],
        primals,
        tangents,
        False,
        "hvp",
    )[1]


# ----------------------------------------------------------------------------- metrics
class _MatrixMetric:
    """An SPD matrix over the flattened primal, factored once (Cholesky) and inverted
    through its factor so every sharp is one matrix-vector product in fastgrad ops
    (hence differentiable w.r.t. the cotangent, and carried through jvp levels)."""

    def __init__(self, metric: Any, size: int | None = None) -> None:
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
        self._cache: dict = {}

    def _inv_tensor(self, dtype) -> Tensor:
        t = self._cache.get(dtype)
        if t is None:
            from ._tensor import _NP_DTYPE, from_numpy

            t = from_numpy(_c_array(self.inv.astype(_NP_DTYPE[dtype])))
            self._cache[dtype] = t
        return t

    def apply(self, cot: Any, who: str) -> Any:
        leaves, td = tree_flatten(cot)
        leaves = [_to_tensor(x, f"{who}: cotangent") for x in leaves]
        P = sum(x.numel() for x in leaves)
        if P != self.size:
            raise ValueError(
                f"{who}: metric has shape {(self.size, self.size)} (a {self.size}×{self.size} matrix) "
                f"but the flattened cotangent has {P} entries"
            )
        if P == 0:
            return td.unflatten(leaves)
        dtype = leaves[0].dtype
        flat = [_C.reshape(x if x.dtype == dtype else x.astype(dtype), [-1]) for x in leaves]
        vec = flat[0] if len(flat) == 1 else _C.concat(flat, 0)
        res = _C.matmul(self._inv_tensor(dtype), vec)
        return _unflatten_like(res, leaves, td)


def _unflatten_like(vec: Tensor, leaves: Sequence[Tensor], td: PyTreeDef) -> Any:
    sizes = [x.numel() for x in leaves]
    parts = [vec] if len(sizes) == 1 else _C.split(vec, sizes, 0)
    out = []
    for p, x in zip(parts, leaves):
        p = _C.reshape(p, list(x.shape))
        out.append(p if p.dtype == x.dtype else p.astype(x.dtype))
    return td.unflatten(out)


class _OperatorMetric:
    """A callable v ↦ G v (pytree in, pytree out, with the cotangent's structure),
    inverted by conjugate gradients. The CG recurrences run in float64 NumPy; G is
    evaluated in the cotangent's dtype. Not differentiable (the iteration is not)."""

    def __init__(self, op: Callable, tol: float, maxiter: int | None) -> None:
        self.op, self.tol, self.maxiter = op, float(tol), maxiter

    def apply(self, cot: Any, who: str) -> Any:
        from ._tensor import _NP_DTYPE, from_numpy

        leaves, td = tree_flatten(cot)
        leaves = [_to_tensor(x, f"{who}: cotangent") for x in leaves]
        sizes = [x.numel() for x in leaves]
        P = sum(sizes)
        offs = np.cumsum([0] + sizes)

        def to_vec(tree: Any, what: str) -> np.ndarray:
            if isinstance(tree, np.ndarray):
                tl = [tree]
            else:
                tl, ttd = tree_flatten(tree)
                if ttd != td and not (len(tl) == 1 and _prod(np.shape(tl[0])) == P):
                    raise ValueError(f"{who}: metric(v) returned structure {ttd}, expected {td}")
            v = (
                np.concatenate(
                    [
                        np.asarray(
                            t.detach().numpy() if isinstance(t, Tensor) else t, dtype=np.float64
                        ).reshape(-1)
                        for t in tl
                    ]
                )
                if tl
                else np.zeros(0)
            )
            if v.shape != (P,):
                raise ValueError(f"{who}: metric(v) returned {v.size} entries, expected {P}")
            return v

        def to_tree(v: np.ndarray) -> Any:
            return td.unflatten(
                [
                    from_numpy(
                        _c_array(v[offs[i] : offs[i + 1]].reshape(tuple(x.shape)).astype(_NP_DTYPE[x.dtype]))
                    )
                    for i, x in enumerate(leaves)
                ]
            )

        def G(v: np.ndarray) -> np.ndarray:
            from .autograd import no_grad

            with no_grad():
                return to_vec(self.op(to_tree(v)), "metric")

        b = to_vec(td.unflatten(leaves), "cotangent")
        x = np.zeros(P)
        bnorm = float(np.linalg.norm(b))
        maxiter = self.maxiter if self.maxiter is not None else max(10 * P, 10)
        if bnorm == 0.0:
            return to_tree(x)
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
                return to_tree(x)
            p = r + (rr_new / rr) * p
            rr = rr_new
        raise RuntimeError(
            f"{who}: conjugate gradients did not converge in {maxiter} iterations (relative "
            f"residual {math.sqrt(rr) / bnorm:.3g} > tol {self.tol:g}); raise maxiter or tol, or "
            "check that the metric is well conditioned"
        )


def _prepare_metric(metric: Any, tol: float = 1e-10, maxiter: int | None = None, size: int | None = None):
    if isinstance(metric, (_MatrixMetric, _OperatorMetric)):
        return metric
    if callable(metric) and not isinstance(metric, (Tensor, np.ndarray)):
        return _OperatorMetric(metric, tol, maxiter)
    return _MatrixMetric(metric, size)


def sharp(cotangent: Any, metric: Any, tol: float = 1e-10, maxiter: int | None = None) -> Any:
    """The metric gradient ``g⁻¹ x̄`` (cheat sheet "Vector gradients via metrics").

    ``cotangent`` is a tensor or pytree (flattened in pytree order, concatenated, for the
    metric). ``metric`` is either an SPD matrix (fg.Tensor or array) of size ``P × P``
    over that flattened vector — solved through its Cholesky factor; a non-symmetric or
    non-positive-definite matrix raises ``ValueError("metric is not symmetric positive
    definite")`` — or a callable ``v ↦ G v`` on pytrees shaped like the cotangent, solved
    by conjugate gradients to relative residual ``tol`` (``maxiter`` defaults to
    ``10 P``; non-positive curvature raises ValueError, non-convergence RuntimeError).
    The result has the cotangent's structure and shapes. Identity metric: ``sharp(x̄) = x̄``.
    """
    size = sum(
        int(np.prod(np.shape(x) if not isinstance(x, Tensor) else x.shape, dtype=np.int64))
        for x in tree_flatten(cotangent)[0]
    )
    return _prepare_metric(metric, tol, maxiter, size).apply(cotangent, "sharp")


# ----------------------------------------------------------------------------- gradcheck
class GradcheckError(AssertionError):
    """A derivative of ``f`` disagrees with central finite differences."""


def gradcheck(
    f: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0
) -> bool:
    """Checks ``f``'s derivatives in float64 against central differences.

    Every input (a tensor, array, number or pytree of them) is cast to float64 and
    differentiated. Checked: the full Jacobian by ``jacrev`` and by ``jacfwd``, a VJP
    ``Jᵀ w`` and a JVP ``J u`` for random ``w, u``, and the identity
    ``<w, J u> = <Jᵀ w, u>``. Returns True, or raises :class:`GradcheckError` (an
    AssertionError) naming the input, the element and the discrepancy.
    """
    from ._tensor import from_numpy

    def to64(x: Any) -> Tensor:
        if isinstance(x, Tensor):
            a = np.array(x.detach().numpy(), dtype=np.float64)
        else:
            a = np.array(x, dtype=np.float64)
        return from_numpy(_c_array(a))

    args = []
    for _i, x in enumerate(inputs):
        lv, td = tree_flatten(x)
        args.append(td.unflatten([to64(v) for v in lv]))
    nargs = len(args)
    if nargs == 0:
        raise TypeError("gradcheck: at least one input is required")
    nums = tuple(range(nargs))
    pr = _Primals(args, nums, "gradcheck", lambda x: x)
    base = [np.array(x.numpy()) for x in pr.leaves]

    # which argument / leaf a flat leaf index belongs to, for the report
    def where(j: int) -> str:
        for k, (a, b) in enumerate(pr.bounds):
            if a <= j < b:
                return f"input {k}" + (f" (leaf {j - a})" if b - a > 1 else "")
        return f"input leaf {j}"

    def run(leaf_vals: list[np.ndarray]) -> list[np.ndarray]:
        from .autograd import no_grad

        call = list(args)
        for k in range(nargs):
            a, b = pr.bounds[k]
            call[k] = pr.treedefs[k].unflatten([from_numpy(_c_array(v)) for v in leaf_vals[a:b]])
        with no_grad():
            out = f(*call)
        ol, _ = _output_leaves(out, "gradcheck")
        return [np.array(o.numpy(), dtype=np.float64) for o in ol]

    out0 = run(base)
    out_shapes = [o.shape for o in out0]
    # numeric Jacobian blocks J[k][j] of shape (m_k, n_j)
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

    def fail(what: str, k: int, j: int, idx_out: int, idx_in: int, got: float, want: float) -> None:
        oi = np.unravel_index(idx_out, out_shapes[k]) if out_shapes[k] else ()
        ii = np.unravel_index(idx_in, base[j].shape) if base[j].shape else ()
        raise GradcheckError(
            f"gradcheck: {what}: d output {k}{tuple(int(v) for v in oi)} / d {where(j)} element "
            f"{tuple(int(v) for v in ii)}: analytic {got:.10g}, numeric {want:.10g}, |diff| {abs(got - want):.3g} > "
            f"atol + rtol·|numeric| = {atol + rtol * abs(want):.3g}"
        )

    def compare_blocks(jac: Any, what: str) -> None:
        blocks, _ = tree_flatten(jac)
        nin = len(base)
        for k in range(len(out0)):
            for j in range(nin):
                b = blocks[k * nin + j]
                got = np.array(b.detach().numpy(), dtype=np.float64).reshape(num[k][j].shape)
                want = num[k][j]
                bad = np.abs(got - want) > atol + rtol * np.abs(want)
                if bad.any():
                    r, c = np.argwhere(bad)[0]
                    fail(what, k, j, int(r), int(c), float(got[r, c]), float(want[r, c]))

    compare_blocks(jacrev(f, nums)(*args), "jacrev Jacobian")
    compare_blocks(jacfwd(f, nums)(*args), "jacfwd Jacobian")

    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(s) for s in out_shapes]
    us = [rng.standard_normal(x.shape) for x in base]
    out_t, vjp_fn = vjp(f, *args)
    out_leaves, out_td = tree_flatten(out_t)
    cot = vjp_fn(out_td.unflatten([from_numpy(_c_array(w)) for w in ws]))
    vj = [np.array(c.detach().numpy(), dtype=np.float64) for c in tree_flatten(cot)[0]]
    for j in range(len(base)):
        want = (
            sum(num[k][j].T @ ws[k].reshape(-1) for k in range(len(out0))) if out0 else np.zeros(base[j].size)
        )
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
    tangents = [
        pr.treedefs[k].unflatten([from_numpy(_c_array(u)) for u in us[pr.bounds[k][0] : pr.bounds[k][1]]])
        for k in range(nargs)
    ]
    _, jv = jvp(f, tuple(args), tuple(tangents))
    jvl = [np.array(t.detach().numpy(), dtype=np.float64) for t in tree_flatten(jv)[0]]
    for k in range(len(out0)):
        want = sum(num[k][j] @ us[j].reshape(-1) for j in range(len(base)))
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
