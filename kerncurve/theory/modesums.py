"""Fast exact sums over kernel modes, Σ_k w_k g(η_k / k'), for many k' at once.

Every learning-curve quantity of the ridge theory (docs/theory.md) is a sum over modes of a rational function of
x = η_k/k' (k' = κ/P): learnabilities L = x/(1+x), L(1−L) = x/(1+x)², (1−L)² = 1/(1+x)².
With 10⁶ modes and hundreds of (P, ridge) points a direct evaluation costs 10⁸+ operations
per root-finding step. Here the modes are cut into contiguous blocks of the sorted
spectrum; a block whose modes all have x < ε (a *tail* block) or x > 1/ε (a *head* block)
is summed through precomputed moments Σ w η^{±j} and the convergent series of g in x or
1/x, truncated where the remainder is below double precision. Only modes with
ε ≤ x ≤ 1/ε are summed explicitly. The result equals the direct sum to round-off.
"""

import numpy as np

__all__ = ["ModeSums", "FUNCTIONS"]

_EPS = 0.25  # series ratio bound; remainder ~ (J+1)·ε^(J+1)
_J = 34  # number of series terms (ε^35 · 35 ≈ 3e-20)
_BLOCK = 512
_DIRECT_LIMIT = 4096  # below this many modes, sum directly

# Each g: direct form (x = η/k'), tail series coefficients a_j of x^j, head series
# coefficients c_j of (1/x)^j, for j = 0.._J.
_j = np.arange(_J + 1, dtype=float)
_sign = (-1.0) ** _j
FUNCTIONS = {
    # L = x/(1+x): tail Σ_{j≥1} (−1)^{j+1} x^j; head 1/(1+1/x) = Σ_{j≥0} (−1)^j x^{-j}
    "L": (lambda x: x / (1.0 + x), np.where(_j >= 1, -_sign, 0.0), _sign.copy()),
    # L(1−L) = x/(1+x)²: symmetric under x ↔ 1/x: Σ_{j≥1} (−1)^{j+1} j x^{±j}
    "LmL": (lambda x: (x / (1.0 + x)) / (1.0 + x), -_sign * _j, -_sign * _j),
    # (1−L)² = 1/(1+x)²: tail Σ (−1)^j (j+1) x^j; head x^{-2}/(1+x^{-1})² = Σ_{j≥2} (−1)^j (j−1) x^{-j}
    "omL2": (
        lambda x: (1.0 / (1.0 + x)) ** 2,
        _sign * (_j + 1),
        np.where(_j >= 2, _sign * (_j - 1), 0.0),
    ),
}


