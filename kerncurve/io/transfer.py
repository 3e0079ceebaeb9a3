"""The coordinate-check file of ``transfer --coords-output``.

Format ``kerncurve-transfer-coords`` (version 1); one group per parameterization::

    /<param>/widths (W,)  /<param>/depths (Dl,)  /<param>/eps (E,)
    /<param>/rms/N<n>_L<l>    (K + 1, L + 1)  RMS of h^ℓ after k steps (row k, column ℓ − 1)
    /<param>/delta/N<n>_L<l>  (K + 1, L + 1)  RMS of h^ℓ(k) − h^ℓ(0)
    /<param>/last_layer_delta (W, Dl)         the last layer's change after K steps
    /<param>/diversity (W, Dl, 2, E)          d(ε) at initialization [.., 0, :] and after K steps
    /<param>/diverged (W, Dl)                 a seed's RMS turned non-finite

with attributes ``lr`` (the base learning rate used), ``steps`` (K) and ``lam`` (λ) on each
group, and ``source`` on the root.
"""

import numpy as np

from .cache import dataset, write_h5

__all__ = ["COORDS_FORMAT", "COORDS_FORMAT_VERSION", "write_coords"]

COORDS_FORMAT = "kerncurve-transfer-coords"
COORDS_FORMAT_VERSION = 1


def write_coords(target, checks, lrs, *, source, lam, option="--coords-output"):
    """Write {param: `kerncurve.nn.CoordCheck`} (η₀ per param in ``lrs``) atomically to ``target``."""

    def fill(f):
        for p, cc in checks.items():
            g = f.create_group(p)
            g.attrs["lr"] = float(lrs[p])
            g.attrs["steps"] = int(cc.steps)
            g.attrs["lam"] = float(lam)
            dataset(g, "widths", np.asarray(cc.widths, dtype=np.int64))
            dataset(g, "depths", np.asarray(cc.depths, dtype=np.int64))
            dataset(g, "eps", np.asarray(cc.eps, dtype=np.float64))
            for kind, table in (("rms", cc.rms), ("delta", cc.delta)):
                sub = g.create_group(kind)
                for (n, d), arr in table.items():
                    dataset(sub, f"N{n}_L{d}", np.asarray(arr, dtype=np.float64))
            dataset(g, "last_layer_delta", cc.last_layer("delta"))
            dataset(g, "diversity", np.asarray(cc.diversity, dtype=np.float64)).attrs["axes"] = \
                "width, depth, (initialization, trained), eps"
            dataset(g, "diverged", np.asarray(cc.diverged, dtype=bool))

    write_h5(target, fill, fmt=COORDS_FORMAT, version=COORDS_FORMAT_VERSION, attrs={"source": str(source)},
             option=option)
