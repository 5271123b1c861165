"""Losses against the cheat sheet's formulas and against torch.nn.functional."""

import warnings

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F

try:
    import torch
    import torch.nn.functional as TF
except Exception:  # pragma: no cover
    torch = None

# torch's notice that kl_div's "mean" is not the KL divergence (fastgrad computes the same value)
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")

needs_torch = pytest.mark.skipif(torch is None, reason="torch not importable")
rng = np.random.default_rng(0)


def A(t):
    return np.asarray(t.detach())


def arr(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("name", ["mse", "l1", "huber"])
def test_regression_losses_formulas_with_weights(name):
    yh, y = arr(6, 4), arr(6, 4)
    d = yh - y
    el = {
        "mse": d**2,
        "l1": np.abs(d),
        "huber": np.where(np.abs(d) < 0.7, 0.5 * d**2, 0.7 * (np.abs(d) - 0.35)),
    }[name]
    fn = {"mse": F.mse_loss, "l1": F.l1_loss, "huber": lambda a, b, **k: F.huber_loss(a, b, delta=0.7, **k)}[
        name
    ]
    t, tt = fg.tensor(yh), fg.tensor(y)
    np.testing.assert_allclose(A(fn(t, tt)), el.mean(), rtol=1e-12)
    np.testing.assert_allclose(A(fn(t, tt, reduction="sum")), el.sum(), rtol=1e-12)
    np.testing.assert_allclose(A(fn(t, tt, reduction="none")), el, rtol=1e-12)
    w = np.array([1.0, 0.0, 2.0, 0.5, 0.0, 3.0])  # zeros mask examples
    a = np.array([1.0, 2.0, 0.0, 0.5])  # a zero masks an output dimension
    per = (el * a).sum(1) / a.sum()
    np.testing.assert_allclose(
        A(fn(t, tt, sample_weight=w, dim_weight=a)), (w * per).sum() / w.sum(), rtol=1e-12
    )
    np.testing.assert_allclose(A(fn(t, tt, sample_weight=w)), (w * el.mean(1)).sum() / w.sum(), rtol=1e-12)
    np.testing.assert_allclose(A(fn(t, tt, dim_weight=a)), per.mean(), rtol=1e-12)
    np.testing.assert_allclose(
        A(fn(t, tt, sample_weight=w, reduction="sum")), (w[:, None] * el).sum(), rtol=1e-12
    )


def test_weighted_gradient_matches_cheat_sheet():
    # ∂L/∂ŷ_i = (ω_i / Σω) ∂ψ/∂ŷ_i, with ψ = mean over dims of the squared error
    yh = fg.tensor(arr(5, 3)).requires_grad_()
    y = arr(5, 3)
    w = np.array([0.5, 1.0, 0.0, 2.0, 1.5])
    F.mse_loss(yh, y, sample_weight=w).backward()
    expect = (w / w.sum())[:, None] * 2 * (A(yh) - y) / 3
    np.testing.assert_allclose(A(yh.grad), expect, rtol=1e-12)


def test_bce_with_logits_stable_and_formula():
    z = fg.tensor(np.array([-1000.0, -3.0, 0.0, 2.0, 1000.0]))
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    out = A(F.binary_cross_entropy_with_logits(z, y, reduction="none"))
    zz = A(z)
    ref = np.logaddexp(0, zz) - y * zz
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    assert np.all(np.isfinite(out))
    p = 1 / (1 + np.exp(-np.array([-3.0, 0.0, 2.0])))
    np.testing.assert_allclose(
        A(F.binary_cross_entropy(fg.tensor(p), y[1:4], reduction="none")),
        -(y[1:4] * np.log(p) + (1 - y[1:4]) * np.log(1 - p)),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(fg.tensor(np.array([1.5])), np.array([1.0]))


@needs_torch
def test_bce_vs_torch():
    z, y = arr(8, 3), (rng.random((8, 3)) > 0.5).astype(np.float64)
    pw = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(
        A(F.binary_cross_entropy_with_logits(fg.tensor(z), y, pos_weight=pw)),
        TF.binary_cross_entropy_with_logits(
            torch.tensor(z), torch.tensor(y), pos_weight=torch.tensor(pw)
        ).item(),
        rtol=1e-10,
    )
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(
        A(F.binary_cross_entropy(fg.tensor(p), y)),
        TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y)).item(),
        rtol=1e-10,
    )


