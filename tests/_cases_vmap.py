"""Registry cases of the vmap boundary primitives: vmap_wrap turns a physical tensor into
a batched one at a level, vmap_unwrap moves the level's axis back out (cheat sheet §2: the
batch view). Checked like any primitive (VJP, JVP, both second orders) through a mapped
function whose body is itself differentiable, with the batch axis first, last, negative and
of size 1, on contiguous, transposed and strided inputs."""

from __future__ import annotations

import fastgrad as fg
from _primitive_helpers import Case, In


def _mapped(in_axis: int, out_axis: int):
    def f(x):
        return fg.vmap(lambda r: fg.sin(r) * r, in_axes=in_axis, out_axes=out_axis)(x)

    return f


_SHAPES = (((3, 4), 0, 0, "c"), ((3, 4), 1, 0, "t"), ((2, 3, 4), -1, 1, "s"), ((1, 4), 0, -1, "c"))

CASES: dict[str, list[Case]] = {
    "vmap_wrap": [
        Case(_mapped(a, o), [In(s, lay)], id=f"in{a}-out{o}-{lay}", node="vmap_unwrap")
        for s, a, o, lay in _SHAPES
    ],
    # The output of a mapped function is the unwrap's: its node names the primitive.
    "vmap_unwrap": [Case(_mapped(a, o), [In(s, lay)], id=f"in{a}-out{o}-{lay}") for s, a, o, lay in _SHAPES],
}
