"""Registry cases of the unary-math primitives of issue 12 (collected by test_primitives.py):
VJP, JVP and both second orders against finite differences in float64, kinks avoided."""

from __future__ import annotations

import fastgrad as fg
from _primitive_helpers import Case, In, avoid, away0, binary, positive, unary


def uniform(lo, hi):
    return lambda r, s: r.uniform(lo, hi, s)


def signed(lo, hi):
    return lambda r, s: r.uniform(lo, hi, s) * r.choice([-1.0, 1.0], s)


def divcases(fn):
    # a/b in ±[1.2, 1.9]: trunc and floor constant within finite-difference reach.
    return [
        Case(fn, [In((3, 4), la, signed(1.2, 1.7)), In(sb, lb, uniform(0.9, 1.0))], id=f"{la}{lb}{sb}")
        for la, lb, sb in (("c", "c", (3, 4)), ("t", "c", (4,)), ("s", "t", (3, 4)))
    ]


INTS = [float(k) for k in range(-2, 3)]
HALVES = [k + 0.5 for k in range(-3, 3)]

CASES = {
    "expm1": unary(fg.expm1),
    "exp2": unary(fg.exp2),
    "log2": unary(fg.log2, sample=positive),
    "log10": unary(fg.log10, sample=positive),
    "tan": unary(fg.tan, sample=uniform(-1.2, 1.2)),
    "sinh": unary(fg.sinh),
    "cosh": unary(fg.cosh),
    "asinh": unary(fg.asinh),
    "acosh": unary(fg.acosh, sample=uniform(1.2, 3.0)),
    "atanh": unary(fg.atanh, sample=uniform(-0.8, 0.8)),
    "asin": unary(fg.asin, sample=uniform(-0.8, 0.8)),
    "acos": unary(fg.acos, sample=uniform(-0.8, 0.8)),
    "atan": unary(fg.atan),
    "erfc": unary(fg.erfc),
    "erfinv": unary(fg.erfinv, sample=uniform(-0.9, 0.9)),
    "rsqrt": unary(fg.rsqrt, sample=positive),
    "sinc": unary(fg.sinc, sample=away0),
    "floor": unary(fg.floor, sample=avoid(*INTS)),
    "ceil": unary(fg.ceil, sample=avoid(*INTS)),
    "trunc": unary(fg.trunc, sample=avoid(*INTS)),
    "round": unary(fg.round, sample=avoid(*HALVES))
    + unary(
        lambda x: fg.round(x, decimals=1), sample=avoid(*[k / 10 + 0.05 for k in range(-21, 21)], gap=0.01)
    )
    + unary(lambda x: fg.round(x * 100, decimals=-2), sample=avoid(*HALVES), layouts="c"),
    "hardtanh": unary(fg.hardtanh, sample=avoid(-1.0, 1.0))
    + unary(lambda x: fg.hardtanh(x, -0.5, 0.7), sample=avoid(-0.5, 0.7), layouts="t")
    + unary(fg.relu6, sample=avoid(0.0, 6.0, lo=-2, hi=8), layouts="c"),
    "elu": unary(fg.elu, sample=avoid(0.0))
    + unary(lambda x: fg.elu(x, 0.5), sample=avoid(0.0), layouts="s")
    + unary(fg.selu, sample=avoid(0.0), layouts="t")
    + unary(lambda x: fg.celu(x, 2.0), sample=avoid(0.0), layouts="c"),
    "atan2": binary(fg.atan2, sa=away0, sb=away0),
    "hypot": binary(fg.hypot, sa=away0, sb=away0),
    "copysign": binary(fg.copysign, sa=away0, sb=away0),
    "fmod": divcases(fg.fmod),
    "remainder": divcases(fg.remainder),
    "div_trunc": divcases(lambda a, b: fg.div(a, b, rounding_mode="trunc")),
    "div_floor": divcases(lambda a, b: fg.div(a, b, rounding_mode="floor")),
}
