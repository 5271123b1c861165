"""conv2d forward + backward (grad input, weight, bias), 3x3, padding 1, stride 1,
NCHW and NHWC, fastgrad beside PyTorch and JAX jit in one run (interleaved, median).

    python bench/conv2d.py [--rounds 7] [--passes]

Ratios are peer time / fastgrad time (>1: fastgrad faster). Target: >= 1.0x the faster peer.
--passes also times each pass alone (forward, grad-input, grad-weight): fastgrad's backward
passes re-run a retained graph whose other input needs no gradient, PyTorch's call
aten.convolution_backward with one output mask, JAX's jit a vjp of one argument (XLA drops
the unused forward).
"""

from __future__ import annotations

import argparse

import numpy as np

import fastgrad as fg
import peer_isa
from common import record, time_interleaved
from peers import block, jax, jnp, torch

SHAPES = [(64, 3, 32, 32), (32, 32, 32, 64), (32, 64, 16, 128)]  # (B, C_in, H=W, C_out)


def fastgrad_step(x, w, b, g, nhwc: bool):
    def run():
        y = fg._C.conv(x, w, b, [1, 1], [1, 1], [1, 1], [1, 1], 1, nhwc)
        x.grad = w.grad = b.grad = None
        y.backward(g)

    return run


def torch_step(x, w, b, g, nhwc: bool):
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    bt = torch.from_numpy(b).requires_grad_()
    gt = torch.from_numpy(g)
    if nhwc:  # same NCHW logical tensors in channels_last memory
        xt = (
            torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
            .to(memory_format=torch.channels_last)
            .requires_grad_()
        )
        gt = torch.from_numpy(np.ascontiguousarray(g.transpose(0, 3, 1, 2))).to(
            memory_format=torch.channels_last
        )
        wt = (
            torch.from_numpy(np.ascontiguousarray(w.transpose(0, 3, 1, 2)))
            .to(memory_format=torch.channels_last)
            .requires_grad_()
        )

    def run():
        y = torch.nn.functional.conv2d(xt, wt, bt, padding=1)
        xt.grad = wt.grad = bt.grad = None
        y.backward(gt)

    return run


def jax_step(x, w, b, g, nhwc: bool):
    dn = ("NHWC", "OHWI", "NHWC") if nhwc else ("NCHW", "OIHW", "NCHW")

    def f(x, w, b):
        y = jax.lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)), dimension_numbers=dn)
        return y + (b if nhwc else b[:, None, None])

    @jax.jit
    def step(x, w, b, g):
        _, pull = jax.vjp(f, x, w, b)
        return pull(g)

    args = [jnp.asarray(v) for v in (x, w, b, g)]
    return lambda: block(step(*args))


def pass_fns(x, w, g, nhwc: bool) -> dict[str, dict[str, object]]:
    """{pass: {system: fn}} for forward, grad-input and grad-weight alone (no bias)."""
    out: dict[str, dict[str, object]] = {"fwd": {}, "gin": {}, "gw": {}}
    fx, fw, fgy = fg.tensor(x), fg.tensor(w), fg.tensor(g)

    def fconv(a, b):
        return fg._C.conv(a, b, None, [1, 1], [1, 1], [1, 1], [1, 1], 1, nhwc)

    out["fwd"]["fastgrad"] = lambda: fconv(fx, fw)
    for name, rx, rw in (("gin", True, False), ("gw", False, True)):
        ax, aw = fg.tensor(x, requires_grad=rx), fg.tensor(w, requires_grad=rw)
        y = fconv(ax, aw)

        def run(y=y, ax=ax, aw=aw):
            ax.grad = aw.grad = None
            y.backward(fgy, retain_graph=True)

        out[name]["fastgrad"] = run
    if torch is not None:
        perm = (0, 3, 1, 2)
        fmt = torch.channels_last if nhwc else torch.contiguous_format

        def tt(v):
            v = np.ascontiguousarray(v.transpose(perm)) if nhwc else v
            return torch.from_numpy(v).contiguous(memory_format=fmt)

        tx, tw, tg = tt(x), tt(w), tt(g)
        cb = torch.ops.aten.convolution_backward
        args = ([1, 1], [1, 1], [1, 1], False, [0, 0], 1)
        out["fwd"]["torch"] = lambda: torch.nn.functional.conv2d(tx, tw, None, padding=1)
        out["gin"]["torch"] = lambda: cb(tg, tx, tw, None, *args, [True, False, False])
        out["gw"]["torch"] = lambda: cb(tg, tx, tw, None, *args, [False, True, False])
    if jax is not None:
        dn = ("NHWC", "OHWI", "NHWC") if nhwc else ("NCHW", "OIHW", "NCHW")

        def f(a, b):
            return jax.lax.conv_general_dilated(a, b, (1, 1), ((1, 1), (1, 1)), dimension_numbers=dn)

        jf = jax.jit(f)
        jgi = jax.jit(lambda a, b, c: jax.vjp(lambda u: f(u, b), a)[1](c)[0])
        jgw = jax.jit(lambda a, b, c: jax.vjp(lambda v: f(a, v), b)[1](c)[0])
        ja, jb, jc = (jnp.asarray(v) for v in (x, w, g))
        out["fwd"]["jax"] = lambda: block(jf(ja, jb))
        out["gin"]["jax"] = lambda: block(jgi(ja, jb, jc))
        out["gw"]["jax"] = lambda: block(jgw(ja, jb, jc))
    return out


