"""The data-dependent kernel eigenproblem (THEORY §0).

The population is the empirical measure on the n samples: eigenvalues η_k are those of
K/n, eigenfunctions φ_k = √n u_k, target coefficients v_k = u_kᵀy/√n (per channel).
Two routes give the same spectrum:

* Gram route: eigendecomposition of K/n, O(n³).
* Feature route (K = XXᵀ, d < n): the d×d uncentered second moment C = XᵀX/n, O(nd² + d³);
  v_k = V_kᵀ(Xᵀy/n)/√η_k. The n×n Gram is never formed.

Eigenvalues below 1e-12·η_max are round-off and dropped; their target power joins v_⊥².
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from . import __version__
from .errors import InputError, InputWarning
from .io import SPECTRUM_FORMAT, SPECTRUM_FORMAT_VERSION

__all__ = [
    "Spectrum",
    "spectrum_from_gram",
    "spectrum_from_features",
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
    """

    eigenvalues: np.ndarray
    coefficients: np.ndarray
    residual_power: float
    n: int
    route: str = "gram"

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


def check_gram(k, source_dtype=np.float64, where="Gram"):
    """Validate a Gram's symmetry; symmetrize tiny asymmetry (with a warning), refuse big.

    Returns the symmetrized matrix.
    """
    sym_tol, _ = _tolerances(source_dtype)
    scale = np.max(np.abs(k))
    if scale == 0:
        raise InputError(f"{where} is all zeros; the kernel carries no information")
    asym = np.max(np.abs(k - k.T)) / scale
    if asym > sym_tol:
        raise InputError(
            f"{where} is not symmetric (max |K − Kᵀ|/max|K| = {asym:.2g} > {sym_tol:.1g}); "
            "pass a symmetric kernel matrix"
        )
    if asym > 10 * np.finfo(np.float64).eps:
        warnings.warn(f"{where} was slightly asymmetric ({asym:.2g} relative); used (K + Kᵀ)/2", InputWarning)
    return 0.5 * (k + k.T)


def _finish(eta, coeffs, total_power, n, route, source_dtype, where):
    """Sort, refuse significantly negative eigenvalues, drop round-off modes."""
    order = np.argsort(eta)[::-1]
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
    return Spectrum(eigenvalues=eta, coefficients=coeffs, residual_power=residual, n=n, route=route)


def spectrum_from_gram(k, y, source_dtype=np.float64, where="Gram", check=True):
    """Spectrum by the Gram route: eigendecomposition of K/n.

    Parameters
    ----------
    k : ndarray (n, n)
        Symmetric PSD kernel matrix.
    y : ndarray (n, c)
        Targets.
    """
    n = k.shape[0]
    if check:
        k = check_gram(k, source_dtype, where)
    eta, u = scipy.linalg.eigh(k / n, overwrite_a=True, check_finite=False, driver="evd")
    coeffs = u.T @ y / np.sqrt(n)
    return _finish(eta, coeffs, float(np.mean(np.sum(y**2, 1))), n, "gram", source_dtype, where)


def spectrum_from_features(x, y, source_dtype=np.float64, where="features"):
    """Spectrum of the linear kernel K = XXᵀ, by the d×d second moment when d < n."""
    n, d = x.shape
    if d >= n:
        return spectrum_from_gram(x @ x.T, y, source_dtype, where, check=False)
    # XᵀX/n by a symmetric rank-k update (half the flops of a general product); upper triangle
    xf = x.T if x.flags.c_contiguous else np.asfortranarray(x).T
    syrk = scipy.linalg.blas.get_blas_funcs("syrk", (xf,))
    c = syrk(alpha=1.0 / n, a=xf, trans=0)
    eta, v = scipy.linalg.eigh(c, lower=False, overwrite_a=True, check_finite=False, driver="evd")
    b = v.T @ (x.T @ y / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        coeffs = np.where(eta[:, None] > 0, b / np.sqrt(np.abs(eta))[:, None], 0.0)
    return _finish(eta, coeffs, float(np.mean(np.sum(y**2, 1))), n, "features", source_dtype, where)


def compute_spectrum(problem):
    """The spectrum of a `Problem` by the cheapest route."""
    if problem.spectrum is not None:
        return problem.spectrum
    if problem.gram is not None:
        return spectrum_from_gram(problem.gram, problem.targets, problem.source_dtype, f"{problem.path}: Gram")
    return spectrum_from_features(problem.features, problem.targets, problem.source_dtype, f"{problem.path}: features")


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
    return Spectrum(eta[order], coeffs[order], float(g.attrs.get("residual_power", 0.0)), n, "cache")


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
