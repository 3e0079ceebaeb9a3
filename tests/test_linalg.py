"""kerncurve.linalg: the eigenvalues-only route (tridiagonal → bidiagonal D&C → Sᵀz) against
LAPACK's eigendecomposition with eigenvectors, on the structures that stress it: splits,
degenerate and rank-deficient spectra, leaf-size boundaries, several target channels."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerncurve.linalg import dense, krylov


def reference(a, y):
    w, u = np.linalg.eigh(a)
    return w[::-1], (u.T @ y)[::-1]


def assert_same_spectrum(a, y, eta, proj, rtol=1e-10):
    """Eigenvalues to round-off of ‖A‖, and what the theory reads from the projections.

    Within a cluster of (nearly) equal eigenvalues the eigenvectors are arbitrary, so the
    projections are compared through quantities that are invariant there: the resolvent
    sums Σ_k p_kc p_kc' / (η_k + λ) for λ across the spectrum (they fix the learning curve
    at every ridge), Parseval, and mode by mode where the leading gaps are wide.
    """
    w, p = reference(a, y)
    top = max(abs(w[0]), abs(w[-1]))
    np.testing.assert_allclose(eta, w, rtol=0, atol=50 * a.shape[0] * np.finfo(float).eps * top)
    np.testing.assert_allclose(proj.T @ proj, y.T @ y, rtol=1e-12, atol=1e-12 * np.sum(y**2))
    for lam in top * np.array([1e-6, 1e-3, 1e-1, 1.0]):
        got = (proj / (np.abs(eta) + lam)[:, None]).T @ proj
        ref = (p / (np.abs(w) + lam)[:, None]).T @ p
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * np.abs(ref).max())
    gaps = np.abs(np.diff(w)) > 1e-3 * top
    for k in range(min(5, w.size - 1)):
        if gaps[k] and (k == 0 or gaps[k - 1]):
            np.testing.assert_allclose(proj[k] ** 2, p[k] ** 2, rtol=1e-8, atol=1e-12 * np.sum(y**2))


def psd(n, rank=None, decay=1.0, seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    ev = np.arange(1, n + 1, dtype=float) ** -decay
    if rank is not None:
        ev[rank:] = 0.0
    return (q * ev) @ q.T


@pytest.mark.parametrize("n", [2, 3, 25, 26, 27, 51, 52, 53, 104, 105, 208, 300])
def test_sizes_around_the_leaf_and_tree_depth(n):
    """Sizes at dbdsqr/dlasda's leaf (25) and where the tree gains a level (26·2^j)."""
    a = psd(n, decay=1.5, seed=n)
    y = np.random.default_rng(n).standard_normal((n, 2))
    eta, proj = dense.eigh_project(a, y)
    assert_same_spectrum(a, y, eta, proj)


def test_the_divide_and_conquer_path_is_the_one_taken(monkeypatch):
    calls = []
    real = dense._lasd_left
    monkeypatch.setattr(dense, "_lasd_left", lambda *a: calls.append(a[0].size) or real(*a))
    a = psd(200, seed=1)
    dense.eigh_project(a, np.ones((200, 1)))
    assert calls == [200]


def test_block_diagonal_gram_splits_into_independent_blocks():
    """Disconnected clusters: T (and B) split at exact zero couplings; singletons too."""
    blocks = [psd(m, seed=m) * s for m, s in [(60, 1.0), (1, 0.3), (30, 2.0), (2, 0.7), (1, 0.05), (80, 0.5)]]
    n = sum(b.shape[0] for b in blocks)
    a = np.zeros((n, n))
    i = 0
    for b in blocks:
        a[i:i + b.shape[0], i:i + b.shape[0]] = b
        i += b.shape[0]
    y = np.random.default_rng(2).standard_normal((n, 3))
    eta, proj = dense.eigh_project(a, y)
    assert_same_spectrum(a, y, eta, proj)
    # a diagonal matrix: every block is 1×1
    dg = np.diag(np.linspace(2.0, 0.0, 40))
    eta, proj = dense.eigh_project(dg, y[:40])
    np.testing.assert_allclose(eta, np.linspace(2.0, 0.0, 40), atol=1e-14)
    np.testing.assert_allclose(proj, y[:40], atol=1e-14)


def test_degenerate_and_rank_deficient_spectra():
    """Massive deflation: the identity, a rank-5 Gram, repeated eigenvalues."""
    rng = np.random.default_rng(3)
    y = rng.standard_normal((150, 2))
    for a in (np.eye(150), 3.0 * np.eye(150) + 1.0, psd(150, rank=5, seed=4)):
        eta, proj = dense.eigh_project(a, y)
        assert_same_spectrum(a, y, eta, proj)
    ev = np.repeat([4.0, 1.0, 0.25, 0.0], [10, 40, 50, 50])
    q, _ = np.linalg.qr(rng.standard_normal((150, 150)))
    a = (q * ev) @ q.T
    eta, proj = dense.eigh_project(a, y)
    assert_same_spectrum(a, y, eta, proj)
    # the power in each eigenspace, exactly as the eigenvector route gives it
    for lo, hi in [(0, 10), (10, 50), (50, 100), (100, 150)]:
        qs = q[:, np.flatnonzero(ev == ev[lo])]
        np.testing.assert_allclose(np.sum(proj[lo:hi] ** 2, 0), np.sum((qs.T @ y) ** 2, 0), rtol=1e-10)


