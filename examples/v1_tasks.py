"""A population code learns some tasks from few examples and others slowly (model V1).

`sample_data/v1.h5`: 300 orientation-tuned neurons responding to 1000 gratings, with a
smooth task (cos 2θ) and a fine one (sign cos 12θ). Draws docs/img/codes_v1.png: the
learning curves (theory, and kernel ridge regression on the same code) and the cumulative
power C(k) of each task in the code's eigenmodes.

    python examples/v1_tasks.py                              # the figure of docs/codes.md
    python examples/v1_tasks.py --repeats 2 --out /tmp
"""

import argparse
import os

import numpy as np

import kerncurve as kc
from kerncurve.plots import figure, save_figure

HERE = os.path.dirname(os.path.abspath(__file__))
V1 = os.path.join(HERE, "..", "sample_data", "v1.h5")
TASKS = {"smooth: cos 2θ": "/targets", "fine: sign cos 12θ": "/targets_fine"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50, help="training sets per P for the experiment")
    ap.add_argument("--ridge", type=float, default=10.0)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "docs", "img"))
    args = ap.parse_args(argv)
    fig, (a1, a2) = figure(1, 2, figsize=(8, 3.2))
    p = [2, 5, 10, 20, 40, 80, 160]
    results = {}
    for i, (label, key) in enumerate(TASKS.items()):
        r = kc.predict(V1, p=p, ridge=args.ridge, empirical=True, trials=args.repeats, targets_key=key)
        results[label] = r
        a1.loglog(r.p, r.eg_heldout, "-", color=f"C{i}", label=f"{label} (theory)")
        a1.errorbar(r.p, r.eg_empirical, r.eg_empirical_sem, fmt="o", ms=4, capsize=2, color=f"C{i}")
        spec = r.spectrum
        k = np.arange(1, spec.rank + 1)
        a2.semilogx(k, np.cumsum(spec.target_power) / spec.total_power, color=f"C{i}", label=label)
        print(f"{label}: E_g at P = {p[-1]}: theory {r.eg_heldout[-1]:.3g}, experiment {r.eg_empirical[-1]:.3g}; "
              f"mean relative deviation {r.summary['mean_relative_deviation']:+.3f}")
    a1.set_xlabel("P (training stimuli)")
    a1.set_ylabel("test MSE $E_g$")
    a1.legend(fontsize=7)
    a2.set_xlabel("mode k")
    a2.set_ylabel("cumulative power C(k)")
    a2.legend(fontsize=7)
    save_figure(fig, os.path.join(args.out, "codes_v1.png"))
    return results


if __name__ == "__main__":
    main()
