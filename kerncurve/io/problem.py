"""An input file's kernel problem: features, a Gram, raw inputs + a kernel, or a spectrum cache.

Which kernel is used: ``kernel`` given → build it from ``inputs_key`` (or ``features_key``);
otherwise the Gram at ``gram_key`` if present, else the linear kernel of the features at
``features_key``; a spectrum cache (written by ``spectrum --save``) is accepted in place of
either.
"""

import os

import numpy as np

from ..errors import InputError
from .cache import SPECTRUM_FORMAT, is_spectrum_cache, read_spectrum_fields
from .h5 import check_meta, dataset_source, guard, lookup, open_h5, read_array
from .sizes import check_bytes, memory_budget

__all__ = ["Problem", "load_problem"]


class Problem:
    """What a theory command needs from an input file.

    Exactly one of ``features``, ``gram`` or ``spectrum`` is set (``spectrum`` for a cache
    written by ``spectrum --save``). ``targets`` is (n, c) except for a spectrum cache.

    Features and targets read by `load_problem` stay on disk until first used:
    ``problem.features`` / ``problem.targets`` read them whole (validated, float64), while
    the spectrum's streamed route reads them in row blocks instead (``feature_source`` /
    ``targets_source``) so that memory does not grow with n.

    ``options`` carries the spectrum settings (``memory``, ``engine``, ``scheduler``,
    ``top_eigen``…) to `kerncurve.spectral.compute_spectrum`.
    """

    def __init__(self, path, targets=None, features=None, gram=None, spectrum=None,
                 source_dtype=np.dtype(np.float64), info=None, *, feature_source=None, targets_source=None,
                 options=None, kernel_inputs=None, kernel=None):
        self.path = path
        self._targets = targets
        self._features = features
        self.gram = gram
        self.spectrum = spectrum
        self.source_dtype = np.dtype(source_dtype)
        self.info = {} if info is None else info
        self.feature_source = feature_source
        self.targets_source = targets_source
        self.options = {} if options is None else dict(options)
        # Gram-free problems: the inputs and (name, params) of a built-in kernel
        self.kernel_inputs = kernel_inputs
        self.kernel = kernel

    def __repr__(self):
        kind = ("spectrum" if self.spectrum is not None else "gram" if self.gram is not None
                else "kernel" if self.kernel is not None else "features")
        return f"Problem(path={self.path!r}, kind={kind!r}, n={self.n})"

    @property
    def features(self):
        """(n, d) float64 features, read from disk on first use (None for Gram/spectrum problems)."""
        if self._features is None and self.feature_source is not None:
            self._features = self.feature_source.read(memory=self.options.get("memory_bytes"))
        return self._features

    @features.setter
    def features(self, value):
        self._features = value

    @property
    def features_loaded(self):
        """True once the features are in memory (always for a Problem built from arrays)."""
        return self._features is not None

    @property
    def has_features(self):
        return self._features is not None or self.feature_source is not None

    @property
    def targets(self):
        """(n, c) float64 targets, read from disk on first use."""
        if self._targets is None and self.targets_source is not None:
            y = self.targets_source.read()
            self._targets = y[:, None] if y.ndim == 1 else y
        return self._targets

    @targets.setter
    def targets(self, value):
        self._targets = value

    @property
    def n(self):
        if self.spectrum is not None:
            return self.spectrum.n
        if self._targets is None and self.targets_source is not None:
            return int(self.targets_source.shape[0])
        return self.targets.shape[0]

    @property
    def has_samples(self):
        return self.spectrum is None


def _targets(f, key, n=None):
    y = read_array(f, key, ndim=(1, 2), option="--targets-key", what="targets (n,) or (n, c)")
    if y.ndim == 1:
        y = y[:, None]
    if n is not None and y.shape[0] != n:
        raise InputError(
            f"{f.filename}:{key} has {y.shape[0]} samples but the kernel has {n}; targets need one row per sample"
        )
    return y


