"""``fastgrad`` command line: trains the cheat sheet's example models.

  fastgrad                      train every model in sequence (same as ``fastgrad all``)
  fastgrad train NAME [NAME..]  train the named models
  fastgrad list                 list the models
Options: --epochs N, --out DIR (default ./runs), --seed S, --threads T, --no-progress.

Each run writes DIR/NAME/loss.png, a predictions-vs-truth or confusion-matrix plot,
and DIR/NAME/model.fg (model + optimizer state + history, loadable with fg.load);
DIR/summary.json collects the final metrics.

Under an MPI launcher (``mpirun -n 4 fastgrad train digits_cnn``, ``srun fastgrad ...``)
the models train data-parallel (``fg.train.fit`` detects the launch): rank 0 prints the
progress and the table and writes the files; the other ranks print nothing and write
into a temporary directory they delete.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Optional


def _table(rows: list[list[str]], header: list[str]) -> str:
    cols = [header] + rows
    w = [max(len(r[i]) for r in cols) for i in range(len(header))]
    line = "+".join("-" * (x + 2) for x in w)
    fmt = lambda r: "|".join(f" {c:<{w[i]}} " for i, c in enumerate(r))  # noqa: E731
    return "\n".join([fmt(header), line] + [fmt(r) for r in rows])


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--epochs", type=int, default=None, help="epochs per model (default: each model's own)"
    )
    common.add_argument(
        "--out", default="runs", help="output directory for plots and checkpoints (default: ./runs)"
    )
    common.add_argument("--seed", type=int, default=0, help="random seed (data, init, shuffling)")
    common.add_argument(
        "--threads",
        type=int,
        default=None,
        help="fastgrad threads (default: the CPU quota, or OMP_NUM_THREADS)",
    )
    common.add_argument("--no-progress", action="store_true", help="no progress bars / per-epoch lines")
    p = argparse.ArgumentParser(
        prog="fastgrad",
        parents=[common],
        description="Train the differentiation cheat sheet's example models with fastgrad.",
    )
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("list", help="list the example models")
    t = sub.add_parser("train", parents=[common], help="train the named models")
    t.add_argument("names", nargs="+", help="model names (see `fastgrad list`)")
    sub.add_parser("all", parents=[common], help="train every model (the default)")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    """The ``fastgrad`` command: trains the chosen example models, prints progress and a table, writes plots; returns the exit status."""
    args = _parser().parse_args(argv)
    from .examples import MODELS

    if args.cmd == "list":
        for name, (_, desc) in MODELS.items():
            print(f"{name:<12} {desc}")
        return 0
    names = list(MODELS) if args.cmd in (None, "all") else args.names
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(
            f"fastgrad: unknown model(s) {', '.join(unknown)}; available: {', '.join(MODELS)}",
            file=sys.stderr,
        )
        return 2
    import fastgrad as fg
    from fastgrad import distributed as dist

    scratch = None
    if dist.launched():  # mpirun/srun with several processes: data-parallel training
        dist.init()
        if dist.rank() != 0:
            import shutil
            import tempfile

            scratch = tempfile.mkdtemp(prefix=f"fastgrad-rank{dist.rank()}-")
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (closed at exit)
            try:
                return _train(args, names, fg, scratch)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return _train(args, names, fg, scratch)


def _train(args: argparse.Namespace, names: list[str], fg: Any, scratch: Optional[str]) -> int:
    from .examples import MODELS

    if scratch is not None:
        args.out = scratch
    if args.threads is not None:
        fg.set_num_threads(max(1, args.threads))
    os.makedirs(args.out, exist_ok=True)
    results = []
    t0 = time.perf_counter()
    for i, name in enumerate(names):
        fn, desc = MODELS[name]
        print(f"[{i + 1}/{len(names)}] {name}: {desc}", flush=True)
        try:
            r = fn(epochs=args.epochs, out=args.out, seed=args.seed, progress=not args.no_progress)
        except ImportError as e:
            print(
                f"  skipped: {e} (install the `examples` extra: pip install 'fastgrad[examples]')", flush=True
            )
            continue
        results.append(r)
        extra = ", ".join(f"{k} {v:.4g}" for k, v in r.extra.items())
        print(
            f"  -> {r.metric} = {r.value:.4f}"
            + (f" ({extra})" if extra else "")
            + f" in {r.seconds:.1f}s, {r.epochs} epochs",
            flush=True,
        )
    rows = [
        [
            r.name,
            f"{r.params:,}",
            str(r.epochs),
            f"{r.seconds:.1f}",
            r.metric,
            f"{r.value:.4f}",
            ", ".join(f"{k}={v:.4g}" for k, v in r.extra.items()),
        ]
        for r in results
    ]
    print()
    print(_table(rows, ["model", "params", "epochs", "time (s)", "metric", "value", "also"]))
    print(f"\ntotal {time.perf_counter() - t0:.1f}s; plots and checkpoints in {os.path.abspath(args.out)}/")
    summary = {
        r.name: {
            "metric": r.metric,
            "value": r.value,
            "params": r.params,
            "epochs": r.epochs,
            "seconds": r.seconds,
            **r.extra,
            "files": r.files,
        }
        for r in results
    }
    path = os.path.join(args.out, "summary.json")
    prev = {}
    if os.path.exists(path):
        try:
            with open(path) as f:
                prev = json.load(f)
        except (OSError, ValueError):
            prev = {}
    prev.update(summary)
    with open(path, "w") as f:
        json.dump(prev, f, indent=2)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
