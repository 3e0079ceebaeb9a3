"""The report's figures, drawn with matplotlib and returned as reproducible SVG bytes.

Every figure has a title, axis labels and an alt text (a sentence saying what it shows and
the numbers that matter), so the report reads without seeing the pictures too.
"""

import io
import re

import numpy as np

from ..plots import _METADATA, _pyplot, figure

__all__ = ["Figure", "spectrum_figure", "alignment_figure", "curve_figure", "bias_figure"]


class Figure:
    """A matplotlib figure with its caption and alt text; ``svg`` renders it reproducibly."""

    def __init__(self, key, fig, caption, alt):
        self.key, self.fig, self.caption, self.alt = key, fig, caption, alt
        self._svg = None

    @property
    def svg(self):
        if self._svg is None:
            import matplotlib

            buf = io.BytesIO()
            with matplotlib.rc_context({"svg.hashsalt": "kerncurve"}):
                self.fig.savefig(buf, format="svg", metadata=_METADATA["svg"])
            # no URL in the image either: the DTD reference and the RDF metadata block name
            # web addresses (never fetched, but a reader of the file should not have to know)
            svg = re.sub(rb"<!DOCTYPE[^>]*>\s*", b"", buf.getvalue(), count=1)
            self._svg = re.sub(rb"\s*<metadata>.*?</metadata>", b"", svg, count=1, flags=re.S)
        return self._svg

    def close(self):
        _pyplot().close(self.fig)


def spectrum_figure(spec, summary):
    """Eigenvalues η_k and target power v_k² against the mode index, log-log."""
    fig, ax = figure(figsize=(6.4, 4.0))
    k = np.arange(1, spec.rank + 1)
    eta, v2 = spec.eigenvalues, spec.target_power
    pos = eta > 0
    ax.loglog(k[pos], eta[pos], lw=1.6, color="#1f4e79", label="eigenvalue η_k")
    pv = v2 > 0
    ax.loglog(k[pv], v2[pv], ".", ms=2.5, color="#c55a11", alpha=0.6, label="target power v_k²")
    b, a = summary.get("eigenvalue_exponent_b"), summary.get("target_exponent_a")
    _fitted_lines(ax, eta, v2)
    ax.set_xlabel("mode index k")
    ax.set_ylabel("η_k, v_k² (fraction of trace / power)")
    ax.set_title("Spectrum of K/n and the task's power per mode")
    ax.legend(frameon=False)
    alt = (f"Log-log plot of the {spec.rank} eigenvalues of the kernel and the target power per mode; "
           f"fitted decay exponents b = {b:.3g} (eigenvalues) and a = {a:.3g} (target power).")
    return Figure("spectrum", fig, "Eigenvalue decay and target power per mode (log-log), with the power-law fits that give b and a.", alt)


def _fitted_lines(ax, eta, v2):
    """The summary's power-law fits, drawn over the modes they were fitted on: η_k ≈ c k^(−b), and
    v_k² ≈ (a − 1) c' k^(−a) from the fit of the tail power Σ_{l≥k} v_l² ≈ c' k^(1−a)."""
    from ..spectral import power_law_fit

    b, c, lo, hi = power_law_fit(eta, full=True)
    if np.isfinite(b):
        kk = np.geomspace(lo, hi, 50)
        ax.loglog(kk, c * kk**-b, "--", color="black", lw=1.0, label=rf"fit $\eta_k \propto k^{{-b}}$, b = {b:.3g}")
    a1, c, lo, hi = power_law_fit(np.cumsum(v2[::-1])[::-1], full=True)
    if np.isfinite(a1) and a1 > 0:
        kk = np.geomspace(lo, hi, 50)
        ax.loglog(kk, a1 * c * kk ** -(a1 + 1), ":", color="black", lw=1.4,
                  label=rf"fit $v_k^2 \propto k^{{-a}}$, a = {a1 + 1:.3g}")


