"""Measure learning-rate transfer on sample_data/teacher.h5 and print the spreads and wall time.

    python benchmarks/transfer_grid.py                   # SGD, the measured grid
    python benchmarks/transfer_grid.py --optimizer adam
    python benchmarks/transfer_grid.py --quick           # widths 32,128 x depths 2,16, 2 seeds

Residual tanh networks of widths 32-256 and depths 2-32, 20 full-batch steps at gamma0 = 0.25,
3 seeds, under sp, mup and depth-mup, each over its own log-spaced grid of base learning
rates centred where that param's optimum lies. The optimum per (width, depth) is the argmin of the seed-mean training loss after ``--steps`` steps, refined by a
parabola in log lr. The claim checked: depth-mup's optimum spreads over at most 0.3 decades
across the whole grid and at most half as much as mup's and sp's. Needs the extra
kerncurve[nn].
"""

import argparse
import os
import sys
import time

import h5py
import numpy as np

from kerncurve.nn import lr_spread, optimal_lr, size_trend, transfer_sweep, verdict

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
    ap.add_argument("--save", metavar="FILE.npz", help="also write the grid's arrays there")
    args = ap.parse_args(argv)
    with h5py.File(TEACHER, "r") as f:
        x, y = f["inputs"][:], f["targets"][:]
        xt, yt = f["test/inputs"][:], f["test/targets"][:]
    if args.quick:
        widths, depths, seeds = (32, 128), (2, 16), 2
    else:
        widths, depths, seeds = (32, 64, 128, 256), (2, 4, 8, 16, 32), args.seeds
    grids = {p: np.logspace(*span, args.points) for p, span in GRIDS[args.optimizer].items()}
    params = tuple(grids)
    done = [0]
    total = len(params) * len(widths) * len(depths)
    t0 = time.perf_counter()

    def progress(k):
        done[0] += k
        print(f"\r{done[0]}/{total} cells, {time.perf_counter() - t0:.0f} s", end="", file=sys.stderr, flush=True)

    g = transfer_sweep(x, y, params=params, widths=widths, depths=depths, lr=grids, optimizer=args.optimizer,
                       gamma0=args.gamma0, beta0=args.beta0, steps=args.steps, seeds=seeds, x_test=xt, y_test=yt,
                       progress=progress)
    print(file=sys.stderr)
    if args.save:
        np.savez(args.save, lr=g.lr, widths=g.widths, depths=g.depths, params=g.params, train_loss=g.train_loss,
                 train_loss_seeds=g.train_loss_seeds, test_loss=g.test_loss, diverged=g.diverged)
    opt = optimal_lr(g)
    best, wider, deeper = size_trend(g)
    print(f"teacher.h5, {args.optimizer}, {args.steps} full-batch steps, gamma0={args.gamma0}, beta0={args.beta0}, "
          f"{seeds} seeds, "
          f"widths {widths}, depths {depths}; wall time {g.seconds:.0f} s")
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
    spread = dict(zip(params, lr_spread(opt)))
    ok = spread["depth-mup"] <= 0.3 and all(spread["depth-mup"] <= 0.5 * spread[p] for p in ("sp", "mup"))
    print("\n" + verdict(g))
    print(f"target (depth-mup <= 0.3 decades and <= half of mup's and sp's): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
