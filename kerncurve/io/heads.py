"""The attention file of ``heads --attention-output``.

Format ``kerncurve-heads-attention`` (version 1)::

    /probe_inputs (P, S, D)                  the probe sequences (the first P training ones)
    /<model>/init  (seeds, L, P, H, S, S)    attention A_h(s, s′) of every block and head at initialization
    /<model>/final (seeds, L, P, H, S, S)    after the last step (a diverged seed: where it stopped)
    /<model>/diverged (seeds,)
    /<model>/qk_movement (seeds, L, 2)       ‖ΔW‖_F/‖W(0)‖_F of W_Q and W_K per block

with ``<model>`` = ``a<α_A>_l<α_L>_H<H>_N<N>_L<L>`` (``a1_l1_H8_N16_L1``) and attributes
``attn_exp``, ``depth_exp``, ``heads``, ``head_dim``, ``depth`` on each group; ``source``,
``lr``, ``steps`` on the root. Maps are stored as float32 (rows sum to 1 within 1e-6).
"""

import numpy as np

from .cache import dataset, write_h5

__all__ = ["ATTENTION_FORMAT", "ATTENTION_FORMAT_VERSION", "model_name", "write_attention"]

ATTENTION_FORMAT = "kerncurve-heads-attention"
ATTENTION_FORMAT_VERSION = 1


def model_name(attn_exp, depth_exp, heads, head_dim, depth):
    """The group name of one model: ``a1_l1_H8_N16_L1``."""
    return f"a{attn_exp:g}_l{depth_exp:g}_H{heads}_N{head_dim}_L{depth}"


def write_attention(target, runs, probe_inputs, *, source, lr, steps, option="--attention-output"):
    """Write {(α_A, α_L, H, N, L): `kerncurve.nn.heads.HeadsRun`} atomically to ``target``."""

    def fill(f):
        dataset(f, "probe_inputs", np.asarray(probe_inputs, dtype=np.float64))
        for (a_A, a_L, H, N, L), r in runs.items():
            g = f.create_group(model_name(a_A, a_L, H, N, L))
            for k, v in (("attn_exp", float(a_A)), ("depth_exp", float(a_L)), ("heads", int(H)),
                         ("head_dim", int(N)), ("depth", int(L))):
                g.attrs[k] = v
            dataset(g, "init", np.asarray(r.attention_init, dtype=np.float32)).attrs["axes"] = \
                "seed, block, sequence, head, query position, key position"
            dataset(g, "final", np.asarray(r.attention_final, dtype=np.float32))
            dataset(g, "diverged", np.asarray(r.diverged, dtype=bool))
            dataset(g, "qk_movement", np.asarray(r.qk_movement, dtype=np.float64))

    write_h5(target, fill, fmt=ATTENTION_FORMAT, version=ATTENTION_FORMAT_VERSION,
             attrs={"source": str(source), "lr": float(lr), "steps": int(steps)}, option=option)