def test_indefinite_matrix_falls_back_to_mrrr(monkeypatch):
    """T + sI not positive definite (a genuinely negative eigenvalue): the MRRR route."""
    a = psd(120, seed=5)
    a -= 0.3 * np.outer(np.ones(120), np.ones(120)) / 120
    y = np.random.default_rng(5).standard_normal((120, 1))
    assert dense._dc_project(*dense.tridiagonalize(np.array(a, order="F"))[1:3], np.ones((120, 1))) is None
    eta, proj = dense.eigh_project(a, y)
    assert eta[-1] < -0.1
    assert_same_spectrum(a, y, eta, proj)


def test_dbdsqr_and_dlasda_agree_on_one_bidiagonal():
    rng = np.random.default_rng(6)
    bd = rng.uniform(0.1, 1.0, 90)
    be = rng.uniform(-0.5, 0.5, 89)
    z = rng.standard_normal((90, 2))
    s1, p1 = dense._bdsqr_left(bd, be, z)
    s2, p2 = dense._lasd_left(bd, be, z)
    o1, o2 = np.argsort(-s1), np.argsort(-np.abs(s2))
    np.testing.assert_allclose(np.abs(s2[o2]), s1[o1], rtol=1e-12)
    np.testing.assert_allclose(np.abs(p2[o2]), np.abs(p1[o1]), rtol=1e-8, atol=1e-12)
    # and both are B's left singular vectors applied to z
    b = np.diag(bd) + np.diag(be, 1)
    u, s, _ = np.linalg.svd(b)
    np.testing.assert_allclose(np.abs(p1[o1]), np.abs(u.T @ z), rtol=1e-8, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 140), rank=st.integers(1, 140), decay=st.floats(0.0, 4.0), c=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1))
def test_property_matches_eigh_on_random_psd(n, rank, decay, c, seed):
    a = psd(n, rank=min(rank, n), decay=decay, seed=seed)
    y = np.random.default_rng(seed + 1).standard_normal((n, c))
    eta, proj = dense.eigh_project(a, y)
    assert_same_spectrum(a, y, eta, proj, rtol=1e-9)


# ---------------------------------------------------------------------------- block Krylov pieces

def test_cholesky_qr2_is_a_thin_qr_and_falls_back_when_ill_conditioned(monkeypatch):
    householder = []
    real = np.linalg.qr
    monkeypatch.setattr(np.linalg, "qr", lambda a, *args: householder.append(a.shape) or real(a, *args))
    rng = np.random.default_rng(7)
    w = rng.standard_normal((3000, 40)) * np.geomspace(1, 1e-4, 40)  # cond 1e4: CholQR2's range
    q, r = krylov._qr(w)
    assert householder == []
    np.testing.assert_allclose(q.T @ q, np.eye(40), atol=1e-13)
    np.testing.assert_allclose(q @ r, w, atol=1e-13 * np.abs(w).max())
    assert np.allclose(r, np.triu(r))
    _, rh = real(w)  # the Householder triangle, up to the signs of its rows
    np.testing.assert_allclose(np.abs(r), np.abs(rh), rtol=1e-9, atol=1e-13)
    # a numerically rank-deficient block (the Krylov space going invariant) takes Householder,
    # whose triangle reports the lost directions on its diagonal
    low = rng.standard_normal((3000, 5)) @ rng.standard_normal((5, 40))
    q, r = krylov._qr(low)
    assert householder == [(3000, 40)]
    np.testing.assert_allclose(q @ r, low, atol=1e-12 * np.abs(low).max())
    assert np.sum(np.abs(np.diag(r)) > 1e-10 * np.abs(np.diag(r)).max()) == 5


def test_block_krylov_through_an_invariant_subspace_and_wide_blocks():
    """Rank-8 operator with k = 20: CholQR2 must hand the rank-deficient block to Householder."""
    rng = np.random.default_rng(8)
    q, _ = np.linalg.qr(rng.standard_normal((600, 600)))
    lam = np.r_[np.geomspace(1.0, 1e-3, 8), np.zeros(592)]
    a = (q * lam) @ q.T
    r = krylov.top_eigenpairs(lambda v: a @ v, 600, 20, block=16)
    np.testing.assert_allclose(r.values[:8], lam[:8], rtol=1e-9)
    assert np.all(np.abs(r.values[8:]) < 1e-12)
    np.testing.assert_allclose(r.vectors.T @ r.vectors, np.eye(20), atol=1e-10)


def test_edge_shapes_of_the_tridiagonal_route(capfd):
    """n = 1 (direct callers; eigh_project guards it itself) and no target columns."""
    eta, proj = dense.tridiagonal_eig_project(np.array([2.0]), np.zeros(0), np.ones((1, 1)))
    assert eta.tolist() == [2.0] and proj.tolist() == [[1.0]]
    a = psd(60, seed=9)
    eta, proj = dense.eigh_project(a, np.zeros((60, 0)))
    assert proj.shape == (60, 0)
    np.testing.assert_allclose(eta, np.linalg.eigvalsh(a)[::-1], atol=1e-13)
    assert "illegal value" not in capfd.readouterr().err  # LAPACK's xerbla: dlalsa with NRHS = 0


def test_cholesky_qr2_refuses_a_kahan_block(monkeypatch):
    """Kahan's matrix: diag(R) only mildly graded, cond ~ 1e11: CholQR2 must not take it."""
    m = 30
    s, c = np.sin(0.8), np.cos(0.8)
    kahan = np.diag(s ** np.arange(m)) @ (np.eye(m) - c * np.triu(np.ones((m, m)), 1))
    q0, _ = np.linalg.qr(np.random.default_rng(10).standard_normal((2000, m)))
    w = q0 @ kahan
    q, r = krylov._qr(w)
    np.testing.assert_allclose(q.T @ q, np.eye(m), atol=1e-14)
    np.testing.assert_allclose(q @ r, w, atol=1e-14)
