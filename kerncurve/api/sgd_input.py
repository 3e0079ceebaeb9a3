"""The input of `kerncurve.sgd`, loaded once: features and targets, a Gram, or a spectrum alone."""

import os
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_array, check_int, check_targets
from ..errors import InputError
from ..spectral import Spectrum, spectrum_from_features, spectrum_from_gram
from ..theory.sgd import SGDProblem

__all__ = ["SGDData", "load_sgd"]


@dataclass(frozen=True, eq=False)
class SGDData:
    """What `kerncurve.sgd` runs on: the spectrum of Σ = ΨᵀΨ/n and, with samples, the exact model.

    Attributes
    ----------
    spectrum : Spectrum
        Eigenvalues λ_k of Σ, coefficients v_k (one channel), residual power v_⊥²; with samples
        also the eigenbasis on them.
    problem : SGDProblem or None
        The exact model (spectrum + y⊥); None for a spectrum alone (Gaussian model only).
    features : ndarray (n, d) or None
        What simulated and multi-pass SGD run on: the features, or φ√λ for a Gram (the
        features of the Gram's eigenbasis, Φ = √n U √η).
    targets : ndarray (n,) or None
    provenance : dict
        ``input`` and ``source``.
    """

    spectrum: Spectrum
    problem: SGDProblem = None
    features: np.ndarray = field(default=None, repr=False)
    targets: np.ndarray = field(default=None, repr=False)
    provenance: dict = field(default_factory=dict)

    @property
    def n(self):
        return self.spectrum.n

    @property
    def has_samples(self):
        return self.problem is not None

    @property
    def dim(self):
        """Number of features (the kept modes for a Gram or a spectrum)."""
        return int(self.features.shape[1]) if self.features is not None else self.spectrum.rank


def _from_features(x, y, dtype=np.float64, where="X", provenance=None):
    spec = spectrum_from_features(x, y[:, None], dtype, where, basis=True)
    return SGDData(spec, SGDProblem.from_spectrum(spec, y, check=False), x, y, provenance or {})


def _from_gram(k, y, dtype=np.float64, where="gram", provenance=None):
    spec = spectrum_from_gram(k, y[:, None], dtype, where, basis=True)
    problem = SGDProblem.from_spectrum(spec, y, check=False)
    return SGDData(spec, problem, problem.phi, y, provenance or {})


def _one_column(y, n, n_param):
    y = check_targets(y, n, "y", n_param)
    if y.shape[1] != 1:
        raise InputError(f"y has {y.shape[1]} columns; SGD trains one readout: pass one target column", param="y")
    return y[:, 0]


def _from_file(path, *, features_key, gram_key, targets_key, inputs_key, kernel, bandwidth, degree, depth,
               progress=None):
    from ..io.sgd import read_sgd_input
    from ..kernels import KERNELS

    if kernel is not None and kernel not in KERNELS:
        raise InputError(f"unknown kernel={kernel!r}; choose one of {', '.join(KERNELS)}", param="kernel")
    if bandwidth is not None and not (isinstance(bandwidth, (int, float)) and 0 < bandwidth < float("inf")):
        raise InputError(f"bandwidth must be a positive number, got {bandwidth!r}", param="bandwidth")
    kparams = {"bandwidth": bandwidth, "degree": check_int(degree, "degree", minimum=1, maximum=10_000),
               "depth": check_int(depth, "depth", minimum=1, maximum=10_000)}
    path = os.fspath(path)
    problem, y = read_sgd_input(path, features_key=features_key, gram_key=gram_key, targets_key=targets_key,
                                inputs_key=inputs_key, kernel=kernel, kernel_params=kparams)
    prov = {"input": path, "source": problem.info.get("source", "")}
    if y is None:
        return SGDData(problem.spectrum, provenance=prov)
    x = problem.features if problem.gram is None else None  # read from disk here
    if progress is not None:
        progress(1)
    if x is None:
        return _from_gram(problem.gram, y, problem.source_dtype, f"{path}: Gram", prov)
    return _from_features(x, y, problem.source_dtype, f"{path}: features", prov)


def load_sgd(input=None, *, X=None, y=None, gram=None, features_key="/features", gram_key="/gram",
             targets_key="/targets", inputs_key="/inputs", kernel=None, bandwidth=None, degree=2, depth=1,
             progress=None):
    """Load an SGD input once (`kerncurve.sgd` accepts the result in place of ``input``).

    Parameters
    ----------
    input : str, path or Spectrum, optional
        An HDF5 file (features, a Gram, ``kernel`` on raw inputs, or a spectrum cache; the
        ``*_key`` options name its datasets), or a one-channel `Spectrum`. A spectrum alone
        serves the Gaussian model; one computed with ``basis=True`` and passed with its
        targets ``y`` serves the exact model too.
    X : array_like (n, d), optional
        Features (with ``y``), instead of ``input``.
    gram : array_like (n, n), optional
        A kernel matrix (with ``y``), instead of ``input``: its eigenbasis gives the features.
    y : array_like (n,), optional
        The targets, one column.
    progress : callable, optional
        ``progress(k)`` after reading the file and after the eigendecomposition.

    Returns
    -------
    SGDData
    """
    given = [name for name, v in (("input", input), ("X", X), ("gram", gram)) if v is not None]
    if len(given) != 1:
        raise InputError("give one of input= (an HDF5 path or a Spectrum), X= (features) or gram= (a kernel "
                         f"matrix); got {', '.join(given) or 'none'}", param=given[-1] if given else "input")
    if input is not None and not isinstance(input, Spectrum):
        if not isinstance(input, (str, bytes, os.PathLike)):
            raise InputError(f"input must be a path to an HDF5 file or a Spectrum, got {type(input).__name__}",
                             param="input")
        if y is not None:
            raise InputError("y is read from the input file; pass it only with X=, gram= or a Spectrum", param="y")
        return _from_file(input, features_key=features_key, gram_key=gram_key, targets_key=targets_key,
                          inputs_key=inputs_key, kernel=kernel, bandwidth=bandwidth, degree=degree, depth=depth,
                          progress=progress)
    if isinstance(input, Spectrum):
        if input.channels != 1:
            raise InputError(f"input has {input.channels} target channels; SGD takes one", param="input")
        if y is None:
            return SGDData(input, provenance=dict(input.provenance))
        targets = _one_column(y, input.n, "the spectrum")
        problem = SGDProblem.from_spectrum(input, targets)
        return SGDData(input, problem, problem.phi, targets, dict(input.provenance))
    if y is None:
        raise InputError(f"y is needed with {given[0]}= (the targets of the samples)", param="y")
    if X is not None:
        x = check_array(X, "X", ndim=(2,), what="(n, d)")
        return _from_features(x, _one_column(y, x.shape[0], "X"))
    k = check_array(gram, "gram", ndim=(2,), what="(n, n)")
    if k.shape[0] != k.shape[1]:
        raise InputError(f"gram must be square (n, n), got shape {k.shape}", param="gram")
    return _from_gram(k, _one_column(y, k.shape[0], "gram"))