def main() -> None:
    """Time conv2d forward + backward for each shape and layout (x: (N, C, H, W) or (N, H, W, C))
    and print the peer/fastgrad ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--passes", action="store_true", help="also time each pass alone")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(
        f"threads={fg.get_num_threads()} fastgrad ISA={fg._C.isa()}"
        f" peer ISA cap={peer_isa.PEER_ISA or 'native'}; ms per forward+backward"
    )
    print(f"{'(B,C,HW,K) layout':>26} {'fastgrad':>9} {'torch':>9} {'jax':>9}  fg vs best peer")
    for bsz, c, hw, k in SHAPES:
        for nhwc in (False, True):
            xs = (bsz, hw, hw, c) if nhwc else (bsz, c, hw, hw)
            ws = (k, 3, 3, c) if nhwc else (k, c, 3, 3)
            gs = (bsz, hw, hw, k) if nhwc else (bsz, k, hw, hw)
            x = rng.standard_normal(xs, dtype=np.float32)
            w = rng.standard_normal(ws, dtype=np.float32) * 0.1
            b = rng.standard_normal((k,), dtype=np.float32)
            g = rng.standard_normal(gs, dtype=np.float32)
            fx, fw, fb = (fg.tensor(v, requires_grad=True) for v in (x, w, b))
            fns = {"fastgrad": fastgrad_step(fx, fw, fb, fg.tensor(g), nhwc)}
            if torch is not None:
                fns["torch"] = torch_step(x, w, b, g, nhwc)
            if jax is not None:
                fns["jax"] = jax_step(x, w, b, g, nhwc)
            t = time_interleaved(fns, rounds=args.rounds)
            best = min(v for key, v in t.items() if key != "fastgrad") if len(t) > 1 else float("nan")
            cells = " ".join(
                f"{t[c] * 1e3:9.2f}" if c in t else f"{'-':>9}" for c in ("fastgrad", "torch", "jax")
            )
            label = f"({bsz},{c},{hw},{k}) {'NHWC' if nhwc else 'NCHW'}"
            record(f"conv2d {label} fwd+bwd", t)
            print(f"{label:>26} {cells}  {best / t['fastgrad']:6.2f}x")
            if args.passes:
                for pname, pf in pass_fns(x, w, g, nhwc).items():
                    tp = time_interleaved(pf, rounds=args.rounds)
                    record(f"conv2d {label} {pname}", tp)
                    bp = min(v for key, v in tp.items() if key != "fastgrad") if len(tp) > 1 else float("nan")
                    cells = " ".join(
                        f"{tp[c] * 1e3:9.2f}" if c in tp else f"{'-':>9}"
                        for c in ("fastgrad", "torch", "jax")
                    )
                    print(f"{'  ' + pname:>26} {cells}  {bp / tp['fastgrad']:6.2f}x")


if __name__ == "__main__":
    main()
