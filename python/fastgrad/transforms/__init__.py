"""JAX-style function transforms on pytrees of tensors.

``grad``, ``value_and_grad``, ``vjp`` (reverse mode on the tape), ``jvp`` (true forward
mode through the engine's tangent levels), ``jacrev``, ``jacfwd``, ``jacobian``,
``hessian``, ``hvp``, the metric gradient ``sharp`` and ``gradcheck``. Conventions follow
the differentiation cheat sheet: gradients have their primal's shape (§1.3), a Jacobian
has shape ``out.shape + in.shape`` (§2.2), a tuple ``argnums`` gives one block per
argument (§2.3), VJPs return one cotangent per primal (§4.2).

Where things live
-----------------
``_levels``: the per-thread state (forward-mode levels, running reverse transforms) and
the aliases; ``_args``: argument/output checking and flattening shared by all
transforms; ``_metric``: sharp (Cholesky or conjugate gradients); ``_reverse``: grad,
value_and_grad, vjp; ``_forward``: jvp; ``_jacobian``: jacrev, jacfwd, jacobian,
hessian, hvp; ``_gradcheck``: gradcheck; ``_checkpoint``: checkpoint (remat). Each imports only modules listed before it.

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
* forward mode (``jvp``, ``jacfwd``): a level is pushed with ``ops.push_jvp_level()``
  and the tangent is attached to the alias with ``_set_tangent``; every primitive
  applies its own JVP rule. Tangents of enclosing ``jvp`` levels are carried over to
  the aliases, so ``jvp`` of ``jvp``, ``jvp`` of ``grad`` (forward-over-reverse) and
  ``grad`` of ``jvp`` (reverse-over-forward) all compose.

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
"""

from __future__ import annotations

from ._checkpoint import checkpoint, remat
from ._custom import custom_jvp, custom_vjp
from ._forward import jvp, linearize
from ._gradcheck import GradcheckError, gradcheck
from ._jacobian import hessian, hvp, jacfwd, jacobian, jacrev
from ._jit import jit
from ._metric import sharp
from ._reverse import grad, linear_transpose, stop_gradient, value_and_grad, vjp
from ._vmap import vmap

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
    "jit",
    "custom_vjp",
    "custom_jvp",
    "checkpoint",
    "remat",
    "stop_gradient",
    "linearize",
    "linear_transpose",
    "vmap",
]
