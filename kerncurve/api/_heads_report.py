"""The table and the summary of `kerncurve.heads` from its trained models."""

import numpy as np

from ..nn.spread import jackknife_kernel_spread, kernel_spread, power_law, verdicts

__all__ = ["COLUMNS", "TOY_COLUMNS", "rows_and_summary", "seed_stats", "fits_summary"]

COLUMNS = ["attn_exp", "depth_exp", "heads", "head_dim", "depth", "step", "loss", "loss_sem", "head_spread",
           "kernel_spread"]
TOY_COLUMNS = COLUMNS + ["loss_dmft", "head_spread_dmft"]


def _mean_sem(loss):
    """Seed mean and SEM per step of (seeds, T); both inf when a seed's loss is inf."""
    s = loss.shape[0]
    with np.errstate(invalid="ignore"):
        mean = loss.mean(axis=0)
        sem = loss.std(axis=0, ddof=1) / np.sqrt(s) if s > 1 else np.full(mean.shape, np.nan)
    return mean, np.where(np.isfinite(mean), sem, np.inf)


def seed_stats(loss, spread, kernels, alive):
    """Per recorded step: loss mean and SEM, head spread (mean over surviving seeds), kernel spread;
    the leave-one-seed-out head and kernel spreads at the last step and the leave-one-seed-out
    kernel spreads at the first recorded step (NaN where not defined).

    ``loss`` (seeds, T), ``spread`` (seeds, T) per network, ``kernels`` (seeds, T, P, P),
    ``alive`` (seeds,) the runs that did not diverge.
    """
    S = loss.shape[0]
    mean, sem = _mean_sem(loss)
    head = spread[alive].mean(axis=0) if alive.any() else np.full(loss.shape[1], np.nan)
    kern = np.array([kernel_spread(kernels[alive, t]) for t in range(loss.shape[1])])
    head_reps = np.full(S, np.nan)
    kern_reps = np.full(S, np.nan)
    first_reps = np.full(S, np.nan)
    if alive.all() and S >= 2:
        head_reps = np.array([np.delete(spread[:, -1], i).mean() for i in range(S)])
        jk = jackknife_kernel_spread(kernels[:, -1])
        if jk.size:
            kern_reps, first_reps = jk, jackknife_kernel_spread(kernels[:, 0])
    return mean, sem, head, kern, head_reps, kern_reps, first_reps


def fits_summary(points, fits):
    """Fitted exponents per α_A at the last step.

    ``points``: list of (α_A, factors dict, head spread, kernel spread, head replicates,
    kernel replicates); ``fits``: {summary key: (size factor, value 'head' or 'kernel')}.
    Returns the summary entries (each key with its ``_se``) and {key: {α_A: (e, se)}}.
    """
    out, raw = {}, {}
    for key, (factor, which) in fits.items():
        raw[key] = {}
        for a in dict.fromkeys(p[0] for p in points):
            mine = [p for p in points if p[0] == a]
            size = np.array([p[1][factor] for p in mine], dtype=float)
            group = [tuple(v for k, v in p[1].items() if k != factor) for p in mine]
            value = np.array([p[2] if which == "head" else p[3] for p in mine])
            reps = np.array([p[4] if which == "head" else p[5] for p in mine]).T
            raw[key][a] = power_law(size, value, group, reps if np.all(np.isfinite(reps)) else None)
        out[key] = {f"{a:g}": e for a, (e, _) in raw[key].items()}
        out[key + "_se"] = {f"{a:g}": se for a, (_, se) in raw[key].items()}
    return out, raw


_FITS = {"head_spread_exponent_n": ("head_dim", "head"), "head_spread_exponent_h": ("heads", "head"),
         "kernel_spread_exponent_h": ("heads", "kernel"), "kernel_spread_exponent_n": ("head_dim", "kernel")}
#: the kernel's H exponent at initialization (step 0), where every layer averages independent heads
_INIT_FITS = {"kernel_spread_exponent_h_init": ("heads", "kernel")}


def rows_and_summary(runs, o):
    """Columns (grid order, then step) and the summary of {(α_A, α_L, H, N, L): HeadsRun}."""
    cols = {c: [] for c in COLUMNS}
    points, models, starts = [], [], []
    for (a_A, a_L, H, N, L), r in runs.items():
        alive = ~r.diverged
        mean, sem, head, kern, head_reps, kern_reps, first_reps = seed_stats(
            r.loss, r.head_spread.mean(axis=-1), r.kernel, alive)
        T = r.at.size
        for c, v in (("attn_exp", a_A), ("depth_exp", a_L), ("heads", H), ("head_dim", N), ("depth", L)):
            cols[c] += [v] * T
        cols["step"] += r.at.tolist()
        cols["loss"] += mean.tolist()
        cols["loss_sem"] += sem.tolist()
        cols["head_spread"] += head.tolist()
        cols["kernel_spread"] += kern.tolist()
        points.append((a_A, {"depth_exp": a_L, "heads": H, "head_dim": N, "depth": L}, head[-1], kern[-1],
                       head_reps, kern_reps))
        if r.at[0] == 0:
            starts.append(points[-1][:3] + (kern[0], head_reps, first_reps))
        move = r.qk_movement[alive].mean(axis=0) if alive.any() else np.full(r.qk_movement.shape[1:], np.nan)
        models.append({"attn_exp": a_A, "depth_exp": a_L, "heads": H, "head_dim": N, "depth": L,
                       "final_loss": float(mean[-1]), "diverged": int(r.diverged.sum()),
                       "qk_movement": [[float(v) for v in row] for row in move]})
    fits, raw = fits_summary(points, _FITS)
    init, raw_init = fits_summary(starts, _INIT_FITS) if starts else ({}, {})
    for key in _INIT_FITS:  # not estimable without step 0 among the recorded steps
        for k in (key, key + "_se"):
            fits[k] = {f"{a:g}": init.get(k, {}).get(f"{a:g}") for a in dict.fromkeys(p[0] for p in points)}
    lines = verdicts(raw["head_spread_exponent_n"], raw["head_spread_exponent_h"], raw["kernel_spread_exponent_h"],
                     raw_init.get("kernel_spread_exponent_h_init"))
    if not lines:
        lines = ["give at least two head dimensions or head counts (and two seeds for the kernel) to fit exponents"]
    summary = {"optimizer": o["optimizer"], "lr": o["lr"], "steps": o["steps"], "seeds": o["seeds"], **fits,
               "diverged": sum(m["diverged"] for m in models), "models": models, "verdict": lines}
    data = {c: np.asarray(v) for c, v in cols.items()}
    for c in ("heads", "head_dim", "depth", "step"):
        data[c] = data[c].astype(np.int64)
    return data, summary
