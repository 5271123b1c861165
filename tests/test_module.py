"""nn.Module API, containers and forward hooks with torch.nn as the oracle: state_dict
keys, repr, container editing, traversal, hooks, load_state_dict results and errors."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import fastgrad as fg
import fastgrad.nn as nn
from fastgrad._device import device


def build(lib):
    """The same architecture in fastgrad (lib=nn) or torch (lib=torch.nn)."""

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.emb = lib.Embedding(5, 4)
            self.body = lib.Sequential(
                OrderedDict([("fc", lib.Linear(4, 3)), ("act", lib.ReLU()), ("bn", lib.BatchNorm1d(3))])
            )
            self.heads = lib.ModuleDict({"a": lib.Linear(3, 2), "b": lib.Linear(3, 1, bias=False)})
            self.blocks = lib.ModuleList([lib.Linear(3, 3) for _ in range(2)])
            self.scales = lib.ParameterList([lib.Parameter(fill(lib, (3,))), fill(lib, (2, 2))])
            self.extra = lib.ParameterDict({"t": lib.Parameter(fill(lib, (1,)))})
            self.register_buffer("step", fill(lib, ()))
            self.register_buffer("tmp", fill(lib, (2,)), persistent=False)
            self.ln = lib.LayerNorm(3)
            self.shared = self.blocks[0]  # a module under two names

    return Net()


def fill(lib, shape):
    return fg.zeros(list(shape)) if lib is nn else torch.zeros(shape)


def test_state_dict_keys_and_order_are_torchs():
    f, t = build(nn), build(torch.nn)
    assert list(f.state_dict()) == list(t.state_dict())
    assert [n for n, _ in f.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in f.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in f.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in f.named_modules(remove_duplicate=False)] == [
        n for n, _ in t.named_modules(remove_duplicate=False)
    ]
    assert [n for n, _ in f.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in f.named_parameters(prefix="m", recurse=False)] == [
        n for n, _ in t.named_parameters(prefix="m", recurse=False)
    ]
    assert len(list(f.modules())) == len(list(t.modules()))
    assert len(list(f.parameters())) == len(list(t.parameters()))


@pytest.mark.parametrize(
    "name, args, kw",
    [
        ("Linear", (3, 2), {}),
        ("Bilinear", (2, 3, 4), {}),
        ("Conv1d", (2, 3, 3), {}),
        ("Conv2d", (2, 3, 3), {"bias": False}),
        ("Conv3d", (1, 2, 2), {}),
        ("BatchNorm1d", (3,), {}),
        ("BatchNorm2d", (3,), {}),
        ("LayerNorm", (4,), {}),
        ("Embedding", (5, 3), {}),
        ("MultiheadAttention", (4, 2), {}),
        ("LSTM", (3, 4), {"num_layers": 2, "bidirectional": True}),
        ("GRU", (3, 4), {"batch_first": True, "bias": False}),
    ],
)
def test_layer_state_dict_keys_and_shapes_are_torchs(name, args, kw):
    f, t = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert [(k, tuple(v.shape)) for k, v in f.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in t.state_dict().items()
    ]


def test_add_module_on_sequential_reaches_forward():
    s = nn.Sequential(nn.Linear(2, 2))
    s(fg.ones([1, 2]))
    s.add_module("wide", nn.Linear(2, 5))
    assert s(fg.ones([1, 2])).shape == (1, 5)


def test_torch_state_dict_loads_and_round_trips():
    f, t = build(nn), build(torch.nn)
    sd = {k: v.detach().numpy() for k, v in t.state_dict().items()}
    r = f.load_state_dict(sd)
    assert (
        r.missing_keys == []
        and r.unexpected_keys == []
        and repr(r) == repr(t.load_state_dict(t.state_dict()))
    )
    for k, v in f.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v), sd[k])
    x = np.array([0, 3, 4, 1])
    t.eval(), f.eval()
    with torch.no_grad():
        want = t.heads["a"](t.body(t.emb(torch.from_numpy(x)))).numpy()
    got = f.heads["a"](f.body(f.emb(fg.tensor(x))))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


def test_load_state_dict_errors_like_torch():
    f, t = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    cases = [
        ({}, {}),
        (
            {"weight": np.zeros((2, 2), np.float32), "bias": np.zeros(2, np.float32), "x": np.zeros(1)},
            {"weight": torch.zeros(2, 2), "bias": torch.zeros(2), "x": torch.zeros(1)},
        ),
    ]
    for fsd, tsd in cases:
        with pytest.raises(RuntimeError) as te:
            t.load_state_dict(tsd)
        with pytest.raises(RuntimeError) as fe:
            f.load_state_dict(fsd)
        assert str(fe.value) == str(te.value)
    r = f.load_state_dict({"weight": np.zeros((2, 2), np.float32)}, strict=False)
    assert r == t.load_state_dict({"weight": torch.zeros(2, 2)}, strict=False)
    assert r.missing_keys == ["bias"]
    with pytest.raises(RuntimeError):
        t.load_state_dict({"weight": torch.zeros(3, 3), "bias": torch.zeros(2)}, strict=False)
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        f.load_state_dict({"weight": np.zeros((3, 3)), "bias": np.zeros(2)}, strict=False)


def test_repr_is_torchs():
    def make(lib):
        return lib.Sequential(
            lib.Linear(2, 3),
            lib.ModuleList([lib.Linear(3, 3), lib.Linear(3, 3), lib.ReLU()]),
            lib.ModuleDict({"x": lib.Identity()}),
            lib.Sequential(),
        )

    assert repr(make(nn)) == repr(make(torch.nn))

    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Identity()

        def extra_repr(self):
            return "k=1"

    class TWithExtra(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Identity()

        def extra_repr(self):
            return "k=1"

    assert repr(WithExtra()).replace("WithExtra", "") == repr(TWithExtra()).replace("TWithExtra", "")
    assert "(0): Parameter containing: [fastgrad.float32 of size 2x3]" in repr(
        nn.ParameterList([fg.zeros([2, 3])])
    )


def test_sequential_and_modulelist_editing_like_torch():
    for make in (lambda lib: lib.Sequential, lambda lib: lib.ModuleList):

        def ops(lib):
            mk = make(lib)
            if mk is lib.Sequential:
                c = mk(*[lib.Linear(i + 1, i + 1) for i in range(4)])
            else:
                c = mk([lib.Linear(i + 1, i + 1) for i in range(4)])
            out = [len(c), c[-1].in_features, [m.in_features for m in c[1:3]]]
            del c[1]
            out.append([(k, m.in_features) for k, m in c.named_children()])
            c.insert(0, lib.Linear(9, 9))
            c.insert(2, lib.Linear(8, 8))
            c.append(lib.Linear(7, 7))
            c.extend([lib.Linear(6, 6)])
            c[2] = lib.Linear(5, 5)
            out.append([(k, m.in_features) for k, m in c.named_children()])
            out.append(c.pop(1).in_features)
            d = c + c[:2]
            out.append([(k, m.in_features) for k, m in d.named_children()])
            out.append(list(type(c[1:3]).__mro__[0].__name__))
            del c[1:3]
            out.append([(k, m.in_features) for k, m in c.named_children()])
            for bad in (10, -11):
                with pytest.raises(IndexError):
                    c[bad]
            return out

        assert ops(nn) == ops(torch.nn)


def test_sequential_forward_sees_edits():
    s = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    x = fg.ones([1, 2])
    s(x)
    s.append(nn.Linear(2, 5))
    assert s(x).shape == (1, 5)
    del s[2]
    assert s(x).shape == (1, 2)
    s.insert(0, nn.Linear(2, 2))
    s[0] = nn.Linear(2, 2)
    assert s(x).shape == (1, 2) and len(s) == 3


def test_module_dict_like_torch():
    def ops(lib):
        d = lib.ModuleDict({"b": lib.ReLU(), "a": lib.Tanh()})
        d["c"] = lib.Identity()
        d.update([("a", lib.Sigmoid()), ("z", lib.ReLU())])
        out = [list(d), len(d), "c" in d, type(d["a"]).__name__, list(d.keys())]
        out.append(type(d.pop("b")).__name__)
        del d["c"]
        out.append([(k, type(v).__name__) for k, v in d.items()])
        out.append([n for n, _ in d.named_modules()])
        d.clear()
        out.append(len(d))
        return out

    assert ops(nn) == ops(torch.nn)


def test_parameter_list_and_dict_like_torch():
    def ops(lib, z):
        pl = lib.ParameterList([z(2), lib.Parameter(z(3))])
        pl.append(z(4))
        pl.extend([z(1)])
        out = [len(pl), [tuple(p.shape) for p in pl], [isinstance(p, lib.Parameter) for p in pl]]
        out.append([n for n, _ in pl.named_parameters()])
        pd = lib.ParameterDict({"w": z(2)})
        pd["v"] = lib.Parameter(z(3))
        pd.update({"u": z(1)})
        out += [list(pd), len(pd), "v" in pd, [n for n, _ in pd.named_parameters()], tuple(pd.pop("w").shape)]
        out.append([isinstance(p, lib.Parameter) for p in pd.values()])
        holder = lib.Module()
        holder.pl, holder.pd = pl, pd
        out.append(list(holder.state_dict()))
        return out

    assert ops(nn, lambda n: fg.zeros([n])) == ops(torch.nn, lambda n: torch.zeros(n))


def test_submodule_lookup_like_torch():
    f, t = build(nn), build(torch.nn)
    assert f.get_submodule("body.fc") is f.body.fc and f.get_submodule("") is f
    assert f.get_parameter("body.fc.weight") is f.body.fc.weight
    assert f.get_buffer("body.bn.running_mean") is f.body.bn.running_mean
    for target in ("body.nope", "body.fc.weight", "x.y"):
        with pytest.raises(AttributeError) as te:
            t.get_submodule(target)
        with pytest.raises(AttributeError) as fe:
            f.get_submodule(target)
        assert str(fe.value) == str(te.value)


def test_register_errors_like_torch():
    def attempts(lib, z):
        m = lib.Linear(2, 2)
        return [
            lambda: m.register_buffer("weight", z()),
            lambda: m.register_buffer("a.b", z()),
            lambda: m.register_buffer("", z()),
            lambda: m.register_buffer(3, z()),
            lambda: m.register_buffer("q", 3),
            lambda: m.register_parameter("q", z()),
            lambda: m.register_parameter("in_features", None),
            lambda: m.add_module("w.x", lib.ReLU()),
            lambda: m.add_module("r", 5),
            lambda: m.train(1),
        ]

    for fa, ta in zip(attempts(nn, lambda: fg.zeros([1])), attempts(torch.nn, lambda: torch.zeros(1))):
        with pytest.raises(Exception) as te:
            ta()
        with pytest.raises(te.type):
            fa()


def test_apply_train_eval_requires_grad_zero_grad():
    m = build(nn)
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    t = build(torch.nn)
    tseen = []
    t.apply(lambda mod: tseen.append(type(mod).__name__))
    assert seen == tseen
    assert m.eval() is m and not any(x.training for x in m.modules())
    assert m.train() is m and all(x.training for x in m.modules())
    assert m.requires_grad_(False) is m and not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    lin = nn.Linear(2, 1)
    lin(fg.ones([3, 2])).sum().backward()
    lin.zero_grad(set_to_none=False)
    assert np.all(np.asarray(lin.weight.grad) == 0)
    lin.zero_grad()
    assert lin.weight.grad is None


def test_to_float_double():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert m.to(fg.float64) is m and m[0].weight.dtype == fg.float64 and m[1].running_mean.dtype == fg.float64
    assert m[1].num_batches_tracked.dtype == fg.int64
    m.to("cpu", dtype=np.float32)
    assert m[0].weight.dtype == fg.float32
    m.to(device("cpu")).to(torch.device("cpu")).to(fg.zeros([1], dtype=fg.float64))
    assert m[0].weight.dtype == fg.float64
    assert m.float() is m and m[0].bias.dtype == fg.float32 and m.double().cpu()[0].bias.dtype == fg.float64
    with pytest.raises(ValueError, match="CPU only"):
        m.to("cuda")
    with pytest.raises(ValueError):
        m.cuda()
    with pytest.raises(TypeError, match="floating point"):
        m.to(fg.int64)
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).to(torch.int64)


def test_setattr_delattr_registration():
    m = nn.Module()
    m.w = nn.Parameter(fg.zeros([2]))
    m.sub = nn.Linear(2, 2)
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    m.sub = None
    assert [n for n, _ in m.named_parameters()] == ["w"] and m.sub is None
    del m.w
    assert list(m.parameters()) == [] and not hasattr(m, "w")
    m.register_buffer("b", fg.zeros([1]))
    m.b = fg.ones([1])
    assert list(m.state_dict()) == ["b"]
    with pytest.raises(TypeError):
        m.b = 3
    with pytest.raises(AttributeError):

        class Early(nn.Module):
            def __init__(self):
                self.x = nn.Linear(1, 1)

        Early()


# ------------------------------------------------------------------ hooks
def run_hooks(lib, tensor):
    log = []
    m = lib.Linear(2, 2)
    s = lib.Sequential(m)

    def pre(mod, args):
        log.append(("pre", type(mod).__name__, len(args)))
        return (args[0] * 2,)

    def pre_kw(mod, args, kwargs):
        log.append(("pre_kw", sorted(kwargs)))
        return None

    def post(mod, args, out):
        log.append(("post", tuple(out.shape)))
        return out + 1

    def post_kw(mod, args, kwargs, out):
        log.append(("post_kw", sorted(kwargs)))

    def first(mod, args):
        log.append(("first",))

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_pre_hook(pre_kw, with_kwargs=True)
    h3 = m.register_forward_hook(post)
    h4 = m.register_forward_hook(post_kw, with_kwargs=True)
    h5 = m.register_forward_pre_hook(first, prepend=True)
    x = tensor([[1.0, 2.0]])
    with lib_no_grad(lib):
        m.weight.copy_(tensor([[1.0, 0.0], [0.0, 1.0]]))
        m.bias.copy_(tensor([0.0, 0.0]))
    out1 = np.asarray(s(x).detach()).tolist()
    h1.remove()
    h1.remove()  # twice is harmless
    h3.remove()
    out2 = np.asarray(s(x).detach()).tolist()
    with m.register_forward_hook(lambda mod, a, o: o * 0):
        out3 = np.asarray(m(x).detach()).tolist()
    for h in (h2, h4, h5):
        h.remove()
    out4 = np.asarray(m(x).detach()).tolist()
    return log, out1, out2, out3, out4


def lib_no_grad(lib):
    return fg.no_grad() if lib is nn else torch.no_grad()


def test_forward_hooks_like_torch():
    f = run_hooks(nn, fg.tensor)
    t = run_hooks(torch.nn, torch.tensor)
    assert f == t


def test_pre_hook_returning_a_single_value_and_kwargs():
    class Add(nn.Module):
        def forward(self, x, y=0.0):
            return x + y

    m = Add()
    m.register_forward_pre_hook(lambda mod, args: args[0] * 10)  # non-tuple: wrapped
    assert float(m(fg.tensor(1.0))) == 10.0
    k = Add()
    k.register_forward_pre_hook(lambda mod, a, kw: (a, {"y": fg.tensor(5.0)}), with_kwargs=True)
    assert float(k(fg.tensor(1.0), y=fg.tensor(0.0))) == 6.0
    bad = Add()
    bad.register_forward_pre_hook(lambda mod, a, kw: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match="new_kwargs"):
        bad(fg.tensor(1.0))


def test_no_hooks_no_flag():
    m = nn.Linear(2, 2)
    assert m._hooked is False
    h = m.register_forward_hook(lambda *a: None)
    assert m._hooked is True
    h.remove()
    assert m._hooked is False
