"""The spectrum at the speed limit: the eigenvalues-only Gram route, streamed
features, top-k with a modeled tail, and the dask engine — each against the plain route."""

import h5py
import numpy as np
import pytest

from kerncurve.linalg import dense, krylov
from kerncurve.io import stream
from kerncurve.errors import InputError
from kerncurve.io import Problem, load_problem
from kerncurve.spectral import (
    compute_spectrum,
    spectrum_from_features,
    spectrum_from_gram,
    with_power_law_tail,
)
from kerncurve.io import write_spectrum
from kerncurve.theory.ridge import learning_curve

from conftest import gaussian_features, write_h5


def rbf_gram(n, d=5, seed=0, width=1.0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    sq = np.sum(x**2, 1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0)
    k = np.exp(-d2 / (2 * width**2 * d))
    y = np.stack([np.sign(x[:, 0]) + 0.3 * x[:, 1], np.cos(2 * x[:, 2])], 1)
    return k, y


def laplace_gram(n, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    sq = np.sum(x**2, 1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0))
    k = np.exp(-dist / np.sqrt(d))
    return k, (np.sign(x[:, 0]) + x[:, 1] ** 2)[:, None]


def curve(spec, p, ridge=0.0, noise=0.0):
    return learning_curve(spec.eigenvalues, spec.target_power, spec.residual_power, p, ridge, noise).eg


# ---------------------------------------------------------------------------- Gram route

@pytest.mark.parametrize("make", [rbf_gram, laplace_gram])
def test_tridiagonal_route_matches_eigh_learning_curves(make):
    k, y = make(500)
    a = spectrum_from_gram(k, y)
    b = spectrum_from_gram(k, y, method="eigh")
    np.testing.assert_allclose(a.eigenvalues[:20], b.eigenvalues[:20], rtol=1e-11)
    m = min(a.rank, b.rank)
    np.testing.assert_allclose(a.eigenvalues[:m], b.eigenvalues[:m], atol=1e-13 * b.eigenvalues[0])
    assert a.total_power == pytest.approx(b.total_power, rel=1e-13)
    p = np.array([5, 10, 20, 50, 100, 200, 400])
    for ridge, noise in [(0.0, 0.0), (1e-3, 0.1), (0.1, 0.0)]:
        np.testing.assert_allclose(curve(a, p, ridge, noise), curve(b, p, ridge, noise), rtol=1e-9)
    # well separated leading modes: the same target power mode by mode
    np.testing.assert_allclose(a.target_power[:10], b.target_power[:10], rtol=1e-8, atol=1e-12)


def test_gram_route_does_not_modify_input_and_matches_old_normalization():
    k, y = rbf_gram(200, seed=3)
    k0 = k.copy()
    s = spectrum_from_gram(k, y)
    np.testing.assert_array_equal(k, k0)
    ref = np.sort(np.linalg.eigvalsh(k / 200))[::-1][: s.rank]
    np.testing.assert_allclose(s.eigenvalues, ref, rtol=1e-9, atol=1e-14)
    # Parseval: the power in the modes plus the unlearnable rest is E|y|²
    assert s.target_power.sum() + s.residual_power == pytest.approx(np.mean(np.sum(y**2, 1)), rel=1e-12)


def test_fallback_paths_agree(monkeypatch):
    """Without LAPACK's dormtr/dbdsqr pointers: numpy compact-WY Qᵀy and MRRR (stemr)."""
    k, y = laplace_gram(300, seed=4)
    fast = spectrum_from_gram(k, y)
    c, d, e, tau = dense.tridiagonalize(np.array(k, order="F"))
    np.testing.assert_allclose(dense._ormtr_numpy(c, tau, y), dense._ormtr_lapack(c, tau, y), atol=1e-12)
    monkeypatch.setattr(dense, "_cython_lapack", lambda name, nargs: None)
    slow = spectrum_from_gram(k, y)
    np.testing.assert_allclose(slow.eigenvalues, fast.eigenvalues, rtol=1e-10, atol=1e-14)
    p = np.array([5, 20, 80])
    np.testing.assert_allclose(curve(slow, p, 1e-4, 0.1), curve(fast, p, 1e-4, 0.1), rtol=1e-9)


def test_eigh_project_small_and_degenerate():
    for n in (1, 2, 3):
        a = np.eye(n) * 2 + 0.1
        y = np.arange(1.0, n + 1)[:, None]
        eta, proj = dense.eigh_project(a, y)
        w, u = np.linalg.eigh(a)
        np.testing.assert_allclose(eta, w[::-1], rtol=1e-13)
        np.testing.assert_allclose(np.sum(proj**2), np.sum(y**2), rtol=1e-13)
    # rank-deficient PSD matrix (zero eigenvalues): projections onto the null space keep their power
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 4))
    y = rng.standard_normal((60, 1))
    eta, proj = dense.eigh_project(x @ x.T, y)
    assert np.sum(eta > 1e-9 * eta[0]) == 4
    np.testing.assert_allclose(np.sum(proj**2), np.sum(y**2), rtol=1e-12)
    q, _ = np.linalg.qr(x)
    np.testing.assert_allclose(np.sum(proj[:4] ** 2), np.sum((q.T @ y) ** 2), rtol=1e-10)


