"""Top-k eigenpairs by block Krylov.

`top_eigenpairs` is a block Lanczos method with full reorthogonalization on a matrix-free
operator (``matmat``): it touches the operator only through products with blocks of b
vectors (BLAS 3), where ARPACK (``scipy.sparse.linalg.eigsh``) multiplies one vector at a
time and is bound by memory bandwidth on a dense Gram.
"""

import numpy as np

__all__ = ["top_eigenpairs", "TopEig"]


class TopEig:
    """Result of `top_eigenpairs`.

    Attributes
    ----------
    values : ndarray (k,), descending
    vectors : ndarray (dim, k), orthonormal Ritz vectors
    residuals : ndarray (k,)
        ‖A x_i − θ_i x_i‖ / θ_1 for each Ritz pair.
    converged : bool
    subspace : int
        Dimension of the Krylov subspace used.
    products : int
        Number of operator-times-vector products (columns passed to ``matmat``).
    """

    def __init__(self, values, vectors, residuals, converged, subspace, products):
        self.values, self.vectors, self.residuals = values, vectors, residuals
        self.converged, self.subspace, self.products = converged, subspace, products


def _qr(w):
    """Thin QR of a tall block: Cholesky QR twice when well conditioned, else Householder.

    CholQR2 (Yamamoto, Nakatsukasa, Yanagisawa & Fukaya, ETNA 44, 2015) is two Gram products
    and two b×b triangles, all BLAS 3, and gives a Q orthonormal to round-off when
    cond(w) ≲ eps^(-1/2); R is the Householder triangle up to column signs. Householder QR of
    a tall n×b block is BLAS 2 in its panel and, with two threads on this 2-core machine kind,
    ran 3.5× slower than on one (8000×50: 53 ms vs 15 ms). numpy's LAPACK only, like the
    products around it: alternating with scipy's separate OpenBLAS leaves one library's
    threads spinning against the other's (docs/performance.md).
    """
    try:
        r1 = np.linalg.cholesky(w.T @ w).T
        d = np.abs(np.diag(r1))
        if d.min() > 1e-6 * d.max():
            q = w @ np.linalg.inv(r1)
            g = q.T @ q
            # a graded diagonal does not bound cond(w) (Kahan-type blocks pass it at cond 1e11):
            # accept only a first pass that is already nearly orthonormal, so the second pass
            # reaches round-off
            if np.linalg.norm(g - np.eye(g.shape[0])) < 0.1:
                r2 = np.linalg.cholesky(g).T
                return q @ np.linalg.inv(r2), r2 @ r1
    except np.linalg.LinAlgError:
        pass
    return np.linalg.qr(w)


def _orth(v):
    return _qr(v)[0]


def top_eigenpairs(matmat, dim, k, *, block=None, tol=1e-6, max_subspace=None, seed=0, progress=None, project=None):
    """Top ``k`` eigenpairs of a symmetric PSD operator by block Lanczos.

    Block Krylov space span{Ω, AΩ, A²Ω, …} (Ω random, ``block`` columns) with full
    reorthogonalization (twice), Rayleigh–Ritz on T = QᵀAQ. Since AQ_j − Σ_i Q_i(Q_iᵀAQ_j) =
    Q_{j+1}R_{j+1}, the residual of a Ritz pair (θ, Qs) is ‖R_{j+1} s_last‖ (s_last: the
    last block of s) — no extra products. Stops when the k leading residuals are below
    ``tol``·θ_1 or the subspace reaches ``max_subspace`` (then ``converged`` is False).

    Parameters
    ----------
    matmat : callable
        ``matmat(V)`` returns A V for V of shape (dim, b).
    dim : int
        Order of A.
    k : int
        Number of eigenpairs, 1 ≤ k < dim.
    block : int, optional
        Block size b [default: max(8, ⌈k/4⌉)].
    tol : float
        Residual tolerance relative to the largest eigenvalue.
    max_subspace : int, optional
        [default: min(dim, 6k + 4b)].
    project : ndarray (dim, c), optional
        Return the projections XᵀY of the Ritz vectors X on these columns as ``vectors``
        (k, c), without forming X (saves a dim × k array).
    """
    if not 1 <= k < dim:
        raise ValueError(f"k must be in [1, dim), got k={k}, dim={dim}")
    b = min(int(block or max(8, -(-k // 4))), dim)
    cap = int(max_subspace or 6 * k + 4 * b)
    cap = min(dim, max(cap, k + b))
    rng = np.random.default_rng(seed)
    basis = np.empty((dim, min(dim, cap + b)))  # Q = [Q_1 … Q_j], filled block by block
    t = np.zeros((basis.shape[1], basis.shape[1]))  # T = QᵀAQ, upper block triangle filled
    v = _orth(rng.standard_normal((dim, b)))
    m = products = 0
    converged = False
    theta = s = res = None
    while True:
        nb = v.shape[1]
        basis[:, m: m + nb] = v
        m += nb
        w = np.asarray(matmat(v), dtype=np.float64)
        if np.shares_memory(w, v):
            w = w.copy()
        products += nb
        q = basis[:, :m]
        h = q.T @ w
        w -= q @ h  # in place: one dim × b temporary at a time
        h2 = q.T @ w  # second pass: orthogonality to machine precision
        w -= q @ h2
        t[:m, m - nb: m] = h + h2
        if progress is not None:
            progress(nb)
        if m >= dim:  # the space is everything: Rayleigh–Ritz is exact
            theta, s = _ritz(t[:m, :m], k)
            res = np.zeros(k)
            converged = True
            break
        qn, r = _qr(w)
        # check after every block once the space can hold the k pairs: Rayleigh–Ritz on the
        # m×m T (m³/3 flops, ~20 ms at m = 600) is cheaper than the block of products that a
        # later check can waste (n = 8000, k = 200: converged at 600, found at 650 when checking
        # only every sixth of growth)
        if m >= min(k + b, cap):
            theta, s = _ritz(t[:m, :m], k)
            res = np.linalg.norm(r @ s[m - nb:, :k], axis=0) / max(abs(theta[0]), 1e-300)
            if np.all(res <= tol):
                converged = True
                break
        if m >= cap:  # not converged; the pairs and residuals of the check above stand
            break
        room = min(b, dim - m, basis.shape[1] - m)
        scale = max(np.max(np.abs(np.diag(t[:m, :m]))), 1e-300)
        good = np.flatnonzero(np.abs(np.diag(r)) > 1e-10 * scale)[:room]
        v = qn[:, good]
        if good.size < room:
            # (nearly) invariant directions: AQ_j has no new component there; their columns
            # of qn are round-off. Keep the real ones, continue with fresh random directions.
            fresh = rng.standard_normal((dim, room - good.size))
            for _ in range(2):
                fresh -= q @ (q.T @ fresh)
                fresh -= v @ (v.T @ fresh)
            v = np.hstack([v, _orth(fresh)])
    if project is not None:
        vectors = s[:, :k].T @ (basis[:, :m].T @ project)
    else:
        vectors = basis[:, :m] @ s[:, :k]
    return TopEig(theta[:k].copy(), vectors, np.asarray(res[:k]), converged, m, products)


def _ritz(t, k):
    """The k largest Ritz values (descending) and their vectors, from the upper block triangle ``t``.

    numpy's ``eigh`` (all m pairs, divide and conquer) rather than scipy's subset MRRR: as
    fast at these sizes, and the same BLAS as the block products (see `_qr`).
    """
    t = np.triu(t) + np.triu(t, 1).T
    k = min(k, t.shape[0])
    theta, s = np.linalg.eigh(t)
    return theta[::-1][:k], s[:, ::-1][:, :k]
