"""`kerncurve.dmft` with ``arch="resnet"``: deep linear residual networks at infinite width,
at each depth L, and their L → ∞ limit (docs/dmft.md, docs/theory/limits.md)."""

import numpy as np

from .._validation import check_float, check_int
from ..errors import InputError

__all__ = ["check_resnet", "check_resnet_memory", "solve_resnet", "resnet_table", "resnet_summary"]

GIB = 2**30


def check_resnet(depth, activation, alpha, beta0, method, max_depth):
    """Validated ``(depths, alpha, beta0)``; resnet needs a linear activation, α ∈ [0.5, 1]."""
    if activation != "linear":
        raise InputError(f"activation={activation} with arch=resnet is not solvable: the residual DMFT is exact for "
                         "linear networks only; use activation=linear", param="activation")
    alpha = check_float(alpha, "alpha")
    if not 0.5 <= alpha <= 1.0:
        raise InputError(f"alpha={alpha:g} is outside [0.5, 1]: branches scaled by L^-alpha have a depth limit only for "
                         "alpha from 0.5 (depth-muP) to 1; pick alpha in [0.5, 1]", param="alpha")
    beta0 = check_float(beta0, "beta0", minimum=0.0)
    if method != "forward":
        raise InputError(f"method={method} is not available with arch=resnet: the residual solver is the exact causal "
                         "pass; use method=forward", param="method")
    values = [depth] if np.ndim(depth) == 0 else list(np.asarray(depth).ravel())
    if not values:
        raise InputError("depth is empty; give one depth or a list", param="depth")
    depths = [check_int(d, "depth", minimum=1, maximum=max_depth) for d in values]
    if len(set(depths)) != len(depths):
        raise InputError(f"depth={depths} repeats a value; give distinct depths", param="depth")
    return sorted(depths), alpha, beta0


def check_resnet_memory(P, Q, D, steps, depths, n_gamma, max_memory, dt, time, empirical, width, seeds):
    """Refuse, before allocating, a residual solve (or its networks) over ``max_memory`` GiB."""
    from ..theory.dmft import resnet_memory

    budget = max_memory * GIB
    n = P + Q
    L = max(depths)
    kept = 8 * (n_gamma * len(depths)) * (steps + 1) * n * n

    def need(m):
        return resnet_memory(m, steps, L) + kept

    if need(n) > budget:
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if need(mid) <= budget else (lo, mid - 1)
        fit = f"at most {lo} points fit" if lo else "not even one point fits"
        raise InputError(
            f"max_memory={max_memory:g} (GiB) is too small: the residual solver at depth {L} over T = {steps + 1} times "
            f"and P + Q = {n} points needs {need(n) / GIB:.3g} GiB (it grows as depth² × (T·points)²); {fit} — use "
            f"fewer points, a smaller depth={L}, a larger dt={dt:g} or a shorter time={time:g}, or raise "
            f"max_memory={max_memory:g}", param="max_memory")
    if empirical:
        net_bytes = 8 * (2 * L * width**2 + (2 * L + 4) * width * (n + D) + seeds * (steps + 1) * n * n)
        if net_bytes > budget:
            raise InputError(f"empirical needs residual networks of width {width} and depth {L}: {net_bytes / GIB:.3g} "
                             f"GiB, over the budget max_memory={max_memory:g} (GiB); lower width={width}, or raise "
                             f"max_memory={max_memory:g}", param="empirical")


def solve_resnet(kx, x, y, x_test, y_test, gammas, depths, alpha, beta0, t_max, dt, scheme, empirical, width, seeds,
                 seed, advance):
    """DMFT (and trained networks) for every (γ₀, L), γ₀ major."""
    from ..theory.dmft import deep_linear_resnet

    Q = 0 if x_test is None else x_test.shape[0]
    results, nets = [], []
    for g in gammas:
        for L in depths:
            results.append(deep_linear_resnet(kx, y, g, t_max, dt, depth=L, alpha=alpha, beta0=beta0, n_test=Q,
                                              y_test=y_test, scheme=scheme, progress=advance))
            if empirical:
                from ..simulate.dmft_resnet import train_resnets

                nets.append(train_resnets(x, y, g, t_max, dt, width, L, alpha=alpha, beta0=beta0, seeds=seeds,
                                          seed=seed, x_test=x_test, y_test=y_test, progress=advance))
    return results, nets