# ---------------------------------------------------------------------------- streaming

def _feature_file(tmp_path, n=3000, d=24, c=2, dtype=np.float32, chunks=None, seed=0, name="f.h5"):
    x, y = gaussian_features(n, d, seed=seed)
    x = x.astype(dtype)
    y2 = np.stack([y, np.sin(y)], 1)[:, :c]
    path = str(tmp_path / name)
    with h5py.File(path, "w") as f:
        f.create_dataset("features", data=x, chunks=chunks, compression="gzip" if chunks else None)
        f["targets"] = y2 if c > 1 else y2[:, 0]
    return path, x.astype(np.float64), y2


@pytest.mark.parametrize("dtype,chunks,c", [(np.float32, None, 2), (np.float64, (100, 24), 1), (np.float32, (64, 8), 2)])
def test_streamed_features_match_in_memory(tmp_path, dtype, chunks, c):
    path, x, y = _feature_file(tmp_path, dtype=dtype, chunks=chunks, c=c)
    prob = load_problem(path)
    assert not prob.features_loaded
    s = compute_spectrum(prob, memory="40K")  # many blocks
    assert not prob.features_loaded, "streaming must not load the features"
    assert s.notes["rows_per_block"] < 3000
    if chunks:
        assert s.notes["rows_per_block"] % chunks[0] == 0
    ref = spectrum_from_features(x, y if c > 1 else y[:, :1])
    np.testing.assert_allclose(s.eigenvalues, ref.eigenvalues, rtol=1e-12)
    np.testing.assert_allclose(s.target_power, ref.target_power, rtol=1e-9, atol=1e-14)
    assert s.residual_power == pytest.approx(ref.residual_power, rel=1e-9, abs=1e-14)


def test_block_size_is_independent_of_n():
    small = stream.plan_rows(100_000, 256, 1, 4, 8, 512 << 20)
    big = stream.plan_rows(2_000_000, 256, 1, 4, 8, 512 << 20)
    assert small == big == (32 << 20) // (8 * 256)
    assert stream.plan_rows(2_000_000, 256, 1, 4, 8, 8 << 20) < big  # a tighter budget, smaller blocks
    with pytest.raises(InputError, match="too small for one row block"):
        stream.plan_rows(1000, 256, 1, 4, 8, 100 << 10)


@pytest.mark.parametrize("text,value", [("512M", 512 << 20), ("2G", 2 << 30), ("1.5g", int(1.5 * (1 << 30))),
                                        ("200MB", 200 << 20), ("64KiB", 64 << 10), ("1000000", 1000000)])
