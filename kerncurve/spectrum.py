"""The data-dependent kernel eigenproblem (THEORY §0).

The population is the empirical measure on the n samples: eigenvalues η_k are those of
K/n, eigenfunctions φ_k = √n u_k, target coefficients v_k = u_kᵀy/√n (per channel).
Two routes give the same spectrum:

* Gram route: all eigenvalues of K/n and the projections Uᵀy at the eigenvalues-only cost
  (Householder tridiagonalization, reflectors applied to the targets, tridiagonal
  eigenproblem with the rotations applied to the projections: `kerncurve.linalg`).
  ``method="eigh"`` keeps LAPACK's eigendecomposition with eigenvectors as the reference.
* Feature route (K = XXᵀ, d < n): the d×d uncentered second moment C = XᵀX/n, O(nd² + d³);
  v_k = V_kᵀ(Xᵀy/n)/√η_k. The n×n Gram is never formed. From a file, X is streamed in row
  blocks under a memory budget (`kerncurve.stream`), or summed by dask.

With ``top_eigen=K`` only the K leading eigenpairs are computed (block Krylov on a
matrix-free operator) and the rest of the spectrum is a power-law tail carrying exactly the
remaining trace and target power (`with_power_law_tail`).

Eigenvalues below 1e-12·η_max are round-off and dropped; their target power joins v_⊥².
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .errors import InputError, InputWarning, NumericalWarning
from .io import SPECTRUM_FORMAT, SPECTRUM_FORMAT_VERSION
from .linalg import eigh_project, top_eigenpairs

__all__ = [
    "Spectrum",
    "spectrum_from_gram",
    "spectrum_from_features",
    "spectrum_from_moments",
    "spectrum_top",
    "with_power_law_tail",
    "top_eigen_warning",
    "compute_spectrum",
    "check_gram",
    "write_spectrum",
    "read_spectrum_group",
    "power_law_fit",
    "spectrum_summary",
]

DROP_RTOL = 1e-12


@dataclass(frozen=True)
class Spectrum:
    """Kernel eigenvalues and target coefficients under the empirical measure.

    Attributes
    ----------
    eigenvalues : ndarray (M,)
        Positive eigenvalues of K/n, descending (round-off ones dropped).
    coefficients : ndarray (M, c)
        Target coefficients v_k per output channel.
    residual_power : float
        v_⊥² = mean(|y|²) − Σ_k v_k², target power outside the kept modes.
    n : int
        Number of samples.
    route : str
        "gram", "features" or "cache".
    exact_modes : int or None
        With top-k (``--top-eigen K``): the first K modes are computed, the rest is the
        modeled power-law tail. None when every mode is computed.
    notes : dict
        How the spectrum was computed (tail exponents, remaining trace and power, Krylov
        residual, memory budget…), for summaries.
    """

    eigenvalues: np.ndarray
    coefficients: np.ndarray
    residual_power: float
    n: int
    route: str = "gram"
    exact_modes: int = None
    notes: dict = field(default_factory=dict)

    @property
    def target_power(self):
        """v_k² summed over channels, (M,)."""
        return np.einsum("kc,kc->k", self.coefficients, self.coefficients)

    @property
    def rank(self):
        return int(self.eigenvalues.size)

    @property
    def total_power(self):
        return float(self.target_power.sum() + self.residual_power)


def _tolerances(dtype):
    """(symmetry rtol to refuse, PSD rtol to refuse) for data stored in ``dtype``."""
    eps = np.finfo(dtype if np.dtype(dtype).kind == "f" else np.float64).eps
    sym = max(1e-8, 1000 * eps)  # 1e-8 (float64), 1.2e-4 (float32)
    psd = max(1e-5, 1000 * eps)  # THEORY §0: −1e-5·η_max in float64
    return sym, psd


def _scan_gram(k, tile=512):
    """(max |K|, max |K − Kᵀ|) with no n×n temporary; NaN propagates.

    max |K| from two contiguous reductions (max, min: NaN and inf show there); the asymmetry
    from tile pairs K[i, j] − K[j, i]ᵀ written into one reused buffer. Fresh 2 MB temporaries
    per tile made the first scan in a process twice as slow as later ones (new pages zeroed by
    the kernel): n = 8000 took 0.41 s, now 0.12 s.
    """
    n = k.shape[0]
    if n == 0:
        return 0.0, 0.0
    big = max(float(k.max()), -float(k.min()))
    if big != big:
        return np.nan, np.nan
    asym = 0.0
    buf = np.empty((min(tile, n), min(tile, n)))
    # inf − inf gives NaN, which Python's max() drops from asym; big is inf then, and refused
    with np.errstate(invalid="ignore"):
        for i in range(0, n, tile):  # (n/512)²/2 tile pairs: a few dozen for n = 4000
            for j in range(i, n, tile):
                a, b = k[i:i + tile, j:j + tile], k[j:j + tile, i:i + tile].T
                t = np.subtract(a, b, out=buf[:a.shape[0], :a.shape[1]])
                asym = max(asym, float(t.max()), -float(t.min()))
    return big, asym


def _validate_gram(k, source_dtype, where):
    """(symmetric Gram, whether it is a fresh array we may overwrite); refuses big asymmetry."""
    sym_tol, _ = _tolerances(source_dtype)
    scale, asym = _scan_gram(k)
    if not np.isfinite(scale):
        raise InputError(f"{where} contains NaN or inf; clean the data first")
    if scale == 0:
        raise InputError(f"{where} is all zeros; the kernel carries no information")
    asym /= scale
    if asym > sym_tol:
        raise InputError(
            f"{where} is not symmetric (max |K − Kᵀ|/max|K| = {asym:.2g} > {sym_tol:.1g}); "
            "pass a symmetric kernel matrix"
        )
    if asym > 10 * np.finfo(np.float64).eps:
        warnings.warn(f"{where} was slightly asymmetric ({asym:.2g} relative); used (K + Kᵀ)/2", InputWarning)
    if asym == 0:
        return k, False
    return 0.5 * (k + k.T), True


def check_gram(k, source_dtype=np.float64, where="Gram"):
    """Validate a Gram's symmetry; symmetrize tiny asymmetry (with a warning), refuse big.

    Returns the symmetrized matrix (a new array).
    """
    sym, fresh = _validate_gram(k, source_dtype, where)
    return sym if fresh else sym.copy()


def _finish(eta, coeffs, total_power, n, route, source_dtype, where, **extra):
    """Sort, refuse significantly negative eigenvalues, drop round-off modes."""
    order = np.argsort(eta, kind="stable")[::-1]
    eta, coeffs = eta[order], coeffs[order]
    _, psd_tol = _tolerances(source_dtype)
    top = eta[0] if eta.size else 0.0
    if top <= 0:
        raise InputError(f"{where} has no positive eigenvalue; the kernel is zero or negative")
    if eta[-1] < -psd_tol * top:
        raise InputError(
            f"{where} is not positive semi-definite (eigenvalue {eta[-1]:.3g} of K/n vs largest {top:.3g}); "
            "pass a valid kernel matrix"
        )
    if eta[-1] < -1e-10 * top:
        warnings.warn(
            f"{where} has slightly negative eigenvalues (down to {eta[-1] / top:.2g} of the largest); set to zero",
            InputWarning,
        )
    keep = eta > DROP_RTOL * top
    eta, coeffs = eta[keep], coeffs[keep]
    captured = float(np.sum(coeffs**2))
    residual = max(total_power - captured, 0.0)
    if residual < 1e-13 * max(total_power, 1e-300):
        residual = 0.0
    return Spectrum(eigenvalues=eta, coefficients=coeffs, residual_power=residual, n=n, route=route, **extra)


def _total_power(y):
    return float(np.einsum("ij,ij->", y, y)) / y.shape[0]


def spectrum_from_gram(k, y, source_dtype=np.float64, where="Gram", check=True, method="auto"):
    """Spectrum by the Gram route: eigenvalues of K/n and target coefficients Uᵀy/√n.

    Parameters
    ----------
    k : ndarray (n, n)
        Symmetric PSD kernel matrix (not modified).
    y : ndarray (n, c)
        Targets.
    check : bool
        Validate symmetry first (`check_gram`); False only for matrices known symmetric,
        which are then overwritten.
    method : {"auto", "tridiagonal", "eigh"}
        "auto" = "tridiagonal": the eigenvalues-only route of `kerncurve.linalg.eigh_project`;
        "eigh": LAPACK's eigendecomposition with eigenvectors (about twice the time).
    """
    n = k.shape[0]
    if check:
        k, owned = _validate_gram(k, source_dtype, where)
    else:
        owned = True
    eta, proj = eigh_project(k, y, overwrite_a=owned, method=method)
    return _finish(eta / n, proj / np.sqrt(n), _total_power(y), n, "gram", source_dtype, where)


def spectrum_from_moments(c, b, total_power, n, source_dtype=np.float64, where="features", overwrite=False,
                          method="auto"):
    """Spectrum of the linear kernel from C = XᵀX/n (d×d) and b = Xᵀy/n (d×c).

    η = eig(C), v_k = V_kᵀ b / √η_k (THEORY §0, feature route). ``c`` may hold only its lower
    triangle if Fortran-ordered.
    """
    eta, proj = eigh_project(c, b, overwrite_a=overwrite, method=method)
    with np.errstate(divide="ignore", invalid="ignore"):
        coeffs = np.where(eta[:, None] > 0, proj / np.sqrt(np.abs(eta))[:, None], 0.0)
    return _finish(eta, coeffs, float(total_power), n, "features", source_dtype, where)


def spectrum_from_features(x, y, source_dtype=np.float64, where="features", method="auto"):
    """Spectrum of the linear kernel K = XXᵀ, by the d×d second moment when d < n."""
    n, d = x.shape
    if d >= n:
        return spectrum_from_gram(x @ x.T, y, source_dtype, where, check=False, method=method)
    c = x.T @ x  # numpy's own symmetric product (OpenBLAS syrk called directly is no faster)
    c /= n
    return spectrum_from_moments(c, x.T @ y / n, _total_power(y), n, source_dtype, where, overwrite=True,
                                 method=method)


# --------------------------------------------------------------------------------------
# top-k with a modeled tail

def with_power_law_tail(eta_top, coeffs_top, rest_trace, total_power, n_modes):
    """Append a power-law tail to the K computed modes.

    The tail has the ``n_modes − K`` modes the computation skipped. Its eigenvalues are
    η_k = A k^(−b) for k = K+1 … n_modes, with b fitted to the computed η_k over
    k ∈ [K/2, K] (log-log least squares) and A set so that Σ_tail η = ``rest_trace``
    (= tr(K/n) − Σ_{k≤K} η_k, exact); b is lowered if needed so that the tail starts below
    η_K. Its target power is v_k² ∝ k^(−a) with a fitted to the remaining power
    R(k) = E|y|² − Σ_{l≤k} v_l² ∝ k^(1−a) over k ∈ [K/4, K] (a = b when that fit fails),
    scaled so that Σ_tail v_k² = R(K) (exact), split over channels like R(K).

    Returns
    -------
    eta, coeffs : ndarrays (n_modes,), (n_modes, c)
    info : dict
        tail_modes, tail_eigenvalue_exponent, tail_target_exponent, remaining_trace,
        remaining_power.
    """
    from scipy.optimize import brentq

    kk_top = eta_top.size
    c = coeffs_top.shape[1]
    v2 = np.einsum("kc,kc->k", coeffs_top, coeffs_top)
    rest_ch = np.maximum(_channel_rest(coeffs_top, total_power), 0.0)
    rest_power = float(rest_ch.sum())
    total = float(np.sum(total_power))
    m = int(n_modes) - kk_top
    info = {"tail_modes": max(m, 0), "remaining_trace": float(max(rest_trace, 0.0)), "remaining_power": rest_power}
    if m <= 0 or rest_trace <= 0:
        info.update(tail_eigenvalue_exponent=float("nan"), tail_target_exponent=float("nan"))
        return eta_top, coeffs_top, info
    k = np.arange(kk_top + 1, kk_top + m + 1, dtype=float)
    b = power_law_fit(eta_top, lo_frac=0.5, hi_frac=1.0)
    if not np.isfinite(b) or b < 0:
        b = 1.0

    def first(bb):  # first tail eigenvalue for exponent bb, minus η_K
        w = (k / k[0]) ** (-bb)
        return rest_trace / w.sum() - eta_top[-1]

    if first(b) > 0:  # the fitted tail would start above η_K: flatten it until it does not
        b = brentq(first, 0.0, b, xtol=1e-10) if first(0.0) < 0 else 0.0
    w = (k / k[0]) ** (-b)
    eta_tail = rest_trace * w / w.sum()
    # target exponent from the exactly known remaining power R(k), k ∈ [K/4, K]
    rem = total - np.cumsum(v2)
    ks = np.arange(1, kk_top + 1)
    sel = (ks >= max(2, kk_top // 4)) & (rem > 1e-14 * total)
    a = float("nan")
    if sel.sum() >= 5:
        slope = np.polyfit(np.log(ks[sel]), np.log(rem[sel]), 1)[0]
        a = 1.0 - slope
    if not np.isfinite(a) or a <= 0:
        a = b
    u = (k / k[0]) ** (-a)
    v2_tail = u / u.sum()
    coeffs_tail = np.sqrt(v2_tail[:, None] * rest_ch[None, :])
    info.update(tail_eigenvalue_exponent=float(b), tail_target_exponent=float(a))
    return np.concatenate([eta_top, eta_tail]), np.vstack([coeffs_top, coeffs_tail.reshape(m, c)]), info


def _channel_rest(coeffs_top, total_power_per_channel):
    """Remaining power per channel (total_power_per_channel: array (c,) or scalar split evenly)."""
    tp = np.atleast_1d(np.asarray(total_power_per_channel, dtype=float))
    if tp.size == 1 and coeffs_top.shape[1] > 1:
        tp = np.full(coeffs_top.shape[1], tp[0] / coeffs_top.shape[1])
    return tp - np.sum(coeffs_top**2, axis=0)


def spectrum_top(matmat, dim, top, *, coefficients, trace, total_power, n_modes, n, route, source_dtype, where,
                 seed=0, tol=1e-6, progress=None):
    """Top-``top`` eigenpairs of an operator (block Krylov) plus the modeled tail, as a `Spectrum`.

    Parameters
    ----------
    matmat : callable
        V ↦ A V for the operator whose eigenvalues are η (K/n, or XᵀX/n).
    coefficients : callable
        Ritz values (k,), Ritz vectors (dim, k) ↦ target coefficients (k, c).
    trace : float
        tr(A) = Σ of all η.
    total_power : ndarray (c,)
        E|y_c|² per channel.
    (``with_power_law_tail`` takes the same per-channel array.)
    n_modes : int
        Number of modes of the full spectrum (n, or min(n, d) for features).
    """
    r = top_eigenpairs(matmat, dim, top, seed=seed, tol=tol, progress=progress)
    coeffs = coefficients(r.values, r.vectors)
    tp = np.atleast_1d(np.asarray(total_power, float))
    eta, coeffs, info = with_power_law_tail(r.values, coeffs, trace - float(r.values.sum()), tp, n_modes)
    if not r.converged:
        warnings.warn(
            f"--top-eigen {top}: the Krylov iteration stopped at a {r.subspace}-dimensional subspace with "
            f"residual {float(np.max(r.residuals)):.2g} (relative to η_1); the top modes are approximate",
            NumericalWarning,
        )
    notes = {"top_eigen": top, "krylov_subspace": r.subspace, "krylov_residual": float(np.max(r.residuals)), **info}
    spec = _finish(eta, coeffs, float(tp.sum()), n, route, source_dtype, where, exact_modes=top, notes=notes)
    return spec


def top_eigen_warning(spec, p_max):
    """A warning text when P exceeds what ``--top-eigen K`` resolves (P > K/4), else None.

    For P ≤ K/4 the modes that P samples can learn are all among the computed ones and the
    curve depends on the tail only through its (exact) trace and power; beyond that the
    modeled tail's shape matters.
    """
    if spec.exact_modes is None or p_max is None:
        return None
    limit = spec.exact_modes / 4
    if p_max > limit:
        return (f"P up to {p_max:g} exceeds K/4 = {limit:g} for --top-eigen {spec.exact_modes}: these predictions "
                "depend on the modeled power-law tail; raise --top-eigen (or drop it) for exact ones")
    return None


# --------------------------------------------------------------------------------------
# the route chooser

def _option(problem, overrides, key, default=None):
    if overrides.get(key) is not None:
        return overrides[key]
    v = getattr(problem, "options", {}).get(key)
    return default if v is None else v


def _check_top(top, dim, what):
    if top is None:
        return None
    top = int(top)
    if dim < 2:
        raise InputError(f"--top-eigen {top}: {what} has a single mode, nothing to truncate; omit --top-eigen")
    if top < 1 or top >= dim:
        raise InputError(
            f"--top-eigen {top}: must be between 1 and {dim - 1} ({what} has {dim} modes); "
            "omit --top-eigen for the full spectrum"
        )
    return top


def compute_spectrum(problem, *, memory=None, engine=None, scheduler=None, scheduler_timeout=None, top_eigen=None,
                     method="auto", progress=None):
    """The spectrum of a `Problem` by the cheapest route.

    Settings come from the keyword arguments, else from ``problem.options`` (filled by the
    command line), else the defaults:

    memory : str or int
        Budget of the streamed feature route (``512M``; `kerncurve.stream.parse_size`).
    engine : {"numpy", "dask"}
        "dask" sums the feature route's moments with dask.array (extra ``kerncurve[dask]``).
    scheduler : str
        Address of a running dask.distributed scheduler [default: a LocalCluster].
    top_eigen : int
        Compute only the top K eigenpairs; model the rest (`spectrum_top`).
    progress : callable
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Routes: a spectrum cache is returned as is; a Gram (or ``--kernel``) takes the Gram
    route; features already in memory, or with d ≥ n, are used in memory; otherwise the
    features are streamed from the file in row blocks (memory independent of n), or summed
    by dask.
    """
    from . import stream

    ov = {"memory": memory, "engine": engine, "scheduler": scheduler, "scheduler_timeout": scheduler_timeout,
          "top_eigen": top_eigen, "progress": progress}
    memory = _option(problem, ov, "memory")
    engine = _option(problem, ov, "engine", "numpy")
    scheduler = _option(problem, ov, "scheduler")
    timeout = float(_option(problem, ov, "scheduler_timeout", 10.0))
    top = _option(problem, ov, "top_eigen")
    progress = _option(problem, ov, "progress")
    seed = int(getattr(problem, "options", {}).get("seed", 0) or 0)
    if engine not in ("numpy", "dask"):
        raise InputError(f"--engine {engine!r}: choose numpy or dask")
    if scheduler and engine != "dask":
        raise InputError("--scheduler is the address of a dask scheduler; add --engine dask")
    budget = stream.parse_size(memory if memory is not None else stream.DEFAULT_MEMORY)

    def unused(what, why):
        warnings.warn(f"{what} ignored: {why}", InputWarning)

    if problem.spectrum is not None:
        if top is not None or engine == "dask":
            raise InputError("--top-eigen and --engine need samples; the input is a spectrum cache (already computed)")
        if memory is not None:
            unused("--memory", "the input is a spectrum cache")
        return problem.spectrum

    def bar(description, total):
        if progress is None:
            import contextlib

            return contextlib.nullcontext(lambda n=1: None)
        return progress(description, total)

    if problem.gram is not None:
        where = f"{problem.path}: Gram"
        if engine == "dask":
            raise InputError("--engine dask computes the feature route (/features without --kernel); this input uses "
                             "a Gram matrix; drop --engine dask")
        if memory is not None:
            unused("--memory", "only the feature route is streamed (this input uses a Gram matrix)")
        k, y = problem.gram, problem.targets
        n = k.shape[0]
        top = _check_top(top, n, "the Gram")
        if top is None:
            return spectrum_from_gram(k, y, problem.source_dtype, where, method=method)
        k, _ = _validate_gram(k, problem.source_dtype, where)
        return spectrum_top(lambda v: k @ v / n, n, top, coefficients=lambda th, u: u.T @ y / np.sqrt(n),
                            trace=float(np.trace(k)) / n, total_power=np.sum(y**2, 0) / n, n_modes=n, n=n,
                            route="gram", source_dtype=problem.source_dtype, where=where, seed=seed)

    where = f"{problem.path}: features"
    src = problem.feature_source
    n, d = problem._features.shape if problem.features_loaded else src.shape
    top = _check_top(top, min(n, d), "the feature kernel")
    if engine == "dask" and src is None:
        raise InputError("--engine dask reads the features from the input file; this problem was built from arrays")
    in_memory = src is None or (engine != "dask" and (problem.features_loaded or d >= n))
    if in_memory:
        if memory is not None and not problem.features_loaded:
            unused("--memory", "with d ≥ n the feature route needs the n×n Gram in memory")
        x, y = problem.features, problem.targets
        if top is None:
            return spectrum_from_features(x, y, problem.source_dtype, where, method=method)
        tp = np.sum(y**2, 0) / n
        trace = float(np.einsum("ij,ij->", x, x)) / n
        if d < n:
            b = x.T @ y / n
            return spectrum_top(lambda v: x.T @ (x @ v) / n, d, top,
                                coefficients=lambda th, vv: (vv.T @ b) / np.sqrt(np.maximum(th, 1e-300))[:, None],
                                trace=trace, total_power=tp, n_modes=d, n=n, route="features",
                                source_dtype=problem.source_dtype, where=where, seed=seed)
        return spectrum_top(lambda v: x @ (x.T @ v) / n, n, top, coefficients=lambda th, u: u.T @ y / np.sqrt(n),
                            trace=trace, total_power=tp, n_modes=n, n=n, route="gram",
                            source_dtype=problem.source_dtype, where=where, seed=seed)

    tsrc = problem.targets_source
    if engine == "dask":
        mom = stream.dask_moments(src, tsrc, budget, scheduler=scheduler, timeout=timeout)
        notes = {"engine": "dask", "scheduler": scheduler or "LocalCluster", "rows_per_block": mom.rows_per_block}
    else:
        with bar("streaming features", n) as advance:
            mom = stream.stream_moments(src, tsrc, budget, progress=advance)
        notes = {"engine": "numpy (streamed)", "memory_budget": stream.format_size(budget),
                 "rows_per_block": mom.rows_per_block}
    if top is None:
        spec = spectrum_from_moments(mom.c, mom.b, mom.total_power, n, problem.source_dtype, where,
                                     overwrite=True, method=method)
    else:
        cfull = mom.full()
        b = mom.b
        tp = mom.channel_power
        spec = spectrum_top(lambda v: cfull @ v, d, top,
                            coefficients=lambda th, vv: (vv.T @ b) / np.sqrt(np.maximum(th, 1e-300))[:, None],
                            trace=mom.trace, total_power=tp, n_modes=d, n=n, route="features",
                            source_dtype=problem.source_dtype, where=where, seed=seed)
    return _with_notes(spec, notes)


def _with_notes(spec, notes):
    import dataclasses

    return dataclasses.replace(spec, notes={**notes, **spec.notes})


def write_spectrum(spec, path, input_sha256="", extra_attrs=None):
    """Write a spectrum cache (HDF5, format tag + version) atomically."""
    import h5py

    from .io import atomic_path

    with atomic_path(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = SPECTRUM_FORMAT
            f.attrs["format-version"] = SPECTRUM_FORMAT_VERSION
            f.attrs["kerncurve-version"] = __version__
            f.attrs["input-sha256"] = input_sha256
            for key, val in (extra_attrs or {}).items():
                f.attrs[key] = val
            g = f.create_group("spectrum")
            g.create_dataset("eigenvalues", data=spec.eigenvalues)
            g.create_dataset("coefficients", data=spec.coefficients)
            g.attrs["n"] = spec.n
            g.attrs["residual_power"] = spec.residual_power
            g.attrs["route"] = spec.route
            if spec.exact_modes is not None:  # modes beyond are the modeled power-law tail
                g.attrs["exact_modes"] = int(spec.exact_modes)


def read_spectrum_group(f):
    """Read ``/spectrum`` of a cache file opened with h5py (validated)."""
    from .io import read_array

    version = int(f.attrs.get("format-version", -1))
    if version > SPECTRUM_FORMAT_VERSION:
        raise InputError(
            f"{f.filename}: spectrum cache format-version {version} is newer than this kerncurve "
            f"understands ({SPECTRUM_FORMAT_VERSION}); upgrade kerncurve"
        )
    eta = read_array(f, "/spectrum/eigenvalues", ndim=(1,), what="eigenvalues (M,)")
    coeffs = read_array(f, "/spectrum/coefficients", ndim=(1, 2), what="coefficients (M, c)")
    if coeffs.ndim == 1:
        coeffs = coeffs[:, None]
    if coeffs.shape[0] != eta.shape[0]:
        raise InputError(f"{f.filename}: /spectrum/coefficients has {coeffs.shape[0]} rows but there are {eta.size} eigenvalues")
    if np.any(eta <= 0):
        raise InputError(f"{f.filename}: /spectrum/eigenvalues must all be positive")
    order = np.argsort(eta)[::-1]
    g = f["spectrum"]
    n = int(g.attrs.get("n", eta.size))
    exact = g.attrs.get("exact_modes")
    return Spectrum(eta[order], coeffs[order], float(g.attrs.get("residual_power", 0.0)), n, "cache",
                    exact_modes=None if exact is None else int(exact))


def power_law_fit(y, lo_frac=0.01, hi_frac=0.5, min_points=5):
    """Fit y_k ∝ k^(−s) by least squares in log-log over k ∈ [lo_frac·M, hi_frac·M].

    Returns s (nan when there are too few positive points).
    """
    y = np.asarray(y, float)
    m = y.size
    k = np.arange(1, m + 1)
    sel = (k >= max(2, int(np.ceil(lo_frac * m)))) & (k <= int(hi_frac * m)) & (y > 0)
    if sel.sum() < min_points:
        return float("nan")
    slope = np.polyfit(np.log(k[sel]), np.log(y[sel]), 1)[0]
    return float(-slope)


def spectrum_summary(spec):
    """Figures for the `spectrum` summary: rank, trace, effective dimension, exponents."""
    eta = spec.eigenvalues
    v2 = spec.target_power
    tail = np.cumsum(v2[::-1])[::-1]  # Σ_{l≥k} v_l² ∝ k^(1−a)
    b = power_law_fit(eta)
    a_minus_1 = power_law_fit(tail)
    a = a_minus_1 + 1
    return {
        "n": spec.n,
        "rank": spec.rank,
        "trace": float(eta.sum()),
        "effective_dimension": float(eta.sum() ** 2 / np.sum(eta**2)),
        "total_power": spec.total_power,
        "unlearnable_power": spec.residual_power,
        "eigenvalue_exponent_b": b,
        "target_exponent_a": a,
        "learning_curve_exponent": -min(a - 1, 2 * b) if np.isfinite(a) and np.isfinite(b) else float("nan"),
    }