@needs_torch
@pytest.mark.parametrize("ls", [0.0, 0.1])
def test_cross_entropy_vs_torch(ls):
    z = arr(7, 5)
    t = rng.integers(0, 5, 7)
    t[2] = -100
    cw = rng.random(5) + 0.5
    tz, tt = torch.tensor(z, requires_grad=True), torch.tensor(t)
    for kw_fg, kw_t in [({}, {}), ({"weight": cw}, {"weight": torch.tensor(cw)})]:
        for red in ("mean", "sum", "none"):
            fz = fg.tensor(z).requires_grad_()
            out = F.cross_entropy(fz, t, reduction=red, label_smoothing=ls, **kw_fg)
            ref = TF.cross_entropy(tz, tt, reduction=red, label_smoothing=ls, **kw_t)
            np.testing.assert_allclose(A(out), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
            fg.sum(out).backward()
            tz.grad = None
            ref.sum().backward()
            np.testing.assert_allclose(A(fz.grad), tz.grad.numpy(), rtol=1e-9, atol=1e-12)
    # probability targets
    q = rng.random((7, 5))
    q /= q.sum(1, keepdims=True)
    np.testing.assert_allclose(
        A(F.cross_entropy(fg.tensor(z), q, label_smoothing=ls)),
        TF.cross_entropy(torch.tensor(z), torch.tensor(q), label_smoothing=ls).item(),
        rtol=1e-10,
    )
    # spatial targets (B, K, d)
    z3 = arr(2, 4, 3)
    t3 = rng.integers(0, 4, (2, 3))
    np.testing.assert_allclose(
        A(F.cross_entropy(fg.tensor(z3), t3, label_smoothing=ls)),
        TF.cross_entropy(torch.tensor(z3), torch.tensor(t3), label_smoothing=ls).item(),
        rtol=1e-10,
    )
    lp = np.log(np.exp(z) / np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(
        A(F.nll_loss(fg.tensor(lp), t)), TF.nll_loss(torch.tensor(lp), tt).item(), rtol=1e-10
    )


def test_cross_entropy_formula_and_example_weights():
    z = arr(6, 4)
    t = rng.integers(0, 4, 6)
    per = np.log(np.exp(z).sum(1)) - z[np.arange(6), t]  # logsumexp(Z_i) − Z_{i,y_i}
    np.testing.assert_allclose(A(F.cross_entropy(fg.tensor(z), t)), per.mean(), rtol=1e-12)
    w = np.array([1.0, 0.0, 0.5, 2.0, 0.0, 1.0])
    np.testing.assert_allclose(
        A(F.cross_entropy(fg.tensor(z), t, sample_weight=w)), (w * per).sum() / w.sum(), rtol=1e-12
    )
    with pytest.raises(ValueError, match="target shape"):
        F.cross_entropy(fg.tensor(z), t[:5])


def test_loss_modules_and_errors():
    yh, y = fg.tensor(arr(4, 2)), fg.tensor(arr(4, 2))
    np.testing.assert_allclose(A(nn.MSELoss()(yh, y)), A(F.mse_loss(yh, y)))
    np.testing.assert_allclose(A(nn.HuberLoss(delta=0.5)(yh, y)), A(F.huber_loss(yh, y, delta=0.5)))
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(yh, fg.tensor(arr(4)))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(yh, y, reduction="avg")
    with pytest.raises(ValueError, match="per-example"):
        F.mse_loss(yh, y, sample_weight=np.ones(3))


@pytest.mark.parametrize("dt", [(fg.float32, torch.float32), (fg.float64, torch.float64)], ids=["f32", "f64"])
@pytest.mark.parametrize("fn", ["cross_entropy", "cross_entropy-smoothing", "nll_loss", "cross_entropy-3d"])
def test_every_target_ignored_is_nan_with_zero_gradient_like_torch(fn, dt):
    """mean over no counted target: NaN value (0/0) but zero gradients, as PyTorch; the
    gradient was inf * 0 = NaN everywhere. Some ignored targets keep torch's exact gradient."""
    fdt, tdt = dt
    rng = np.random.default_rng(5)
    shape = (2, 3, 4) if fn.endswith("3d") else (3, 4)
    x = rng.standard_normal(shape)
    tshape = (shape[0],) + shape[2:]
    for tgt in (np.full(tshape, -100), np.where(rng.random(tshape) < 0.5, -100, 1)):
        tgt = tgt.astype(np.int64)
        kw = {"label_smoothing": 0.1} if fn.endswith("smoothing") else {}
        name = fn.split("-")[0]
        X = fg.tensor(x, dtype=fdt, requires_grad=True)
        T = torch.tensor(x, dtype=tdt, requires_grad=True)
        L = getattr(F, name)(X, fg.tensor(tgt), ignore_index=-100, **kw)
        tL = getattr(torch.nn.functional, name)(T, torch.tensor(tgt), ignore_index=-100, **kw)
        L.backward()
        tL.backward()
        np.testing.assert_allclose(float(L.detach()), tL.item(), rtol=1e-5)  # NaN == NaN here
        np.testing.assert_allclose(np.asarray(X.grad), T.grad.numpy(), rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ PyTorch's other losses
def _oracle(fg_fn, t_fn, arrays, diff, reductions=("mean", "sum", "none"), ints=(), **kw):
    """fg_fn(*fg args, reduction=r, **kw) == t_fn(*torch args, ...) in float64, value and the
    gradient of every array whose index is in ``diff`` (a random cotangent for "none")."""
    for r in reductions:
        fa, ta = [], []
        for i, a in enumerate(arrays):
            if i in ints:
                fa.append(fg.tensor(a))
                ta.append(torch.tensor(a))
            else:
                fa.append(fg.tensor(a, requires_grad=i in diff))
                ta.append(torch.tensor(a, requires_grad=i in diff))
        kr = {} if r is None else {"reduction": r}
        fo, to = fg_fn(*fa, **kr, **kw), t_fn(*ta, **kr, **kw)
        assert tuple(fo.shape) == tuple(to.shape), (r, fo.shape, to.shape)
        np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=str(r))
        w = np.random.default_rng(1).standard_normal(tuple(to.shape))
        fg.sum(fo * fg.tensor(w)).backward()
        (to * torch.tensor(w)).sum().backward()
        for i in diff:
            np.testing.assert_allclose(
                A(fa[i].grad), ta[i].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=f"{r} {i}"
            )


def _pm1(*shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_vs_torch(log_target):
    x = np.log(rng.dirichlet(np.ones(5), size=4))
    p = rng.dirichlet(np.ones(5), size=4)
    p[0, 1] = 0.0  # xlogy(0, 0) = 0
    t = np.log(rng.dirichlet(np.ones(5), size=4)) if log_target else p
    _oracle(
        F.kl_div,
        TF.kl_div,
        [x, t],
        (0, 1) if log_target else (0,),
        ("mean", "sum", "none", "batchmean"),
        log_target=log_target,
    )


@pytest.mark.parametrize("margin", [0.0, 0.3])
@pytest.mark.parametrize("batched", [True, False])
def test_cosine_embedding_loss_vs_torch(margin, batched):
    s = (6, 4) if batched else (4,)
    y = _pm1(6) if batched else np.array(-1.0)
    _oracle(F.cosine_embedding_loss, TF.cosine_embedding_loss, [arr(*s), arr(*s), y], (0, 1), margin=margin)


def test_margin_ranking_loss_vs_torch():
    _oracle(F.margin_ranking_loss, TF.margin_ranking_loss, [arr(7), arr(7), _pm1(7)], (0, 1), margin=0.2)


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [True, False])
def test_poisson_nll_loss_vs_torch(log_input, full):
    x = arr(4, 3) if log_input else rng.random((4, 3)) + 0.1
    y = rng.poisson(2.0, (4, 3)).astype(np.float64)
    _oracle(F.poisson_nll_loss, TF.poisson_nll_loss, [x, y], (0,), log_input=log_input, full=full)


@pytest.mark.parametrize("vshape", [(5, 3), (5, 1), (5,)])
@pytest.mark.parametrize("full", [True, False])
def test_gaussian_nll_loss_vs_torch(vshape, full):
    var = rng.random(vshape) + 0.05
    var.flat[0] = 1e-9  # clamped at eps; the gradient passes through as in torch
    _oracle(F.gaussian_nll_loss, TF.gaussian_nll_loss, [arr(5, 3), arr(5, 3), var], (0, 1, 2), full=full)
    np.testing.assert_allclose(
        A(F.gaussian_nll_loss(fg.tensor(arr(5, 3)), fg.tensor(arr(5, 3)), 0.5)).shape, ()
    )
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(fg.tensor(arr(2, 3)), fg.tensor(arr(2, 3)), fg.tensor(-np.ones((2, 3))))
    with pytest.raises(ValueError, match="var of shape"):
        F.gaussian_nll_loss(fg.tensor(arr(2, 3)), fg.tensor(arr(2, 3)), fg.tensor(np.ones((3, 2))))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_loss_vs_torch(p, swap):
    a, b, c = arr(6, 4), arr(6, 4), arr(6, 4)
    _oracle(F.triplet_margin_loss, TF.triplet_margin_loss, [a, b, c], (0, 1, 2), p=p, swap=swap, margin=0.7)


def test_triplet_margin_with_distance_loss_vs_torch():
    a, b, c = arr(6, 4), arr(6, 4), arr(6, 4)
    _oracle(
        F.triplet_margin_with_distance_loss,
        TF.triplet_margin_with_distance_loss,
        [a, b, c],
        (0, 1, 2),
        swap=True,
    )

    def fd(x, y):
        return 1.0 - F.cosine_similarity(x, y)

    def td(x, y):
        return 1.0 - TF.cosine_similarity(x, y)

    for r in ("mean", "none"):
        np.testing.assert_allclose(
            A(F.triplet_margin_with_distance_loss(fg.tensor(a), b, c, distance_function=fd, reduction=r)),
            TF.triplet_margin_with_distance_loss(
                torch.tensor(a), torch.tensor(b), torch.tensor(c), distance_function=td, reduction=r
            ).numpy(),
            rtol=1e-12,
        )


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_smooth_l1_loss_vs_torch(beta):
    _oracle(F.smooth_l1_loss, TF.smooth_l1_loss, [arr(5, 3), arr(5, 3)], (0, 1), beta=beta)
    for r in ("mean", "none"):
        np.testing.assert_allclose(
            A(nn.SmoothL1Loss(reduction=r, beta=beta)(fg.tensor(arr(4)), fg.tensor(arr(4)))).shape,
            torch.nn.SmoothL1Loss(reduction=r, beta=beta)(torch.zeros(4), torch.zeros(4)).shape,
        )


def test_soft_margin_and_hinge_embedding_vs_torch():
    _oracle(F.soft_margin_loss, TF.soft_margin_loss, [arr(5, 3) * 10, _pm1(5, 3)], (0,))
    y = _pm1(5, 3)
    y[0, 0] = 0.5  # neither ±1: both terms, as torch
    _oracle(F.hinge_embedding_loss, TF.hinge_embedding_loss, [arr(5, 3), y], (0,), margin=0.5)


# (input shape, target shape) pairs torch broadcasts; each loss's rule is torch's.
_BROADCAST = [((5, 5), (1, 5)), ((1, 5), (5, 5)), ((5, 5), (5,)), ((), (5, 5)), ((4, 1), (1, 3))]


@needs_torch
@pytest.mark.parametrize("xs,ts", _BROADCAST)
@pytest.mark.parametrize(
    "name,warns",
    [
        ("mse_loss", True),
        ("l1_loss", True),
        ("huber_loss", True),
        ("smooth_l1_loss", True),
        ("poisson_nll_loss", False),
        ("hinge_embedding_loss", False),
        ("multilabel_soft_margin_loss", False),
    ],
)
def test_losses_broadcast_input_against_target_as_torch(name, warns, xs, ts):
    if name == "multilabel_soft_margin_loss" and xs == ():
        return  # torch indexes dim -1 of a 0-d input (IndexError); nothing to compare
    x, y = arr(*xs), _pm1(*ts)
    if warns:  # fastgrad's own warning, as torch's
        with pytest.warns(UserWarning, match=f"{name}: using a target size"):
            getattr(F, name)(fg.tensor(x), fg.tensor(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if warns else "error")
        _oracle(getattr(F, name), getattr(TF, name), [x, y], (0, 1) if warns else (0,))


@needs_torch
def test_loss_shape_refusals_follow_torch():
    x, y = fg.tensor(arr(5, 5)), arr(1, 5)
    for f in (F.binary_cross_entropy_with_logits, F.binary_cross_entropy):
        with pytest.raises(ValueError, match=r"must be the same as input shape"):
            f(fg.tensor(rng.random((5, 5))), rng.random((1, 5)))
    with pytest.raises(ValueError, match="do not broadcast together"):
        F.hinge_embedding_loss(x, arr(3))
    # soft_margin writes into an output of the input's shape: only the target broadcasts
    _oracle(F.soft_margin_loss, TF.soft_margin_loss, [arr(5, 5), _pm1(1, 5)], (0,))
    with pytest.raises(ValueError, match="broadcast to the input's shape"):
        F.soft_margin_loss(fg.tensor(arr(1, 5)), y * 0 + arr(5, 5))
    # margin_ranking: one rank, then broadcasting (torch refuses (5, 5) with (5,))
    _oracle(F.margin_ranking_loss, TF.margin_ranking_loss, [arr(5, 5), arr(1, 5), _pm1(5, 1)], (0, 1))
    _oracle(F.margin_ranking_loss, TF.margin_ranking_loss, [arr(), arr(), _pm1()], (0, 1))
    with pytest.raises(ValueError, match="same number of dimensions"):
        F.margin_ranking_loss(x, arr(5), _pm1(5, 5))


@needs_torch
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_hinge_embedding_loss_at_infinities_as_torch(dt):
    x = np.array([np.inf, -np.inf, np.inf, -np.inf, 0.5], dt)
    for y in (np.array([1.0, 1.0, -1.0, -1.0, 1.0], dt), np.array([0.5, 0.5, 0.5, 0.5, 0.5], dt)):
        got = A(F.hinge_embedding_loss(fg.tensor(x), fg.tensor(y), reduction="none"))
        want = TF.hinge_embedding_loss(torch.tensor(x), torch.tensor(y), reduction="none").numpy()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_loss_vs_torch(weighted):
    y = (rng.random((5, 4)) < 0.5).astype(np.float64)
    kw = {"weight": torch.tensor(rng.random(4))} if weighted else {}
    fkw = {"weight": fg.tensor(kw["weight"].numpy())} if weighted else {}
    for r in ("mean", "sum", "none"):
        x = arr(5, 4)
        a, b = fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        fo = F.multilabel_soft_margin_loss(a, y, reduction=r, **fkw)
        to = TF.multilabel_soft_margin_loss(b, torch.tensor(y), reduction=r, **kw)
        np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
        fg.sum(fo).backward()
        to.sum().backward()
        np.testing.assert_allclose(A(a.grad), b.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_multi_margin_loss_vs_torch(p, weighted, batched):
    x = arr(6, 4) if batched else arr(4)
    y = rng.integers(0, 4, 6) if batched else np.array(2)
    w = rng.random(4)
    for r in ("mean", "sum", "none"):
        a, b = fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        fo = F.multi_margin_loss(
            a, y, p=p, margin=0.8, weight=fg.tensor(w) if weighted else None, reduction=r
        )
        to = TF.multi_margin_loss(
            b, torch.tensor(y), p=p, margin=0.8, weight=torch.tensor(w) if weighted else None, reduction=r
        )
        assert tuple(fo.shape) == tuple(to.shape)
        np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
        fg.sum(fo).backward()
        to.sum().backward()
        np.testing.assert_allclose(A(a.grad), b.grad.numpy(), rtol=1e-10)
    with pytest.raises(IndexError, match="out of range"):
        F.multi_margin_loss(fg.tensor(arr(2, 4)), np.array([0, 4]))


@pytest.mark.parametrize("batched", [True, False])
def test_multilabel_margin_loss_vs_torch(batched):
    t = np.array([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 1, 2, 0], [2, 2, -1, 3]])
    x = arr(4, 4)
    if not batched:
        t, x = t[0], x[0]
    for r in ("mean", "sum", "none"):
        a, b = fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        fo = F.multilabel_margin_loss(a, t, reduction=r)
        to = TF.multilabel_margin_loss(b, torch.tensor(t), reduction=r)
        assert tuple(fo.shape) == tuple(to.shape)
        np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
        fg.sum(fo).backward()
        to.sum().backward()
        np.testing.assert_allclose(A(a.grad), b.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("p", [1.0, 2.0, 0.5, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_vs_torch(p, keepdim):
    for sa, sb in [((5, 3), (5, 3)), ((5, 3), (3,)), ((3,), (3,)), ((2, 5, 3), (5, 3))]:
        a, b = arr(*sa), arr(*sb)
        fa, fb = fg.tensor(a, requires_grad=True), fg.tensor(b, requires_grad=True)
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        fo = F.pairwise_distance(fa, fb, p=p, keepdim=keepdim)
        to = TF.pairwise_distance(ta, tb, p=p, keepdim=keepdim)
        assert tuple(fo.shape) == tuple(to.shape), (sa, sb)
        np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
        fg.sum(fo).backward()
        to.sum().backward()
        np.testing.assert_allclose(A(fa.grad), ta.grad.numpy(), rtol=1e-9)
        np.testing.assert_allclose(A(fb.grad), tb.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        A(nn.PairwiseDistance(p=1.0)(fg.tensor(a), fg.tensor(b))),
        torch.nn.PairwiseDistance(p=1.0)(torch.tensor(a), torch.tensor(b)).numpy(),
    )


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cosine_similarity_and_normalize_vs_torch(dim):
    for sa, sb in [((4, 3), (4, 3)), ((4, 3), (1, 3)), ((2, 4, 3), (4, 3))]:
        a, b = arr(*sa), arr(*sb)
        fa, fb = fg.tensor(a, requires_grad=True), fg.tensor(b, requires_grad=True)
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        fo, to = F.cosine_similarity(fa, fb, dim), TF.cosine_similarity(ta, tb, dim)
        assert tuple(fo.shape) == tuple(to.shape)
        np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
        fg.sum(fo * fo).backward()
        (to * to).sum().backward()
        np.testing.assert_allclose(A(fa.grad), ta.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(A(fb.grad), tb.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            A(nn.CosineSimilarity(dim)(fg.tensor(a), fg.tensor(b))),
            torch.nn.CosineSimilarity(dim)(torch.tensor(a), torch.tensor(b)).numpy(),
            rtol=1e-12,
        )
    for p in (1.0, 2.0, 3.0):
        a = arr(4, 3)
        a[1] = 0.0  # the eps clamp
        fa, ta = fg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        fo, to = F.normalize(fa, p=p, dim=dim), TF.normalize(ta, p=p, dim=dim)
        np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
        w = arr(4, 3)
        fg.sum(fo * fg.tensor(w)).backward()
        (to * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(A(fa.grad), ta.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_loss_modules_match_torch_modules():
    x, x2, y01, ypm = arr(5, 4), arr(5, 4), (rng.random((5, 4)) < 0.5) * 1.0, _pm1(5)
    cls = rng.integers(0, 4, 5)
    w = rng.random(4)
    ml = np.array([[3, 0, -1, 1]] * 5)
    cases = [
        (
            "KLDivLoss",
            {"reduction": "batchmean"},
            (np.log(rng.dirichlet(np.ones(4), 5)), rng.dirichlet(np.ones(4), 5)),
        ),
        ("KLDivLoss", {"log_target": True}, (x, x2)),
        ("CosineEmbeddingLoss", {"margin": 0.1}, (x, x2, ypm)),
        ("MarginRankingLoss", {"margin": 0.1}, (x[:, 0], x2[:, 0], ypm)),
        ("PoissonNLLLoss", {"full": True}, (x, np.abs(x2) * 3)),
        ("GaussianNLLLoss", {"full": True}, (x, x2, np.abs(x) + 0.1)),
        ("TripletMarginLoss", {"p": 1.0, "swap": True}, (x, x2, x * 0.5)),
        ("TripletMarginWithDistanceLoss", {"margin": 0.5}, (x, x2, x * 0.5)),
        ("SmoothL1Loss", {"beta": 0.3}, (x, x2)),
        ("SoftMarginLoss", {}, (x[:, 0], ypm)),
        ("MultiLabelSoftMarginLoss", {"weight": w}, (x, y01)),
        ("HingeEmbeddingLoss", {"margin": 2.0}, (x[:, 0], ypm)),
        ("MultiMarginLoss", {"p": 2, "weight": w}, (x, cls)),
        ("MultiLabelMarginLoss", {}, (x, ml)),
        ("CrossEntropyLoss", {"weight": w, "label_smoothing": 0.1, "ignore_index": 2}, (x, cls)),
        ("NLLLoss", {"weight": w}, (np.log(rng.dirichlet(np.ones(4), 5)), cls)),
        ("BCELoss", {"weight": w}, (rng.random((5, 4)), y01)),
        ("BCEWithLogitsLoss", {"weight": w, "pos_weight": w + 0.5}, (x, y01)),
        ("MSELoss", {"reduction": "sum"}, (x, x2)),
        ("L1Loss", {"size_average": False}, (x, x2)),
        ("MSELoss", {"reduce": False}, (x, x2)),
    ]
    for name, kw, args in cases:
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        fkw = {k: fg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        tm, fm = getattr(torch.nn, name)(**tkw), getattr(nn, name)(**fkw)
        fo = fm(*[fg.tensor(a) for a in args])
        to = tm(*[torch.tensor(a) for a in args])
        np.testing.assert_allclose(A(fo), to.numpy(), rtol=1e-10, err_msg=name)
        assert set(fm.state_dict()) == set(tm.state_dict()), name
        for k, v in tm.state_dict().items():
            np.testing.assert_array_equal(A(fm.state_dict()[k]), v.numpy())


def test_torch_elementwise_weight_of_regression_losses():
    x, y, w = arr(5, 3), arr(5, 3), rng.random((5, 3))
    for f, tf in [(F.mse_loss, TF.mse_loss), (F.l1_loss, TF.l1_loss), (F.huber_loss, TF.huber_loss)]:
        for r in ("mean", "sum", "none"):
            np.testing.assert_allclose(
                A(f(fg.tensor(x), fg.tensor(y), reduction=r, weight=fg.tensor(w))),
                tf(torch.tensor(x), torch.tensor(y), reduction=r, weight=torch.tensor(w)).numpy(),
                rtol=1e-12,
            )


def test_new_loss_errors():
    with pytest.raises(ValueError, match="reduction"):
        F.kl_div(fg.tensor(arr(3)), arr(3), reduction="avg")
    with pytest.raises(ValueError, match="target must have shape"):
        F.cosine_embedding_loss(fg.tensor(arr(3, 2)), arr(3, 2), np.ones(2))
    with pytest.raises(ValueError, match="broadcast together"):
        F.margin_ranking_loss(fg.tensor(arr(3)), arr(3), np.ones(2))
    with pytest.raises(ValueError, match="margin"):
        nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match="p == 1"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(TypeError, match="class_weight"):  # one spelling: torch's weight=
        nn.CrossEntropyLoss(class_weight=fg.ones(3))
    with pytest.raises(TypeError, match="class_weight"):
        F.cross_entropy(fg.tensor(arr(2, 3)), np.array([0, 1]), class_weight=fg.ones(3))
    with pytest.raises(TypeError, match="integer"):
        F.multilabel_margin_loss(fg.tensor(arr(2, 3)), arr(2, 3))
    with pytest.raises(TypeError, match="reduction='sum' by keyword"):
        F.mse_loss(fg.tensor(arr(3)), arr(3), "sum")


def _ctc_case(reduction, targets_form="padded", zero_infinity=False, il=(8, 6, 8), unbatched=False):
    T, C = 8, 5
    x = np.random.default_rng(3).standard_normal((T, 1 if unbatched else 3, C))
    tg = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [4, 4, 4, 4]])
    tl = np.array([3, 2, 4])
    il = np.array(il)
    if unbatched:
        x, tg, tl, il = x[:, 0], tg[0, :3], tl[0], il[0]
    elif targets_form == "concat":
        tg = np.concatenate([tg[n, : tl[n]] for n in range(3)])
    a, b = fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    kw = dict(reduction=reduction, zero_infinity=zero_infinity)
    # CTC models apply log_softmax first; torch's gradient equals the true one only then
    fo = F.ctc_loss(fg.log_softmax(a, -1), tg, il, tl, **kw)
    to = TF.ctc_loss(torch.log_softmax(b, -1), torch.tensor(tg), torch.tensor(il), torch.tensor(tl), **kw)
    return a, b, fo, to


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("form", ["padded", "concat", "unbatched"])
def test_ctc_loss_vs_torch(reduction, form):
    a, b, fo, to = _ctc_case(reduction, form, unbatched=form == "unbatched")
    assert tuple(fo.shape) == tuple(to.shape)
    np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
    w = np.random.default_rng(4).standard_normal(tuple(to.shape))
    fg.sum(fo * fg.tensor(w)).backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(A(a.grad), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_ctc_loss_impossible_alignment_and_module():
    # the third target needs 7 frames (4 labels, 3 blanks between repeats) but has 6
    _, _, fo, to = _ctc_case("none", il=(8, 6, 6))
    np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
    assert np.isinf(A(fo)[2])
    a, b, fo, to = _ctc_case("mean", il=(8, 6, 6), zero_infinity=True)
    np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
    fo.backward()
    to.backward()
    np.testing.assert_allclose(A(a.grad), b.grad.numpy(), rtol=1e-9, atol=1e-12)
    x = fg.log_softmax(fg.tensor(np.random.default_rng(5).standard_normal((6, 2, 4))), -1)
    m, tm = nn.CTCLoss(blank=3), torch.nn.CTCLoss(blank=3)
    tg, il, tl = np.array([[0, 1], [2, 2]]), np.array([6, 5]), np.array([2, 2])
    np.testing.assert_allclose(
        A(m(x, tg, il, tl)),
        tm(torch.tensor(A(x)), torch.tensor(tg), torch.tensor(il), torch.tensor(tl)).numpy(),
    )
    with pytest.raises(ValueError, match="blank"):
        m(x, np.array([[3, 1], [2, 2]]), il, tl)
    with pytest.raises(ValueError, match="input_lengths"):
        m(x, tg, np.array([7, 5]), tl)


def test_edge_shapes_and_norm_orders_like_torch():
    two, three = fg.tensor(np.array(2.0)), fg.tensor(np.array(-3.0))
    t2, t3 = torch.tensor(2.0, dtype=torch.float64), torch.tensor(-3.0, dtype=torch.float64)
    np.testing.assert_allclose(A(F.cosine_similarity(two, three, 0)), TF.cosine_similarity(t2, t3, 0).numpy())
    np.testing.assert_allclose(A(F.normalize(three, dim=-1)), TF.normalize(t3, dim=-1).numpy())
    assert F.normalize(three, dim=0).shape == ()
    x = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [-1.0, 3.0, 0.5]])
    for p in (0.0, -1.0, float("-inf"), 0.5, 3.0):
        np.testing.assert_allclose(
            A(F.normalize(fg.tensor(x), p=p)), TF.normalize(torch.tensor(x), p=p).numpy(), rtol=1e-12
        )
        np.testing.assert_allclose(
            A(F.pairwise_distance(fg.tensor(x), fg.tensor(x[::-1].copy()), p=p)),
            TF.pairwise_distance(torch.tensor(x), torch.tensor(x[::-1].copy()), p=p).numpy(),
            rtol=1e-12,
        )
    xm = fg.tensor(np.array([0.3, -1.0, 2.0, 0.1]))
    for tg in (np.array(2), np.array([2])):
        for r in ("none", "mean"):
            a = F.multi_margin_loss(xm, tg, reduction=r)
            b = TF.multi_margin_loss(torch.tensor(A(xm)), torch.tensor(tg), reduction=r)
            assert tuple(a.shape) == tuple(b.shape)
            np.testing.assert_allclose(A(a), b.numpy(), rtol=1e-12)
    assert float(F.multi_margin_loss(two, np.array(0))) == 0.0
    assert float(F.multilabel_margin_loss(two, np.array(0))) == 0.0


@pytest.mark.parametrize("fn", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("wshape", [(1,), (1, 4), (6, 4), (6, 1)])
def test_bce_torch_elementwise_weight(fn, wshape):
    x = rng.random((6, 4)) if fn == "binary_cross_entropy" else arr(6, 4)
    y = (rng.random((6, 4)) < 0.5) * 1.0
    w = rng.random(wshape)
    for r in ("mean", "sum", "none"):
        a = fg.tensor(x, requires_grad=True)
        b = torch.tensor(x, requires_grad=True)
        fo = getattr(F, fn)(a, y, weight=fg.tensor(w), reduction=r)
        to = getattr(TF, fn)(b, torch.tensor(y), weight=torch.tensor(w), reduction=r)
        np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-10)
        fg.sum(fo).backward()
        to.sum().backward()
        np.testing.assert_allclose(A(a.grad), b.grad.numpy(), rtol=1e-9)
    # the per-example ω is sample_weight=: Σ ω·ℓ_i / Σ ω with ℓ_i the row mean
    om = rng.random(6)
    el = A(getattr(F, fn)(fg.tensor(x), y, reduction="none"))
    np.testing.assert_allclose(
        A(getattr(F, fn)(fg.tensor(x), y, sample_weight=om)), (om * el.mean(1)).sum() / om.sum()
    )


def test_weight_is_torchs_even_when_its_shape_matches_the_batch():
    # the old shape guess: C == B made a (B,) weight look per-example; it is per class, as torch
    z, t, w = arr(4, 4), np.array([0, 3, 3, 1]), rng.random(4) + 0.1
    for r in ("mean", "sum", "none"):
        np.testing.assert_allclose(
            A(F.cross_entropy(fg.tensor(z), t, weight=fg.tensor(w), reduction=r)),
            TF.cross_entropy(torch.tensor(z), torch.tensor(t), weight=torch.tensor(w), reduction=r).numpy(),
            rtol=1e-12,
        )
    # BCE on a (B,) input with a (B,) weight: torch's elementwise rescaling, plain mean
    p, y = rng.random(5), (rng.random(5) < 0.5) * 1.0
    w5 = rng.random(5)
    for fn, x in [("binary_cross_entropy", p), ("binary_cross_entropy_with_logits", arr(5))]:
        np.testing.assert_allclose(
            A(getattr(F, fn)(fg.tensor(x), y, weight=fg.tensor(w5))),
            getattr(TF, fn)(torch.tensor(x), torch.tensor(y), weight=torch.tensor(w5)).numpy(),
            rtol=1e-12,
        )
    # mse's torch weight must have the input's shape (torch 2.13), never read as ω
    with pytest.raises(ValueError, match="input's shape"):
        F.mse_loss(fg.tensor(arr(4, 2)), arr(4, 2), weight=np.ones(4))


@pytest.mark.parametrize("red", ["mean", "sum", "none"])
def test_nll_per_class_weight_with_ignore_index_and_smoothing_vs_torch(red):
    z, t = arr(6, 5), rng.integers(0, 5, 6)
    t[1] = 2
    w = rng.random(5) + 0.2
    lp = z - np.log(np.exp(z).sum(1, keepdims=True))
    for ii in (-100, 2):
        a, b = fg.tensor(lp, requires_grad=True), torch.tensor(lp, requires_grad=True)
        fo = F.nll_loss(a, t, weight=fg.tensor(w), ignore_index=ii, reduction=red)
        to = TF.nll_loss(b, torch.tensor(t), weight=torch.tensor(w), ignore_index=ii, reduction=red)
        np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-12)
        fg.sum(fo).backward()
        to.sum().backward()
        np.testing.assert_allclose(A(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-14)
        m, tm = nn.CrossEntropyLoss(fg.tensor(w), ignore_index=ii, reduction=red, label_smoothing=0.2), None
        tm = torch.nn.CrossEntropyLoss(torch.tensor(w), ignore_index=ii, reduction=red, label_smoothing=0.2)
        np.testing.assert_allclose(
            A(m(fg.tensor(z), t)), tm(torch.tensor(z), torch.tensor(t)).numpy(), rtol=1e-12
        )


def test_sample_weight_against_the_cheat_sheet_and_with_torch_weights():
    z, t = arr(6, 4), rng.integers(0, 4, 6)
    om = np.array([1.0, 0.0, 0.5, 2.0, 0.0, 1.0])  # zeros mask examples
    cw = rng.random(4) + 0.2
    per = np.log(np.exp(z).sum(1)) - z[np.arange(6), t]
    # ω alone: Σ ω ℓ / Σ ω; module forward takes it by keyword, as fit calls it
    np.testing.assert_allclose(
        A(nn.CrossEntropyLoss()(fg.tensor(z), t, sample_weight=om)), (om * per).sum() / om.sum(), rtol=1e-12
    )
    keep = om > 0
    np.testing.assert_allclose(
        A(F.cross_entropy(fg.tensor(z), t, sample_weight=om)),
        (om[keep] * per[keep]).sum() / om[keep].sum(),
        rtol=1e-12,
    )
    # ω with the per-class weight: Σ ω_i w_{y_i} ℓ_i / Σ ω_i w_{y_i}
    c = cw[t]
    np.testing.assert_allclose(
        A(F.cross_entropy(fg.tensor(z), t, weight=fg.tensor(cw), sample_weight=om)),
        (om * c * per).sum() / (om * c).sum(),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        A(F.cross_entropy(fg.tensor(z), t, weight=fg.tensor(cw), sample_weight=om, reduction="none")),
        om * c * per,
        rtol=1e-12,
    )
    # BCE: torch's elementwise weight rescales first, then ω reduces
    x, y, we = arr(6, 3), (rng.random((6, 3)) < 0.5) * 1.0, rng.random((1, 3))
    el = np.logaddexp(0, x) - y * x
    np.testing.assert_allclose(
        A(nn.BCEWithLogitsLoss(fg.tensor(we))(fg.tensor(x), y, sample_weight=om)),
        (om * (we * el).mean(1)).sum() / om.sum(),
        rtol=1e-12,
    )
    # mse: torch's elementwise weight with ω or α is rejected (its mean is already Σwℓ/Σw)
    with pytest.raises(ValueError, match="sample_weight/dim_weight"):
        F.mse_loss(fg.tensor(x), y, weight=np.ones((6, 3)), sample_weight=om)
    with pytest.raises(ValueError, match=r"sample_weight.*\(6,\)"):
        F.l1_loss(fg.tensor(x), y, sample_weight=np.ones(3))
    with pytest.raises(TypeError):
        nn.MSELoss()(fg.tensor(x), y, weight=om)  # torch's module forward has no weight
