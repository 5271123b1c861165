"""Activation forward + backward on 4M float32: GELU (erf and tanh forms), tanh, sigmoid,
SiLU, softplus. fastgrad beside JAX jit (vjp returning the value and the input
cotangent) and PyTorch eager in one run (interleaved rounds, medians). Also measures
this process's memory bandwidth (NumPy copy of the same size, on fastgrad's thread count) and states each system's
time as a share of it: fastgrad moves 20 bytes/element (forward reads x, writes y;
backward reads x or y and g, writes gx), JAX's single fused loop 16 bytes/element.

    python bench/activations.py [--n 4194304] [--rounds 15] [--only gelu,tanh,...]

Run once as is (AVX-512 on a machine that has it) and once with FASTGRAD_ISA=avx2, which
also holds PyTorch and XLA to AVX2 (bench/peer_isa.py).
Target: fastgrad >= 1.0x the faster of JAX jit and PyTorch for every row.
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor

import peer_isa  # noqa: F401  (before NumPy and the peers load: holds them to fastgrad's ISA)

# isort: split
import numpy as np

import fastgrad as fg
from common import cpu_model, record, time_interleaved
from peers import block, jax, jnp, torch


def _activations():
    """name -> (fastgrad fn, torch fn or None, jax fn or None)."""
    tf = torch.nn.functional if torch is not None else None
    jn = jax.nn if jax is not None else None
    return {
        "gelu": (
            lambda v: fg.gelu(v),
            tf and (lambda v: tf.gelu(v)),
            jn and (lambda v: jn.gelu(v, approximate=False)),
        ),
        "gelu_tanh": (
            lambda v: fg.gelu(v, approximate="tanh"),
            tf and (lambda v: tf.gelu(v, approximate="tanh")),
            jn and (lambda v: jn.gelu(v, approximate=True)),
        ),
        "tanh": (fg.tanh, torch and torch.tanh, jnp and jnp.tanh),
        "sigmoid": (fg.sigmoid, torch and torch.sigmoid, jn and jn.sigmoid),
        "silu": (fg.silu, tf and tf.silu, jn and jn.silu),
        "softplus": (fg.softplus, tf and tf.softplus, jn and jn.softplus),
    }


def main() -> None:
    """Print one row per activation: ms per fwd+bwd for each system, ratio, bandwidth %."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--only", default="", help="comma-separated subset of activations")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(args.n, dtype=np.float32)
    g = rng.standard_normal(args.n, dtype=np.float32)
    src, dst = rng.standard_normal(args.n, dtype=np.float32), np.empty(args.n, np.float32)
    # The bandwidth reference copies with as many threads as fastgrad uses (np.copyto
    # releases the GIL), one contiguous slice each.
    nt = fg.get_num_threads()
    pool = ThreadPoolExecutor(nt)
    cuts = np.linspace(0, args.n, nt + 1).astype(int)
    parts = [(dst[a:b], src[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]

    def copy() -> None:
        list(pool.map(lambda p: np.copyto(*p), parts))

    fx, fgr = fg.tensor(x, requires_grad=True), fg.tensor(g)
    if torch is not None:
        tx, tg = torch.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(g.copy())
    if jax is not None:
        jx, jg = jnp.asarray(x), jnp.asarray(g)

    acts = _activations()
    if args.only:
        acts = {k: v for k, v in acts.items() if k in args.only.split(",")}
    load = os.getloadavg()[0]
    print(
        f"activations fwd+bwd, n={args.n} float32, CPU {cpu_model()}, ISA {fg._C.isa()}, "
        f"threads={fg.get_num_threads()}, load average {load:.1f}"
    )
    if torch is not None:
        print(
            f"torch CPU capability {torch.backends.cpu.get_cpu_capability()}; XLA_FLAGS={os.environ.get('XLA_FLAGS')}"
        )
    head = f"{'act':>10} {'fastgrad':>9} {'jax':>8} {'torch':>8} {'ratio':>6} {'fg BW%':>7} {'jax BW%':>7}"
    print(head + "   (ms; ratio = faster peer / fastgrad; BW% of measured copy bandwidth)")
    for name, (ff, tfn, jfn) in acts.items():

        def fg_step(ff=ff):
            fx.grad = None
            y = ff(fx)
            y.backward(fgr)
            return y, fx.grad

        fns = {"fastgrad": fg_step, "copy": copy}
        if jfn is not None:

            def jstep(v, c, jfn=jfn):
                y, pull = jax.vjp(jfn, v)
                return y, pull(c)[0]

            jit = jax.jit(jstep)
            fns["jax"] = lambda jit=jit: block(jit(jx, jg))
        if tfn is not None:

            def t_step(tfn=tfn):
                tx.grad = None
                y = tfn(tx)
                y.backward(tg)
                return y, tx.grad

            fns["torch"] = t_step
        t = time_interleaved(fns, rounds=args.rounds)
        record(f"{name} fwd+bwd 4M", {k: v for k, v in t.items() if k != "copy"})
        bw = 8.0 * args.n / t["copy"]  # bytes/s: read + write of n floats
        peers = [t[k] for k in ("jax", "torch") if k in t]
        ratio = min(peers) / t["fastgrad"] if peers else float("nan")
        fg_bw = 100.0 * 20.0 * args.n / t["fastgrad"] / bw
        jax_bw = 100.0 * 16.0 * args.n / t["jax"] / bw if "jax" in t else float("nan")
        ms = {k: (f"{t[k] * 1e3:8.3f}" if k in t else f"{'-':>8}") for k in ("jax", "torch")}
        print(
            f"{name:>10} {t['fastgrad'] * 1e3:9.3f} {ms['jax']} {ms['torch']} {ratio:5.2f}x "
            f"{fg_bw:6.0f}% {jax_bw:6.0f}%   (copy {bw / 1e9:.1f} GB/s)"
        )


if __name__ == "__main__":
    main()
