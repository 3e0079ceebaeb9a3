"""Which gain of a random RNN learns slow and fast targets from the fewest examples?

Simulates the rate RNN at several gains (`kc.reservoir`, codes kept in memory), predicts the
readout's test error over (P, gain) for each target time constant τ_y (`kc.predict` on the
list of spectra: one sweep per target), and draws docs/img/codes_rnn_sweep.png — one contour
of log10 E_g per τ_y with the best gain per P — and docs/img/codes_rnn_spectra.png — the
codes' spectra and the targets' cumulative power. Prints the best gain per P for each τ_y.

    python examples/rnn_gain_sweep.py                       # the figures of docs/codes.md
    python examples/rnn_gain_sweep.py --n 60 --trials 6 --steps 10 --gains 3 --out /tmp
"""

import argparse
import os

import numpy as np

import kerncurve as kc
from kerncurve.plots import figure, save_figure

HERE = os.path.dirname(os.path.abspath(__file__))


def sweep(n=1000, trials=40, steps=50, gains=17, taus=(0.0, 0.1, 0.25, 1.0), ridge=0.3, p=(2, 400, 12), seed=0):
    """(gains, P values, {τ_y: E_g (gains, P)}, the reservoir result)."""
    res = kc.reservoir(n=n, gain=np.linspace(0.5, 2.5, gains), trials=trials, steps=steps, target_tau=list(taus),
                       seed=seed)
    pv = np.unique(np.round(np.geomspace(*p[:2], p[2])).astype(int))
    pv = pv[pv < trials * steps]
    eg = {}
    for j, tau_y in enumerate(taus):
        r = kc.predict([c.spectrum(target=j) for c in res.codes], p=pv, ridge=ridge)
        eg[tau_y] = r.eg.reshape(len(res.codes), pv.size)
    return res.gain, pv, eg, res


def draw(gains, pv, eg, res, out):
    fig, axes = figure(1, len(eg), figsize=(3.3 * len(eg), 3.0), squeeze=False)
    for ax, (tau_y, z) in zip(axes[0], eg.items()):
        cs = ax.contourf(pv, gains, np.log10(z), levels=20, cmap="viridis")
        fig.colorbar(cs, ax=ax, label="log$_{10}$ $E_g$")
        ax.plot(pv, gains[np.argmin(z, axis=0)], "k-", lw=1.5, label="best gain")
        ax.set_xscale("log")
        ax.set_xlabel("P (training samples)")
        ax.set_ylabel("gain g")
        ax.set_title("held target (τ$_y$ = 0)" if tau_y == 0 else f"τ$_y$ = {tau_y:g}", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    save_figure(fig, os.path.join(out, "codes_rnn_sweep.png"))

    fig, (a1, a2) = figure(1, 2, figsize=(7.2, 3.0))
    picks = sorted({0, len(gains) // 2, len(gains) - 1})
    for i in picks:
        spec = res.codes[i].spectrum(target=0)
        k = np.arange(1, spec.rank + 1)
        a1.loglog(k, spec.eigenvalues / spec.eigenvalues[0], label=f"g = {gains[i]:g}")
        a2.semilogx(k, np.cumsum(spec.target_power) / spec.total_power, label=f"g = {gains[i]:g}")
    a1.set_xlabel("mode k")
    a1.set_ylabel("η$_k$ / η$_1$")
    a1.set_ylim(1e-10, 2)
    a1.legend(fontsize=7)
    a2.set_xlabel("mode k")
    a2.set_ylabel("cumulative power C(k), held target")
    a2.legend(fontsize=7)
    save_figure(fig, os.path.join(out, "codes_rnn_spectra.png"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--gains", type=int, default=17, help="gains evenly spaced in [0.5, 2.5]")
    ap.add_argument("--ridge", type=float, default=0.3)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "docs", "img"))
    args = ap.parse_args(argv)
    gains, pv, eg, res = sweep(args.n, args.trials, args.steps, args.gains, ridge=args.ridge)
    for tau_y, z in eg.items():
        best = gains[np.argmin(z, axis=0)]
        print(f"tau_y={tau_y:g}: best gain per P " + " ".join(f"{p}:{g:g}" for p, g in zip(pv, best)))
    draw(gains, pv, eg, res, args.out)
    return gains, pv, eg


if __name__ == "__main__":
    main()
