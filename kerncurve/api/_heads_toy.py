"""``kerncurve heads --toy``: finite gated-attention networks beside their solved N → ∞ limit."""

import contextlib

import numpy as np

from ..errors import InputError
from ..result import Result
from ._heads_report import TOY_COLUMNS, seed_stats

__all__ = ["toy_heads"]


def _refuse_other_settings(o):
    """The toy is one layer of gates with μP logits trained by full-batch SGD."""
    wrong = [("attn_exp", o["attn_exp"] != (1.0,), "its N → ∞ limit is solved for attn_exp 1 only"),
             ("depth", o["depth"] != (1,), "it has a single layer (depth 1)"),
             ("depth_exp", o["depth_exp"] != (1.0,), "it has no residual branch"),
             ("optimizer", o["optimizer"] != "sgd", "its limit is derived for SGD"),
             ("batch", o["batch"] is not None, "it trains on all P = 4 inputs at every step")]
    for name, bad, why in wrong:
        if bad:
            raise InputError(f"{name} cannot be set with toy: {why}", param=name)


def toy_heads(o, start, progress=None):
    """Train the toy at every G = ``heads`` and N = ``head_dim`` and solve its limit; a Result."""
    from ..simulate.heads_toy import toy_networks
    from ..theory.heads_toy import toy_limit, xor_task

    _refuse_other_settings(o)
    x, y = xor_task()
    at = o["at"]
    cols = {c: [] for c in TOY_COLUMNS}
    deviation, deviation_seed, shrinking = {}, {}, {}
    cells = len(o["heads"]) * len(o["head_dim"])
    bar = (progress("training the toy networks", cells) if progress is not None
           else contextlib.nullcontext(lambda n=1: None))
    with bar as advance:
        for G in o["heads"]:
            kw = dict(gates=G, steps=o["steps"], lr=o["lr"], gamma0=o["gamma0"], start=start, seed=o["seed"])
            lim = toy_limit(x, y, **kw)
            dev, dev_seed = {}, {}
            for N in o["head_dim"]:
                net = toy_networks(x, y, width=N, seeds=o["seeds"], **kw)
                alive = np.all(np.isfinite(net.loss), axis=1)
                mean, sem, head, kern, *_ = seed_stats(net.loss[:, at], net.head_spread[:, at], net.kernel[:, at],
                                                         alive)
                T = at.size
                for c, v in (("attn_exp", 1.0), ("depth_exp", np.nan), ("heads", G), ("head_dim", N), ("depth", 1)):
                    cols[c] += [v] * T
                cols["step"] += at.tolist()
                for c, v in (("loss", mean), ("loss_sem", sem), ("head_spread", head), ("kernel_spread", kern),
                             ("loss_dmft", lim.loss[at]), ("head_spread_dmft", lim.head_spread[at])):
                    cols[c] += np.asarray(v, dtype=float).tolist()
                l0 = lim.loss[0]
                dev[str(N)] = float(np.max(np.abs(net.loss.mean(axis=0) - lim.loss)) / l0)
                dev_seed[str(N)] = float(np.mean(np.max(np.abs(net.loss - lim.loss), axis=1)) / l0)
                advance(1)
            deviation[str(G)], deviation_seed[str(G)] = dev, dev_seed
            vals = list(dev.values())
            shrinking[str(G)] = bool(all(b < a for a, b in zip(vals, vals[1:])))
    data = {c: np.asarray(v) for c, v in cols.items()}
    for c in ("heads", "head_dim", "depth", "step"):
        data[c] = data[c].astype(np.int64)
    summary = {"task": "XOR, P = 4, D = 2", "start": start, "lr": o["lr"], "gamma0": o["gamma0"],
               "steps": o["steps"], "seeds": o["seeds"],
               "max_rel_deviation": deviation, "max_rel_deviation_per_seed": deviation_seed,
               "deviation_shrinks_with_n": shrinking,
               "verdict": [_verdict(G, deviation[str(G)], shrinking[str(G)]) for G in o["heads"]]}
    params = {"toy": True, "toy_start": start, "heads": list(o["heads"]), "head_dim": list(o["head_dim"]),
              "lr": o["lr"], "gamma0": o["gamma0"], "steps": o["steps"], "seeds": o["seeds"], "seed": o["seed"],
              "at": at.tolist()}
    return Result("heads", TOY_COLUMNS, data, int_columns=("heads", "head_dim", "depth", "step"), summary=summary,
                  params=params)


def _verdict(G, dev, shrinking):
    Ns = list(dev)
    trend = "shrinking as N grows" if shrinking else "not shrinking monotonically"
    return (f"G={G}: max_t |L_N − L_∞|/L(0) of the seed mean from {dev[Ns[0]]:.3g} at N={Ns[0]} to "
            f"{dev[Ns[-1]]:.3g} at N={Ns[-1]}, {trend}")