def _limits(results, gammas, depths, alpha, idx):
    """Per γ₀: the L → ∞ loss at the output times and its error (None with one depth)."""
    from ..theory.dmft.depth_limit import extrapolate_depth

    if len(depths) < 2:
        return None
    k = len(depths)
    return [extrapolate_depth(depths, np.stack([r.loss[idx] for r in results[i * k:(i + 1) * k]]), alpha)
            for i in range(len(gammas))]


def resnet_table(gammas, depths, alpha, results, nets, idx, with_test):
    """Columns ``gamma0, depth, time, loss, alignment`` (+ test, + empirical) and, with two
    or more depths, ``loss_depth_limit, loss_depth_limit_err`` (the same on every depth's
    row at one γ₀ and time)."""
    k = len(depths)
    groups = len(results)
    columns = ["gamma0", "depth", "time", "loss", "alignment"]
    data = {
        "gamma0": np.repeat(np.repeat(np.asarray(gammas, float), k), idx.size),
        "depth": np.repeat(np.tile(np.asarray(depths, float), len(gammas)), idx.size),
        "time": np.concatenate([r.time[idx] for r in results]),
        "loss": np.concatenate([r.loss[idx] for r in results]),
        "alignment": np.concatenate([r.alignment[idx] for r in results]),
    }
    lim = _limits(results, gammas, depths, alpha, idx)
    if lim is not None:
        columns += ["loss_depth_limit", "loss_depth_limit_err"]
        data["loss_depth_limit"] = np.concatenate([lim[j // k][0] for j in range(groups)])
        data["loss_depth_limit_err"] = np.concatenate([lim[j // k][1] for j in range(groups)])
    if with_test:
        columns.append("test_loss")
        data["test_loss"] = np.concatenate([r.test_loss[idx] for r in results])
    if nets:
        columns += ["loss_empirical", "loss_empirical_sem", "alignment_empirical"]
        data["loss_empirical"] = np.concatenate([n.loss_mean[idx] for n in nets])
        data["loss_empirical_sem"] = np.concatenate([n.loss_sem[idx] for n in nets])
        data["alignment_empirical"] = np.concatenate([n.alignment.mean(0)[idx] for n in nets])
        if with_test:
            columns.append("test_loss_empirical")
            data["test_loss_empirical"] = np.concatenate([n.test_loss.mean(0)[idx] for n in nets])
    return columns, data


def resnet_summary(gammas, depths, alpha, beta0, results):
    """Summary entries of the residual solver: per (γ₀, L) finals, and per γ₀ the L → ∞ limit."""
    from ..theory.dmft.depth_limit import correction_exponents, extrapolate_depth, fitted_exponent

    out = {"arch": "resnet", "alpha": alpha, "beta0": beta0, "depth": list(depths),
           "final_loss": [float(r.loss[-1]) for r in results],
           "final_alignment": [float(r.alignment[-1]) for r in results],
           "correction_exponent": correction_exponents(alpha)[0]}
    k = len(depths)
    if k >= 2:
        finals = [np.array([r.loss[-1] for r in results[i * k:(i + 1) * k]]) for i in range(len(gammas))]
        lim = [extrapolate_depth(depths, f, alpha) for f in finals]
        out["depth_limit_final_loss"] = [float(v) for v, _ in lim]
        out["depth_limit_error"] = [float(e) for _, e in lim]
        if k >= 3:
            out["depth_exponent"] = [fitted_exponent(depths, f) for f in finals]
    return out