def test_parse_size(text, value):
    assert stream.parse_size(text) == value


@pytest.mark.parametrize("text", ["", "abc", "12X", "-5M", "0"])
def test_parse_size_refuses(text):
    with pytest.raises(InputError, match="--memory"):
        stream.parse_size(text)


def test_streaming_finds_nan_in_features_and_targets(tmp_path):
    x, y = gaussian_features(500, 10)
    bad = x.copy()
    bad[321, 4] = np.nan
    path = write_h5(tmp_path / "nan.h5", features=bad, targets=y)
    with pytest.raises(InputError, match=r"NaN or inf \(first at index \(321, 4\)\)"):
        compute_spectrum(load_problem(path), memory="20K")
    yb = y.copy()
    yb[77] = np.inf
    path = write_h5(tmp_path / "inf.h5", features=x, targets=yb)
    with pytest.raises(InputError, match=r"targets.*NaN or inf \(first at index \(77,\)\)"):
        compute_spectrum(load_problem(path), memory="20K")


def test_wide_features_and_loaded_features_use_memory(tmp_path):
    x, y = gaussian_features(40, 60)
    path = write_h5(tmp_path / "wide.h5", features=x, targets=y)
    s = compute_spectrum(load_problem(path))
    assert s.route == "gram" and s.rank == 40
    prob = Problem("mem", features=x[:, :10], targets=y[:, None])
    assert compute_spectrum(prob).route == "features"


# ---------------------------------------------------------------------------- top-k

def test_block_krylov_top_eigenpairs():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((400, 400)))
    lam = np.arange(1, 401.0) ** -1.2
    a = (q * lam) @ q.T
    r = krylov.top_eigenpairs(lambda v: a @ v, 400, 30, tol=1e-10)
    assert r.converged
    np.testing.assert_allclose(r.values, lam[:30], rtol=1e-9)
    overlap = np.abs(np.sum(r.vectors * q[:, :30], 0))
    np.testing.assert_allclose(overlap, 1, atol=1e-6)
    # low rank (the Krylov space becomes invariant before k + block vectors)
    low = (q[:, :5] * lam[:5]) @ q[:, :5].T
    r = krylov.top_eigenpairs(lambda v: low @ v, 400, 12)
    np.testing.assert_allclose(r.values[:5], lam[:5], rtol=1e-9)
    assert np.all(np.abs(r.values[5:]) < 1e-12)


def test_power_law_tail_conserves_trace_and_power():
    kall = np.arange(1, 501.0)
    k = kall[:50]
    rest = np.sum(kall[50:] ** -1.5)
    power = np.sum(kall**-2.0)
    eta, coeffs, info = with_power_law_tail(k**-1.5, np.sqrt(k**-2.0)[:, None], rest, np.array([power]), 500)
    assert eta.size == 500 and coeffs.shape == (500, 1)
    assert eta[50:].sum() == pytest.approx(rest, rel=1e-12)
    assert np.sum(coeffs**2) == pytest.approx(power, rel=1e-12)
    assert info["remaining_power"] == pytest.approx(np.sum(kall[50:] ** -2.0), rel=1e-12)
    # an exact power law is continued as itself
    assert info["tail_eigenvalue_exponent"] == pytest.approx(1.5, rel=1e-6)
    np.testing.assert_allclose(eta[50:], kall[50:] ** -1.5, rtol=1e-6)
    assert info["tail_target_exponent"] == pytest.approx(2.0, rel=0.1)
    # more remaining trace than a decaying continuation can carry: flattened, still monotone
    eta, _, info = with_power_law_tail(k**-1.5, np.sqrt(k**-2.0)[:, None], 1.0, np.array([power]), 500)
    assert eta[50:].sum() == pytest.approx(1.0, rel=1e-12)
    assert eta[50] <= eta[49] * (1 + 1e-9) and np.all(np.diff(eta[50:]) <= 0)
    assert info["tail_eigenvalue_exponent"] < 1.5



