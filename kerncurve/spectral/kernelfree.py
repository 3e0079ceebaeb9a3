"""Spectra of built-in kernels without the n×n Gram: top-k by kernel blocks, and Nyström.

For n beyond one machine's memory for K (n = 60000 is a 29 GB Gram), two routes touch the
kernel only in row blocks computed on the fly, so memory is O(n·block), not O(n²):

* **top-k** (``top_eigen=K``): block Lanczos on the operator V ↦ (K/n)V, each product
  computed block by block as Σ_b K(X_b, X) V_b. Every pass over the kernel costs about
  2n²d flops, whatever the block width, so the Krylov blocks are wide (⌈K/2⌉ columns) and the
  passes few; their number is reported.
* **Nyström** (``landmarks=M``): M landmark inputs L (uniform, or k-means++ seeded), and
  K ≈ K_nL K_LL⁺ K_Ln = C Cᵀ with C = K_nL K_LL^{−1/2}; its spectrum is the feature route on
  C: the M×M moments CᵀC/n and Cᵀy/n accumulated over row blocks (Williams & Seeger, NIPS
  2001).

Both keep the rest of the spectrum as the power-law tail of `with_power_law_tail`, carrying
exactly the remaining trace tr(K)/n − Σ η (the diagonal of K is cheap) and the remaining
target power mean|y|² − Σ v².
"""

import contextlib

import numpy as np

from .._validation import check_choice, check_int
from ..errors import InputError
from ..io.sizes import DEFAULT_STREAM_MEMORY, format_size, parse_size
from ..kernels import checked_kernel, kernel_diag
from .spectrum import DROP_RTOL, spectrum_from_moments
from .topk import converged_count, spectrum_top, with_power_law_tail

__all__ = ["KernelOperator", "kernelfree_top", "nystrom", "landmark_indices", "LANDMARK_RULES"]

LANDMARK_RULES = ("uniform", "kmeans++")
_MIN_ROWS = 8


def _bar(progress, description, total):
    if progress is None:
        return contextlib.nullcontext(lambda n=1: None)
    return progress(description, total)


