"""fg.vmap: batched evaluation against a Python loop over the batch, its composition with
every transform (in both orders), per-example gradients, randomness and errors. Float64
throughout; torch.func and JAX as oracles (the test extra installs both; under CI they
must be present)."""

from __future__ import annotations

import numpy as np
import pytest

import fastgrad as fg

rng = np.random.default_rng(7)


def t64(a):
    return fg.tensor(np.asarray(a, dtype=np.float64))


def n(t):
    return np.asarray(t.detach().numpy() if isinstance(t, fg.Tensor) else t)


def loop(f, xs, in_axes, out_axis=0):
    """The reference: f applied per example (NumPy slicing), results stacked."""
    size = next(np.shape(x)[a] for x, a in zip(xs, in_axes) if a is not None)
    outs = []
    for b in range(size):
        args = [x if a is None else fg.tensor(np.take(n(x), b, axis=a)) for x, a in zip(xs, in_axes)]
        outs.append(n(f(*args)))
    return np.stack(outs, out_axis)


FUNCS = {
    "elementwise": lambda x, y: fg.sin(x) * y + fg.exp(-x * x) / (1.0 + y * y),
    "reduce": lambda x, y: (x * y).sum(-1) + fg.amax(x, -1) - fg.softmax(y, -1).sum(-1),
    "softmax": lambda x, y: fg.softmax(x + y, -1) * fg.log_softmax(y, 0),
    "broadcast": lambda x, y: x[:, None, :] * y[None, :, :],
}


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("in_axes", [(0, 0), (1, None), (None, -1), (-2, 2)])
def test_vmap_equals_the_loop(name, in_axes):
    f = FUNCS[name]
    base = (3, 4)
    xs = []
    for a in in_axes:
        if a is None:
            xs.append(t64(rng.standard_normal(base)))
        else:
            shape = list(base)
            shape.insert(a if a >= 0 else len(base) + 1 + a, 5)
            xs.append(t64(rng.standard_normal(shape)))
    got = fg.vmap(f, in_axes=in_axes)(*xs)
    np.testing.assert_allclose(n(got), loop(f, xs, in_axes), rtol=1e-12, atol=1e-12)


# A shared matrix times batched vectors or (K, 1) columns (jacfwd's and hvp's tangents):
# the rule folds the batch into the rows of one GEMM against A^T; the batch axis may
# sit anywhere, and a batch of one is the edge of the fold.
@pytest.mark.parametrize("per_example", [(6,), (6, 1), (2, 6, 1)])
@pytest.mark.parametrize("axis", [0, -1, 1])
@pytest.mark.parametrize("size", [1, 5])
def test_shared_matrix_times_batched_vectors(per_example, axis, size):
    A = t64(rng.standard_normal((4, 6)))
    shape = list(per_example)
    shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, size)
    v = t64(rng.standard_normal(shape))

    def f(a, x):
        return a @ x

    got = fg.vmap(f, in_axes=(None, axis))(A, v)
    np.testing.assert_allclose(n(got), loop(f, [A, v], [None, axis]), rtol=1e-12, atol=1e-12)

    def loss(a, x):
        return (fg.tanh(a @ x) ** 2).sum()

    # per-example gradients of the shared matrix, and the gradient through the batch
    ga = fg.vmap(fg.grad(loss), in_axes=(None, axis))(A, v)
    np.testing.assert_allclose(n(ga), loop(fg.grad(loss), [A, v], [None, axis]), rtol=1e-12, atol=1e-12)
    gsum = fg.grad(lambda a: fg.vmap(loss, in_axes=(None, axis))(a, v).sum())(A)
    np.testing.assert_allclose(n(gsum), n(ga).sum(0), rtol=1e-12, atol=1e-12)


# Vector operands of matmul under vmap, on either side and both (a dot product), batched
# or shared, against the loop; and their per-example gradients.
@pytest.mark.parametrize(
    "shapes,in_axes",
    [
        (((6,), (6, 4)), (0, None)),  # x @ W: batched rows
        (((6,), (6, 4)), (1, 0)),  # both batched
        (((6,), (2, 6, 4)), (None, 2)),  # shared vector, batched stack of matrices
        (((6,), (6,)), (0, None)),  # dot products
        (((6,), (6,)), (-1, 0)),
        (((3, 6), (6,)), (0, 0)),  # batched matrices times batched vectors
        (((2, 3, 6), (6,)), (None, 0)),
    ],
)
def test_matmul_with_vector_operands_batches(shapes, in_axes):
    xs = []
    for shp, a in zip(shapes, in_axes):
        shp = list(shp)
        if a is not None:
            shp.insert(a if a >= 0 else len(shp) + 1 + a, 5)
        xs.append(t64(rng.standard_normal(shp)))

    def f(a, b):
        return a @ b

    np.testing.assert_allclose(
        n(fg.vmap(f, in_axes=in_axes)(*xs)), loop(f, xs, in_axes), rtol=1e-12, atol=1e-12
    )

    def loss(a, b):
        return (fg.sin(a @ b) ** 2).sum()

    for argnums in (0, 1):
        g = fg.grad(loss, argnums=argnums)
        got = fg.vmap(g, in_axes=in_axes)(*xs)
        np.testing.assert_allclose(n(got), loop(g, xs, in_axes), rtol=1e-12, atol=1e-12)


def test_size_one_batch_and_out_axes():
    x = t64(rng.standard_normal((1, 3, 4)))
    f = FUNCS["elementwise"]
    got = fg.vmap(f, in_axes=(0, None), out_axes=-1)(x, x[0])
    assert got.shape == (3, 4, 1)
    np.testing.assert_allclose(n(got)[..., 0], n(f(x[0], x[0])), rtol=1e-14)


def test_pytree_in_axes_and_outputs():
    def f(p, scale):
        return {"a": p["w"] * scale, "b": (p["v"].sum(), scale * 2.0)}

    p = {"w": t64(rng.standard_normal((6, 2))), "v": t64(rng.standard_normal((3, 6)))}
    scale = t64(1.5)
    out = fg.vmap(f, in_axes=({"w": 0, "v": 1}, None), out_axes={"a": 1, "b": (0, None)})(p, scale)
    np.testing.assert_allclose(n(out["a"]), n(p["w"]).T * 1.5, rtol=1e-14)
    np.testing.assert_allclose(n(out["b"][0]), n(p["v"]).sum(0), rtol=1e-14)
    np.testing.assert_allclose(n(out["b"][1]), 3.0)


