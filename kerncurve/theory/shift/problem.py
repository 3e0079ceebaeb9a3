"""The factorization of a distribution-shift problem: the spectrum under the training measure
and what the test measure sees of it.

Training points are drawn from a measure p over a pool of n_p points, the error is measured
under a measure q over n_q test points. With D_p = diag(p) (the weighted-measure route of
docs/theory.md, the population and its spectrum)::

    A = D_p^{1/2} K_pp D_p^{1/2} = U diag(η) Uᵀ,   v = Uᵀ D_p^{1/2} y_p,
    Φ_q = K_qp D_p^{1/2} U diag(1/η)      (eigenfunctions at the test points, Nyström),
    O = Φ_qᵀ D_q Φ_q,  r_q = y_q − Φ_q v,  c = Φ_qᵀ D_q r_q,  R² = Σ_j q_j |r_qj|².

With uniform p this is exactly the `Spectrum` of K/n; `ShiftProblem` holds that spectrum
(eigenvalues, coefficients, E_p[r²] as its residual power) and the test-side arrays. It is
built once and is independent of P, λ and σ².
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from kerncurve.errors import InputError
from kerncurve.spectral import Spectrum

__all__ = [
    "DROP_RTOL",
    "NEG_RTOL",
    "ShiftProblem",
    "check_measure",
    "as_targets",
    "shift_problem_from_gram",
    "shift_problem_from_features",
]

#: eigenvalues below this fraction of the largest are round-off and dropped (their target
#: power stays in the residual r)
DROP_RTOL = 1e-12
#: an eigenvalue below -NEG_RTOL * largest means the kernel is not positive semi-definite
NEG_RTOL = 1e-5


def check_measure(w, n, name, param=None):
    """Validate a measure over ``n`` points and return it normalized to sum 1.

    Parameters
    ----------
    w : array_like or None
        Non-negative weights of length ``n``; None means uniform.
    n : int
        Number of points.
    name : str
        What the weights are called in messages, e.g. ``"train weights"`` or
        ``"data.h5:/train/weights"``.
    param : str, optional
        The Python parameter they came in (recorded on the `InputError`).

    Returns
    -------
    numpy.ndarray
        float64 weights summing to 1.

    Raises
    ------
    InputError
        Wrong length, NaN/inf, negative entries or all zero.
    """
    if w is None:
        return np.full(n, 1.0 / n)
    try:
        w = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numbers (one non-negative weight per point)", param=param) from None
    if w.ndim != 1 or w.shape[0] != n:
        raise InputError(f"{name} has shape {w.shape} but there are {n} points; give one weight per point",
                         param=param)
    if not np.all(np.isfinite(w)):
        raise InputError(f"{name} contains NaN or inf; give finite non-negative weights", param=param)
    if np.any(w < 0):
        raise InputError(f"{name} has negative entries; weights must be non-negative", param=param)
    total = w.sum()
    if not total > 0:
        raise InputError(f"{name} is all zero; at least one weight must be positive", param=param)
    return w / total


@dataclass(frozen=True, eq=False)
class ShiftProblem:
    """The factorization of a distribution-shift problem (independent of P, λ, σ²).

    Attributes
    ----------
    spectrum : Spectrum
        The kernel under the training measure p: eigenvalues η_k (descending, all > 0),
        target coefficients v_k = E_p[φ_k y] per channel, and E_p[r²] = v_⊥² (the target
        power outside the kept modes, summed over channels) as its ``residual_power``;
        ``n`` is the pool size n_p.
    overlap : ndarray (M, M)
        O_kl = E_q[φ_k φ_l].
    cross : ndarray (M, c)
        c_k = E_q[φ_k r].
    test_residual_power : float
        R² = E_q[r²] (summed over channels).
    test_phi : ndarray (n_q, M)
        Eigenfunctions φ_k at the test points (Nyström extension).
    test_residual : ndarray (n_q, c)
        r at the test points.
    test_weights : ndarray (n_q,)
        The test measure q.
    n_modes_dropped : int
        Eigenvalues dropped as round-off (below 1e-12 of the largest).
    """

    spectrum: Spectrum
    overlap: np.ndarray
    cross: np.ndarray
    test_residual_power: float
    test_phi: np.ndarray = field(repr=False)
    test_residual: np.ndarray = field(repr=False)
    test_weights: np.ndarray = field(repr=False)
    n_modes_dropped: int = 0

    @property
    def eigenvalues(self):
        """η_k under the training measure, descending."""
        return self.spectrum.eigenvalues

    @property
    def coefficients(self):
        """v_k per channel, (M, c)."""
        return self.spectrum.coefficients

    @property
    def train_residual_power(self):
        """E_p[r²] = v_⊥²."""
        return self.spectrum.residual_power

    @property
    def n_modes(self):
        """Number of kept modes M."""
        return self.spectrum.rank


def as_targets(y, n, name, param=None):
    """Targets as a float64 (n, c) array (a 1-D ``y`` becomes one column)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n:
        raise InputError(f"{name} has shape {y.shape}; expected ({n},) or ({n}, c)", param=param)
    return y