def block_rows(n, width, memory, what):
    """Rows per kernel block for a budget: a block of K (rows × width) and two temporaries."""
    per_row = 8 * (3 * width + 64)
    rows = int(memory // per_row)
    if rows < min(_MIN_ROWS, n):
        need = per_row * min(_MIN_ROWS, n)
        raise InputError(f"memory={format_size(memory)} is too small for one block of {what}: {min(_MIN_ROWS, n)} "
                         f"rows of {width} kernel entries need {format_size(need)}; raise memory= to at least "
                         f"{format_size(need)}", param="memory")
    return max(min(rows, n), 1)


class KernelOperator:
    """V ↦ (K/n) V for a built-in kernel on inputs X (n, d), by row blocks.

    Parameters
    ----------
    x : ndarray (n, d)
    name : str
        A built-in kernel (`kerncurve.kernels.KERNELS`).
    params : dict
        Its resolved hyper-parameters (`kerncurve.kernels.resolve_kernel`).
    memory : int
        Budget in bytes for one kernel block and its temporaries.
    client : dask.distributed.Client, optional
        Compute the row blocks as dask tasks on its workers.
    """

    def __init__(self, x, name, params, memory, client=None, weights=None, target=None):
        self.x, self.name, self.params, self.memory, self.client = x, name, params, memory, client
        self.n = x.shape[0]
        # sample weights w (the bootstrap's counts/n): V ↦ W^{1/2} K W^{1/2} V; none: K V / n
        self.sw = None if weights is None else np.sqrt(weights)
        self.rows = block_rows(self.n, self.n, memory, f"the {self.n}-sample kernel")
        self.passes = 0
        self._x_future = None
        # the first pass also gives tr A² (from the squared blocks) and A t for a target t
        self.target = None if target is None else np.asarray(target, dtype=np.float64).reshape(self.n, -1)
        self._moments = None
        self._s2 = np.full(self.n, 1.0 / self.n) if self.sw is None else self.sw**2  # A = S K S, S² = w or 1/n

    def moments(self):
        """(tr A², tᵀAt per channel), known after the first product (`with_power_law_tail`)."""
        if self._moments is None:
            self(np.zeros((self.n, 0)))
        return self._moments

    def trace(self):
        """Trace of the operator: Σ_i k(x_i, x_i)/n, or Σ_i w_i k(x_i, x_i)."""
        d = kernel_diag(self.name, self.x, self.params)
        return float(d.sum()) / self.n if self.sw is None else float(d @ self.sw**2)

    def __call__(self, v):
        self.passes += 1
        first = self._moments is None and self.target is not None
        b = v.shape[1]
        s2 = self._s2
        if first or self.sw is not None:  # one scaled copy (unweighted later passes: none, scaled after)
            vv = np.empty((self.n, b + (self.target.shape[1] if first else 0)))
            vv[:, :b] = v
            if first:
                vv[:, b:] = self.target
            v = vv
            v *= np.sqrt(s2)[:, None]
        sq = s2 if first else None
        if self.client is not None:
            out, frob = self._dask(v, sq)
        else:
            out, frob = np.empty((self.n, v.shape[1])), 0.0
            for i in range(0, self.n, self.rows):  # one iteration per row block of K
                out[i:i + self.rows], fb = _block_product(self.x, v, i, min(i + self.rows, self.n), self.name,
                                                          self.params, sq)
                frob += fb
        if first or self.sw is not None:
            out *= np.sqrt(s2)[:, None]
        else:
            out /= self.n
        if first:
            at = out[:, b:]
            self._moments = (float(frob), np.einsum("ic,ic->c", self.target, at))
            out = out[:, :b]
        return out

    def _dask(self, v, sq):
        if self._x_future is None:
            self._x_future = self.client.scatter(self.x, broadcast=True, hash=False)
        vf = self.client.scatter(v, broadcast=True, hash=False)
        starts = list(range(0, self.n, self.rows))
        futs = [self.client.submit(_block_product, self._x_future, vf, s, min(s + self.rows, self.n), self.name,
                                   self.params, sq, pure=False) for s in starts]
        parts = self.client.gather(futs)
        return np.vstack([p for p, _ in parts]), sum(f for _, f in parts)


def _block_product(x, v, start, stop, name, params, sq=None):
    """(K(X[start:stop], X) @ V, Σ_ij s_i² K_ij² s_j² over the block when ``sq`` = s² is given; also a dask task)."""
    blk = checked_kernel(name, x[start:stop], x, params)
    out = blk @ v
    if sq is None:
        return out, 0.0
    np.square(blk, out=blk)  # in place: no second block in memory
    return out, float(sq[start:stop] @ (blk @ sq))


def kernelfree_top(x, y, name, params, top, *, memory=None, seed=0, client=None, progress=None, source_dtype=np.float64,
                   where="kernel", weights=None, n=None):
    """The top ``top`` modes of a built-in kernel by block Lanczos on kernel blocks, plus the tail.

    ``weights`` (w_i ≥ 0, Σ w_i = 1): the spectrum of the weighted empirical measure Σ_i w_i δ(x_i)
    (a bootstrap resample's distinct samples); ``n`` is then the resample's size.
    """
    rows = x.shape[0]
    budget = parse_size(memory if memory is not None else DEFAULT_STREAM_MEMORY)
    sw = np.full(rows, 1 / np.sqrt(rows)) if weights is None else np.sqrt(weights)
    yw = y * sw[:, None]
    op = KernelOperator(x, name, params, budget, client, weights, target=yw)
    block = max(8, -(-top // 2))
    cap = min(rows, 3 * top + block)
    with _bar(progress, "kernel products (top-k)", cap) as advance:
        spec = spectrum_top(op, rows, top, coefficients=lambda th, uy: uy, project=yw, trace=op.trace(),
                            total_power=np.sum(yw**2, 0), n_modes=rows, n=rows if n is None else n,
                            route="kernel-free top-k", source_dtype=source_dtype, where=where, seed=seed, tol=1e-5,
                            block=block, max_subspace=cap, progress=advance, moments=op.moments)
    spec.notes.update(kernel_passes=op.passes, rows_per_block=op.rows, memory_budget=format_size(budget),
                      engine="dask" if client is not None else "numpy (kernel blocks)")
    return spec


def landmark_indices(x, m, rule="uniform", seed=0):
    """Indices of ``m`` landmark rows: uniform without replacement, or k-means++ (D² sampling)."""
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    if rule == "uniform":
        return np.sort(rng.choice(n, size=m, replace=False))
    sq = np.einsum("ij,ij->i", x, x)
    idx = np.empty(m, dtype=np.int64)
    idx[0] = rng.integers(n)
    d2 = np.maximum(sq - 2 * x @ x[idx[0]] + sq[idx[0]], 0.0)
    for j in range(1, m):  # each new centre updates the n distances once: O(n·m·d) in all
        total = d2.sum()
        if total <= 0:  # fewer distinct inputs than landmarks: fill with unused rows
            rest = np.setdiff1d(np.arange(n), idx[:j])
            idx[j:] = rng.choice(rest, size=m - j, replace=False)
            break
        idx[j] = min(int(np.searchsorted(np.cumsum(d2), rng.random() * total, side="right")), n - 1)
        d2 = np.minimum(d2, np.maximum(sq - 2 * x @ x[idx[j]] + sq[idx[j]], 0.0))
    return np.sort(idx)


def nystrom(x, y, name, params, m, *, rule="uniform", memory=None, seed=0, client=None, progress=None,
            source_dtype=np.float64, where="kernel", weights=None, n=None, refine=True):
    """The Nyström spectrum with ``m`` landmarks (module docstring), plus the power-law tail.

    ``refine`` (default): the leading ⌈m/4⌉ Nyström eigenvectors are refined by one exact pass
    over the kernel (`_ritz_refine`), which also gives the tail's moments; without it the m
    Nyström modes are used as they are (O(n·m·d) time, eigenvalues biased low) with the fitted
    tail. ``weights`` and ``n``: a weighted empirical measure, as in `kernelfree_top`.
    """
    n_out = x.shape[0] if n is None else n
    n = x.shape[0]
    wt = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=float)
    m = check_int(m, "landmarks", minimum=1)
    if m >= n:
        raise InputError(f"landmarks={m} must be below n = {n} (with every sample a landmark, drop landmarks=)",
                         param="landmarks")
    check_choice(rule, "landmark_rule", LANDMARK_RULES)
    budget = parse_size(memory if memory is not None else DEFAULT_STREAM_MEMORY)
    if 8 * 4 * m * m > budget:
        raise InputError(f"landmarks={m} needs {format_size(32 * m * m)} for the {m}×{m} landmark kernel and its "
                         f"eigendecomposition, over memory={format_size(budget)}; lower landmarks= or raise memory=",
                         param="landmarks")
    idx = landmark_indices(x, m, rule, seed)
    lm = x[idx]
    s, w = np.linalg.eigh(checked_kernel(name, lm, lm, params))
    keep = s > 1e-12 * s[-1]
    t = w[:, keep] / np.sqrt(s[keep])  # K_LL^{-1/2} on its range (M × r)
    r = t.shape[1]
    rows = block_rows(n, m + r, budget - 8 * 4 * m * m, f"{m} landmarks")
    g = np.zeros((r, r))
    h = np.zeros((r, y.shape[1]))
    with _bar(progress, "Nyström blocks", n) as advance:
        if client is not None:
            tf, lf = client.scatter(t, broadcast=True, hash=False), client.scatter(lm, broadcast=True, hash=False)
            xf = client.scatter(x, broadcast=True, hash=False)  # unhashed: a shared key dies with other futures
            futs = [client.submit(_nystrom_block, xf, y[i:i + rows], lf, tf, i, min(i + rows, n), name, params,
                                  wt[i:i + rows], pure=False) for i in range(0, n, rows)]
            for gb, hb in client.gather(futs):
                g += gb
                h += hb
            advance(n)
        else:
            for i in range(0, n, rows):  # one iteration per row block of K_nL
                gb, hb = _nystrom_block(x, y[i:i + rows], lm, t, i, min(i + rows, n), name, params, wt[i:i + rows])
                g += gb
                h += hb
                advance(min(rows, n - i))
    total = wt @ y**2
    trace = float(kernel_diag(name, x, params) @ wt)
    notes = {"landmarks": m, "landmark_rule": rule, "rows_per_block": rows, "memory_budget": format_size(budget)}
    if refine:
        lam, vec = np.linalg.eigh(g)
        lam, vec = lam[::-1], vec[:, ::-1]
        kept = int(np.sum(lam > DROP_RTOL * lam[0]))
        r_ref = min(max(1, -(-m // 4)), kept)
        eta_top, coeffs_top, moments, passes = _ritz_refine(x, y, lm, t, vec[:, :r_ref], lam[:r_ref], name, params,
                                                             wt, budget, client, progress)
        notes.update(nystrom_modes=kept, refined_modes=r_ref, converged_modes=eta_top.size, kernel_passes=passes)
    else:
        approx = spectrum_from_moments(g, h, float(total.sum()), n_out, source_dtype, where, overwrite=True)
        eta_top, coeffs_top, moments = approx.eigenvalues, approx.coefficients, None
    eta, coeffs, info = with_power_law_tail(eta_top, coeffs_top, trace - float(eta_top.sum()), total, n_out, moments)
    from .spectrum import _finish

    spec = _finish(eta, coeffs, float(total.sum()), n_out, "nystrom", source_dtype, where, exact_modes=eta_top.size,
                   notes={**notes, **info, "engine": "dask" if client is not None else "numpy (kernel blocks)"})
    return spec


def _ritz_refine(x, y, lm, t, vec, lam, name, params, wt, budget, client, progress):
    """Rayleigh–Ritz of the full kernel on the leading Nyström eigenvectors: one exact pass.

    The Nyström eigenvectors on the samples, U = W^{1/2} C V Λ^{−1/2} (orthonormal, since
    Cᵀ W C = V Λ Vᵀ), span a good approximation of the leading eigenspace, but the Nyström
    eigenvalues are biased low (K − K_nL K_LL⁻¹ K_Ln is positive semi-definite). One pass of
    the exact operator A = W^{1/2} K W^{1/2} over U gives H = UᵀAU, whose eigenvalues (Ritz
    values) lie between the Nyström ones and the exact ones (Cauchy interlacing); the same pass
    gives tr A² and the target's Σ η v² for the tail (`with_power_law_tail`). Memory: three
    n × r arrays; time: one pass over the n × n kernel (computed in row blocks, never stored).

    Returns (Ritz values, target coefficients of the Ritz vectors, moments, kernel passes).
    """
    n, r = x.shape[0], lam.size
    sw = np.sqrt(wt)
    proj = vec / np.sqrt(lam)  # C_b V Λ^{-1/2} = K(X_b, L) · (T V Λ^{-1/2})
    tproj = t @ proj
    rows = block_rows(n, lm.shape[0] + r, budget, f"{lm.shape[0]} landmarks")
    if client is not None:
        xf = client.scatter(x, broadcast=True, hash=False)
        lf, pf = client.scatter(lm, broadcast=True, hash=False), client.scatter(tproj, broadcast=True, hash=False)
        futs = [client.submit(_landmark_block, xf, lf, pf, i, min(i + rows, n), name, params, pure=False)
                for i in range(0, n, rows)]
        u = np.vstack(client.gather(futs))
    else:
        u = np.empty((n, r))
        for i in range(0, n, rows):  # O(n·M·d): cheap next to the pass below
            u[i:i + rows] = _landmark_block(x, lm, tproj, i, min(i + rows, n), name, params)
    u *= sw[:, None]
    yw = y * sw[:, None]
    op = KernelOperator(x, name, params, budget, client, wt, target=yw)
    with _bar(progress, "Nyström refinement (one kernel pass)", 1) as advance:
        au = op(u)
        advance(1)
    hmat = u.T @ au
    g2 = au.T @ au
    del au
    theta, q = np.linalg.eigh((hmat + hmat.T) / 2)
    theta, q = theta[::-1], q[:, ::-1]
    coeffs = q.T @ (u.T @ yw)
    # Ritz residuals ‖A x_k − θ_k x_k‖² = q_kᵀ (AU)ᵀ(AU) q_k − θ_k²: pairs whose residual exceeds
    # RITZ_RTOL of θ_k mix in lower modes (and their target power); they are left to the tail
    res2 = np.einsum("ik,ij,jk->k", q, g2, q) - theta**2
    rel = np.sqrt(np.maximum(res2, 0.0)) / np.maximum(np.abs(theta), 1e-300)
    rel[theta <= DROP_RTOL * max(theta[0], 1e-300)] = np.inf  # round-off Ritz values: never kept
    kept = converged_count(rel)
    return theta[:kept], coeffs[:kept], op.moments(), op.passes


def _landmark_block(x, lm, right, start, stop, name, params):
    """K(X[start:stop], L) @ ``right`` (also a dask task)."""
    return checked_kernel(name, x[start:stop], lm, params) @ right


def _nystrom_block(x, yb, lm, t, start, stop, name, params, wb):
    """(C_bᵀW_bC_b, C_bᵀW_by_b) of one row block, C_b = K(X_b, L) K_LL^{-1/2} (also a dask task)."""
    c = checked_kernel(name, x[start:stop], lm, params) @ t
    cw = c * wb[:, None]
    return cw.T @ c, cw.T @ yb
