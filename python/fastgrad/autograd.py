"""Gradient-recording switches and the low-level reverse-mode entry points."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Sequence
from typing import Any

from . import ops
from .ops import Tensor


class _GradMode:
    """Context manager and decorator setting whether ops are recorded on the tape."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(ops.grad_enabled())
        ops.set_grad_enabled(self.enabled)

    def __exit__(self, *exc) -> None:
        ops.set_grad_enabled(self._prev.pop())

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def no_grad() -> _GradMode:
    """``with fg.no_grad():`` — ops inside are not recorded (inference, optimizer steps)."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """``with fg.enable_grad():`` — re-enables recording inside a no_grad block."""
    return _GradMode(True)


def is_grad_enabled() -> bool:
    """Whether ops are recorded on the tape in this thread (False inside ``no_grad``)."""
    return ops.grad_enabled()


def _seq(x: Tensor | Sequence[Tensor] | None, what: str, op: str) -> list:
    if x is None:
        return []
    if isinstance(x, Tensor):
        return [x]
    try:
        return list(x)
    except TypeError:
        raise TypeError(
            f"autograd.{op}: {what} must be a Tensor or a sequence of Tensors, got {type(x).__name__}"
        ) from None


def _grad_list(grads: Tensor | Sequence[Tensor | None] | None, n: int, op: str) -> list[Tensor | None]:
    if grads is None:
        return [None] * n
    gl: list[Tensor | None] = [grads] if isinstance(grads, Tensor) else list(grads)
    if len(gl) != n:
        raise RuntimeError(f"autograd.{op}: got {len(gl)} gradients for {n} outputs (the counts must match)")
    return gl


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Tensor | Sequence[Tensor | None] | None = None,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """``torch.autograd.backward``: accumulates Σ_k d(tensors[k])/d(leaf) · grad_tensors[k]
    into each leaf's ``.grad`` (shape of the leaf).

    tensors: a Tensor or a sequence; grad_tensors: one per tensor (its shape; None = 1
    for a one-element tensor). ``retain_graph`` defaults to ``create_graph``. ``inputs``:
    accumulate only into these tensors (leaves or not), leaving every other ``.grad`` alone.
    """
    outs = _seq(tensors, "tensors", "backward")
    if grad_tensors is None:
        grad_tensors = grad_variables  # PyTorch's deprecated spelling
    grads = _grad_list(grad_tensors, len(outs), "backward")
    retain = create_graph if retain_graph is None else bool(retain_graph)
    if inputs is None:
        ops.backward(outs, grads, retain, create_graph)
        return
    ins = _seq(inputs, "inputs", "backward")
    if not ins:
        raise RuntimeError("autograd.backward: 'inputs' argument to backward() cannot be empty")
    gs = ops.grad(outs, grads, ins, retain, create_graph, True)
    for x, g in zip(ins, gs):
        if g is None:
            continue
        if not create_graph:
            g = g.detach()
        if x.grad is None:
            x.grad = g if create_graph else g.clone()
        elif create_graph:
            x.grad = x.grad + g
        else:
            x.grad.add_(g)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """``torch.autograd.grad``: the tuple (Σ_k d(outputs[k])/d(inputs[i]) · grad_outputs[k])_i,
    each of inputs[i]'s shape, without touching any ``.grad``.

    ``retain_graph`` defaults to ``create_graph`` (True: the result is differentiable).
    An input the outputs do not depend on raises RuntimeError unless ``allow_unused``
    (then its entry is None, or zeros of its shape with ``materialize_grads``).
    """
    if is_grads_batched:
        raise NotImplementedError(
            "autograd.grad: is_grads_batched=True is not supported (call grad once per grad_outputs)"
        )
    outs = _seq(outputs, "outputs", "grad")
    ins = _seq(inputs, "inputs", "grad")
    if not ins:
        raise RuntimeError("autograd.grad: grad requires non-empty inputs.")
    grads = _grad_list(grad_outputs, len(outs), "grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError(
            "autograd.grad: expected allow_unused to be True or not passed when materialize_grads=True"
        )
    retain = create_graph if retain_graph is None else bool(retain_graph)
    res = ops.grad(outs, grads, ins, retain, create_graph, bool(allow_unused))
    if materialize_grads:
        from ._tensor import zeros_like

        res = [zeros_like(x) if g is None else g for x, g in zip(ins, res)]
    return tuple(res)


# ---------------------------------------------------------------- autograd.Function
class _OffTheTape:
    """While a user-defined forward runs: no tape, no forward-mode tangents of its ops
    (the function's own jvp gives them) and no transform tracing (a forward may leave
    fastgrad, e.g. through NumPy: its rules say what its derivative is)."""

    __slots__ = ("_grad", "_levels", "_traces")

    def __enter__(self) -> None:
        from . import _trace

        self._grad = ops.grad_enabled()
        ops.set_grad_enabled(False)
        self._levels = ops.hide_jvp_levels()
        self._traces = _trace._tl.traces
        _trace._tl.traces = []
        ops.set_trace_depth(0)

    def __exit__(self, *exc: object) -> None:
        from . import _trace

        _trace._tl.traces = self._traces
        ops.set_trace_depth(len(self._traces))
        ops.restore_jvp_levels(self._levels)
        ops.set_grad_enabled(self._grad)


class FunctionCtx:
    """The ``ctx`` of an :class:`Function`: what ``forward``/``setup_context`` leave for
    ``backward`` and ``jvp``. Any attribute may be set on it (non-tensor state)."""

    def __init__(self) -> None:
        self._to_save: tuple[Tensor | None, ...] = ()
        self._to_save_fwd: tuple[Tensor | None, ...] | None = None
        self._non_differentiable: tuple[Tensor, ...] = ()
        self._materialize = True
        self._name = "Function"
        self._unpacked: dict[int, list] = {}  # thread -> saved tensors handed over by the engine
        self.needs_input_grad: tuple[bool, ...] = ()

    def _check_tensors(self, tensors: tuple, what: str) -> tuple:
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"{self._name}: {what} can only save tensors (or None), but argument {i} is of type "
                    f"{type(t).__name__}; store other values as attributes of ctx"
                )
        return tuple(tensors)

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Saves tensors (any shapes, or None) for ``backward``, where ``ctx.saved_tensors``
        returns them; changing one in place before backward makes backward raise."""
        self._to_save = self._check_tensors(tensors, "save_for_backward")

    def save_for_forward(self, *tensors: Tensor | None) -> None:
        """Saves tensors for ``jvp`` (forward mode), where ``ctx.saved_tensors`` returns them."""
        self._to_save_fwd = self._check_tensors(tensors, "save_for_forward")

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The tensors given to ``save_for_backward`` (in ``jvp``: to ``save_for_forward``
        when it was called), with their shapes; saved outputs are the function's outputs."""
        got = self._unpacked.get(threading.get_ident())
        if got is not None:
            return tuple(got)
        return self._to_save

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """Marks outputs (tensors returned by forward) as not differentiable: they do not
        require grad, and ``backward`` gets zeros (or None, see set_materialize_grads) for them."""
        self._non_differentiable = tuple(outputs)

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Not supported: forward must not modify its inputs in place (RuntimeError)."""
        raise RuntimeError(
            f"{self._name}: ctx.mark_dirty (a forward modifying its inputs in place) is not supported; "
            f"return a new tensor instead"
        )

    def set_materialize_grads(self, value: bool) -> None:
        """``True`` (default): ``backward`` gets zeros (the output's shape) for outputs that
        received no gradient, and ``jvp`` zeros for inputs without a tangent; ``False``: None."""
        self._materialize = bool(value)


class _Unpacked:
    __slots__ = ("ctx", "saved", "prev", "key")

    def __init__(self, ctx: FunctionCtx, saved: list) -> None:
        self.ctx, self.saved = ctx, saved

    def __enter__(self) -> None:
        self.key = threading.get_ident()
        self.prev = self.ctx._unpacked.get(self.key)
        self.ctx._unpacked[self.key] = self.saved

    def __exit__(self, *exc: object) -> None:
        if self.prev is None:
            self.ctx._unpacked.pop(self.key, None)
        else:
            self.ctx._unpacked[self.key] = self.prev


def _defined(cls: type, name: str) -> bool:
    """Whether ``cls`` overrides Function's ``name``."""
    return getattr(cls, name, None) is not getattr(Function, name)


def _as_tuple(res: Any) -> tuple:
    return res if isinstance(res, tuple) else (res,)


class Function:
    """PyTorch's ``torch.autograd.Function``: a function with its own derivative rules.

    Subclass it with static methods ``forward(ctx, *args, **kwargs)`` (or
    ``forward(*args, **kwargs)`` plus ``setup_context(ctx, inputs, output)``),
    ``backward(ctx, *grad_outputs)`` returning one gradient per forward argument (None
    for non-tensor or non-differentiable ones; each the shape of its input, or
    broadcastable down to it) and optionally ``jvp(ctx, *tangents)`` returning one
    tangent per output (forward mode: ``fg.jvp``, ``jacfwd``, ``hvp``), and call it as
    ``Fn.apply(*args)``. ``forward`` runs without recording; ``backward``, written with
    fastgrad ops, is recorded under ``create_graph`` (double backward). Exceptions raised
    in ``backward`` come out of ``.backward()`` unchanged.
    """

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        """The function's value (tensors of any shapes, a tuple for several outputs)."""
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: Any) -> None:
        """Fills ``ctx`` from the inputs and forward's output (forward then takes no ctx)."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        """One gradient per forward input (shapes of the inputs), given one per output."""
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom autograd.Function to use it "
            "with backward mode AD."
        )

    vjp = backward

    @staticmethod
    def jvp(ctx: FunctionCtx, *grad_inputs: Any) -> Any:
        """One tangent per output (its shape), given one per forward input."""
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with forward mode AD."
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Runs ``forward`` on ``args`` and records one node whose rules are ``backward``/``jvp``."""
        name = cls.__name__
        with_setup = _defined(cls, "setup_context")
        if kwargs or with_setup:
            # Tensors passed by keyword are inputs too: bind them to their positions (with
            # setup_context, torch binds the defaults too: they are inputs of backward).
            sig = inspect.signature(cls.forward)
            bound = sig.bind(*args, **kwargs) if with_setup else sig.bind(None, *args, **kwargs)
            if with_setup:
                bound.apply_defaults()
            args = tuple(bound.args) if with_setup else tuple(bound.args[1:])
            kwargs = dict(bound.kwargs)
        ctx = FunctionCtx()
        ctx._name = name
        recording = ops.grad_enabled()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and recording and a.requires_grad for a in args)
        with _OffTheTape():
            if with_setup:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        outs = _as_tuple(out)
        t_out = [k for k, o in enumerate(outs) if isinstance(o, Tensor)]
        meta = [(outs[k].shape, outs[k].dtype) for k in t_out]
        t_in = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        in_meta = [(args[i].shape, args[i].dtype) for i in t_in]
        n_args, n_outs = len(args), len(outs)
        nb = len(ctx._to_save)
        fwd_saved = ctx._to_save_fwd
        saved = list(ctx._to_save) + list(fwd_saved or ())
        user_bwd = _backward_of(cls)

        def vjp_rule(unpacked: list, cots: list) -> list:
            grads: list[Any] = [None] * n_outs
            for k, g, (shape, dtype) in zip(t_out, cots, meta):
                if g is None and ctx._materialize:
                    from ._tensor import zeros

                    g = zeros(shape, dtype=dtype)
                grads[k] = g
            with _Unpacked(ctx, unpacked[:nb]):
                res = _as_tuple(user_bwd(ctx, *grads))
            return _check_grads(name, res, n_args, t_in)

        jvp_rule = None
        if _defined(cls, "jvp"):

            def jvp_rule(unpacked: list, tans: list) -> list:
                tl: list[Any] = [None] * n_args
                for i, t, (shape, dtype) in zip(t_in, tans, in_meta):
                    if t is None and ctx._materialize:
                        from ._tensor import zeros

                        t = zeros(shape, dtype=dtype)
                    tl[i] = t
                view = unpacked[nb:] if fwd_saved is not None else unpacked[:nb]
                with _Unpacked(ctx, view):
                    res = _as_tuple(cls.jvp(ctx, *tl))
                if len(res) != n_outs:
                    raise RuntimeError(
                        f"function {name} jvp returned an incorrect number of tangents (expected {n_outs}, "
                        f"got {len(res)})"
                    )
                return [res[k] for k in t_out]

        new = ops.custom_function(
            [args[i] for i in t_in], [outs[k] for k in t_out], saved, name, vjp_rule, jvp_rule
        )
        # The node holds what backward needs now; ctx letting go keeps nothing alive twice.
        ctx._to_save, ctx._to_save_fwd = (), None
        nondiff = {id(t) for t in ctx._non_differentiable}
        ctx._non_differentiable = ()
        res = list(outs)
        for k, t in zip(t_out, new):
            res[k] = t.detach() if id(outs[k]) in nondiff else t
        return tuple(res) if isinstance(out, tuple) else res[0]