def sym_eigh(A):
    """Ascending eigendecomposition of the symmetric part of A (divide and conquer)."""
    return scipy.linalg.eigh(0.5 * (A + A.T), check_finite=False, driver="evd")


def kept_modes(eta, where):
    """The mask of kept eigenvalues; refuses a kernel that is zero or not PSD under p."""
    top = eta.max() if eta.size else 0.0
    if not top > 0:
        raise InputError(f"{where}: the kernel is zero under the training measure; "
                         "give a non-zero kernel or put weight on more training points")
    if eta.min() < -NEG_RTOL * top:
        raise InputError(
            f"{where}: the kernel is not positive semi-definite under the training measure "
            f"(eigenvalue {eta.min():.3g} vs largest {top:.3g}); check the Gram matrix"
        )
    return eta > DROP_RTOL * top


def _roundoff_zero(value, scale):
    # power left by projection round-off (~1e-30) must count as zero, or the ridgeless
    # threshold P = N₊ would report inf for a perfectly learnable target
    return 0.0 if value <= 1e-13 * scale else float(value)


def _finish_problem(eta, v, vperp2, phi_q, y_q, q, dropped, n_p, route):
    vperp2 = _roundoff_zero(vperp2, np.sum(v**2) + vperp2)
    r_q = y_q - phi_q @ v
    weighted = phi_q * q[:, None]
    overlap = phi_q.T @ weighted
    overlap = 0.5 * (overlap + overlap.T)
    cross = weighted.T @ r_q
    R2 = _roundoff_zero(np.sum(q[:, None] * r_q**2), np.sum(q[:, None] * y_q**2))
    if R2 == 0.0:
        cross = np.zeros_like(cross)
    spectrum = Spectrum(eigenvalues=eta, coefficients=v, residual_power=float(vperp2), n=int(n_p), route=route,
                        notes={"dropped_modes": int(dropped)})
    return ShiftProblem(spectrum=spectrum, overlap=overlap, cross=cross, test_residual_power=R2, test_phi=phi_q,
                        test_residual=r_q, test_weights=q, n_modes_dropped=int(dropped))


def _check_pairs(y_p, y_q, p, q, n_p, n_q):
    """Validated train/test targets (2-D, same channels) and measures."""
    y_p = as_targets(y_p, n_p, "train targets")
    y_q = as_targets(y_q, n_q, "test targets")
    if y_p.shape[1] != y_q.shape[1]:
        raise InputError(f"train targets have {y_p.shape[1]} channels but test targets "
                         f"{y_q.shape[1]}; give the same number of channels")
    return y_p, y_q, check_measure(p, n_p, "train weights"), check_measure(q, n_q, "test weights")


