"""Measure learning-rate transfer on sample_data/teacher.h5 and print the spreads and wall time.

    python benchmarks/transfer_grid.py                   # SGD, the measured grid
    python benchmarks/transfer_grid.py --optimizer adam
    python benchmarks/transfer_grid.py --quick           # widths 32,128 x depths 2,16, 2 seeds

Residual tanh networks of widths 32-256 and depths 2-32, 20 full-batch steps at gamma0 = 0.25,
3 seeds, under sp, mup and depth-mup, each over its own log-spaced grid of base learning
rates centred where that param's optimum lies. The optimum per (width, depth) is the argmin
of the seed-mean training loss after ``--steps`` steps, refined by a parabola in log lr
(``kc.transfer``). The claim checked: depth-mup's optimum spreads over at most 0.3 decades
across the whole grid and at most half as much as mup's and sp's. ``--json`` and ``--plot``
keep the result (benchmarks/results/, docs/img/). Needs the extra kerncurve[nn].
"""

import argparse
import os
import sys

import numpy as np

import kerncurve as kc
from kerncurve.nn import lr_spread, size_trend

HERE = os.path.dirname(os.path.abspath(__file__))
TEACHER = os.path.join(HERE, "..", "sample_data", "teacher.h5")

#: log10 of the first and last η₀ of each param's grid, per optimizer (17 points: 1/8 decade,
#: 3/16 for sp with Adam, whose optimum wanders over three decades)
GRIDS = {
    "sgd": {"sp": (-2.0, 0.0), "mup": (-0.5, 1.5), "depth-mup": (0.0, 2.0)},
    "adam": {"sp": (-4.0, -1.0), "mup": (-1.25, 0.75), "depth-mup": (-0.75, 1.25)},
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--gamma0", type=float, default=0.25)
    ap.add_argument("--beta0", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--points", type=int, default=17, help="learning rates per param")
    ap.add_argument("--quick", action="store_true", help="widths 32,128, depths 2,16, 2 seeds")
    ap.add_argument("--json", metavar="FILE", help="also write the result as 'kerncurve transfer --json' does")
    ap.add_argument("--plot", metavar="FILE", help="also draw the loss-against-lr figure there")
    args = ap.parse_args(argv)
    if args.quick:
        widths, depths, seeds = (32, 128), (2, 16), 2
    else:
        widths, depths, seeds = (32, 64, 128, 256), (2, 4, 8, 16, 32), args.seeds
    grids = {p: np.logspace(*span, args.points) for p, span in GRIDS[args.optimizer].items()}
    params = tuple(grids)
    r = kc.transfer(TEACHER, param=params, width=widths, depth=depths, lr=grids, optimizer=args.optimizer,
                    gamma0=args.gamma0, beta0=args.beta0, steps=args.steps, seeds=seeds, progress=_progress)
    g, opt = r.grid, r.optimal
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(r.to_json() + "\n")
    if args.plot:
        from kerncurve.cli.transfer import _loss_figure
        from kerncurve.plots import save_figure

        save_figure(_loss_figure(r), args.plot)
    best, wider, deeper = size_trend(g)
    print(f"teacher.h5, {args.optimizer}, {args.steps} full-batch steps, gamma0={args.gamma0}, beta0={args.beta0}, "
          f"{seeds} seeds, widths {widths}, depths {depths}; wall time {g.seconds:.0f} s")
    for k, p in enumerate(params):
        print(f"\n{p}: lr grid 10^[{np.log10(grids[p][0]):g}, {np.log10(grids[p][-1]):g}], {args.points} points; "
              f"diverged runs {int(g.diverged[k].sum())}")
        print("  log10 optimal lr (rows: width, columns: depth)")
        for i, n in enumerate(widths):
            print(f"  N={n:4d} " + " ".join(f"{v:6.3f}" for v in np.log10(opt[k, i])))
        print("  best train loss")
        for i, n in enumerate(widths):
            print(f"  N={n:4d} " + " ".join(f"{v:.1e}" for v in best[k, i]))
        print(f"  spread {lr_spread(opt)[k]:.3f} decades (across widths, max over depths "
              f"{lr_spread(opt, 'width')[k].max():.3f}; across depths, max over widths "
              f"{lr_spread(opt, 'depth')[k].max():.3f}); wider better {int(wider[k].sum())}/{wider[k].size}, "
              f"deeper better {int(deeper[k].sum())}/{deeper[k].size}")
    spread = r.summary["lr_spread_decades"]
    ok = spread["depth-mup"] <= 0.3 and all(spread["depth-mup"] <= 0.5 * spread[p] for p in ("sp", "mup"))
    print("\n" + r.summary["verdict"])
    print(f"target (depth-mup <= 0.3 decades and <= half of mup's and sp's): {'met' if ok else 'NOT met'}")
    return 0


class _Bar:
    """Cells done and seconds so far on stderr."""

    def __init__(self, total):
        import time

        self.total, self.done, self.t0, self.clock = total, 0, time.perf_counter(), time.perf_counter

    def __enter__(self):
        return self.advance

    def __exit__(self, *exc):
        print(file=sys.stderr)

    def advance(self, n=1):
        self.done += n
        print(f"\r{self.done}/{self.total} cells, {self.clock() - self.t0:.0f} s", end="", file=sys.stderr, flush=True)


def _progress(description, total):
    return _Bar(total)


if __name__ == "__main__":
    sys.exit(main())
