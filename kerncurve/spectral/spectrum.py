"""The data-dependent kernel eigenproblem: `Spectrum` and its two exact routes.

The population is the empirical measure on the n samples: eigenvalues η_k are those of
K/n, eigenfunctions φ_k = √n u_k on the samples (so that (1/n) Σ_i φ_k φ_l = δ_kl), target
coefficients v_k = u_kᵀy/√n per output channel, and v_⊥² = mean|y|² − Σ_k v_k² is the
target power outside the modes with η > 0. Two routes give the same spectrum:

* Gram route: all eigenvalues of K/n and the projections Uᵀy at the eigenvalues-only cost
  (Householder tridiagonalization, reflectors applied to the targets, the tridiagonal
  eigenproblem with the rotations applied to the projections: `kerncurve.linalg`).
  ``method="eigh"`` keeps LAPACK's eigendecomposition with eigenvectors as the reference.
* Feature route (K = XXᵀ, d < n): the d×d uncentered second moment C = XᵀX/n, O(nd² + d³);
  η = eig(C), v_k = V_kᵀ(Xᵀy/n)/√η_k. The n×n Gram is never formed.

Eigenvalues below 1e-12·η_max are round-off and dropped; their target power joins v_⊥². A
significantly negative eigenvalue (below −1e-5·η_max in float64) means the Gram is not
positive semi-definite and is refused. Note the normalization: η are eigenvalues of K/n, not
of K (eig(K) would put κ off by a factor n).
"""

import functools
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, InputWarning
from ..linalg import eigh_project

__all__ = [
    "Spectrum",
    "spectrum_from_gram",
    "spectrum_from_features",
    "spectrum_from_moments",
    "check_gram",
    "DROP_RTOL",
]