class ModeSums:
    """Evaluate Σ_k w_k g(η_k/k') for arrays of k' and several weights w.

    Parameters
    ----------
    eigenvalues : ndarray (M,)
        Positive eigenvalues, sorted descending.
    weights : dict of str -> ndarray (M,)
        Named non-negative weights (e.g. ``{"one": 1, "power": v_k²}``).
    """

    def __init__(self, eigenvalues, weights):
        eta = np.asarray(eigenvalues, dtype=float)
        if eta.ndim != 1 or eta.size == 0 or np.any(eta <= 0) or np.any(np.diff(eta) > 0):
            raise ValueError("eigenvalues must be a non-empty, positive, descending 1-D array")
        self.scale = eta[0]
        self.eta = eta / self.scale  # in (0, 1]: keeps η^{±j} inside float range
        self.weights = {k: np.broadcast_to(np.asarray(w, float), eta.shape) for k, w in weights.items()}
        m = eta.size
        self.direct = m <= _DIRECT_LIMIT
        if self.direct:
            return
        nb = -(-m // _BLOCK)
        pad = nb * _BLOCK - m
        e = np.concatenate([self.eta, np.full(pad, self.eta[-1])]).reshape(nb, _BLOCK)
        valid = np.concatenate([np.ones(m), np.zeros(pad)]).reshape(nb, _BLOCK)
        self.block_max = e[:, 0]
        self.block_min = self.eta[np.minimum((np.arange(nb) + 1) * _BLOCK, m) - 1]
        wbs = {
            name: np.concatenate([w, np.zeros(pad)]).reshape(nb, _BLOCK) * valid
            for name, w in self.weights.items()
        }
        # log Σ_block w η^{±j} with the block's extreme factored out (ratios ≤ 1: no overflow),
        # accumulated across blocks in log space
        lmp = {name: np.empty((_J + 1, nb)) for name in wbs}  # tail moments
        lmm = {name: np.empty((_J + 1, nb)) for name in wbs}  # head moments
        top, bottom = np.log(e[:, :1]), np.log(e[:, -1:])
        rp, rm = e / e[:, :1], e[:, -1:] / e  # η/η_max(block), η_min(block)/η, both in (0, 1]
        pp, pm = np.ones_like(e), np.ones_like(e)
        with np.errstate(divide="ignore", under="ignore"):
            for j in range(_J + 1):  # a loop over series terms, not modes
                for name, wb in wbs.items():
                    lmp[name][j] = j * top[:, 0] + np.log(np.einsum("bk,bk->b", pp, wb))
                    lmm[name][j] = -j * bottom[:, 0] + np.log(np.einsum("bk,bk->b", pm, wb))
                pp *= rp
                pm *= rm
        # log_head[:, h] = log Σ_{b<h} moments; log_tail[:, t] = log Σ_{b≥t} moments
        ninf = np.full((_J + 1, 1), -np.inf)
        self.log_head = {n: np.concatenate([ninf, np.logaddexp.accumulate(lmm[n], axis=1)], axis=1) for n in wbs}
        self.log_tail = {
            n: np.concatenate([np.logaddexp.accumulate(lmp[n][:, ::-1], axis=1)[:, ::-1], ninf], axis=1)
            for n in wbs
        }
        self.nb = nb

    def __call__(self, kprime, terms):
        """Sums for each k' in ``kprime`` (any shape, > 0).

        Parameters
        ----------
        kprime : ndarray
            κ/P values, in the units of the eigenvalues.
        terms : list of (function name, weight name)
            Which sums to return, e.g. ``[("L", "one"), ("omL2", "power")]``.

        Returns
        -------
        list of ndarray, each shaped like ``kprime``.
        """
        kp = np.asarray(kprime, dtype=float)
        shape = kp.shape
        k = kp.ravel() / self.scale
        if self.direct:
            return self._direct(k, terms, shape)
        m = self.eta.size
        # head blocks: block_min > k/ε (a prefix); tail blocks: block_max < ε k (a suffix)
        h = np.searchsorted(-self.block_min, -k / _EPS, side="left")
        t = np.searchsorted(-self.block_max, -_EPS * k, side="right")
        t = np.maximum(t, h)
        lo, hi = h * _BLOCK, np.minimum(t * _BLOCK, m)
        lengths = np.maximum(hi - lo, 0)
        # explicit middle: flatten all (point, mode) pairs
        seg = np.repeat(np.arange(k.size), lengths)
        starts = np.cumsum(lengths) - lengths
        idx = np.arange(lengths.sum()) - np.repeat(starts, lengths) + np.repeat(lo, lengths)
        xm = self.eta[idx] / k[seg]
        logk = np.log(k)
        out = []
        for fname, wname in terms:
            g, a, c = FUNCTIONS[fname]
            # Σ_j c_j k^j M_j computed as exp(j log k + log M_j): no overflow of k^{±j}
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                lh = _j[:, None] * logk[None, :] + self.log_head[wname][:, h]
                lt = -_j[:, None] * logk[None, :] + self.log_tail[wname][:, t]
            head = np.einsum("j,js->s", c, np.exp(lh))
            tail = np.einsum("j,js->s", a, np.exp(lt))
            mid = np.bincount(seg, weights=self.weights[wname][idx] * g(xm), minlength=k.size)
            out.append((head + tail + mid).reshape(shape))
        return out

    def _direct(self, k, terms, shape):
        out = [np.zeros(k.size) for _ in terms]
        chunk = max(1, 2_000_000 // max(self.eta.size, 1))
        for s in range(0, k.size, chunk):
            x = self.eta[None, :] / k[s : s + chunk, None]
            for i, (fname, wname) in enumerate(terms):
                out[i][s : s + chunk] = FUNCTIONS[fname][0](x) @ self.weights[wname]
        return [o.reshape(shape) for o in out]
