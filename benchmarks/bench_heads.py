"""Benchmark of the attention engine: the compiled training loop against the same program with jit off.

The model is the largest of the README's grid (``kerncurve heads sample_data/query_match.h5
--heads 2,8 --head-dim 4,16``): H = 8 heads of dimension N = 16 (width 128), one block, 3
seeds, full-batch SGD on the 512 query-matching sequences (S = 8, D = 6), 100 steps (``quick``:
20). Ours: a warm call of `kerncurve.nn.heads.train_heads` (one jitted program: scan over
steps, vmap over seeds), its compile time reported on its own. Baseline: the very same call
under ``jax.disable_jit()``, where JAX runs every operation one at a time from Python (the
scan becomes a Python loop). The two loss curves must agree to float32 rounding; the note
says how closely they do. A ratio far above 1 shows the compiled path is the one used.
"""

import os
import time

import h5py
import numpy as np

from _timing import best_of  # noqa: E402 (benchmarks/ is on sys.path)

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = dict(heads=8, head_dim=16, depth=1, attn_exp=1.0, depth_exp=1.0, lr=1.0, seeds=3, seed=0)


def run(quick: bool) -> list:
    try:
        import jax
    except ImportError:  # the extra kerncurve[nn] is not installed: nothing to compare
        return []
    from kerncurve.nn.heads import train_heads

    with h5py.File(os.path.join(HERE, "..", "sample_data", "query_match.h5")) as f:
        x, y = f["inputs"][:], f["targets"][:]
    steps = 20 if quick else 100
    kw = dict(MODEL, steps=steps, at=np.arange(0, steps + 1, max(steps // 10, 1)))
    t0 = time.perf_counter()
    train_heads(x, y, **kw)
    first = time.perf_counter() - t0
    ours, res = best_of(lambda: train_heads(x, y, **kw), repeats=3)
    with jax.disable_jit():
        base, slow = best_of(lambda: train_heads(x, y, **kw), repeats=1)
    gap = float(np.max(np.abs(res.loss - slow.loss)) / res.loss[:, 0].max())
    return [{
        "name": f"train_heads H=8 N=16 L=1, 3 seeds, {steps} SGD steps, jit vs jit off",
        "baseline_s": base,
        "ours_s": ours,
        "ratio": base / ours,
        "note": f"compile {first - ours:.2f} s on its own; max |ΔL|/L(0) = {gap:.1e} (float32)",
    }]


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