def _backward_of(cls: type[Function]) -> Callable[..., Any]:
    has_bwd, has_vjp = _defined(cls, "backward"), _defined(cls, "vjp")
    if has_bwd and has_vjp and cls.backward is not cls.vjp:
        raise RuntimeError(
            f"{cls.__name__}: implementing both 'backward' and 'vjp' for a custom Function is not allowed; "
            f"implement one of them"
        )
    return cls.vjp if has_vjp else cls.backward


def _check_grads(name: str, res: tuple, n: int, t_in: list[int]) -> list:
    """backward's result as one gradient per tensor input, after PyTorch's checks."""
    is_tensor = set(t_in)
    if len(res) > n and all(g is None for g in res[n:]):
        res = res[:n]
    if len(res) != n:
        raise RuntimeError(
            f"function {name}Backward returned an incorrect number of gradients (expected {n}, got {len(res)})"
        )
    for i, g in enumerate(res):
        if g is None:
            continue
        if not isinstance(g, Tensor):
            raise TypeError(
                f"function {name}Backward returned a {type(g).__name__} at position {i}; "
                f"expected a Tensor or None"
            )
        if i not in is_tensor:
            raise RuntimeError(
                f"function {name}Backward returned a gradient different than None at position {i}, but the "
                f"corresponding forward input was not a Tensor"
            )
    return [res[i] for i in t_in]


class _DelayedError(Function):
    """Identity on its first input whose backward raises: what ``once_differentiable``
    puts between a backward's results and anything that would differentiate them."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, *deps: Tensor) -> Tensor:
        """x itself (its shape); ``deps`` are the tensors x's gradient would depend on."""
        return x

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        """Raises RuntimeError: the wrapped backward was marked once-differentiable."""
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with @once_differentiable"
        )


def once_differentiable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorates a Function's ``backward``: it runs without recording (it may leave
    fastgrad, e.g. through NumPy), and differentiating its result again raises."""

    @functools.wraps(fn)
    def wrapper(ctx: FunctionCtx, *args: Any) -> Any:
        with no_grad():
            outputs = fn(ctx, *args)
        if not ops.grad_enabled():
            return outputs
        deps = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        if not deps:
            return outputs
        wrapped = tuple(
            _DelayedError.apply(o, *deps) if isinstance(o, Tensor) and o.dtype.is_floating_point else o
            for o in _as_tuple(outputs)
        )
        return wrapped if isinstance(outputs, tuple) else wrapped[0]

    return wrapper
