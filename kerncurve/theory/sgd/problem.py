"""The exact SGD model's view of a feature distribution: a `Spectrum` with its eigenbasis, and y⊥.

Features ψ (the n rows of Ψ) with uncentered second moment Σ = ΨᵀΨ/n are the linear kernel
K = ΨΨᵀ of `kerncurve.spectral`: the eigenvalues λ_k of Σ are those of K/n, and with the
eigenfunctions φ_k(x_i) = √n U_ik of `Spectrum.basis` and target coefficients v_k,

    Ψ V = φ diag(√λ)   (the features in the eigenbasis of Σ),   w*_k = v_k/√λ_k,
    y⊥ = y − φ v       (⟨ψ y⊥⟩ = 0, mean y⊥² = v_⊥²).

The Gaussian model needs only (λ, w*², v_⊥²), which every `Spectrum` holds. The exact model
also needs y⊥ on each sample (its third- and fourth-moment terms), which a spectrum keeps only
as a mean square: `SGDProblem` is the spectrum with its basis plus the targets.
"""

import functools
from dataclasses import dataclass

import numpy as np

from kerncurve._validation import check_array, check_targets
from kerncurve.errors import InputError
from kerncurve.spectral import Spectrum, spectrum_from_features

__all__ = ["SGDProblem", "SGDCurve", "prepare", "gaussian_terms"]

DIVERGED = 1e250  # a loss beyond this is reported as inf (and the recursion stops)


@dataclass(frozen=True, eq=False)
class SGDProblem:
    """A `Spectrum` with its eigenbasis on the samples, and the targets' residual y⊥.

    Build one with `prepare` (features and targets) or `SGDProblem.from_spectrum`.

    Attributes
    ----------
    spectrum : Spectrum
        One target channel, with ``basis`` (n, r): φ_k(x_i).
    y_perp : ndarray (n,)
        y − φ v, orthogonal to every mode.
    """

    spectrum: Spectrum
    y_perp: np.ndarray

    @classmethod
    def from_spectrum(cls, spectrum, targets, *, check=True):
        """The exact model of a spectrum computed with ``basis=True`` from the targets ``targets``.

        Raises `InputError` if the spectrum has no basis or several channels, or (with
        ``check``) if ``targets`` is not the target the spectrum was computed from.
        """
        if not isinstance(spectrum, Spectrum) or spectrum.basis is None:
            raise InputError("spectrum needs its eigenbasis on the samples for the exact model: build it with "
                             "basis=True, e.g. Spectrum.from_features(X, y, basis=True)", param="spectrum")
        if spectrum.channels != 1:
            raise InputError(f"spectrum has {spectrum.channels} target channels; SGD takes one", param="spectrum")
        y = check_targets(targets, spectrum.n, "y", "the spectrum")
        if y.shape[1] != 1:
            raise InputError(f"y has {y.shape[1]} channels; SGD takes one target column", param="y")
        y = y[:, 0]
        basis, v = spectrum.basis, spectrum.coefficients[:, 0]
        if check:
            proj = basis.T @ y / spectrum.n
            scale = np.sqrt(np.mean(y * y)) + 1e-300
            if np.max(np.abs(proj - v)) > 1e-8 * scale:
                raise InputError("y is not the target the spectrum was computed from (its mode coefficients "
                                 "differ); pass the same y", param="y")
        return cls(spectrum, y - basis @ v)

    @property
    def eigenvalues(self):
        """λ_k of Σ, descending (round-off modes dropped)."""
        return self.spectrum.eigenvalues

    @functools.cached_property
    def phi(self):
        """Features in the eigenbasis of Σ, (n, r): ``phiᵀphi/n = diag(eigenvalues)``."""
        return self.spectrum.basis * np.sqrt(self.eigenvalues)

    @functools.cached_property
    def w_star(self):
        """Best linear readout in that basis, w*_k = v_k/√λ_k (λ_k w*_k² = v_k²)."""
        return self.spectrum.coefficients[:, 0] / np.sqrt(self.eigenvalues)

    @property
    def n(self):
        return self.spectrum.n

    @property
    def unlearnable(self):
        """⟨y⊥²⟩: the loss floor of a linear readout (without label noise)."""
        return float(np.mean(self.y_perp**2))

    @property
    def target_power(self):
        """λ_k w_k², the power of the target in mode k."""
        return self.eigenvalues * self.w_star**2


@dataclass(frozen=True)
class SGDCurve:
    """Expected loss (against labels) of SGD at the requested steps; ``inf`` once diverged."""

    steps: np.ndarray
    loss: np.ndarray
    lr: float
    batch: int


def prepare(features, targets):
    """The exact model of features (n, M) and one target column: `Spectrum.from_features` with
    its basis (the eigenbasis of Σ = ΨᵀΨ/n; modes below 1e-12·λ_max dropped), and y⊥.

    Parameters
    ----------
    features : array_like (n, M)
        Feature vectors ψ(x_i) of the n population samples (rows).
    targets : array_like (n,) or (n, 1)
        Targets y_i.

    Returns
    -------
    SGDProblem
    """
    x = check_array(features, "features", ndim=(2,), what="(n, M)")
    y = check_targets(targets, x.shape[0], "targets", "features")
    if y.shape[1] != 1:
        raise InputError(f"targets has {y.shape[1]} channels; SGD takes one target column", param="targets")
    spec = spectrum_from_features(x, y, where="features", basis=True)
    return SGDProblem.from_spectrum(spec, y, check=False)


def gaussian_terms(source):
    """(λ_k, w*_k², v_⊥²) of an `SGDProblem` or a one-channel `Spectrum`: the Gaussian model's inputs."""
    if isinstance(source, SGDProblem):
        return source.eigenvalues, source.w_star**2, source.unlearnable
    if isinstance(source, Spectrum):
        if source.channels != 1:
            raise InputError(f"spectrum has {source.channels} target channels; SGD takes one", param="spectrum")
        lam = source.eigenvalues
        return lam, source.coefficients[:, 0] ** 2 / lam, float(source.residual_power)
    raise InputError(f"problem must be an SGDProblem or a Spectrum, got {type(source).__name__}", param="problem")


def check_run(lr, batch, steps):
    """(lr, batch, output steps) validated: lr > 0, an integer batch ≥ 1, steps ≥ 0 (an int T means 0..T)."""
    if not (np.ndim(lr) == 0 and lr > 0 and np.isfinite(lr)):
        raise InputError(f"lr must be a positive number, got {lr!r}", param="lr")
    if not (np.ndim(batch) == 0 and int(batch) == batch and batch >= 1):
        raise InputError(f"batch must be a positive integer, got {batch!r}", param="batch")
    steps = np.asarray(steps)
    if steps.ndim == 0:
        steps = np.arange(int(steps) + 1)
    steps = steps.astype(np.int64)
    if steps.size == 0 or steps.min() < 0:
        raise InputError("steps must be a non-empty list of integers ≥ 0", param="steps")
    return float(lr), int(batch), steps


def record(out, steps, t, value):
    """Write value into every output slot whose step is t (steps need not be sorted)."""
    out[steps == t] = value


def advance(progress, k):
    if progress is not None and k > 0:
        progress(k)
