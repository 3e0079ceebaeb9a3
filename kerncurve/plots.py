"""Figures: drawn with matplotlib (Agg), rendered in memory, written atomically.

The same data give the same bytes: SVG ids come from a fixed hash salt, and no creation
date or software stamp is written into SVG, PDF or PNG files.
"""

import io
import os

__all__ = ["figure", "save_figure", "figure_bytes", "plot_curves", "FORMATS"]

FORMATS = (".png", ".svg", ".pdf")
_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure(*args, **kwargs):
    """A new figure and axes (``plt.subplots`` on the Agg backend)."""
    plt = _pyplot()
    kwargs.setdefault("constrained_layout", True)
    return plt.subplots(*args, **kwargs)


def figure_bytes(fig, fmt):
    """The figure rendered as ``fmt`` (png, svg or pdf), reproducibly; the figure is closed."""
    import matplotlib

    plt = _pyplot()
    buf = io.BytesIO()
    try:
        with matplotlib.rc_context({"svg.hashsalt": "kerncurve", "pdf.compression": 6}):
            fig.savefig(buf, format=fmt, metadata=_METADATA.get(fmt))
    finally:
        plt.close(fig)
    return buf.getvalue()


def save_figure(fig, target, option="--plot"):
    """Render ``fig`` by the target's extension and write it atomically (`write_bytes`)."""
    from .io.outputs import OutputTarget, write_bytes

    path = target.path if isinstance(target, OutputTarget) else os.fspath(target)
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    write_bytes(target, figure_bytes(fig, fmt), option)


def plot_curves(path, *, lines=(), points=(), bands=(), xlabel="P", ylabel="error", title=None, logx=True,
                logy=True, option="--plot"):
    """Write a figure of curves (png/svg/pdf by extension) atomically.

    Parameters
    ----------
    path : str or OutputTarget
    lines : iterable of (label, x, y)
        Theory curves.
    points : iterable of (label, x, y, yerr)
        Empirical points with error bars.
    bands : iterable of (label, x, lo, hi)
        Shaded intervals (e.g. a bootstrap band of the theory).
    """
    plt = _pyplot()
    fig, ax = figure(figsize=(5.5, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, x, lo, hi) in enumerate(bands):
        ax.fill_between(x, lo, hi, color=colors[i % len(colors)], alpha=0.2, lw=0, label=label)
    for i, (label, x, y) in enumerate(lines):
        ax.plot(x, y, "-", color=colors[i % len(colors)], label=label)
    for i, (label, x, y, err) in enumerate(points):
        ax.errorbar(x, y, yerr=err, fmt="o", ms=4, capsize=2, color=colors[i % len(colors)], label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if lines or points or bands:
        ax.legend(fontsize=7)
    save_figure(fig, path, option)