def test_power_law_tail_finds_a_flat_floor_of_target_power():
    # a smooth target (v_k² = k^-2) plus power spread evenly over all modes (label noise):
    # the remaining power R(k) is a power law plus a floor, and the tail must keep the floor
    n, top = 2000, 100
    kall = np.arange(1, n + 1.0)
    eta, v2 = kall**-1.5, kall**-2.0 + 2e-4
    e, c, info = with_power_law_tail(eta[:top], np.sqrt(v2[:top])[:, None], eta[top:].sum(), np.array([v2.sum()]), n)
    assert info["tail_target_exponent"] == pytest.approx(2.0, abs=0.05)
    assert info["tail_target_floor"] == pytest.approx(2e-4 * (n - top) / v2[top:].sum(), abs=0.01)
    tail = c[top:, 0] ** 2
    assert tail.sum() == pytest.approx(v2[top:].sum(), rel=1e-12)
    np.testing.assert_allclose(tail[[top - 1, n // 2 - top]], v2[[2 * top - 1, n // 2]], rtol=0.01)
    # so the curve at P = K is right; a pure power law on the remaining power put the floor's
    # power on the first tail modes and made E_g 7 % low at P = K here
    p = np.array([25, 50, 100])
    exact = learning_curve(eta, v2, 0.0, p, 0.0, 0.0).eg
    np.testing.assert_allclose(learning_curve(e, c[:, 0] ** 2, 0.0, p, 0.0, 0.0).eg, exact, rtol=1e-3)

def test_moment_tail_continues_an_exact_power_law_with_a_floor():
    # η_k = k^-1.5 and v_k² = 3e-4 + 0.5 η_k over all modes: the tail family holds the truth, and
    # its two eigenvalue moments and two target moments pin it down exactly
    n, top = 3000, 200
    k = np.arange(1, n + 1.0)
    eta, v2 = k**-1.5, 3e-4 + 0.5 * k**-1.5
    moments = (np.sum(eta**2), np.array([np.sum(eta * v2)]))
    e, c, info = with_power_law_tail(eta[:top], np.sqrt(v2[:top])[:, None], eta[top:].sum(), np.array([v2.sum()]), n,
                                     moments)
    assert info["tail_model"] == "moments"
    assert info["tail_eigenvalue_exponent"] == pytest.approx(1.5, rel=1e-8)
    np.testing.assert_allclose(e, eta, rtol=1e-8)
    np.testing.assert_allclose(c[:, 0] ** 2, v2, rtol=1e-7)
    assert info["tail_target_floor"] == pytest.approx(3e-4 * (n - top) / v2[top:].sum(), rel=1e-7)


def test_moment_tail_conserves_its_moments_and_sees_a_bend():
    # a spectrum that steepens past K (local exponent 1 → 2.5): a fit over [K/2, K] continues
    # the shallow part; the moments know the whole tail
    n, top = 4000, 200
    k = np.arange(1, n + 1.0)
    eta = np.where(k <= 300, k**-1.0, 300**1.5 * k**-2.5)
    v2 = 1e-4 + k**-1.8
    tot, s1, s2 = v2.sum(), np.sum(eta * v2), np.sum(eta**2)
    args = (eta[:top], np.sqrt(v2[:top])[:, None], eta[top:].sum(), np.array([tot]), n)
    e, c, info = with_power_law_tail(*args, (s2, np.array([s1])))
    w = c[:, 0] ** 2
    for got, want in ((e.sum(), eta.sum()), (np.sum(e**2), s2), (w.sum(), tot), (np.sum(e * w), s1)):
        assert got == pytest.approx(want, rel=1e-9)
    p = np.array([50.0, 100, 200])
    exact = learning_curve(eta, v2, 0.0, p, 0.0, 0.0).eg
    order = np.argsort(-e, kind="stable")
    moment = learning_curve(e[order], w[order], 0.0, p, 0.0, 0.0).eg
    e_fit, c_fit, _ = with_power_law_tail(*args)
    fitted = learning_curve(e_fit, c_fit[:, 0] ** 2, 0.0, p, 0.0, 0.0).eg
    err_m, err_f = np.abs(moment / exact - 1), np.abs(fitted / exact - 1)
    assert err_m[-1] < 0.5 * err_f[-1], (err_m, err_f)
    assert np.all(err_m < 0.02), err_m


def test_top_k_learning_curve_within_one_percent_for_small_p():
    k, y = laplace_gram(1500, seed=1)
    full = spectrum_from_gram(k, y)
    top = compute_spectrum(Problem("m", gram=k, targets=y), top_eigen=100)
    assert top.exact_modes == 100 and top.rank == full.rank
    np.testing.assert_allclose(top.eigenvalues[:100], full.eigenvalues[:100], rtol=1e-6)
    assert top.eigenvalues.sum() == pytest.approx(full.eigenvalues.sum(), rel=1e-10)
    assert top.total_power == pytest.approx(full.total_power, rel=1e-12)
    p = np.array([2, 5, 10, 25])
    for ridge, noise in [(0.0, 0.0), (1e-3, 0.1)]:
        np.testing.assert_allclose(curve(top, p, ridge, noise), curve(full, p, ridge, noise), rtol=0.01)


def test_top_k_feature_routes_agree(tmp_path):
    path, x, y = _feature_file(tmp_path, n=2000, d=80, c=2)
    streamed = compute_spectrum(load_problem(path), top_eigen=20)
    prob = load_problem(path)
    prob.features  # noqa: B018 - load: the matrix-free XᵀX route
    in_mem = compute_spectrum(prob, top_eigen=20)
    full = compute_spectrum(load_problem(path))
    for s in (streamed, in_mem):
        assert s.exact_modes == 20 and s.rank == 80
        np.testing.assert_allclose(s.eigenvalues[:20], full.eigenvalues[:20], rtol=1e-7)
        np.testing.assert_allclose(s.target_power[:10], full.target_power[:10], rtol=1e-6, atol=1e-12)
        assert s.total_power == pytest.approx(full.total_power + 0.0, rel=1e-9)


def test_top_k_out_of_range_and_cache(tmp_path):
    k, y = rbf_gram(50)
    prob = Problem("m", gram=k, targets=y)
    for bad in (0, 50, 60):
        with pytest.raises(InputError, match="top_eigen"):
            compute_spectrum(prob, top_eigen=bad)
    s = compute_spectrum(prob, top_eigen=10)
    write_spectrum(s, tmp_path / "c.h5")
    back = load_problem(tmp_path / "c.h5")
    assert back.spectrum.exact_modes == 10


# ---------------------------------------------------------------------------- dask

def test_dask_engine_matches_numpy_on_local_cluster(tmp_path):
    pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    import logging

    path, x, y = _feature_file(tmp_path, n=4000, d=32, c=2)
    ref = compute_spectrum(load_problem(path))
    with distributed.LocalCluster(n_workers=4, threads_per_worker=1, processes=False, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        prob = load_problem(path)
        mom = stream.dask_moments(prob.feature_source, prob.targets_source, 100 << 10, client=client)
    assert mom.n == 4000 and mom.rows_per_block < 4000  # several chunks, summed by dask
    from kerncurve.spectral import spectrum_from_moments

    s = spectrum_from_moments(mom.c, mom.b, mom.total_power, mom.n)
    np.testing.assert_allclose(s.eigenvalues, ref.eigenvalues, rtol=1e-10)
    np.testing.assert_allclose(s.target_power, ref.target_power, rtol=1e-10, atol=1e-14)


def test_dask_missing_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "dask", None)  # import dask → ImportError
    path, _, _ = _feature_file(tmp_path, n=200, d=5)
    with pytest.raises(InputError, match=r"pip install 'kerncurve\[dask\]'"):
        compute_spectrum(load_problem(path), engine="dask")