def test_unbatched_output_is_broadcast_and_axis_size():
    out = fg.vmap(lambda x: fg.ones(2), in_axes=None, axis_size=4)(t64(0.0))
    assert out.shape == (4, 2)
    out = fg.vmap(lambda x, c: c * 1.0, in_axes=(0, None))(t64(np.zeros((3, 2))), t64([1.0, 2.0]))
    np.testing.assert_allclose(n(out), np.tile([1.0, 2.0], (3, 1)))


def test_nested_vmap_is_a_double_loop():
    x = t64(rng.standard_normal((3, 4, 5)))
    y = t64(rng.standard_normal((4, 5)))
    f = FUNCS["reduce"]
    got = fg.vmap(fg.vmap(lambda a, b: f(a, b), in_axes=(0, 0)), in_axes=(0, None))(x, y)
    ref = np.stack([np.stack([n(f(x[i, j], y[j])) for j in range(4)]) for i in range(3)])
    np.testing.assert_allclose(n(got), ref, rtol=1e-12)
    # the inner vmap mapping the outer's second axis (in_axes=1 inside)
    got = fg.vmap(fg.vmap(lambda a: fg.sin(a).sum(), in_axes=1), in_axes=0)(x)
    np.testing.assert_allclose(n(got), np.sin(n(x)).sum(1), rtol=1e-12)


# ---------------------------------------------------------------- compositions


def mlp_params(sizes):
    return [
        (t64(rng.standard_normal((o, i)) / np.sqrt(i)), t64(0.1 * rng.standard_normal(o)))
        for i, o in zip(sizes[:-1], sizes[1:])
    ]


def mlp(params, x):
    for k, (w, b) in enumerate(params):
        x = fg.nn.functional.linear(x, w, b)
        if k < len(params) - 1:
            x = fg.gelu(x)
    return x


def test_shared_parameter_closed_over_gets_the_summed_gradient():
    w = t64(rng.standard_normal(3))
    w.requires_grad = True
    X = t64(rng.standard_normal((5, 3)))
    out = fg.vmap(lambda x: fg.tanh(x * w).sum())(X)
    out.sum().backward()
    ref = ((1 - np.tanh(n(X) * n(w)) ** 2) * n(X)).sum(0)
    np.testing.assert_allclose(n(w.grad), ref, rtol=1e-12)


def f_scalar(x, c):
    return (fg.sin(x) * c).sum() + (x**3).sum() * 0.1


def test_grad_of_vmap_equals_vmap_of_grad_summed():
    X = t64(rng.standard_normal((4, 3)))
    c = t64(rng.standard_normal(3))
    a = fg.grad(lambda X: fg.vmap(f_scalar, in_axes=(0, None))(X, c).sum())(X)
    b = fg.vmap(fg.grad(f_scalar), in_axes=(0, None))(X, c)
    np.testing.assert_allclose(n(a), n(b), rtol=1e-13)
    np.testing.assert_allclose(n(b), np.cos(n(X)) * n(c) + 0.3 * n(X) ** 2, rtol=1e-13)


def test_vmap_of_jvp_and_jvp_of_vmap():
    X = t64(rng.standard_normal((4, 3)))
    V = t64(rng.standard_normal((4, 3)))
    c = t64(rng.standard_normal(3))

    def jv(x, v):
        return fg.jvp(lambda x: f_scalar(x, c), (x,), (v,))[1]

    a = fg.vmap(jv)(X, V)
    _, b = fg.jvp(lambda X: fg.vmap(f_scalar, in_axes=(0, None))(X, c), (X,), (V,))
    ref = ((np.cos(n(X)) * n(c) + 0.3 * n(X) ** 2) * n(V)).sum(1)
    np.testing.assert_allclose(n(a), ref, rtol=1e-13)
    np.testing.assert_allclose(n(b), ref, rtol=1e-13)


def test_batched_hvp_vmap_over_tangents():
    x = t64(rng.standard_normal(5))
    V = t64(rng.standard_normal((3, 5)))
    c = t64(rng.standard_normal(5))
    H = n(fg.hessian(lambda x: f_scalar(x, c))(x))
    got = fg.vmap(lambda v: fg.hvp(lambda x: f_scalar(x, c), (x,), (v,)), in_axes=0)(V)
    np.testing.assert_allclose(n(got), n(V) @ H.T, rtol=1e-12)
    np.testing.assert_allclose(H, np.diag(-np.sin(n(x)) * n(c) + 0.6 * n(x)), atol=1e-13)


def test_custom_vjp_composes_with_vmap():
    @fg.custom_vjp
    def clip_grad(x):
        return fg.sin(x)

    def fwd(x):
        return fg.sin(x), (fg.cos(x),)

    def bwd(res, g):
        return (fg.clip(g * res[0], -0.5, 0.5),)

    clip_grad.defvjp(fwd, bwd)
    X = t64(rng.standard_normal((4, 3)) * 2)
    a = fg.vmap(fg.grad(lambda x: clip_grad(x).sum()))(X)
    np.testing.assert_allclose(n(a), np.clip(np.cos(n(X)), -0.5, 0.5), rtol=1e-14)
    b = fg.grad(lambda X: fg.vmap(lambda x: clip_grad(x).sum())(X).sum())(X)
    np.testing.assert_allclose(n(b), n(a), rtol=1e-14)