def shift_problem_from_gram(K_pp, K_qp, y_p, y_q, p=None, q=None):
    """Build a `ShiftProblem` from Gram blocks (the weighted-measure route).

    A = D_p^{1/2} K_pp D_p^{1/2} = U diag(η) Uᵀ,  v = Uᵀ D_p^{1/2} y_p,
    Φ_q = K_qp D_p^{1/2} U diag(1/η),  O = Φ_qᵀ D_q Φ_q,  r_q = y_q − Φ_q v,
    c = Φ_qᵀ D_q r_q,  R² = Σ_j q_j r_qj².

    Eigenvalues below 1e-12·η_max are dropped; their target power stays in r
    (v_⊥² = |D_p^{1/2} y_p − U v|²).

    Parameters
    ----------
    K_pp : ndarray (n_p, n_p)
        Kernel among the training pool.
    K_qp : ndarray (n_q, n_p)
        Kernel between test points and training pool.
    y_p, y_q : ndarray (n_p,) / (n_p, c) and (n_q,) / (n_q, c)
        Clean targets on the pool and on the test points.
    p, q : ndarray or None
        Training and test measures (uniform if None).

    Returns
    -------
    ShiftProblem
    """
    K_pp = np.asarray(K_pp, dtype=np.float64)
    K_qp = np.asarray(K_qp, dtype=np.float64)
    n_p = K_pp.shape[0] if K_pp.ndim else 0
    if K_pp.ndim != 2 or K_pp.shape != (n_p, n_p):
        raise InputError(f"train Gram has shape {K_pp.shape}; it must be square")
    if K_qp.ndim != 2 or K_qp.shape[1] != n_p:
        raise InputError(
            f"test cross Gram has shape {K_qp.shape}; expected (n_test, {n_p})"
        )
    n_q = K_qp.shape[0]
    y_p, y_q, p, q = _check_pairs(y_p, y_q, p, q, n_p, n_q)
    s = np.sqrt(p)
    A = s[:, None] * K_pp * s[None, :]
    eta, U = sym_eigh(A)
    eta, U = eta[::-1], U[:, ::-1]
    keep = kept_modes(eta, "train Gram")
    eta, U = eta[keep], U[:, keep]
    sy = s[:, None] * y_p
    v = U.T @ sy
    vperp2 = np.sum((sy - U @ v) ** 2)
    phi_q = (K_qp * s[None, :]) @ U / eta[None, :]
    return _finish_problem(eta, v, vperp2, phi_q, y_q, q, (~keep).sum(), n_p, "gram")


def shift_problem_from_features(X_p, X_q, y_p, y_q, p=None, q=None):
    """Build a `ShiftProblem` from feature vectors (linear kernel, d×d route).

    S_p = X_pᵀ D_p X_p = V diag(η) Vᵀ, φ_k(x) = x·V_k/√η_k, v_k = V_kᵀ(X_pᵀ D_p y_p)/√η_k.
    Costs O(n d² + d³); identical to `shift_problem_from_gram` with K = X Xᵀ.

    Parameters
    ----------
    X_p : ndarray (n_p, d)
        Features of the training pool.
    X_q : ndarray (n_q, d)
        Features of the test points.
    y_p, y_q, p, q
        As in `shift_problem_from_gram`.

    Returns
    -------
    ShiftProblem
    """
    X_p = np.asarray(X_p, dtype=np.float64)
    X_q = np.asarray(X_q, dtype=np.float64)
    if X_p.ndim != 2 or X_q.ndim != 2 or X_p.shape[1] != X_q.shape[1]:
        raise InputError(
            f"train features {X_p.shape} and test features {X_q.shape} differ in dimension; "
            "give both groups the same feature dimension"
        )
    n_p, n_q = X_p.shape[0], X_q.shape[0]
    y_p, y_q, p, q = _check_pairs(y_p, y_q, p, q, n_p, n_q)
    S_p = X_p.T @ (X_p * p[:, None])
    eta, V = sym_eigh(S_p)
    eta, V = eta[::-1], V[:, ::-1]
    keep = kept_modes(eta, "train features")
    eta, V = eta[keep], V[:, keep]
    scale = 1.0 / np.sqrt(eta)
    v = (V.T @ (X_p.T @ (p[:, None] * y_p))) * scale[:, None]
    r_p = y_p - (X_p @ V) * scale[None, :] @ v
    vperp2 = np.sum(p[:, None] * r_p**2)
    phi_q = (X_q @ V) * scale[None, :]
    return _finish_problem(eta, v, vperp2, phi_q, y_q, q, (~keep).sum(), n_p, "features")