DROP_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Kernel eigenvalues and target coefficients under the empirical measure.

    Build one with `Spectrum.from_features`, `Spectrum.from_gram`, `Spectrum.load` (a
    cache written by ``kerncurve spectrum --save``) or `kerncurve.spectrum` (an HDF5 input,
    the command line's route). The factorization the theory needs (`mode_sums`) is built
    once per spectrum and reused by every call.

    Attributes
    ----------
    eigenvalues : ndarray (M,)
        Positive eigenvalues η_k of K/n, descending (round-off ones dropped).
    coefficients : ndarray (M, c)
        Target coefficients v_k per output channel.
    residual_power : float
        v_⊥² = mean(|y|²) − Σ_k v_k², target power outside the kept modes.
    n : int
        Number of samples.
    route : str
        "gram", "features" or "cache".
    exact_modes : int or None
        With top-k (``top_eigen=K``): the first K modes are computed, the rest is the
        modeled power-law tail. None when every mode is computed.
    notes : dict
        How the spectrum was computed (tail exponents, remaining trace and power, Krylov
        residual, memory budget…), for summaries.
    basis : ndarray (n, M) or None
        Eigenfunctions on the samples, φ_k(x_i) = √n U_ik, when asked for (``basis=True``).
    provenance : dict
        Where it came from (input path, source dataset, kernel and its parameters).

    Examples
    --------
    >>> import numpy as np, kerncurve as kc
    >>> X = np.random.default_rng(0).standard_normal((200, 5)); y = X[:, 0]
    >>> spec = kc.Spectrum.from_features(X, y)
    >>> spec.rank, round(spec.total_power, 3)
    (5, 1.049)
    """

    eigenvalues: np.ndarray
    coefficients: np.ndarray
    residual_power: float
    n: int
    route: str = "gram"
    exact_modes: int = None
    notes: dict = field(default_factory=dict)
    basis: np.ndarray = field(default=None, repr=False)
    provenance: dict = field(default_factory=dict)
    band: dict = field(default=None, repr=False)  # bootstrap columns per mode (eigenvalue_lo, ...)

    #: the command line's table columns (`to_dict`)
    COLUMNS = ("k", "eigenvalue", "target_power", "cumulative_power")

    # ---- construction ------------------------------------------------------------------

    @classmethod
    def from_features(cls, X, y, *, top_eigen=None, seed=0, basis=False):
        """The spectrum of the linear kernel K = XXᵀ of features ``X`` (n, d).

        Uses the d×d second moment when d < n (the n×n Gram is never formed).

        Parameters
        ----------
        X : array_like (n, d)
        y : array_like (n,) or (n, c)
        top_eigen : int, optional
            Compute only the top K modes (block Krylov) and model the rest as a power-law
            tail carrying the exact remaining trace and target power.
        seed : int
            Seed of the Krylov start block.
        basis : bool
            Also keep the eigenfunctions on the samples (`basis`).
        """
        from .._validation import check_array, check_seed, check_targets
        from .compute import spectrum_of_arrays

        X = check_array(X, "X", ndim=(2,), what="(n, d)")
        y = check_targets(y, X.shape[0], "y", "X")
        return spectrum_of_arrays(features=X, y=y, top_eigen=top_eigen, seed=check_seed(seed), basis=basis)

    @classmethod
    def from_gram(cls, K, y, *, top_eigen=None, seed=0, basis=False):
        """The spectrum of a symmetric positive semi-definite Gram matrix ``K`` (n, n).

        Parameters are those of `from_features`; a slightly asymmetric ``K`` is symmetrized
        with an `InputWarning`, a clearly asymmetric or indefinite one is refused.
        """
        from .._validation import check_array, check_seed, check_targets
        from .compute import spectrum_of_arrays

        K = check_array(K, "K", ndim=(2,), what="(n, n)")
        if K.shape[0] != K.shape[1]:
            raise InputError(f"K must be square (n, n), got shape {K.shape}", param="K")
        y = check_targets(y, K.shape[0], "y", "K")
        return spectrum_of_arrays(gram=K, y=y, top_eigen=top_eigen, seed=check_seed(seed), basis=basis)

    @classmethod
    def load(cls, path):
        """Read a spectrum cache written by ``kerncurve spectrum --save`` (or `save`)."""
        from ..io.cache import is_spectrum_cache, read_spectrum_fields
        from ..io.h5 import open_h5

        with open_h5(path) as f:
            if not is_spectrum_cache(f):
                raise InputError(f"{path} is not a kerncurve spectrum cache (no format tag and /spectrum group); "
                                 "write one with 'kerncurve spectrum INPUT --save FILE' or Spectrum.save", param="path")
            return cls(**read_spectrum_fields(f))

    def save(self, path, *, input_sha256="", source=""):
        """Write this spectrum as a cache (HDF5, format tag and version), atomically."""
        from ..io.cache import write_spectrum

        write_spectrum(self, path, input_sha256=input_sha256,
                       extra_attrs={"source": source} if source else None, option="path")

    # ---- derived quantities -------------------------------------------------------------

    @property
    def target_power(self):
        """v_k² summed over channels, (M,)."""
        return np.einsum("kc,kc->k", self.coefficients, self.coefficients)

    @property
    def rank(self):
        """Number of kept modes M."""
        return int(self.eigenvalues.size)

    @property
    def trace(self):
        """Σ_k η_k = tr(K)/n over the kept modes."""
        return float(self.eigenvalues.sum())

    @property
    def total_power(self):
        """mean |y|² = Σ_k v_k² + v_⊥²."""
        return float(self.target_power.sum() + self.residual_power)

    @property
    def channels(self):
        """Number of output channels c."""
        return int(self.coefficients.shape[1])

    @functools.cached_property
    def mode_sums(self):
        """The factorization every learning-curve formula sums over (built once, then reused)."""
        from ..theory.modesums import ModeSums

        return ModeSums(self.eigenvalues, {"one": 1.0, "power": self.target_power})

    @property
    def summary(self):
        """The ``spectrum`` command's summary: provenance, rank, trace, effective dimension,
        fitted power-law exponents and how the spectrum was computed (a dict)."""
        from .summary import spectrum_notes, spectrum_summary

        prov = dict(self.provenance)
        out = {k: prov.pop(k) for k in ("input", "source") if k in prov}
        out["route"] = self.route
        out.update(spectrum_summary(self))
        out.update(prov)
        out.update(spectrum_notes(self))
        return out

    def to_dict(self, top=None):
        """The ``spectrum`` command's table: k, eigenvalue, target_power, cumulative_power.

        With top-k only the computed modes are listed (``cumulative_power`` stays exact: the
        total target power is known); ``top`` keeps the first ``top`` rows (default: the
        ``top`` given to `kerncurve.spectrum`, else all).
        """
        v2 = self.target_power
        total = v2.sum() + self.residual_power
        cum = np.cumsum(v2) / total if total > 0 else np.zeros_like(v2)
        shown = self.rank if self.exact_modes is None else min(self.exact_modes, self.rank)
        top = self.notes.get("table_rows") if top is None else top
        m = shown if top is None else min(int(top), shown)
        out = {"k": np.arange(1, m + 1), "eigenvalue": self.eigenvalues[:m].copy(), "target_power": v2[:m],
               "cumulative_power": cum[:m]}
        out.update({col: vals[:m] for col, vals in (self.band or {}).items()})
        return out

    def __repr__(self):
        return (f"Spectrum(n={self.n}, rank={self.rank}, channels={self.channels}, route={self.route!r}, "
                f"trace={self.trace:.4g}, total_power={self.total_power:.4g})")


def _tolerances(dtype):
    """(symmetry rtol to refuse, PSD rtol to refuse) for data stored in ``dtype``."""
    eps = np.finfo(dtype if np.dtype(dtype).kind == "f" else np.float64).eps
    sym = max(1e-8, 1000 * eps)  # 1e-8 (float64), 1.2e-4 (float32)
    psd = max(1e-5, 1000 * eps)  # −1e-5·η_max in float64 (docs/theory.md, the spectrum)
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


def _finish(eta, coeffs, total_power, n, route, source_dtype, where, vectors=None, **extra):
    """Sort, refuse significantly negative eigenvalues, drop round-off modes.

    ``vectors`` (n, M), if given, are the eigenfunctions on the samples in the order of
    ``eta``; they are sorted and filtered alike and kept as the spectrum's ``basis``.
    """
    order = np.argsort(eta, kind="stable")[::-1]
    eta, coeffs = eta[order], coeffs[order]
    if vectors is not None:
        vectors = vectors[:, order]
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
    if vectors is not None:
        extra["basis"] = np.ascontiguousarray(vectors[:, keep])
    captured = float(np.sum(coeffs**2))
    residual = max(total_power - captured, 0.0)
    if residual < 1e-13 * max(total_power, 1e-300):
        residual = 0.0
    return Spectrum(eigenvalues=eta, coefficients=coeffs, residual_power=residual, n=n, route=route, **extra)


def _total_power(y):
    return float(np.einsum("ij,ij->", y, y)) / y.shape[0]


def spectrum_from_gram(k, y, source_dtype=np.float64, where="Gram", check=True, method="auto", basis=False):
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
    basis : bool
        Also keep the eigenfunctions φ_k(x_i) = √n U_ik (needs the eigenvectors).
    """
    n = k.shape[0]
    if check:
        k, owned = _validate_gram(k, source_dtype, where)
    else:
        owned = True
    if basis:
        eta, u = np.linalg.eigh(k)
        return _finish(eta / n, u.T @ y / np.sqrt(n), _total_power(y), n, "gram", source_dtype, where,
                       vectors=u * np.sqrt(n))
    eta, proj = eigh_project(k, y, overwrite_a=owned, method=method)
    return _finish(eta / n, proj / np.sqrt(n), _total_power(y), n, "gram", source_dtype, where)


def spectrum_from_moments(c, b, total_power, n, source_dtype=np.float64, where="features", overwrite=False,
                          method="auto"):
    """Spectrum of the linear kernel from C = XᵀX/n (d×d) and b = Xᵀy/n (d×c).

    η = eig(C), v_k = V_kᵀ b / √η_k. ``c`` may hold only its lower triangle if
    Fortran-ordered.
    """
    eta, proj = eigh_project(c, b, overwrite_a=overwrite, method=method)
    with np.errstate(divide="ignore", invalid="ignore"):
        coeffs = np.where(eta[:, None] > 0, proj / np.sqrt(np.abs(eta))[:, None], 0.0)
    return _finish(eta, coeffs, float(total_power), n, "features", source_dtype, where)


def spectrum_from_features(x, y, source_dtype=np.float64, where="features", method="auto", basis=False):
    """Spectrum of the linear kernel K = XXᵀ, by the d×d second moment when d < n.

    With ``basis`` the eigenfunctions on the samples are φ_k(x_i) = x_i·V_k/√η_k.
    """
    n, d = x.shape
    if d >= n:
        return spectrum_from_gram(x @ x.T, y, source_dtype, where, check=False, method=method, basis=basis)
    if basis:
        eta, v = np.linalg.eigh(x.T @ x / n)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(eta > 0, 1.0 / np.sqrt(np.abs(eta)), 0.0)
        phi = (x @ v) * inv
        return _finish(eta, (v.T @ (x.T @ y / n)) * inv[:, None], _total_power(y), n, "features", source_dtype,
                       where, vectors=phi)
    c = x.T @ x  # numpy's own symmetric product (OpenBLAS syrk called directly is no faster)
    c /= n
    return spectrum_from_moments(c, x.T @ y / n, _total_power(y), n, source_dtype, where, overwrite=True,
                                 method=method)