def alignment_figure(spec, summary):
    """Cumulative target power C(k) = Σ_{l≤k} v_l² / total: how fast the top modes capture the task."""
    fig, ax = figure(figsize=(6.4, 3.6))
    v2 = spec.target_power
    total = v2.sum() + spec.residual_power
    cum = np.cumsum(v2) / total if total > 0 else np.zeros_like(v2)
    k = np.arange(1, cum.size + 1)
    ax.semilogx(k, cum, lw=1.8, color="#1f4e79")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("mode index k")
    ax.set_ylabel("cumulative target power C(k)")
    ax.set_title("Task–kernel alignment")
    k50 = int(np.searchsorted(cum, 0.5) + 1) if cum.size and cum[-1] >= 0.5 else None
    k90 = int(np.searchsorted(cum, 0.9) + 1) if cum.size and cum[-1] >= 0.9 else None
    for kk, lab in ((k50, "50 %"), (k90, "90 %")):
        if kk is not None:
            ax.axvline(kk, color="0.6", lw=0.8, ls="--")
            ax.text(kk, 0.04, f" {lab} at k = {kk}", fontsize=8, color="0.3")
    alt = (f"Cumulative fraction of the target's power in the top k modes; half of it lies in the top "
           f"{k50 if k50 else 'n/a'} modes and 90 % in the top {k90 if k90 else 'n/a'}.")
    return Figure("alignment", fig, "Cumulative target power: the alignment of the task with the kernel.",
                  alt), k50, k90


def curve_figure(result, optimal, slope):
    """Theory E_g(P) per (ridge, noise) with the bootstrap band, the experiment, the ridge-optimal curve."""
    d = result.to_dict()
    fig, ax = figure(figsize=(6.4, 4.4))
    keys = sorted(set(zip(d["ridge"].tolist(), d["noise"].tolist())))
    colors = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#843c0c", "#375623"]
    for i, (lam, s2) in enumerate(keys):
        sel = (d["ridge"] == lam) & (d["noise"] == s2)
        c = colors[i % len(colors)]
        lab = f"theory λ={lam:g}, σ²={s2:g}"
        ax.loglog(d["p"][sel], d["eg"][sel], "-", color=c, lw=1.6, label=lab)
        if "eg_lo" in d:
            ax.fill_between(d["p"][sel], np.maximum(d["eg_lo"][sel], 1e-300), d["eg_hi"][sel], color=c, alpha=0.18,
                            lw=0)
        if "eg_heldout" in d:  # what the experiment measures: the error on the held-out points
            ax.loglog(d["p"][sel], d["eg_heldout"][sel], "--", color=c, lw=1.0, label="theory, held-out points")
        if "eg_empirical" in d:
            ax.errorbar(d["p"][sel], d["eg_empirical"][sel], yerr=d["eg_empirical_sem"][sel], fmt="o", ms=4,
                        color=c, capsize=2, label=f"experiment λ={lam:g}, σ²={s2:g}")
    if optimal is not None:
        o = optimal.to_dict()
        first = o["noise"] == o["noise"][0]
        ax.loglog(o["p"][first], o["eg"][first], ":", color="0.25", lw=1.4, label="ridge-optimal theory")
    ax.set_xlabel("training-set size P")
    ax.set_ylabel("test error E_g (MSE)")
    ax.set_title("Learning curve: theory and experiment")
    ax.legend(frameon=False, fontsize=8)
    parts = [f"Predicted test error against P from {int(d['p'].min())} to {int(d['p'].max())}"]
    if "eg_empirical" in d:
        parts.append("with kernel-regression experiments (mean ± SEM) as points")
    if "eg_lo" in d:
        parts.append("and the bootstrap band shaded")
    text = " ".join(parts) + "."
    if np.isfinite(slope.get("measured", np.nan)):
        text += f" The last decade falls with slope {slope['measured']:.3g}."
    return Figure("curve", fig, "Learning curve: theory (lines, band), experiment (points), optimal ridge "
                  "(dotted).", text)


def bias_figure(p, k, learnability):
    """Heat map of the learnability L_k(P) = Pη_k/(Pη_k + κ) over P and mode index."""
    fig, ax = figure(figsize=(6.4, 3.8))
    mesh = ax.pcolormesh(k, p, learnability, shading="nearest", cmap="viridis", vmin=0, vmax=1, rasterized=True)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("mode index k")
    ax.set_ylabel("training-set size P")
    ax.set_title("Spectral bias: which modes are learned at which P")
    fig.colorbar(mesh, ax=ax, label="learnability L_k (0 = not learned, 1 = learned)")
    half = [int(k[np.argmax(row < 0.5)]) if np.any(row < 0.5) else int(k[-1]) for row in learnability[[0, -1]]]
    alt = (f"Heat map of per-mode learnability over P (rows) and mode index (columns): at P = {int(p[0])} modes "
           f"up to k ≈ {half[0]} are half learned, at P = {int(p[-1])} up to k ≈ {half[1]}.")
    return Figure("bias", fig, "Spectral bias: learnability of each mode against P.", alt)
