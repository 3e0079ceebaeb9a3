"""Reading and validating HDF5 inputs; atomic outputs; the spectrum cache format.

Schema: CONTRACT §2. Every problem found here raises `InputError` with one line that says
what is wrong, where (file, dataset, option) and how to fix it.
"""

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from .errors import InputError

__all__ = [
    "Problem",
    "DatasetSource",
    "open_h5",
    "read_array",
    "has_dataset",
    "load_problem",
    "atomic_path",
    "atomic_open",
    "check_output_path",
    "file_sha256",
    "SPECTRUM_FORMAT",
    "SPECTRUM_FORMAT_VERSION",
]

SPECTRUM_FORMAT = "kerncurve-spectrum"
SPECTRUM_FORMAT_VERSION = 1


def _h5py():
    import h5py  # imported lazily: `kerncurve --help` stays fast

    return h5py


@contextlib.contextmanager
def open_h5(path):
    """Open an HDF5 input read-only, turning every failure into an `InputError`."""
    h5py = _h5py()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"input file {path!r} does not exist; check the path")
    if os.path.isdir(path):
        raise InputError(f"input {path!r} is a folder, not an HDF5 file")
    try:
        is_h5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise InputError(f"cannot read input file {path!r}: {exc.strerror or exc}") from None
    if not is_h5:
        raise InputError(f"input file {path!r} is not an HDF5 file; write your arrays with h5py (see README: HDF5 schema)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"cannot open HDF5 file {path!r}: {exc}") from None
    try:
        yield f
    finally:
        f.close()


def has_dataset(f, key):
    """True if ``key`` names a dataset in the open file."""
    h5py = _h5py()
    return key in f and isinstance(f[key], h5py.Dataset)


def read_array(f, key, *, ndim=(1, 2), option=None, what=None, dtype=np.float64):
    """Read a numeric dataset as float64 (or ``dtype``) with validation.

    Parameters
    ----------
    f : h5py.File
    key : str
        Dataset path.
    ndim : tuple of int
        Allowed numbers of dimensions.
    option : str, optional
        The CLI option that sets ``key`` (named in error messages).
    what : str, optional
        What the dataset means, for messages (e.g. "features (n, d)").

    Raises
    ------
    InputError
        Missing, not a dataset, non-numeric, wrong rank, empty, or non-finite.
    """
    _check_meta(f, key, ndim=ndim, option=option, what=what)
    where = f"{f.filename}:{key}"
    obj = f[key]
    arr = np.asarray(obj[()], dtype=dtype)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(f"{where} contains NaN or inf (first at index {tuple(int(i) for i in bad)}); clean the data first")
    return arr


@dataclass(frozen=True)
class DatasetSource:
    """Where an array lives on disk, for reading it whole or streaming it in row blocks.

    Attributes
    ----------
    path, key : str
        File and dataset path.
    shape : tuple
    dtype : numpy.dtype
        The stored dtype (float32 stays float32 on disk; blocks are converted when read).
    chunks : tuple or None
        HDF5 chunk shape (None when contiguous).
    option, what : str
        The CLI option that sets ``key`` and what the dataset means (for messages).
    """

    path: str
    key: str
    shape: tuple
    dtype: np.dtype
    chunks: tuple = None
    option: str = None
    what: str = None

    @property
    def where(self):
        return f"{self.path}:{self.key}"

    def read(self):
        """The whole dataset as float64, validated like `read_array`."""
        with open_h5(self.path) as f:
            return read_array(f, self.key, ndim=(len(self.shape),), option=self.option, what=self.what)


def _source(f, path, key, option, what):
    obj = f[key]
    return DatasetSource(path=path, key=key, shape=tuple(obj.shape), dtype=np.dtype(obj.dtype),
                         chunks=tuple(obj.chunks) if obj.chunks else None, option=option, what=what)


def _check_meta(f, key, *, ndim, option=None, what=None):
    """`read_array`'s checks that need no data: presence, dtype, rank, emptiness."""
    h5py = _h5py()
    where = f"{f.filename}:{key}"
    hint = f" (set another path with {option})" if option else ""
    if key not in f:
        raise InputError(f"dataset {key!r} not found in {f.filename!r}{hint}")
    obj = f[key]
    if not isinstance(obj, h5py.Dataset):
        raise InputError(f"{where} is a group, not a dataset{hint}")
    if obj.dtype.kind not in "iuf":
        raise InputError(f"{where} has non-numeric dtype {obj.dtype}; store {what or 'it'} as floats")
    if obj.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise InputError(f"{where} is {obj.ndim}-D with shape {obj.shape}; {what or 'it'} must be {want}")
    if obj.ndim >= 1 and obj.shape[0] == 0:
        raise InputError(f"{where} has zero samples (shape {obj.shape}); it needs at least one row")
    if obj.size == 0:
        raise InputError(f"{where} is empty (shape {obj.shape})")


class Problem:
    """What a theory command needs from an input file.

    Exactly one of ``features``, ``gram`` or ``spectrum`` is set (``spectrum`` for a cache
    written by ``spectrum --save``). ``targets`` is (n, c) except for a spectrum cache.

    Features and targets read by `load_problem` stay on disk until first used:
    ``problem.features`` / ``problem.targets`` read them whole (validated, float64), while
    `kerncurve.spectrum.compute_spectrum` can stream them in row blocks instead
    (``feature_source`` / ``targets_source``) so that memory does not grow with n.

    ``options`` carries the spectrum settings of the command line (``memory``,
    ``engine``, ``scheduler``, ``top_eigen``…) to `compute_spectrum`.
    """

    def __init__(self, path, targets=None, features=None, gram=None, spectrum=None,
                 source_dtype=np.dtype(np.float64), info=None, *, feature_source=None, targets_source=None,
                 options=None):
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

    def __repr__(self):
        kind = ("spectrum" if self.spectrum is not None else "gram" if self.gram is not None else "features")
        return f"Problem(path={self.path!r}, kind={kind!r}, n={self.n})"

    @property
    def features(self):
        """(n, d) float64 features, read from disk on first use (None for Gram/spectrum problems)."""
        if self._features is None and self.feature_source is not None:
            self._features = self.feature_source.read()
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
):
    """Read an input file into a `Problem` following CONTRACT §2's kernel choice.

    ``kernel`` given → build it from ``inputs_key`` (or ``features_key``); otherwise the Gram
    at ``gram_key`` if present, else the features (linear kernel); a spectrum cache is
    accepted in place of either.
    """
    from . import kernels
    from .spectrum import read_spectrum_group

    path = os.fspath(path)
    with open_h5(path) as f:
        if "spectrum" in f and f.attrs.get("format") == SPECTRUM_FORMAT and kernel is None:
            spec = read_spectrum_group(f)
            return Problem(path=path, spectrum=spec, info={"source": "spectrum cache"})
        if kernel is not None:
            src = inputs_key if inputs_key in f else (features_key if features_key in f else None)
            if src is None:
                raise InputError(
                    f"--kernel {kernel} needs raw inputs, but {path!r} has neither {inputs_key!r} nor "
                    f"{features_key!r}; add one or set --inputs-key"
                )
            x = read_array(f, src, ndim=(2,), option="--inputs-key", what="inputs (n, d_in)")
            y = _targets(f, targets_key, x.shape[0])
            k, info = kernels.build_kernel(kernel, x, **(kernel_params or {}))
            info.update(source=f"{kernel} kernel of {src}")
            return Problem(path=path, targets=y, gram=k, source_dtype=f[src].dtype, info=info)
        if gram_key in f:
            k = read_array(f, gram_key, ndim=(2,), option="--gram-key", what="the Gram (n, n)")
            if k.shape[0] != k.shape[1]:
                raise InputError(f"{path}:{gram_key} is not square (shape {k.shape}); a Gram matrix must be n×n")
            y = _targets(f, targets_key, k.shape[0])
            return Problem(path=path, targets=y, gram=k, source_dtype=f[gram_key].dtype, info={"source": gram_key})
        if features_key in f:
            # metadata only: the features (and their targets) are read on first use or streamed
            what = "features (n, d)"
            _check_meta(f, features_key, ndim=(2,), option="--features-key", what=what)
            fsrc = _source(f, path, features_key, "--features-key", what)
            twhat = "targets (n,) or (n, c)"
            _check_meta(f, targets_key, ndim=(1, 2), option="--targets-key", what=twhat)
            tsrc = _source(f, path, targets_key, "--targets-key", twhat)
            if tsrc.shape[0] != fsrc.shape[0]:
                raise InputError(
                    f"{path}:{targets_key} has {tsrc.shape[0]} samples but the kernel has {fsrc.shape[0]}; "
                    "targets need one row per sample"
                )
            return Problem(path=path, source_dtype=fsrc.dtype, info={"source": features_key},
                           feature_source=fsrc, targets_source=tsrc)
        raise InputError(
            f"{path!r} has no {gram_key!r} or {features_key!r} dataset (and no --kernel with {inputs_key!r}); "
            "see README: HDF5 schema"
        )


def check_output_path(path, option="-o/--output"):
    """Refuse an output whose folder does not exist (before any work is done)."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise InputError(f"{option}: folder {folder!r} does not exist; create it or choose another path")
    if os.path.isdir(os.fspath(path)):
        raise InputError(f"{option}: {path!r} is a folder; give a file name")


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path = os.fspath(path)
    check_output_path(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".kerncurve-", suffix=suffix or os.path.splitext(path)[1], dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path, mode="w"):
    """Open a temporary file beside ``path`` for writing; rename onto ``path`` on success."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, newline="" if "b" not in mode else None) as fh:
            yield fh


def file_sha256(path, chunk=1 << 20):
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
