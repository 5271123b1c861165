"""fastgrad.func (torch.func's names): functional_call, stack_module_state, grad_and_value,
vmap with in_dims, and torch.func's per-sample-gradient and model-ensembling tutorials run
with the import changed, against torch.func as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastgrad as fg
from fastgrad.func import functional_call, grad, grad_and_value, stack_module_state, vmap

rng = np.random.default_rng(3)


class Net(fg.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = fg.nn.Linear(6, 8)
        self.fc2 = fg.nn.Linear(8, 3)
        self.register_buffer("shift", fg.tensor(np.zeros(3, dtype=np.float32)))

    def forward(self, x):
        return self.fc2(fg.relu(self.fc1(x))) + self.shift


class TNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 8)
        self.fc2 = torch.nn.Linear(8, 3)
        self.register_buffer("shift", torch.zeros(3))

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))) + self.shift


def twins():
    m, t = Net(), TNet()
    with torch.no_grad():
        for (_, p), (_, q) in zip(m.named_parameters(), t.named_parameters()):
            q.copy_(torch.from_numpy(p.numpy().copy()))
    return m, t


def test_per_sample_gradients_tutorial_matches_torch_func():
    model, tmodel = twins()
    X = rng.standard_normal((5, 6)).astype(np.float32)
    Y = rng.integers(0, 3, size=5).astype(np.int64)

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        predictions = functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return fg.nn.functional.cross_entropy(predictions, target.unsqueeze(0))

    got = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, fg.tensor(X), fg.tensor(Y))

    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    tbuffers = {k: v.detach() for k, v in tmodel.named_buffers()}

    def tloss(params, buffers, sample, target):
        pred = torch.func.functional_call(tmodel, (params, buffers), (sample.unsqueeze(0),))
        return torch.nn.functional.cross_entropy(pred, target.unsqueeze(0))

    want = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, None, 0, 0))(
        tparams, tbuffers, torch.from_numpy(X), torch.from_numpy(Y)
    )
    assert set(got) == set(want)
    for k in want:
        assert tuple(got[k].shape) == (5, *params[k].shape)
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), rtol=1e-4, atol=1e-6)
    # the module is unchanged and its own parameters still used afterwards
    assert all(p is params[k] or p.shape == params[k].shape for k, p in model.named_parameters())
    np.testing.assert_allclose(
        model(fg.tensor(X)).detach().numpy(),
        tmodel(torch.from_numpy(X)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_model_ensembling_tutorial_matches_the_loop():
    models = [Net() for _ in range(4)]
    params, buffers = stack_module_state(models)
    assert params["fc1.weight"].shape == (4, 8, 6) and params["fc1.weight"].requires_grad
    base = Net()
    x = fg.tensor(rng.standard_normal((7, 6)).astype(np.float32))

    def fmodel(p, b, x):
        return functional_call(base, (p, b), (x,))

    out = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    want = np.stack([m(x).detach().numpy() for m in models])
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-5, atol=1e-6)
    # gradients reach the stacked parameters
    vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x).sum().backward()
    assert params["fc2.bias"].grad.shape == (4, 3)


def test_functional_call_restores_the_module_and_checks_names():
    m = Net()
    w = m.fc1.weight
    new = {"fc1.weight": fg.zeros_like(w), "fc1.bias": fg.zeros(8)}
    x = fg.tensor(rng.standard_normal((2, 6)).astype(np.float32))
    y = functional_call(m, new, x)
    np.testing.assert_allclose(
        y.detach().numpy(), (m.fc2.bias + m.shift).detach().numpy()[None].repeat(2, 0), rtol=1e-6
    )
    assert m.fc1.weight is w
    with pytest.raises(RuntimeError, match="missing keys"):
        functional_call(m, new, x, strict=True)
    with pytest.raises(ValueError, match="more than one"):
        functional_call(m, (new, {"fc1.bias": fg.zeros(8)}), x)
    with pytest.raises(AttributeError, match="no submodule"):
        functional_call(m, {"fc9.weight": w}, x)

    class Boom(fg.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = fg.nn.Linear(2, 2)

        def forward(self, x):
            raise KeyError("inside")

    b = Boom()
    orig = b.lin.weight
    with pytest.raises(KeyError):
        functional_call(b, {"lin.weight": fg.zeros((2, 2))}, x)
    assert b.lin.weight is orig


def test_tied_weights_follow_the_given_name():
    m = fg.nn.Module()
    m.a = fg.nn.Linear(3, 3, bias=False)
    m.b = fg.nn.Linear(3, 3, bias=False)
    m.b.weight = m.a.weight
    m.forward = lambda x: m.b(m.a(x))
    x = fg.tensor(np.eye(3, dtype=np.float32))
    two = fg.tensor(2 * np.eye(3, dtype=np.float32))
    np.testing.assert_allclose(functional_call(m, {"a.weight": two}, (x,)).numpy(), 4 * np.eye(3), rtol=1e-6)
    untied = functional_call(m, {"a.weight": two}, (x,), tie_weights=False)
    np.testing.assert_allclose(
        untied.detach().numpy(), two.numpy() @ m.a.weight.detach().numpy().T, rtol=1e-6
    )


def test_grad_and_value_and_vmap_out_dims():
    x = fg.tensor(np.array([1.0, 2.0, 3.0]))
    g, v = grad_and_value(lambda x: (x**2).sum())(x)
    np.testing.assert_allclose(g.numpy(), [2, 4, 6])
    assert float(v) == 14.0
    g, (v, aux) = grad_and_value(lambda x: ((x**2).sum(), x * 2), has_aux=True)(x)
    np.testing.assert_allclose(aux.numpy(), [2, 4, 6])
    X = fg.tensor(rng.standard_normal((4, 3)))
    out = fg.vmap(lambda r: r * 2, in_dims=1, out_dims=1)(X)
    np.testing.assert_allclose(out.numpy(), X.numpy() * 2)


def test_neural_tangent_kernel_tutorial_two_ways_and_the_loop():
    # torch.func's NTK tutorial with a small CNN: Jacobian contraction (vmap of jacrev over
    # examples) and NTK-vector products (vmap over a basis of vjp then jvp, nested vmaps)
    from fastgrad.func import jacrev, jvp, vjp

    class CNN(fg.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = fg.nn.Conv2d(2, 4, (3, 3))
            self.fc = fg.nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(fg.relu(self.conv(x)).mean(dim=(-1, -2)))

    net = CNN()
    params = {k: v.detach() for k, v in net.named_parameters()}
    x1 = fg.tensor(rng.standard_normal((3, 2, 6, 6)).astype(np.float32))
    x2 = fg.tensor(rng.standard_normal((2, 2, 6, 6)).astype(np.float32))

    def fnet_single(params, x):
        return functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

    jac1 = [j.flatten(2) for j in vmap(jacrev(fnet_single), (None, 0))(params, x1).values()]
    jac2 = [j.flatten(2) for j in vmap(jacrev(fnet_single), (None, 0))(params, x2).values()]
    ntk = fg.stack([fg.einsum("Naf,Mbf->NMab", a, b) for a, b in zip(jac1, jac2)]).sum(0)

    def get_ntk(x1, x2):
        output, vjp_fn = vjp(lambda p: fnet_single(p, x1), params)

        def get_ntk_slice(vec):
            (vjps,) = vjp_fn(vec)
            return jvp(lambda p: fnet_single(p, x2), (params,), (vjps,))[1]

        return vmap(get_ntk_slice)(fg.eye(output.numel(), dtype=output.dtype))

    ntk_vps = vmap(vmap(get_ntk, (None, 0)), (0, None))(x1, x2)
    loop = np.zeros((3, 2, 3, 3))
    for i in range(3):
        for j in range(2):
            J1, J2 = jacrev(fnet_single)(params, x1[i]), jacrev(fnet_single)(params, x2[j])
            loop[i, j] = sum(J1[k].flatten(1).numpy() @ J2[k].flatten(1).numpy().T for k in J1)
    np.testing.assert_allclose(ntk.numpy(), loop, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ntk_vps.numpy(), loop, rtol=1e-4, atol=1e-5)
