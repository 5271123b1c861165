"""Bad input raises a clear Python exception (issue 7, item 2).

A table: every public function (ops, factories, transforms) and every layer, loss
and optimizer is given wrong shapes, dtypes, layouts or types. Each row names the
exception type(s) it must raise (ValueError/TypeError, IndexError for bad indices,
RuntimeError for autograd misuse) and the text the message must contain: the op or
layer name and, where shapes are at fault, the offending shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastgrad as fg

C = fg._C
V, T_, I, R = ValueError, TypeError, IndexError, RuntimeError


def Z(*shape, dtype=None):
    return fg.zeros(shape, dtype=dtype or fg.float32)


def G(*shape):
    return fg.zeros(shape, requires_grad=True)


def _nn():
    return pytest.importorskip("fastgrad.nn")


def _F():
    return pytest.importorskip("fastgrad.nn.functional")


def _optim():
    return pytest.importorskip("fastgrad.optim")


def _backward_twice():
    y = fg.sum(fg.exp(G(3)))
    y.backward()
    y.backward()


def _inplace_saved():
    x = G(3)
    h = fg.exp(x * 1.0)
    y = fg.sum(h * h)
    with fg.no_grad():
        h.add_(1.0)
    y.backward()


# (id, thunk, exception types, substrings the message must contain)
ROWS = [
    # ---- elementwise / broadcasting
    ("add-shapes", lambda: fg.add(Z(3, 4), Z(2, 4)), V, ["add", "(3, 4)", "(2, 4)"]),
    ("sub-shapes", lambda: Z(3) - Z(4), V, ["sub", "(3,)", "(4,)"]),
    ("mul-shapes", lambda: fg.mul(Z(2, 3), Z(3, 2)), V, ["mul", "(2, 3)", "(3, 2)"]),
    ("div-shapes", lambda: Z(5) / Z(2, 4), V, ["div", "(5,)", "(2, 4)"]),
    ("pow-shapes", lambda: fg.pow(Z(2), Z(3)), V, ["pow", "(2,)", "(3,)"]),
    ("maximum-shapes", lambda: fg.maximum(Z(2), Z(3)), V, ["maximum", "(2,)", "(3,)"]),
    ("minimum-shapes", lambda: fg.minimum(Z(2), Z(3)), V, ["minimum", "(2,)", "(3,)"]),
    ("where-shapes", lambda: fg.where(Z(3) > 0, Z(2), Z(3)), V, ["where", "(2,)"]),
    ("where-cond-shape", lambda: fg.where(Z(4) > 0, Z(3), Z(3)), V, ["where", "(4,)", "(3,)"]),
    ("add-str", lambda: Z(3) + "a", T_, []),
    ("add-none", lambda: Z(3) + None, T_, []),
    ("exp-str", lambda: fg.exp("abc"), T_, ["exp"]),
    ("exp-ragged", lambda: fg.exp([[1, 2], [3]]), (V, T_), []),
    ("gelu-approx", lambda: fg.gelu(Z(3), approximate="fast"), V, ["gelu", "fast"]),
    ("softplus-beta-type", lambda: fg.softplus(Z(3), beta="x"), (T_, V), []),
    ("clip-type", lambda: fg.clip(Z(3), "a", None), (T_, V), []),
    # ---- matmul
    ("matmul-inner", lambda: fg.matmul(Z(3, 4), Z(3, 4)), V, ["matmul", "(3, 4)"]),
    ("matmul-0d", lambda: fg.matmul(Z(), Z(3)), V, ["matmul", "()", "(3,)"]),
    ("matmul-batch", lambda: fg.matmul(Z(2, 3, 4), Z(3, 4, 5)), V, ["matmul", "(2, 3, 4)", "(3, 4, 5)"]),
    ("matmul-vec", lambda: Z(3) @ Z(4), V, ["matmul", "(3,)", "(4,)"]),
    # ---- reductions
    ("sum-axis", lambda: fg.sum(Z(2, 3), axis=2), I, ["sum", "axis 2"]),
    ("sum-axis-neg", lambda: fg.sum(Z(2, 3), axis=-3), I, ["sum", "-3"]),
    ("sum-axis-repeat", lambda: fg.sum(Z(2, 3), axis=(0, 0)), V, ["sum", "repeated"]),
    ("sum-axis-type", lambda: fg.sum(Z(2, 3), axis="x"), (T_, V), []),
    ("mean-axis", lambda: fg.mean(Z(2, 3), axis=5), I, ["mean", "5"]),
    ("var-axis", lambda: fg.var(Z(2, 3), axis=5), I, ["var", "5"]),
    ("std-axis", lambda: fg.std(Z(2, 3), axis=5), I, ["std", "5"]),
    ("prod-axis", lambda: fg.prod(Z(2, 3), axis=5), I, ["prod", "5"]),
    ("max-axis", lambda: fg.max(Z(2, 3), axis=5), I, ["amax", "5"]),
    ("min-axis", lambda: fg.min(Z(2, 3), axis=5), I, ["amin", "5"]),
    ("max-empty", lambda: fg.max(Z(0, 3)), V, ["(0, 3)"]),
    ("logsumexp-axis", lambda: fg.logsumexp(Z(2, 3), axis=5), I, ["logsumexp", "5"]),
    ("argmax-axis", lambda: fg.argmax(Z(2, 3), axis=2), I, ["argmax", "2"]),
    ("argmin-empty", lambda: fg.argmin(Z(0)), V, ["argmin", "empty"]),
    ("softmax-axis", lambda: fg.softmax(Z(2, 3), axis=2), I, ["softmax", "2"]),
    ("log_softmax-axis", lambda: fg.log_softmax(Z(2, 3), axis=-3), I, ["log_softmax", "-3"]),
    # ---- shape ops
    ("reshape-size", lambda: Z(3, 4).reshape(5, 3), V, ["reshape", "(3, 4)", "(5, 3)"]),
    ("reshape-two-minus1", lambda: fg.reshape(Z(3, 4), (-1, -1)), V, ["reshape", "-1"]),
    ("reshape-negative", lambda: fg.reshape(Z(3, 4), (-2, 6)), V, ["reshape", "(-2, 6)"]),
    ("reshape-overflow", lambda: fg.reshape(Z(4), (2**62 + 1, 4)), V, ["reshape"]),
    ("permute-repeat", lambda: fg.permute(Z(2, 3), [0, 0]), V, ["permute"]),
    ("permute-length", lambda: fg.permute(Z(2, 3), [0]), V, ["permute", "(2, 3)"]),
    ("transpose-axis", lambda: fg.transpose(Z(2, 3), 0, 2), I, ["transpose", "2"]),
    ("transpose-0d-axis", lambda: fg.transpose(Z(), 0, 3), I, ["transpose", "3"]),
    ("expand-bad", lambda: fg.broadcast_to(Z(2, 3), (3, 3)), V, ["expand", "(2, 3)", "(3, 3)"]),
    ("expand-fewer-dims", lambda: fg.broadcast_to(Z(2, 3), (3,)), V, ["expand", "(2, 3)", "(3,)"]),
    ("expand-negative", lambda: fg.broadcast_to(Z(1, 3), (-2, 3)), V, ["expand", "(-2, 3)"]),
    ("squeeze-size", lambda: fg.squeeze(Z(2, 3), axis=0), V, ["squeeze", "(2, 3)"]),
    ("squeeze-axis", lambda: fg.squeeze(Z(2, 1), 3), I, ["squeeze", "3"]),
    ("unsqueeze-axis", lambda: fg.unsqueeze(Z(2, 3), 4), I, ["unsqueeze", "4"]),
    ("flatten-order", lambda: fg.flatten(Z(2, 3, 4), 2, 1), V, ["flatten"]),
    ("flatten-axis", lambda: fg.flatten(Z(2, 3), 0, 5), I, ["flatten", "5"]),
    ("concat-shapes", lambda: fg.concat([Z(2, 3), Z(2, 4)], axis=0), V, ["concat", "(2, 3)", "(2, 4)"]),
    ("concat-ndim", lambda: fg.concat([Z(2, 3), Z(2)], axis=0), V, ["concat", "(2, 3)", "(2,)"]),
    ("concat-axis", lambda: fg.concat([Z(2, 3), Z(2, 3)], axis=2), I, ["concat", "2"]),
    ("concat-empty", lambda: fg.concat([], axis=0), V, ["non-empty"]),
    ("concat-0d", lambda: fg.concat([Z(), Z()]), V, ["concat", "zero-dimensional"]),
    ("stack-shapes", lambda: fg.stack([Z(2, 3), Z(3, 2)]), V, ["stack", "(2, 3)", "(3, 2)"]),
    ("stack-axis", lambda: fg.stack([Z(2), Z(2)], axis=3), I, ["stack", "3"]),
    ("split-sections", lambda: fg.split(Z(5), [2, 2]), V, ["split", "(5,)"]),
    ("split-negative", lambda: fg.split(Z(5), [6, -1]), V, ["split", "negative"]),
    ("split-chunk", lambda: fg.split(Z(5), 0), V, ["split", "0"]),
    ("split-axis", lambda: fg.split(Z(5), 2, axis=3), I, ["split", "3"]),
    ("split-0d", lambda: fg.split(Z(), 1), (V, I), ["split"]),
    ("pad-negative", lambda: fg.pad(Z(3), (-1, 0)), V, ["pad", "negative"]),
    ("pad-pairs", lambda: fg.pad(Z(3, 3), [(1, 1)] * 3), V, ["pad", "(3, 3)"]),
    # ---- indexing
    ("index-int", lambda: Z(3)[5], I, ["5", "(3,)"]),
    ("index-int-neg", lambda: Z(3, 2)[:, -3], I, ["-3", "(3, 2)"]),
    ("index-array", lambda: Z(3)[[0, 7]], I, ["(3,)"]),
    ("index-float", lambda: Z(3)[1.5], I, ["float"]),
    ("index-float-array", lambda: Z(3)[np.array([0.5])], I, ["float"]),
    ("index-too-many", lambda: Z(3)[0, 0], I, ["(3,)"]),
    ("index-mask-shape", lambda: Z(3, 2)[np.array([True, False])], I, ["(2,)", "(3,"]),
    ("index-two-ellipsis", lambda: Z(3)[..., ...], I, ["ellipsis"]),
    ("index_select-oob", lambda: C.index_select(Z(3), 0, fg.tensor([5])), I, ["index_select", "5"]),
    (
        "index_select-dtype",
        lambda: C.index_select(Z(3), 0, fg.tensor([1.0])),
        T_,
        ["index_select", "float32"],
    ),
    ("setitem-oob", lambda: Z(3).__setitem__(5, 1.0), I, ["5"]),
    ("setitem-requires-grad", lambda: G(3).__setitem__(0, 1.0), R, ["requires grad"]),
    ("slice-step0", lambda: C.slice(Z(3), [(0, 3, 0)]), I, ["slice", "(3,)"]),
    # ---- factories and conversion
    ("zeros-negative", lambda: fg.zeros(-1), V, ["negative", "(-1,)"]),
    ("zeros-overflow", lambda: fg.zeros(2**31, 2**31, 4), V, ["(2147483648, 2147483648, 4)"]),
    ("zeros-huge", lambda: fg.zeros(2**40), (MemoryError, V), []),
    ("ones-type", lambda: fg.ones("a"), (T_, V), []),
    ("full-type", lambda: fg.full((2,), "x"), (T_, V), []),
    ("zeros-dtype", lambda: fg.zeros(3, dtype="complex64"), T_, ["complex64"]),
    ("arange-step0", lambda: fg.arange(0, 5, 0), V, ["arange", "step"]),
    ("linspace-num", lambda: fg.linspace(0, 1, -3), V, ["linspace", "num"]),
    ("eye-negative", lambda: fg.eye(-2), V, ["eye"]),
    ("randint-range", lambda: fg.randint(5, 2, (3,)), V, ["randint"]),
    ("rand-negative", lambda: fg.rand(-3), V, ["negative"]),
    ("randn-negative", lambda: fg.randn(2, -3), V, ["negative"]),
    ("randperm-negative", lambda: fg.randperm(-3), V, ["randperm"]),
    ("tensor-ragged", lambda: fg.tensor([[1, 2], [3]]), (V, T_), ["tensor"]),
    ("tensor-str", lambda: fg.tensor("abc"), T_, ["tensor"]),
    ("tensor-complex", lambda: fg.tensor(np.zeros(3, np.complex64)), T_, ["complex64"]),
    ("tensor-object", lambda: fg.tensor(object()), T_, ["tensor"]),
    (
        "from_numpy-negative-strides",
        lambda: fg.from_numpy(np.zeros((3, 4))[:, ::-2]),
        V,
        ["from_numpy", "negative strides"],
    ),
    ("from_numpy-dtype", lambda: fg.from_numpy(np.zeros(3, np.complex64)), T_, ["from_numpy", "complex64"]),
    ("from_numpy-list", lambda: fg.from_numpy([1, 2]), T_, ["from_numpy", "list"]),
    ("item-many", lambda: Z(3).item(), V, ["item", "(3,)"]),
    ("float-many", lambda: float(Z(3)), V, ["(3,)"]),
    ("iter-0d", lambda: iter(Z()), T_, ["0-d"]),
    ("set_num_threads-0", lambda: fg.set_num_threads(0), V, ["set_num_threads"]),
    ("set_num_threads-type", lambda: fg.set_num_threads("2"), T_, []),
    ("manual_seed-type", lambda: fg.manual_seed("x"), T_, []),
    # ---- autograd
    ("backward-nonscalar", lambda: fg.exp(G(3)).backward(), R, ["backward", "(3,)"]),
    ("backward-no-grad", lambda: fg.sum(Z(3)).backward(), R, ["backward", "grad"]),
    ("backward-grad-shape", lambda: fg.exp(G(3)).backward(Z(4)), V, ["backward", "(4,)", "(3,)"]),
    ("backward-twice", _backward_twice, R, ["backward", "second time"]),
    ("backward-inplace-saved", _inplace_saved, R, ["mul"]),
    ("inplace-leaf", lambda: G(3).add_(1.0), R, ["add", "requires grad"]),
    ("inplace-shape", lambda: Z(3).add_(Z(2, 3)), V, ["add", "(2, 3)", "(3,)"]),
    ("copy_-shape", lambda: Z(3).copy_(Z(4)), V, ["(4,)", "(3,)"]),
    ("autograd.grad-unused", lambda: fg.autograd.grad(fg.sum(G(3)), [G(2)]), R, []),
    # ---- transforms
    ("grad-nonscalar", lambda: fg.grad(lambda x: x * 2.0)(Z(3)), (V, R), ["grad", "(3,)"]),
    ("grad-argnums", lambda: fg.grad(lambda x: fg.sum(x), argnums=3)(Z(3)), (V, I), ["argnums"]),
    ("grad-not-callable", lambda: fg.grad(5)(Z(3)), T_, []),
    ("vjp-cotangent-shape", lambda: fg.vjp(lambda x: x * 2.0, Z(3))[1](Z(4)), V, ["(4,)", "(3,)"]),
    ("jvp-tangent-shape", lambda: fg.jvp(lambda x: x * 2.0, (Z(3),), (Z(4),)), V, ["(4,)", "(3,)"]),
    ("jvp-tangent-count", lambda: fg.jvp(lambda x: x * 2.0, (Z(3),), (Z(3), Z(3))), (V, T_), []),
    ("jacrev-argnums", lambda: fg.jacrev(lambda x: x, argnums=2)(Z(3)), (V, I), ["argnums"]),
    ("hvp-shape", lambda: fg.hvp(lambda x: fg.sum(x * x), (Z(3),), (Z(2),)), V, ["(2,)", "(3,)"]),
    ("sharp-metric-shape", lambda: fg.sharp(Z(3), Z(2, 2)), V, ["sharp", "(2, 2)"]),
    # ---- issue 10, item 19: one exception class per defect class, naming op and argument
    # non-tensors where a tensor belongs were AttributeErrors ('str' object has no attribute 'shape')
    ("zeros_like-str", lambda: fg.zeros_like("abc"), T_, ["zeros_like", "input", "str"]),
    ("ones_like-object", lambda: fg.ones_like(object()), T_, ["ones_like", "input", "object"]),
    ("full_like-none", lambda: fg.full_like(None, 1.0), T_, ["full_like", "input", "NoneType"]),
    ("rand_like-ragged", lambda: fg.rand_like([[1], [2, 3]]), T_, ["rand_like", "input"]),
    ("randn_like-str", lambda: fg.randn_like("x"), T_, ["randn_like", "input"]),
    ("detach-str", lambda: fg.detach("abc"), T_, ["detach", "x", "str"]),
    ("exp-object", lambda: fg.exp(object()), T_, ["exp", "object"]),
    ("sum-str", lambda: fg.sum("abc"), T_, ["sum", "str"]),
    ("tree_unflatten-type", lambda: fg.tree_unflatten(5, []), T_, ["tree_unflatten", "int"]),
    # ints outside int64 were pybind11 cast errors ("Unable to cast ... to C++ type '?'", RuntimeError)
    ("sum-axis-overflow", lambda: fg.sum(Z(3), axis=2**70), OverflowError, ["axis", "int64"]),
    ("mean-axis-overflow", lambda: fg.mean(Z(3), axis=(0, -(2**64))), OverflowError, ["axis", "int64"]),
    ("zeros-shape-overflow", lambda: fg.zeros(2**64), OverflowError, ["zeros", "int64"]),
    # wrong scalar types reached pybind11 under another op's name ("full(): incompatible ...")
    ("zeros-shape-str", lambda: fg.zeros("a"), T_, ["zeros", "shape", "str"]),
    ("ones-shape-float", lambda: fg.ones(2.5), T_, ["ones", "shape", "float"]),
    ("rand-shape-float", lambda: fg.rand((2, 1.5)), T_, ["rand", "shape"]),
    ("full-shape-none", lambda: fg.full(None, 1.0), T_, ["full", "shape"]),
    ("randint-shape", lambda: fg.randint(0, 5, "ab"), T_, ["randint", "shape"]),
]


def _layer_rows():
    nn, F, optim = _nn(), _F(), _optim()
    lin = nn.Linear(4, 3)
    conv = nn.Conv2d(3, 8, 3)
    rows = [
        ("Linear-in", lambda: lin(Z(2, 5)), V, ["Linear", "(2, 5)"]),
        ("Linear-args", lambda: nn.Linear(0, -3), V, ["Linear"]),
        ("Linear-layout", lambda: nn.Linear(2, 3, layout="tf"), V, ["Linear", "tf"]),
        ("Conv2d-channels", lambda: conv(Z(1, 4, 8, 8)), V, ["Conv2d", "(1, 4, 8, 8)"]),
        ("Conv2d-ndim", lambda: conv(Z(8, 8)), V, ["Conv2d", "(8, 8)"]),  # (C, H, W) is accepted, as torch
        ("Conv2d-small", lambda: conv(Z(1, 3, 2, 2)), V, ["Conv2d", "(2, 2)", "(3, 3)"]),
        ("Conv2d-groups", lambda: nn.Conv2d(3, 8, 3, groups=2), V, ["Conv2d", "groups"]),
        ("Conv2d-format", lambda: nn.Conv2d(3, 8, 3, data_format="NWHC")(Z(1, 3, 8, 8)), V, ["NWHC"]),
        ("Conv1d-ndim", lambda: nn.Conv1d(2, 2, 3)(Z(2, 2, 5, 5)), V, ["Conv1d", "(2, 2, 5, 5)"]),
        ("Conv3d-ndim", lambda: nn.Conv3d(2, 2, 3)(Z(2, 2, 5)), V, ["Conv3d", "(2, 2, 5)"]),
        ("MaxPool2d-ndim", lambda: nn.MaxPool2d(2)(Z(4, 4)), V, ["(4, 4)"]),
        ("MaxPool2d-window", lambda: nn.MaxPool2d(5)(Z(1, 1, 2, 2)), V, ["(1, 1, 2, 2)"]),
        ("AvgPool2d-stride0", lambda: nn.AvgPool2d(2, stride=0)(Z(1, 1, 4, 4)), V, ["stride"]),
        ("BatchNorm1d-features", lambda: nn.BatchNorm1d(4)(Z(8, 5)), V, ["BatchNorm1d", "(8, 5)"]),
        ("BatchNorm2d-ndim", lambda: nn.BatchNorm2d(4)(Z(8, 4)), V, ["BatchNorm2d", "(8, 4)"]),
        ("LayerNorm-shape", lambda: nn.LayerNorm(4)(Z(2, 5)), V, ["LayerNorm", "(2, 5)"]),
        ("Embedding-oob", lambda: nn.Embedding(10, 3)(fg.tensor([1, 12])), I, ["Embedding", "12"]),
        ("Embedding-float", lambda: nn.Embedding(10, 3)(Z(2)), (T_, I), ["Embedding", "float32"]),
        ("Dropout-p", lambda: nn.Dropout(1.5), V, ["Dropout", "1.5"]),
        ("MHA-heads", lambda: nn.MultiheadAttention(10, 3), V, ["MultiheadAttention", "3"]),
        (
            "MHA-shape",
            lambda: nn.MultiheadAttention(8, 2)(Z(2, 5, 7), Z(2, 5, 7), Z(2, 5, 7)),
            V,
            ["MultiheadAttention", "7"],
        ),
        ("LSTM-features", lambda: nn.LSTM(4, 8)(Z(5, 2, 3)), V, ["LSTM", "(5, 2, 3)"]),
        ("GRU-features", lambda: nn.GRU(4, 8)(Z(5, 2, 3)), V, ["GRU", "(5, 2, 3)"]),
        ("Sequential-type", lambda: nn.Sequential(5), T_, ["Sequential"]),
        (
            "load_state_dict-missing",
            lambda: nn.Linear(2, 2).load_state_dict({}),
            (V, KeyError, R),
            ["weight"],
        ),
        (
            "load_state_dict-shape",
            lambda: nn.Linear(2, 2).load_state_dict({"weight": Z(3, 3), "bias": Z(2)}),
            (V, R),
            ["weight", "(3, 3)", "(2, 2)"],
        ),
        # losses
        ("mse-shapes", lambda: F.mse_loss(Z(3, 2), Z(4, 2)), V, ["mse_loss", "(3, 2)", "(4, 2)"]),
        ("l1-shapes", lambda: F.l1_loss(Z(3), Z(4)), V, ["l1_loss", "(3,)", "(4,)"]),
        ("huber-shapes", lambda: F.huber_loss(Z(3), Z(4)), V, ["huber_loss", "(3,)", "(4,)"]),
        ("mse-reduction", lambda: F.mse_loss(Z(3), Z(3), reduction="avg"), V, ["mse_loss", "avg"]),
        ("mse-weight", lambda: F.mse_loss(Z(3, 2), Z(3, 2), weight=Z(4)), V, ["mse_loss", "(4,)"]),
        ("mse-dim_weight", lambda: F.mse_loss(Z(3, 2), Z(3, 2), dim_weight=Z(3)), V, ["mse_loss", "(3,)"]),
        (
            "bce-logits-shapes",
            lambda: F.binary_cross_entropy_with_logits(Z(3), Z(4)),
            V,
            ["binary_cross_entropy_with_logits", "(3,)", "(4,)"],
        ),
        (
            "bce-shapes",
            lambda: F.binary_cross_entropy(Z(3), Z(4)),
            V,
            ["binary_cross_entropy", "(3,)", "(4,)"],
        ),
        (
            "ce-target-shape",
            lambda: F.cross_entropy(Z(4, 5), fg.tensor([0, 1, 2])),
            V,
            ["cross_entropy", "(4, 5)", "(3,)"],
        ),
        ("ce-target-oob", lambda: F.cross_entropy(Z(2, 5), fg.tensor([0, 7])), I, ["cross_entropy", "7"]),
        (
            "ce-smoothing",
            lambda: F.cross_entropy(Z(2, 5), fg.tensor([0, 1]), label_smoothing=1.5),
            V,
            ["cross_entropy", "label_smoothing"],
        ),
        ("nll-target-dtype", lambda: F.nll_loss(Z(2, 5), Z(2)), (T_, V), ["nll_loss"]),
        ("MSELoss-module", lambda: nn.MSELoss()(Z(3), Z(4)), V, ["(3,)", "(4,)"]),
        ("CrossEntropyLoss-module", lambda: nn.CrossEntropyLoss()(Z(2, 3), fg.tensor([5, 0])), I, ["5"]),
        # optimizers
        ("SGD-lr", lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr=-1.0), V, ["SGD", "lr"]),
        (
            "SGD-momentum",
            lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1, momentum=-0.5),
            V,
            ["SGD", "momentum"],
        ),
        (
            "SGD-nesterov",
            lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1, nesterov=True),
            V,
            ["SGD", "nesterov"],
        ),
        ("SGD-empty", lambda: optim.SGD([], lr=0.1), V, ["SGD"]),
        ("SGD-not-tensor", lambda: optim.SGD([1.0], lr=0.1), T_, ["SGD"]),
        (
            "Adam-betas",
            lambda: optim.Adam(nn.Linear(2, 2).parameters(), lr=1e-3, betas=(1.5, 0.9)),
            V,
            ["Adam", "beta"],
        ),
        ("Adam-eps", lambda: optim.Adam(nn.Linear(2, 2).parameters(), lr=1e-3, eps=-1.0), V, ["Adam", "eps"]),
        (
            "AdamW-decay",
            lambda: optim.AdamW(nn.Linear(2, 2).parameters(), lr=1e-3, weight_decay=-1.0),
            V,
            ["AdamW", "weight_decay"],
        ),
        (
            "RMSprop-alpha",
            lambda: optim.RMSprop(nn.Linear(2, 2).parameters(), lr=1e-2, alpha=-0.1),
            V,
            ["RMSprop", "alpha"],
        ),
        (
            "clip_grad_norm-type",
            lambda: optim.clip_grad_norm_(nn.Linear(2, 2).parameters(), max_norm="x"),
            (T_, V),
            [],
        ),
        (
            "load_state_dict-optim",
            lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1).load_state_dict(
                {"param_groups": [], "state": {}}
            ),
            V,
            ["param"],
        ),
        # issue 10, item 19: functional forms given non-tensors (AttributeError before)
        ("conv1d-weight-int", lambda: F.conv1d(Z(1, 2, 5), 3), V, ["conv1d", "weight", "()"]),
        ("conv2d-input-str", lambda: F.conv2d("abc", Z(1, 1, 3, 3)), T_, ["conv2d", "input", "str"]),
        (
            "conv3d-bias-object",
            lambda: F.conv3d(Z(1, 1, 3, 3, 3), Z(1, 1, 1, 1, 1), object()),
            T_,
            ["conv3d", "bias", "object"],
        ),
        (
            "sdpa-query-str",
            lambda: F.scaled_dot_product_attention("q", Z(2, 3), Z(2, 3)),
            T_,
            ["scaled_dot_product_attention", "query", "str"],
        ),
        (
            "sdpa-key-0d",
            lambda: F.scaled_dot_product_attention(Z(2, 3), 1.0, Z(2, 3)),
            V,
            ["scaled_dot_product_attention", "()"],
        ),
        ("embedding-weight-list", lambda: F.embedding(fg.tensor([0]), [1.0, 2.0]), V, ["embedding", "(2,)"]),
        ("embedding-weight-str", lambda: F.embedding(fg.tensor([0]), "w"), T_, ["embedding", "weight"]),
        (
            "batch_norm-0d",
            lambda: F.batch_norm(fg.tensor(1.0), None, None),
            V,
            ["batch_norm", "(N, C, ...)", "()"],
        ),
        (
            "batch_norm-running-str",
            lambda: F.batch_norm(Z(2, 3), "m", None),
            T_,
            ["batch_norm", "running_mean"],
        ),
        # every normalisation taking running statistics checks them the same way
        (
            "instance_norm-running-str",
            lambda: F.instance_norm(Z(2, 3, 4), "m", Z(3)),
            T_,
            ["instance_norm", "running_mean"],
        ),
        (
            "instance_norm-running_var-tuple-of-str",
            lambda: F.instance_norm(Z(2, 3, 4), Z(3), ("a", "b", "c")),
            T_,
            ["instance_norm", "running_var"],
        ),
        ("relu-str", lambda: F.relu("x"), T_, ["relu", "str"]),
        ("one_hot-dtype", lambda: F.one_hot(fg.tensor([1]), 3, dtype=1), T_, ["one_hot", "dtype"]),
        # layer constructors with wrong argument types ("full(): incompatible function arguments")
        ("Linear-float", lambda: nn.Linear(2.5, 3), T_, ["Linear(2.5, 3)", "wrong type"]),
        ("BatchNorm2d-float", lambda: nn.BatchNorm2d(2.5), T_, ["BatchNorm2d(2.5)"]),
        ("Conv2d-str", lambda: nn.Conv2d(1, "a", 3), T_, ["Conv2d", "'a'"]),
        ("GRU-float", lambda: nn.GRU(2.5, 3), T_, ["GRU(2.5, 3)"]),
        ("Embedding-ctor-float", lambda: nn.Embedding(2.5, 3), T_, ["Embedding(2.5, 3)"]),
    ]
    return rows


def _check(thunk, exc, needles):
    with pytest.raises(exc) as ei:
        thunk()
    msg = str(ei.value)
    assert msg.strip(), f"{type(ei.value).__name__} with an empty message"
    missing = [n for n in needles if n.lower() not in msg.lower()]
    assert not missing, f"message {msg!r} lacks {missing}"


@pytest.mark.parametrize("row", [pytest.param(r, id=r[0]) for r in ROWS])
def test_core_bad_input(row):
    _, thunk, exc, needles = row
    _check(thunk, exc, needles)


LAYER_IDS = [
    "Linear-in",
    "Linear-args",
    "Linear-layout",
    "Conv2d-channels",
    "Conv2d-ndim",
    "Conv2d-small",
    "Conv2d-groups",
    "Conv2d-format",
    "Conv1d-ndim",
    "Conv3d-ndim",
    "MaxPool2d-ndim",
    "MaxPool2d-window",
    "AvgPool2d-stride0",
    "BatchNorm1d-features",
    "BatchNorm2d-ndim",
    "LayerNorm-shape",
    "Embedding-oob",
    "Embedding-float",
    "Dropout-p",
    "MHA-heads",
    "MHA-shape",
    "LSTM-features",
    "GRU-features",
    "Sequential-type",
    "load_state_dict-missing",
    "load_state_dict-shape",
    "mse-shapes",
    "l1-shapes",
    "huber-shapes",
    "mse-reduction",
    "mse-weight",
    "mse-dim_weight",
    "bce-logits-shapes",
    "bce-shapes",
    "ce-target-shape",
    "ce-target-oob",
    "ce-smoothing",
    "nll-target-dtype",
    "MSELoss-module",
    "CrossEntropyLoss-module",
    "SGD-lr",
    "SGD-momentum",
    "SGD-nesterov",
    "SGD-empty",
    "SGD-not-tensor",
    "Adam-betas",
    "Adam-eps",
    "AdamW-decay",
    "RMSprop-alpha",
    "clip_grad_norm-type",
    "load_state_dict-optim",
    "conv1d-weight-int",
    "conv2d-input-str",
    "conv3d-bias-object",
    "sdpa-query-str",
    "sdpa-key-0d",
    "embedding-weight-list",
    "embedding-weight-str",
    "batch_norm-0d",
    "batch_norm-running-str",
    "instance_norm-running-str",
    "instance_norm-running_var-tuple-of-str",
    "relu-str",
    "one_hot-dtype",
    "Linear-float",
    "BatchNorm2d-float",
    "Conv2d-str",
    "GRU-float",
    "Embedding-ctor-float",
]


@pytest.mark.parametrize("rid", LAYER_IDS)
def test_layer_bad_input(rid):
    rows = {r[0]: r for r in _layer_rows()}
    _, thunk, exc, needles = rows[rid]
    _check(thunk, exc, needles)


def test_layer_table_is_complete():
    assert [r[0] for r in _layer_rows()] == LAYER_IDS
    assert len(set(LAYER_IDS)) == len(LAYER_IDS) and len({r[0] for r in ROWS}) == len(ROWS)


def test_dtype_none_means_the_default_dtype():
    """dtype=None (PyTorch's spelling of "the default") reached pybind11 as full(..., None)."""
    nn = _nn()
    layers = [
        nn.Linear(2, 3, dtype=None),
        nn.Conv2d(1, 2, 3, dtype=None),
        nn.Embedding(4, 2, dtype=None),
        nn.LayerNorm(3, dtype=None),
        nn.BatchNorm1d(3, dtype=None),
        nn.GRU(2, 3, dtype=None),
        nn.MultiheadAttention(4, 2, dtype=None),
    ]
    for m in layers:
        assert {p.dtype for p in m.parameters()} == {fg.float32}, type(m).__name__
    for f in (fg.zeros, fg.ones, fg.rand, fg.randn):
        assert f(2, dtype=None).dtype == fg.float32
    assert fg.full((2,), 1.0, dtype=None).dtype == fg.eye(2, dtype=None).dtype == fg.float32


def test_never_a_crash_for_any_row():
    """Every row, run once more in a child process: whatever the message, the
    interpreter survives (a segfault would show as a negative return code)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.path.insert(0, {!r})\n".format(__import__("os").path.dirname(__file__))
        + "import test_bad_input as t\n"
        "rows = t.ROWS + t._layer_rows()\n"
        "n = 0\n"
        "for r in rows:\n"
        "    try:\n"
        "        r[1]()\n"
        "    except BaseException:\n"
        "        n += 1\n"
        "print('ROWS', len(rows), n)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "ROWS" in p.stdout


# None where a tensor belongs: each call in its own child process, since a null
# tensor reaching C++ is a segfault, not an exception.
NONE_CALLS = {
    "autograd.grad-input": "fg.autograd.grad(fg.sum(x), [None])",
    "autograd.grad-output": "fg.autograd.grad([None], [x])",
    "autograd.backward-root": "fg.autograd.backward([None])",
    "backward-grad": "fg.exp(x).backward(None)",
    "exp": "fg.exp(None)",
    "add": "fg.add(x, None)",
    "matmul": "fg.matmul(None, x)",
    "where": "fg.where(None, x, x)",
    "concat": "fg.concat([x, None])",
    "stack": "fg.stack([None, x])",
    "copy_": "fg.zeros(3).copy_(None)",
    "tensor-method": "x.detach().add_(None)",
    "vjp": "fg.vjp(lambda a: a * 2.0, x)[1](None)",
    "jvp": "fg.jvp(lambda a: a, (x,), (None,))",
    "grad-transform": "fg.grad(lambda a: fg.sum(a))(None)",
}


@pytest.mark.parametrize("name", list(NONE_CALLS))
def test_none_for_a_tensor_never_crashes(name):
    import subprocess
    import sys

    code = (
        "import fastgrad as fg\n"
        "x = fg.ones(3, requires_grad=True)\n"
        "try:\n"
        f"    {NONE_CALLS[name]}\n"
        "    print('RESULT ok')\n"
        "except (ValueError, TypeError, IndexError, RuntimeError) as e:\n"
        "    print('RESULT', type(e).__name__, e)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"{NONE_CALLS[name]} killed the interpreter (return code {p.returncode})"
    assert "RESULT" in p.stdout, p.stdout + p.stderr


# Optimizer hyperparameters of the wrong type, in the constructor or in a parameter group,
# and optimizer/EMA arguments that are no parameters or model: a TypeError naming the
# optimizer and the argument (before: "'<' not supported between instances of 'str' and
# 'int'", "'int' object is not iterable", an AttributeError from EMA, or a failure inside step()).
def _optim_hyper_cases():
    numeric = {
        "SGD": ["lr", "momentum", "dampening", "weight_decay"],
        "Adam": ["lr", "eps", "weight_decay"],
        "AdamW": ["lr", "eps", "weight_decay"],
        "RMSprop": ["lr", "alpha", "eps", "weight_decay", "momentum"],
    }
    for cls, names in numeric.items():
        for name in names:
            for junk in ("x", None, [0.1], True, 1j):
                yield cls, name, junk, "ctor"
                yield cls, name, junk, "group"
    for cls in ("Adam", "AdamW"):
        for junk in (0.9, "ab", (0.9, "x"), None, ()):
            yield cls, "betas", junk, "ctor"
            yield cls, "betas", junk, "group"


@pytest.mark.parametrize("cls,name,junk,where", list(_optim_hyper_cases()))
def test_optimizer_hyperparameter_types(cls, name, junk, where):
    optim = _optim()
    p = fg.ones(2, requires_grad=True)
    C = getattr(optim, cls)
    if where == "ctor":
        thunk = lambda: C([p], **{name: junk})
    else:
        thunk = lambda: C([{"params": [p], name: junk}])
    _check(thunk, TypeError, [cls, name])


def test_optimizer_and_ema_argument_types():
    optim, nn = _optim(), _nn()
    p = fg.ones(2, requires_grad=True)
    _check(lambda: optim.SGD(5), TypeError, ["SGD", "params", "int"])
    _check(lambda: optim.Adam([{"lr": 0.1}]), TypeError, ["Adam", "params"])
    _check(lambda: optim.SGD([{"params": 3}]), TypeError, ["SGD", "params", "int"])
    _check(lambda: optim.EMA(3), TypeError, ["EMA", "model", "int"])
    _check(lambda: optim.EMA(fg.ones(2)), TypeError, ["EMA", "model"])
    _check(lambda: optim.EMA(nn.Linear(2, 2), decay="x"), TypeError, ["EMA", "decay", "str"])
    _check(lambda: optim.EMA(nn.Linear(2, 2)).update(5), TypeError, ["EMA", "model", "int"])
    # the checks accept what they should: NumPy scalars, ints, lists of floats for betas
    import numpy as np

    optim.Adam([p], lr=np.float32(0.01), betas=[0.8, 0.9], eps=0).step()
    optim.SGD([{"params": [p], "lr": 1}], lr=0.1)