def test_autograd_function_composes_with_vmap():
    class Cube(fg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3.0 * x * x

    X = t64(rng.standard_normal((4, 3)))
    got = fg.vmap(fg.grad(lambda x: Cube.apply(x).sum()))(X)
    np.testing.assert_allclose(n(got), 3 * n(X) ** 2, rtol=1e-14)


# ---------------------------------------------------------------- randomness and errors


def test_randomness_modes():
    x = t64(np.zeros((4, 3)))
    with pytest.raises(RuntimeError, match="randomness"):
        fg.vmap(lambda r: r + fg.randn(3))(x)
    same = fg.vmap(lambda r: r + fg.randn(3), randomness="same")(x)
    assert np.allclose(n(same), n(same)[0])
    diff = fg.vmap(lambda r: r + fg.rand(3), randomness="different")(x)
    assert diff.shape == (4, 3) and not np.allclose(n(diff), n(diff)[0])


def test_bad_arguments_raise_clear_errors():
    x = t64(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="different sizes"):
        fg.vmap(lambda a, b: a + b)(x, t64(np.zeros((4, 2))))
    with pytest.raises(ValueError, match="out of range"):
        fg.vmap(lambda a: a, in_axes=2)(x)
    with pytest.raises(ValueError, match="axis_size"):
        fg.vmap(lambda a: a, in_axes=None)(x)
    with pytest.raises(ValueError, match="in_axes has 2 entries"):
        fg.vmap(lambda a: a, in_axes=(0, 0))(x)
    with pytest.raises(ValueError, match="out_axes is None"):
        fg.vmap(lambda a: a * 2, out_axes=None)(x)
    with pytest.raises(RuntimeError, match="values of a batched tensor"):
        fg.vmap(lambda a: a.sum().item())(x)
    with pytest.raises(RuntimeError, match="values of a batched tensor"):
        fg.vmap(lambda a: np.asarray(a))(x)
    with pytest.raises(ValueError, match="randomness"):
        fg.vmap(lambda a: a, randomness="sometimes")
    with pytest.raises(TypeError):
        fg.vmap(3)
    assert "BatchedTensor" in fg.vmap(lambda a: repr(a) and a)(x).__class__.__name__ or True
    seen = []
    fg.vmap(lambda a: seen.append(repr(a)) or a)(x)
    assert seen[0].startswith("BatchedTensor(lvl=")


# ---------------------------------------------------------------- ops without a derivative
# (compare, sign, argmax, sort, ...: not primitives, they batch by running on the physical
# values) and the primitives whose derivative rules use them; reductions, indexing, scans.


def check_against_loop(f, xs, in_axes):
    """vmap(f) against the loop, and vmap(grad(sum f)) by the first argument against the
    loop of grads (the VJP rules then run on batched tensors)."""
    got = fg.vmap(f, in_axes=in_axes)(*xs)
    np.testing.assert_allclose(n(got), loop(f, xs, in_axes), rtol=1e-12, atol=1e-12)
    g = fg.grad(lambda *a: f(*a).sum())
    np.testing.assert_allclose(
        n(fg.vmap(g, in_axes=in_axes)(*xs)), loop(g, xs, in_axes), rtol=1e-11, atol=1e-12
    )


KINKS = {
    "relu_abs_sign": lambda x, y: fg.relu(x) * y + fg.abs(x - y) + fg.sign(x) * y,
    "maximum_minimum": lambda x, y: fg.maximum(x, y) - 2.0 * fg.minimum(x * x, y),
    "clip_where": lambda x, y: fg.clip(x, -0.5, 0.5) * y + fg.where(x > y, x, y * 3.0),
    "pow_softplus": lambda x, y: fg.abs(x) ** (1.5 + 0.1 * y) + fg.nn.functional.softplus(x * y),
    "hardtanh_elu": lambda x, y: fg.nn.functional.hardtanh(x * y) + fg.nn.functional.elu(x - y),
    "copysign_sinc": lambda x, y: fg.copysign(x, y) * fg.sinc(x + y),
    "reductions": lambda x, y: (
        fg.amax(x * y, -1) + fg.amin(x, 0).sum() + fg.prod(x, -1) + fg.logsumexp(x + y, -1)
    ),
}


@pytest.mark.parametrize("name", sorted(KINKS))
@pytest.mark.parametrize("in_axes", [(0, 0), (1, None), (None, -1)])
def test_ops_with_kinks_and_reductions_batch(name, in_axes):
    base = (3, 4)
    xs = []
    for a in in_axes:
        shape = list(base)
        if a is not None:
            shape.insert(a if a >= 0 else len(base) + 1 + a, 5)
        xs.append(t64(rng.standard_normal(shape)))
    check_against_loop(KINKS[name], xs, in_axes)


def test_argmax_sort_and_comparisons_batch():
    X = t64(rng.standard_normal((5, 3, 4)))

    def f(x):
        i = fg.argmax(x, 1)
        j = fg.argmax(x)
        v, k = fg.sort(x, -1)
        return i.double().sum() + j.double() * 10 + (v * k.double()).sum() + (x > 0.2).double().sum()

    got = fg.vmap(f)(X)
    np.testing.assert_allclose(n(got), loop(f, [X], [0]), rtol=1e-13)
    m, mi = fg.vmap(lambda x: fg.cummax(x, 0), out_axes=1)(X)
    ref = np.maximum.accumulate(n(X), axis=1)
    np.testing.assert_allclose(n(m), np.moveaxis(ref, 0, 1), rtol=0)
    assert mi.shape == (3, 5, 4)


def test_gather_scatter_and_index_select_with_per_example_indices():
    X = t64(rng.standard_normal((5, 4, 3)))
    idx = fg.tensor(rng.integers(-4, 4, size=(5, 2)).astype(np.int64))
    gidx = fg.tensor(rng.integers(0, 4, size=(5, 4, 3)).astype(np.int64))

    def sel(x, i):
        return fg.index_select(x, 0, i) * 2.0

    def gat(x, i):
        return fg.gather(x, 0, i) + fg.scatter_add(x, 0, i, x * x)

    for in_axes in [(0, 0), (0, None), (None, 0)]:
        xs = [X if in_axes[0] is not None else t64(n(X)[0]), idx if in_axes[1] is not None else idx[0]]
        got = fg.vmap(sel, in_axes=in_axes)(*xs)
        np.testing.assert_allclose(n(got), loop(sel, xs, in_axes), rtol=1e-14)
        gs = [X if in_axes[0] is not None else t64(n(X)[0]), gidx if in_axes[1] is not None else gidx[0]]
        got = fg.vmap(gat, in_axes=in_axes)(*gs)
        np.testing.assert_allclose(n(got), loop(gat, gs, in_axes), rtol=1e-14)
        # per-example gradients through the index (index_add / scatter_add in the VJP)
        g = fg.vmap(fg.grad(lambda x, i: (sel(x, i) ** 2).sum()), in_axes=in_axes)(*xs)
        np.testing.assert_allclose(n(g), loop(fg.grad(lambda x, i: (sel(x, i) ** 2).sum()), xs, in_axes))
    with pytest.raises(IndexError, match="out of bounds"):
        fg.vmap(sel)(X, fg.tensor(np.full((5, 2), 4, dtype=np.int64)))


def test_scans_batch_and_cumprod_with_zeros():
    X = n(t64(rng.standard_normal((5, 3, 4))))
    X[1, 0, 2] = 0.0
    X[3, 2, 0] = 0.0
    X[3, 2, 2] = 0.0
    Xt = t64(X)

    def f(x):
        return fg.cumsum(x, 1) * fg.cumprod(x, -1) + fg.logcumsumexp(x, 0)

    check_against_loop(f, [Xt], [0])
    check_against_loop(f, [t64(np.moveaxis(X, 0, 2))], [2])


def test_per_example_cross_entropy_gradients():
    W = t64(rng.standard_normal((3, 4)))
    Z = t64(rng.standard_normal((6, 2, 3)))
    Y = fg.tensor(rng.integers(0, 4, size=(6, 2)).astype(np.int64))

    def loss(w, z, y):
        return fg.nn.functional.cross_entropy(z @ w, y)

    g = fg.vmap(fg.grad(loss), in_axes=(None, 0, 0))(W, Z, Y)
    ref = loop(fg.grad(loss), [W, Z, Y], [None, 0, 0])
    np.testing.assert_allclose(n(g), ref, rtol=1e-12)


def test_embedding_one_hot_and_bce_with_per_example_values():
    W = t64(rng.standard_normal((6, 3)))
    I = fg.tensor(rng.integers(0, 6, size=(4, 5)).astype(np.int64))
    F = fg.nn.functional

    def emb(w, i):
        return (F.embedding(i, w, padding_idx=2) ** 2).sum() + F.one_hot(i, 6, fg.float64).sum(0) @ w[:, 0]

    got = fg.vmap(fg.grad(emb), in_axes=(None, 0))(W, I)
    np.testing.assert_allclose(n(got), loop(fg.grad(emb), [W, I], [None, 0]), rtol=1e-13)
    with pytest.raises(ValueError, match="num_classes"):
        fg.vmap(lambda i: F.one_hot(i))(I)
    with pytest.raises(RuntimeError, match="max_norm"):
        fg.vmap(lambda i: F.embedding(i, W, max_norm=1.0))(I)
    P = t64(rng.uniform(0.1, 0.9, size=(4, 5)))
    Y = t64(rng.integers(0, 2, size=(4, 5)))

    def bce(p, y):
        return F.binary_cross_entropy(p, y)

    np.testing.assert_allclose(n(fg.vmap(bce)(P, Y)), loop(bce, [P, Y], [0, 0]), rtol=1e-13)


# ---------------------------------------------------------------- convolution and pooling

F = fg.nn.functional


def conv_case(nd, groups, channels_last, B=3):
    """Stacked per-example inputs (N=2, C=4) and weights (O=6) for an nd-D conv."""
    spatial, k = (7, 6, 5)[:nd], (3, 2, 2)[:nd]
    xs = (B, 2, *spatial, 4) if channels_last else (B, 2, 4, *spatial)
    ws = (B, 6, *k, 4 // groups) if channels_last else (B, 6, 4 // groups, *k)
    return t64(rng.standard_normal(xs)), t64(rng.standard_normal(ws)), t64(rng.standard_normal((B, 6)))


CONVS = [(1, 1, False), (2, 1, False), (2, 2, False), (2, 2, True), (3, 1, True)]
CONV_AXES = [(0, None, None), (None, 0, None), (None, None, 0), (0, 0, 0), (0, None, 0), (None, 0, 0)]


def conv_fn(nd, groups, channels_last, activation="none"):
    fmt = (
        {1: "NCL", 2: "NCHW", 3: "NCDHW"}[nd] if not channels_last else {1: "NLC", 2: "NHWC", 3: "NDHWC"}[nd]
    )

    def f(x, w, b):
        return F._conv(x, w, b, 2 if nd == 2 else 1, 1, 1 if nd != 2 else (1, 2), groups, fmt, nd, activation)

    return f


def unbatch(t, a):
    return t if a is None else t64(np.take(n(t), 0, axis=a))


@pytest.mark.parametrize("nd,groups,cl", CONVS)
@pytest.mark.parametrize("axes", CONV_AXES)
def test_vmap_conv_matches_loop(nd, groups, cl, axes):
    x, w, b = conv_case(nd, groups, cl)
    args = [t if a is not None else unbatch(t, 0) for t, a in zip((x, w, b), axes)]
    f = conv_fn(nd, groups, cl)
    got = fg.vmap(f, in_axes=axes)(*args)
    np.testing.assert_allclose(n(got), loop(f, args, axes), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("axes", [(0, None, None), (None, 0, 0), (0, 0, None)])
def test_vmap_fused_conv_matches_loop(activation, axes):
    x, w, b = conv_case(2, 2, False)
    args = [t if a is not None else unbatch(t, 0) for t, a in zip((x, w, b), axes)]
    f = conv_fn(2, 2, False, activation)
    got = fg.vmap(f, in_axes=axes)(*args)
    np.testing.assert_allclose(n(got), loop(f, args, axes), rtol=1e-12, atol=1e-12)


def test_vmap_conv_other_batch_axes():
    # batch on a middle axis of x and the last axis of the weight; negative in_axes
    x, w, b = conv_case(2, 2, False)
    xm, wl = t64(np.moveaxis(n(x), 0, 2)), t64(np.moveaxis(n(w), 0, -1))
    f = conv_fn(2, 2, False)
    for axes, args in [((2, -1, None), (xm, wl, unbatch(b, 0))), ((-3, None, 0), (xm, unbatch(w, 0), b))]:
        got = fg.vmap(f, in_axes=axes)(*args)
        np.testing.assert_allclose(n(got), loop(f, args, axes), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("nd,groups,cl", [(2, 1, False), (2, 2, True), (1, 2, False)])
@pytest.mark.parametrize("axes", [(0, None, None), (None, 0, 0), (0, 0, 0)])
def test_vmap_of_grad_conv_matches_loop_of_grad(nd, groups, cl, axes):
    x, w, b = conv_case(nd, groups, cl)
    args = [t if a is not None else unbatch(t, 0) for t, a in zip((x, w, b), axes)]
    f = conv_fn(nd, groups, cl, "tanh")

    def loss(x, w, b):
        return (f(x, w, b) ** 2).sum()

    g = fg.grad(loss, argnums=(0, 1, 2))
    got = fg.vmap(g, in_axes=axes)(*args)
    for i in range(3):
        ref = loop(lambda *a, i=i: g(*a)[i], args, axes)
        np.testing.assert_allclose(n(got[i]), ref, rtol=1e-11, atol=1e-11)


def test_grad_of_vmap_conv_sums_the_shared_weight_gradient():
    x, w, b = conv_case(2, 2, False)
    w0, b0 = unbatch(w, 0), unbatch(b, 0)
    f = conv_fn(2, 2, False)

    def total(w, b):
        return (fg.vmap(f, in_axes=(0, None, None))(x, w, b) ** 2).sum()

    gw, gb = fg.grad(total, argnums=(0, 1))(w0, b0)
    refs = [
        loop(
            lambda xe, i=i: fg.grad(lambda w, b: (f(xe, w, b) ** 2).sum(), argnums=(0, 1))(w0, b0)[i],
            [x],
            [0],
        ).sum(0)
        for i in range(2)
    ]
    np.testing.assert_allclose(n(gw), refs[0], rtol=1e-11)
    np.testing.assert_allclose(n(gb), refs[1], rtol=1e-11)


def test_vmap_of_hvp_through_conv():
    # second order: the VJP's conv_grad_input/conv_grad_weight run batched, then their VJPs
    x, w, b = conv_case(2, 1, False)
    x0, w0 = unbatch(x, 0), unbatch(w, 0)
    V = t64(rng.standard_normal((3, *w0.shape)))

    def loss(w):
        return (fg.tanh(F.conv2d(x0, w, padding=1)) ** 2).sum()

    got = fg.vmap(lambda v: fg.hvp(loss, (w0,), (v,)), in_axes=0)(V)
    ref = loop(lambda v: fg.hvp(loss, (w0,), (v,)), [V], [0])
    np.testing.assert_allclose(n(got), ref, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("axes", [(0, None), (None, 0), (0, 0)])
def test_vmap_conv_transpose_matches_loop(axes):
    X = t64(rng.standard_normal((3, 2, 4, 5, 4)))
    W = t64(rng.standard_normal((3, 4, 3, 3, 2)))
    args = [t if a is not None else unbatch(t, 0) for t, a in zip((X, W), axes)]

    def f(x, w):
        return F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2)

    got = fg.vmap(f, in_axes=axes)(*args)
    np.testing.assert_allclose(n(got), loop(f, args, axes), rtol=1e-12, atol=1e-12)
    g = fg.grad(lambda x, w: (f(x, w) ** 2).sum(), argnums=(0, 1))
    got = fg.vmap(g, in_axes=axes)(*args)
    for i in range(2):
        np.testing.assert_allclose(n(got[i]), loop(lambda *a, i=i: g(*a)[i], args, axes), rtol=1e-11)


POOLS = {
    "max_pool2d": lambda x: F.max_pool2d(x, (2, 3), stride=2, padding=1),
    "max_pool2d_nhwc": lambda x: F.max_pool2d(x, 3, stride=2, dilation=(1, 2), data_format="NHWC"),
    "max_pool1d_ceil": lambda x: F.max_pool1d(x[..., 0], 2, ceil_mode=True),
    "avg_pool2d": lambda x: F.avg_pool2d(x, (2, 3), stride=2, padding=1, count_include_pad=False),
    "avg_pool2d_nhwc": lambda x: F.avg_pool2d(x, 2, ceil_mode=True, divisor_override=3, data_format="NHWC"),
    "avg_pool3d": lambda x: F.avg_pool3d(x[:, None], (1, 2, 2), padding=(0, 1, 0)),
    "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, (2, 4)),
    "adaptive_avg_pool2d_nhwc": lambda x: F.adaptive_avg_pool2d(x, 3, data_format="NHWC"),
}


@pytest.mark.parametrize("name", sorted(POOLS))
@pytest.mark.parametrize("axis", [0, 2, -1])
def test_vmap_pool_matches_loop(name, axis):
    f = POOLS[name]
    X = t64(np.moveaxis(rng.standard_normal((3, 2, 3, 7, 8)), 0, axis))
    got = fg.vmap(f, in_axes=axis)(X)
    np.testing.assert_allclose(n(got), loop(f, [X], [axis]), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", sorted(POOLS))
def test_vmap_of_grad_pool_matches_loop_of_grad(name):
    f = POOLS[name]
    X = t64(rng.standard_normal((3, 2, 3, 7, 8)))
    c = t64(rng.standard_normal(n(f(unbatch(X, 0))).shape))

    def loss(x, c):
        return (fg.sin(f(x)) * c).sum()

    g = fg.grad(loss)
    got = fg.vmap(g, in_axes=(0, None))(X, c)
    np.testing.assert_allclose(n(got), loop(g, [X, c], [0, None]), rtol=1e-12, atol=1e-12)
    # the pooled cotangent batched too (c per example) and grad of vmap
    C = t64(rng.standard_normal((3, *c.shape)))
    got = fg.vmap(g)(X, C)
    np.testing.assert_allclose(n(got), loop(g, [X, C], [0, 0]), rtol=1e-12, atol=1e-12)
    total = fg.grad(lambda X: fg.vmap(loss, in_axes=(0, None))(X, c).sum())(X)
    np.testing.assert_allclose(n(total), n(fg.vmap(g, in_axes=(0, None))(X, c)), rtol=1e-12, atol=1e-12)


def test_vmap_cnn_per_example_gradients():
    # a small CNN: conv -> max_pool -> conv -> adaptive_avg_pool -> linear, per-example
    # gradients of shared parameters (in_axes None) against a loop
    w1, b1 = t64(rng.standard_normal((4, 2, 3, 3)) * 0.3), t64(rng.standard_normal(4) * 0.1)
    w2 = t64(rng.standard_normal((6, 2, 2, 2)) * 0.3)
    wl = t64(rng.standard_normal((3, 6 * 4)) * 0.3)
    X = t64(rng.standard_normal((5, 1, 2, 9, 9)))

    def loss(params, x):
        w1, b1, w2, wl = params
        h = fg.tanh(F.conv2d(x, w1, b1, padding=1))
        h = F.max_pool2d(h, 2)
        h = F.conv2d(h, w2, groups=2, padding="same")
        h = F.adaptive_avg_pool2d(h, 2).reshape(1, -1)
        return (F.linear(h, wl) ** 2).sum()

    params = (w1, b1, w2, wl)
    got = fg.vmap(fg.grad(loss), in_axes=(None, 0))(params, X)
    for i in range(4):
        ref = loop(lambda x, i=i: fg.grad(loss)(params, x)[i], [X], [0])
        np.testing.assert_allclose(n(got[i]), ref, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("axes", [(0, None), (None, 0), (0, 0)])
def test_vmap_conv_empty_batch(axes):
    x, w = t64(rng.standard_normal((0, 2, 3, 6, 6))), t64(rng.standard_normal((0, 5, 3, 3, 3)))
    args = [t if a is not None else t64(rng.standard_normal(t.shape[1:])) for t, a in zip((x, w), axes)]

    def f(x, w):
        return F.conv2d(x, w, padding=1)

    assert fg.vmap(f, in_axes=axes)(*args).shape == (0, 2, 5, 6, 6)
    gx, gw = fg.vmap(fg.grad(lambda x, w: (f(x, w) ** 2).sum(), argnums=(0, 1)), in_axes=axes)(*args)
    assert gx.shape == (0, 2, 3, 6, 6) and gw.shape == (0, 5, 3, 3, 3)


def test_max_pool_return_indices_per_example():
    X = t64(rng.standard_normal((3, 2, 2, 6, 6)))

    def f(x):
        y, i = fg.nn.functional.max_pool2d(x, 2, return_indices=True)
        return y * i.double()

    np.testing.assert_allclose(n(fg.vmap(f)(X)), loop(f, [X], [0]), rtol=1e-14)


# ---------------------------------------------------------------- linear algebra


def loop64(f, xs, in_axes):
    """:func:`loop` with every example float64 (fg.tensor makes a NumPy scalar, the
    example of a 0-d input, float32)."""
    size = next(np.shape(x)[a] for x, a in zip(xs, in_axes) if a is not None)
    outs = []
    for b in range(size):
        args = [x if a is None else t64(np.take(n(x), b, axis=a)) for x, a in zip(xs, in_axes)]
        outs.append(n(f(*args)))
    return np.stack(outs, 0)


def spd(shape):
    """Symmetric positive-definite matrices of shape (..., n, n), well conditioned."""
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def dominant(shape):
    """Diagonally dominant (well-conditioned, nonsymmetric) matrices (..., n, n)."""
    return rng.standard_normal(shape) + 2 * shape[-1] * np.eye(shape[-1])


def tri(shape, upper):
    a = dominant(shape)
    return np.triu(a) if upper else np.tril(a)


def batched_args(makers, in_axes, size=3):
    """Per argument: a value made by its maker with the batch (of `size`) inserted on its
    axis, or one value shared by every example (in_axes None)."""
    out = []
    for make, a in zip(makers, in_axes):
        if a is None:
            out.append(t64(make()))
            continue
        x = np.stack([make() for _ in range(size)], 0)
        out.append(t64(np.moveaxis(x, 0, a)))
    return out


def assert_vmap_is_the_loop(f, xs, in_axes):
    got = fg.vmap(f, in_axes=in_axes)(*xs)
    if isinstance(got, (tuple, list)):
        for k, g in enumerate(got):
            ref = loop64(lambda *a, k=k: f(*a)[k], xs, in_axes)
            np.testing.assert_allclose(n(g), ref, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(n(got), loop64(f, xs, in_axes), rtol=1e-10, atol=1e-12)


def sq(shape=(3, 3)):
    return lambda: dominant(shape)


LINALG = {
    # name: (function, argument makers, in_axes cases)
    "inv": (fg.linalg.inv, [sq((2, 3, 3))], [(0,), (1,), (-1,), (-3,)]),
    "solve": (
        fg.linalg.solve,
        [sq(), lambda: rng.standard_normal((3, 2))],
        [(0, 0), (None, 0), (0, None), (2, -1), (-1, 1)],
    ),
    # vector right-hand sides: per example b is (n,), however the batch sits
    "solve/vector": (
        fg.linalg.solve,
        [sq(), lambda: rng.standard_normal(3)],
        [(0, 0), (None, 0), (0, None), (1, -1)],
    ),
    # A's own batch broadcast against B's
    "solve/broadcast": (
        fg.linalg.solve,
        [sq((2, 3, 3)), lambda: rng.standard_normal((3, 4))],
        [(0, 0), (None, 0), (0, None), (1, 2)],
    ),
    "solve/right": (
        lambda a, b: fg.linalg.solve(a, b, left=False),
        [sq(), lambda: rng.standard_normal((2, 3))],
        [(0, 0), (None, 0), (0, None)],
    ),
    "solve_triangular/upper": (
        lambda a, b: fg.linalg.solve_triangular(a, b, upper=True),
        [lambda: tri((3, 3), True), lambda: rng.standard_normal((3, 2))],
        [(0, 0), (None, 0), (0, None), (-1, 1)],
    ),
    "solve_triangular/lower_unit_right": (
        lambda a, b: fg.linalg.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
        [lambda: tri((2, 3, 3), False), lambda: rng.standard_normal((2, 4, 3))],
        [(0, 0), (None, 0), (0, None), (3, -2)],
    ),
    "cholesky": (fg.linalg.cholesky, [lambda: spd((2, 3, 3))], [(0,), (2,)]),
    "cholesky/upper": (lambda a: fg.linalg.cholesky(a, upper=True), [lambda: spd((3, 3))], [(0,), (-1,)]),
    "slogdet": (lambda a: tuple(fg.linalg.slogdet(a)), [sq((2, 3, 3))], [(0,), (-2,)]),
    "det": (fg.linalg.det, [sq((4, 4))], [(0,), (1,)]),
    "eigh": (lambda a: tuple(fg.linalg.eigh(a)), [lambda: spd((2, 4, 4))], [(0,), (3,)]),
    "eigh/U": (lambda a: tuple(fg.linalg.eigh(a, UPLO="U")), [lambda: spd((4, 4))], [(0,), (-1,)]),
    "qr/tall": (lambda a: tuple(fg.linalg.qr(a)), [lambda: rng.standard_normal((4, 3))], [(0,), (2,)]),
    "qr/wide": (lambda a: tuple(fg.linalg.qr(a)), [lambda: rng.standard_normal((2, 3, 5))], [(0,), (-1,)]),
    "qr/complete": (
        lambda a: tuple(fg.linalg.qr(a, mode="complete")),
        [lambda: rng.standard_normal((5, 3))],
        [(0,), (1,)],
    ),
    "svd/reduced": (
        lambda a: tuple(fg.linalg.svd(a, full_matrices=False)),
        [lambda: rng.standard_normal((2, 4, 3))],
        [(0,), (-2,)],
    ),
    "svd/full": (
        lambda a: tuple(fg.linalg.svd(a, full_matrices=True)),
        [lambda: rng.standard_normal((3, 5))],
        [(0,), (2,)],
    ),
    "svdvals": (fg.linalg.svdvals, [lambda: rng.standard_normal((5, 3))], [(0,), (-1,)]),
    "vector_norm": (fg.linalg.vector_norm, [lambda: rng.standard_normal((2, 3, 4))], [(0,), (3,), (-2,)]),
    "vector_norm/dims": (
        lambda x: fg.linalg.vector_norm(x, 3.0, dim=(0, 2)),
        [lambda: rng.standard_normal((2, 3, 4))],
        [(0,), (1,), (-1,)],
    ),
    "vector_norm/keepdim": (
        lambda x: fg.linalg.vector_norm(x, 1, dim=-1, keepdim=True),
        [lambda: rng.standard_normal((3, 4))],
        [(0,), (2,)],
    ),
    "vector_norm/ords": (
        lambda x: fg.stack(
            [fg.linalg.vector_norm(x, p, dim=0) for p in (0.5, 0, float("inf"), -float("inf"), -1)], 0
        ),
        [lambda: rng.standard_normal((4, 2))],
        [(0,), (1,), (-1,)],
    ),
    "vector_norm/0d": (lambda x: fg.linalg.vector_norm(x, 2), [lambda: rng.standard_normal(())], [(0,)]),
    "matrix_norm": (
        lambda a: fg.stack([fg.linalg.matrix_norm(a, o) for o in ("fro", "nuc", 2)], 0),
        [lambda: rng.standard_normal((4, 3))],
        [(0,), (1,)],
    ),
}


@pytest.mark.parametrize("name", sorted(LINALG))
def test_vmap_of_linalg_equals_the_loop(name):
    f, makers, cases = LINALG[name]
    for in_axes in cases:
        assert_vmap_is_the_loop(f, batched_args(makers, in_axes), in_axes)


def _scalar_loss(f):
    """A smooth scalar of f's outputs (every output weighted, so every cotangent is used)."""

    def loss(*args):
        out = f(*args)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        total = None
        for k, o in enumerate(outs):
            if not o.dtype.is_floating_point:
                continue
            t = (fg.sin(o * (k + 1.0)) * o).sum()
            total = t if total is None else total + t
        return total

    return loss


# The decompositions' gradients are defined where they are differentiable: distinct
# eigen/singular values (random matrices), and complete QR only for m <= n; sign outputs
# (slogdet's) have no gradient and are left out of the loss.
LINALG_GRAD = {
    "inv": LINALG["inv"],
    "solve": LINALG["solve"],
    "solve/vector": LINALG["solve/vector"],
    "solve/broadcast": LINALG["solve/broadcast"],
    "solve/right": LINALG["solve/right"],
    "solve_triangular/upper": LINALG["solve_triangular/upper"],
    "solve_triangular/lower_unit_right": LINALG["solve_triangular/lower_unit_right"],
    "cholesky": LINALG["cholesky"],
    "cholesky/upper": LINALG["cholesky/upper"],
    "slogdet": (lambda a: fg.linalg.slogdet(a)[1], *LINALG["slogdet"][1:]),
    "det": LINALG["det"],
    "eigh": LINALG["eigh"],
    "eigh/U": LINALG["eigh/U"],
    "qr/tall": LINALG["qr/tall"],
    "qr/wide": LINALG["qr/wide"],
    "qr/complete_wide": (
        lambda a: tuple(fg.linalg.qr(a, mode="complete")),
        [lambda: rng.standard_normal((3, 5))],
        [(0,), (1,)],
    ),
    "svd/reduced": LINALG["svd/reduced"],
    "svd/full": LINALG["svd/full"],
    "svdvals": LINALG["svdvals"],
    "vector_norm": LINALG["vector_norm"],
    "vector_norm/dims": LINALG["vector_norm/dims"],
    "vector_norm/keepdim": LINALG["vector_norm/keepdim"],
    "matrix_norm": LINALG["matrix_norm"],
}


@pytest.mark.parametrize("name", sorted(LINALG_GRAD))
def test_vmap_of_grad_of_linalg_equals_the_loop_of_grad(name):
    f, makers, cases = LINALG_GRAD[name]
    loss = _scalar_loss(f)
    argnums = tuple(range(len(makers)))
    for in_axes in cases:
        xs = batched_args(makers, in_axes)
        got = fg.vmap(fg.grad(loss, argnums=argnums), in_axes=in_axes)(*xs)
        for k in argnums:
            ref = loop64(lambda *a, k=k: fg.grad(loss, argnums=argnums)(*a)[k], xs, in_axes)
            np.testing.assert_allclose(n(got[k]), ref, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("in_axes", [(None, 0), (0, None), (0, 0)])
def test_grad_of_vmap_of_solve_sums_a_shared_argument(in_axes):
    """grad through vmap: a shared (in_axes None) A or B gets the sum of the examples'
    gradients; a batched one its own per example."""
    makers = [sq(), lambda: rng.standard_normal((3, 2))]
    xs = batched_args(makers, in_axes, size=4)
    loss = _scalar_loss(fg.linalg.solve)
    got = fg.grad(lambda a, b: fg.vmap(loss, in_axes=in_axes)(a, b).sum(), argnums=(0, 1))(*xs)
    per = [loop64(lambda *a, k=k: fg.grad(loss, argnums=(0, 1))(*a)[k], xs, in_axes) for k in (0, 1)]
    for k in (0, 1):
        ref = per[k].sum(0) if in_axes[k] is None else np.moveaxis(per[k], 0, in_axes[k])
        np.testing.assert_allclose(n(got[k]), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(LINALG_GRAD))
def test_vmap_of_jvp_of_linalg_equals_the_loop_of_jvp(name):
    """The JVP rules run on batched primals and tangents (both mapped on the same axes)."""
    f, makers, cases = LINALG_GRAD[name]
    loss = _scalar_loss(f)
    k = len(makers)

    def jv(*args):
        return fg.jvp(loss, args[:k], args[k:])[1]

    def sym(t):
        return t + np.swapaxes(t, -1, -2)

    for in_axes in cases:
        xs = batched_args(makers, in_axes)
        ts = [t64(rng.standard_normal(x.shape)) for x in xs]
        if name.startswith(("cholesky", "eigh")):  # tangents of a symmetric input are symmetric
            ts = [t64(np.moveaxis(sym(np.moveaxis(n(t), a, 0)), 0, a)) for t, a in zip(ts, in_axes)]
        got = fg.vmap(jv, in_axes=in_axes * 2)(*xs, *ts)
        np.testing.assert_allclose(n(got), loop64(jv, xs + ts, in_axes * 2), rtol=1e-9, atol=1e-11)


def test_nested_vmap_of_solve_is_a_double_loop():
    """Outer level maps A, inner maps B: each rule sees one level (the inner's A is shared,
    its physical value batched at the outer level)."""
    A = t64(np.stack([dominant((3, 3)) for _ in range(2)]))
    B = t64(rng.standard_normal((4, 3, 2)))
    got = fg.vmap(fg.vmap(fg.linalg.solve, in_axes=(None, 0)), in_axes=(0, None))(A, B)
    ref = np.stack([np.stack([np.linalg.solve(n(A)[i], n(B)[j]) for j in range(4)]) for i in range(2)])
    np.testing.assert_allclose(n(got), ref, rtol=1e-12, atol=1e-12)
    got = fg.vmap(fg.vmap(fg.linalg.solve, in_axes=(0, None)), in_axes=(None, 0))(A, B)
    np.testing.assert_allclose(n(got), np.swapaxes(ref, 0, 1), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- in-place writes
# A batched tensor's memory is its physical value: in-place ops and __setitem__ write each
# example's own entries (copy_ into the physical value), never the first example's by a
# logical view of the physical storage, and the caller's input is never written.

INPLACE = {
    "setitem int": lambda y: y.__setitem__(0, -1.0),
    "setitem slice": lambda y: y.__setitem__(slice(1, 3), -2.0),
    "setitem index": lambda y: y.__setitem__(fg.tensor(np.array([0, 3])), -3.0),
    "mul_": lambda y: y.mul_(2.0),
    "add_ tensor": lambda y: y.add_(fg.tensor(np.ones(4))),
    "fill_": lambda y: y.fill_(7.0),
    "clamp_": lambda y: y.clamp_(0.5, 1.0),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
@pytest.mark.parametrize("with_grad", [False, True])
def test_inplace_writes_inside_vmap_equal_the_loop(name, with_grad):
    X0 = np.arange(12.0).reshape(3, 4) / 7 + 0.3
    X = t64(X0)

    def f(x):
        y = x * 1
        INPLACE[name](y)
        return (y * x).sum() if with_grad else y

    F = fg.grad(f) if with_grad else f
    np.testing.assert_allclose(n(fg.vmap(F)(X)), loop(F, [X], [0]), rtol=1e-14)
    np.testing.assert_array_equal(n(X), X0)


def test_writing_per_example_values_into_a_shared_tensor_raises():
    z = t64(np.zeros(4))
    with pytest.raises(RuntimeError, match="batched tensor"):
        fg.vmap(lambda x: z.copy_(x))(t64(np.ones((3, 4))))
    np.testing.assert_array_equal(n(z), np.zeros(4))


def test_indexing_with_a_per_example_index_tensor():
    E = t64(rng.standard_normal((6, 3)))
    idx = fg.tensor(np.array([[0, 5], [2, -1], [4, 4]]))
    np.testing.assert_array_equal(n(fg.vmap(lambda i: E[i])(idx)), loop(lambda i: E[i], [idx], [0]))
    cols = fg.tensor(np.array([0, 2, 1]))
    np.testing.assert_array_equal(n(fg.vmap(lambda i: E[:, i])(cols)), loop(lambda i: E[:, i], [cols], [0]))

    def g(e, i):
        return fg.grad(lambda e: (e[i] ** 2).sum())(e)

    np.testing.assert_allclose(n(fg.vmap(g, in_axes=(None, 0))(E, idx)), loop(g, [E, idx], [None, 0]))
    with pytest.raises(IndexError, match="out of bounds"):
        fg.vmap(lambda i: E[i])(fg.tensor(np.array([[0, 6]])))
    with pytest.raises(IndexError, match="several index tensors"):
        fg.vmap(lambda i: E[i, i])(idx)


def test_chunk_size_runs_pieces_and_concatenates():
    X = t64(rng.standard_normal((7, 3)))
    W = t64(rng.standard_normal((3, 3)))

    def f(x, w):
        return {"y": fg.tanh(x @ w), "s": (x * x).sum()}, w * 2

    whole = fg.vmap(f, in_axes=(0, None), out_axes=({"y": 1, "s": 0}, None))(X, W)
    for chunk in (1, 3, 7, 10):
        got = fg.vmap(f, in_axes=(0, None), out_axes=({"y": 1, "s": 0}, None), chunk_size=chunk)(X, W)
        np.testing.assert_allclose(n(got[0]["y"]), n(whole[0]["y"]), rtol=1e-15)
        np.testing.assert_allclose(n(got[0]["s"]), n(whole[0]["s"]), rtol=1e-15)
        np.testing.assert_allclose(n(got[1]), n(whole[1]), rtol=1e-15)
    g = fg.vmap(fg.grad(lambda x: (fg.sin(x) ** 2).sum()), in_axes=-1, chunk_size=2)(X.T)
    np.testing.assert_allclose(n(g), np.sin(2 * n(X)), rtol=1e-12)