def load_problem(
    path,
    *,
    features_key="/features",
    gram_key="/gram",
    targets_key="/targets",
    inputs_key="/inputs",
    kernel=None,
    kernel_params=None,
    memory=None,
    gram_free=False,
):
    """Read an input file into a `Problem` (the kernel choice in the module docstring).

    ``memory`` (bytes, or text like ``2G``) bounds what is read whole and the n×n Gram;
    a declared shape over it is refused before anything is read. ``gram_free``: with a
    ``kernel``, keep the inputs and the kernel instead of building the Gram (the top-k and
    Nyström routes compute kernel blocks on the fly).
    """
    from .. import kernels

    path = os.fspath(path)
    budget = memory_budget(memory)
    with open_h5(path) as f:
        with guard(path, "/"):
            fmt = f.attrs.get("format")
        if is_spectrum_cache(f) and kernel is None:
            from ..spectral import Spectrum

            return Problem(path=path, spectrum=Spectrum(**read_spectrum_fields(f)), info={"source": "spectrum cache"})
        if isinstance(fmt, (str, bytes)) and (fmt.decode() if isinstance(fmt, bytes) else fmt) == SPECTRUM_FORMAT:
            raise InputError(f"{path} is a spectrum cache without its /spectrum group; write it again with "
                             "'kerncurve spectrum --save'")
        if kernel is not None:
            src = inputs_key if lookup(f, inputs_key) is not None else (
                features_key if lookup(f, features_key) is not None else None)
            if src is None:
                raise InputError(
                    f"--kernel {kernel} needs raw inputs, but {path!r} has neither {inputs_key!r} nor "
                    f"{features_key!r}; add one or set --inputs-key"
                )
            meta = check_meta(f, src, ndim=(2,), option="--inputs-key", what="inputs (n, d_in)")
            n_in = meta.shape[0]
            if not gram_free:
                check_bytes(3.0 * 8 * n_in * n_in, budget, f"the {n_in}×{n_in} {kernel} Gram (with its workspace)",
                            way_out="use --top-eigen K or --landmarks M (neither forms the Gram), a smaller input, "
                                    "or raise --memory")
            x = read_array(f, src, ndim=(2,), option="--inputs-key", what="inputs (n, d_in)", memory=budget)
            y = _targets(f, targets_key, x.shape[0])
            if gram_free:
                params, info = kernels.resolve_kernel(kernel, x, **(kernel_params or {}))
                info.update(source=f"{kernel} kernel of {src} (Gram-free)")
                return Problem(path=path, targets=y, source_dtype=meta.dtype, info=info,
                               options={"memory_bytes": budget}, kernel_inputs=x, kernel=(kernel, params))
            k, info = kernels.build_kernel(kernel, x, **(kernel_params or {}))
            info.update(source=f"{kernel} kernel of {src}")
            return Problem(path=path, targets=y, gram=k, source_dtype=meta.dtype, info=info,
                           options={"memory_bytes": budget})
        if lookup(f, gram_key, option="--gram-key") is not None:
            meta = check_meta(f, gram_key, ndim=(2,), option="--gram-key", what="the Gram (n, n)")
            if meta.shape[0] != meta.shape[1]:
                raise InputError(f"{path}:{gram_key} is not square (shape {meta.shape}); a Gram matrix must be n×n")
            n_g = meta.shape[0]
            check_bytes(3.0 * 8 * n_g * n_g, budget, f"the {n_g}×{n_g} Gram of {path}:{gram_key} (with its workspace)")
            k = read_array(f, gram_key, ndim=(2,), option="--gram-key", what="the Gram (n, n)")
            y = _targets(f, targets_key, k.shape[0])
            return Problem(path=path, targets=y, gram=k, source_dtype=meta.dtype, info={"source": gram_key},
                           options={"memory_bytes": budget})
        if lookup(f, features_key, option="--features-key") is not None:
            # metadata only: the features (and their targets) are read on first use or streamed
            fsrc = dataset_source(f, path, features_key, ndim=(2,), option="--features-key", what="features (n, d)")
            tsrc = dataset_source(f, path, targets_key, ndim=(1, 2), option="--targets-key",
                                  what="targets (n,) or (n, c)")
            if tsrc.shape[0] != fsrc.shape[0]:
                raise InputError(
                    f"{path}:{targets_key} has {tsrc.shape[0]} samples but the kernel has {fsrc.shape[0]}; "
                    "targets need one row per sample"
                )
            return Problem(path=path, source_dtype=fsrc.dtype, info={"source": features_key},
                           feature_source=fsrc, targets_source=tsrc, options={"memory_bytes": budget})
        raise InputError(
            f"{path!r} has no {gram_key!r} or {features_key!r} dataset (and no --kernel with {inputs_key!r}); "
            "see README: HDF5 schema"
        )
