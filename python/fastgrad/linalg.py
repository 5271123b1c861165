"""``fg.linalg``: torch.linalg's names over fastgrad's linear-algebra primitives.

Decompositions run in Eigen (cpp/src/kernels/linalg/); each is a primitive whose VJP and
JVP are written in fastgrad ops, so they differentiate again (see cpp/src/ops/linalg_decomp.cpp
for the rules and their literature). Shapes batch over leading dims as torch.linalg's.
A singular or non-positive-definite input raises ``ValueError`` naming the op
(torch raises ``torch.linalg.LinAlgError``, a RuntimeError); ``LinAlgError`` here is an
alias of ValueError so ``except fg.linalg.LinAlgError`` catches it.
"""

from __future__ import annotations

from .ops import linalg_cholesky as cholesky
from .ops import linalg_cond as cond
from .ops import linalg_cross as cross
from .ops import linalg_det as det
from .ops import linalg_diagonal as diagonal
from .ops import linalg_eigh as eigh
from .ops import linalg_eigvalsh as eigvalsh
from .ops import linalg_inv as inv
from .ops import linalg_matrix_norm as matrix_norm
from .ops import linalg_matrix_rank as matrix_rank
from .ops import linalg_multi_dot as multi_dot
from .ops import linalg_norm as norm
from .ops import linalg_pinv as pinv
from .ops import linalg_qr as qr
from .ops import linalg_slogdet as slogdet
from .ops import linalg_solve as solve
from .ops import linalg_solve_triangular as solve_triangular
from .ops import linalg_svd as svd
from .ops import linalg_svdvals as svdvals
from .ops import linalg_vecdot as vecdot
from .ops import linalg_vector_norm as vector_norm
from .ops import matmul, matrix_power

LinAlgError = ValueError

__all__ = [
    "LinAlgError",
    "cholesky",
    "vecdot",
    "pinv",
    "matrix_rank",
    "diagonal",
    "cond",
    "cross",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "multi_dot",
    "norm",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
    "svdvals",
    "vector_norm",
]
