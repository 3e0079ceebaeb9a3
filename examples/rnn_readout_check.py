"""Theory against experiment for readouts of RNN codes: held-out (trial, time) pairs and held-out trials.

For gains 0.5, 1.5 and 2.5 and a held (τ_y = 0) and a decaying (τ_y = 1) target, runs
`kc.predict` with the experiment (`empirical=True`: exact kernel ridge regression on P random
(trial, time) pairs, tested on the pairs not drawn) and with whole trials held out
(`heldout_by="trial"`), prints the mean relative deviations and draws
docs/img/codes_rnn_check.png.

    python examples/rnn_readout_check.py                     # docs/codes.md (100 trials: minutes)
    python examples/rnn_readout_check.py --n 60 --trials 6 --steps 10 --repeats 3 --out /tmp
"""

import argparse
import os

import numpy as np

import kerncurve as kc
from kerncurve.plots import figure, save_figure

HERE = os.path.dirname(os.path.abspath(__file__))
GAINS = (0.5, 1.5, 2.5)
TAUS = (0.0, 1.0)


def check(n=1000, trials=40, steps=50, repeats=100, p=(5, 10, 20, 50, 100, 200), ridge=0.3, seed=0):
    """{(gain, τ_y): predict result} with both experiments."""
    res = kc.reservoir(n=n, gain=list(GAINS), trials=trials, steps=steps, target_tau=list(TAUS), seed=seed)
    p = [q for q in p if q < trials * steps * 0.75]
    out = {}
    for codes in res.codes:
        for j, tau_y in enumerate(TAUS):
            y = codes.targets[:, j]
            out[codes.gain, tau_y] = kc.predict(
                kc.Spectrum.from_features(codes.features, y), p=p, ridge=ridge, empirical=True, trials=repeats,
                seed=seed, X=codes.features, y=y, groups={"trial": codes.trial}, heldout_by="trial")
    return out


def draw(results, out):
    fig, axes = figure(1, len(TAUS), figsize=(4.2 * len(TAUS), 3.4), squeeze=False)
    for ax, tau_y in zip(axes[0], TAUS):
        for i, g in enumerate(GAINS):
            r = results[g, tau_y]
            c = f"C{i}"
            ax.loglog(r.p, r.eg_heldout, "-", color=c, label=f"g = {g:g} theory")
            ax.errorbar(r.p, r.eg_empirical, r.eg_empirical_sem, fmt="o", ms=4, color=c, capsize=2,
                        label="held-out pairs" if i == 0 else None)
            ax.errorbar(r.p, r.eg_empirical_groups, r.eg_empirical_groups_sem, fmt="s", ms=4, mfc="none", color=c,
                        capsize=2, label="held-out trials" if i == 0 else None)
        ax.set_xlabel("P (training samples)")
        ax.set_ylabel("test MSE $E_g$")
        ax.set_title("held target (τ$_y$ = 0)" if tau_y == 0 else f"τ$_y$ = {tau_y:g}", fontsize=9)
        ax.legend(fontsize=6)
    save_figure(fig, os.path.join(out, "codes_rnn_check.png"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=100, help="training sets per P (the experiment's trials)")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "docs", "img"))
    args = ap.parse_args(argv)
    results = check(args.n, args.trials, args.steps, args.repeats)
    for (g, tau_y), r in results.items():
        s = r.summary
        print(f"gain {g:g}, tau_y {tau_y:g}: mean relative deviation {s['mean_relative_deviation']:+.3f} "
              f"(max {s['max_relative_deviation']:.3f}); held-out trials {s['mean_relative_deviation_groups']:+.3f}")
    draw(results, args.out)
    return results


if __name__ == "__main__":
    main()
