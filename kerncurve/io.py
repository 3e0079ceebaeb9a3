"""Reading and validating HDF5 inputs; atomic outputs; the spectrum cache format.

Schema: CONTRACT §2. Every problem found here raises `InputError` with one line that says
what is wrong, where (file, dataset, option) and how to fix it.
"""

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

__all__ = [
    "Problem",
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
    arr = np.asarray(obj[()], dtype=dtype)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(f"{where} contains NaN or inf (first at index {tuple(int(i) for i in bad)}); clean the data first")
    return arr


@dataclass
class Problem:
    """What a theory command needs from an input file.

    Exactly one of ``features``, ``gram`` or ``spectrum`` is set (``spectrum`` for a cache
    written by ``spectrum --save``). ``targets`` is (n, c) except for a spectrum cache.
    """

    path: str
    targets: np.ndarray = None
    features: np.ndarray = None
    gram: np.ndarray = None
    spectrum: object = None
    source_dtype: np.dtype = np.dtype(np.float64)
    info: dict = field(default_factory=dict)

    @property
    def n(self):
        if self.spectrum is not None:
            return self.spectrum.n
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
            x = read_array(f, features_key, ndim=(2,), option="--features-key", what="features (n, d)")
            y = _targets(f, targets_key, x.shape[0])
            return Problem(path=path, targets=y, features=x, source_dtype=f[features_key].dtype, info={"source": features_key})
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
