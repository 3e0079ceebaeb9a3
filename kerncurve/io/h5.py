"""Guarded reading of HDF5 inputs.

Every lookup, link resolution, dataset read and filter goes through `guard`, which turns the
many ways a damaged or odd file fails inside h5py (``KeyError``, ``OSError``,
``RuntimeError``…) into one `InputError` naming the file and the dataset:
``data.h5: /features could not be read (a compressed chunk is damaged)``. Virtual datasets
whose sources are missing are refused (HDF5 would silently read zeros), and declared shapes
are checked against the memory budget before anything is allocated.
"""

import contextlib
import hashlib
import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .sizes import check_bytes

__all__ = [
    "DatasetSource",
    "open_h5",
    "guard",
    "lookup",
    "has_dataset",
    "check_meta",
    "read_array",
    "read_rows",
    "dataset_source",
    "file_sha256",
]


def _h5py():
    import h5py  # imported lazily: `kerncurve --help` stays fast

    return h5py


def _reason(exc):
    """A plain-words cause for an h5py failure."""
    text = " ".join(str(exc).split()).lower()
    if "filter" in text and any(w in text for w in ("not registered", "not available", "can't open", "unable to load",
                                                    "cannot be found", "plugin")):
        return "it needs an HDF5 compression filter that is not installed"
    if "checksum" in text or "fletcher" in text:
        return "a checksum does not match: the file is damaged"
    if any(w in text for w in ("inflate", "deflate", "filter", "decompress", "szip", "lzf")):
        return "a compressed chunk is damaged"
    if "external" in text:
        return "it is an external link whose file or dataset cannot be opened"
    if "link" in text and ("loop" in text or "too many" in text or "traverse" in text):
        return "its links form a loop"
    if "component not found" in text or "doesn't exist" in text or "not found" in text:
        return "a link on its path points nowhere"
    if "truncated" in text or "eof" in text or "end of file" in text:
        return "the file is truncated"
    first = " ".join(str(exc).split())[:120]
    return f"the file is damaged or unreadable: {first}" if first else "the file is damaged or unreadable"


@contextlib.contextmanager
def guard(filename, key, dataset=None):
    """Map any h5py failure inside the block to one `InputError` about ``filename:key``.

    ``dataset`` (the h5py dataset being read, if any) sharpens the cause: HDF5 reports a
    failed Fletcher-32 checksum and a damaged compressed chunk with the same words.
    """
    try:
        yield
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{filename}: {key} does not fit in memory; use --top-eigen or a smaller input") from None
    except (OSError, KeyError, RuntimeError, ValueError, TypeError, SystemError, IndexError) as exc:
        why = _reason(exc)
        if why == "a compressed chunk is damaged" and dataset is not None:
            try:
                if dataset.fletcher32:
                    why = "a chunk fails its checksum: the file is damaged"
            except Exception:  # noqa: BLE001 - the original cause stands
                pass
        raise InputError(f"{filename}: {key} could not be read ({why})") from None


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
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError(f"cannot open HDF5 file {path!r} ({_reason(exc)})") from None
    try:
        yield f
    finally:
        try:
            f.close()
        except Exception:  # noqa: BLE001 - closing a damaged file must not mask the real error
            pass


def lookup(f, key, *, option=None, kind="dataset"):
    """The object at ``key``, or None if nothing is there; damaged links are an `InputError`.

    ``kind`` "dataset" or "group" is only used in messages.
    """
    h5py = _h5py()
    with guard(f.filename, key):
        link = f.get(key, getlink=True)
        if link is None:
            return None
        try:
            return f[key]
        except (KeyError, OSError, RuntimeError) as exc:
            hint = f" (set another path with {option})" if option else ""
            if isinstance(link, h5py.SoftLink):
                raise InputError(f"{f.filename}: {key} is a soft link to {link.path!r}, which cannot be resolved "
                                 f"({_reason(exc)}); fix the link{hint}") from None
            if isinstance(link, h5py.ExternalLink):
                raise InputError(f"{f.filename}: {key} is an external link to {link.filename}:{link.path}, which "
                                 f"cannot be opened; put that file in place or store the data itself{hint}") from None
            raise


def has_dataset(f, key):
    """True if ``key`` names a dataset in the open file (a broken link is an `InputError`)."""
    obj = lookup(f, key)
    return obj is not None and isinstance(obj, _h5py().Dataset)


def _check_virtual(f, key, obj):
    if not obj.is_virtual:
        return
    h5py = _h5py()
    folder = os.path.dirname(os.path.abspath(f.filename))
    with guard(f.filename, key):
        sources = obj.virtual_sources()
    for vs in sources:
        name = vs.file_name
        if name in (".", f.filename):
            ok = vs.dset_name in f
        else:
            cand = [p for p in (name, os.path.join(folder, name)) if os.path.isfile(p)]
            ok = False
            if cand:
                try:
                    with h5py.File(cand[0], "r") as g:
                        ok = vs.dset_name in g
                except (OSError, RuntimeError, ValueError):
                    ok = False
        if not ok:
            raise InputError(f"{f.filename}: {key} is a virtual dataset whose source {name}:{vs.dset_name} is "
                             "missing (HDF5 would read zeros); put the source in place or store the data itself")


def check_meta(f, key, *, ndim, option=None, what=None, memory=None, as_dtype=np.float64):
    """Checks that need no data: presence, links, dtype, rank, emptiness, virtual sources, size.

    Returns the h5py dataset.
    """
    h5py = _h5py()
    where = f"{f.filename}:{key}"
    hint = f" (set another path with {option})" if option else ""
    obj = lookup(f, key, option=option)
    if obj is None:
        raise InputError(f"dataset {key!r} not found in {f.filename!r}{hint}")
    if not isinstance(obj, h5py.Dataset):
        raise InputError(f"{where} is a group, not a dataset{hint}")
    with guard(f.filename, key):
        dtype, shape = obj.dtype, obj.shape
    if dtype.kind not in "iuf":
        raise InputError(f"{where} has non-numeric dtype {dtype}; store {what or 'it'} as floats")
    if shape is None or len(shape) not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        rank = "scalar" if not shape else f"{len(shape)}-D"
        raise InputError(f"{where} is {rank} with shape {shape}; {what or 'it'} must be {want}")
    if len(shape) >= 1 and shape[0] == 0:
        raise InputError(f"{where} has zero samples (shape {shape}); it needs at least one row")
    if int(np.prod(shape, dtype=np.float64)) == 0:
        raise InputError(f"{where} is empty (shape {shape})")
    _check_virtual(f, key, obj)
    if memory is not None:
        check_bytes(float(np.prod(shape, dtype=np.float64)) * np.dtype(as_dtype).itemsize, memory,
                    f"reading {where} (shape {shape}) as {np.dtype(as_dtype).name}")
    return obj


def read_array(f, key, *, ndim=(1, 2), option=None, what=None, dtype=np.float64, memory=None):
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
    memory : int, optional
        Budget in bytes for the array as read.

    Raises
    ------
    InputError
        Missing, broken link, not a dataset, non-numeric, wrong rank, empty, damaged, over
        the budget, or non-finite.
    """
    obj = check_meta(f, key, ndim=ndim, option=option, what=what, memory=memory, as_dtype=dtype)
    where = f"{f.filename}:{key}"
    with guard(f.filename, key, obj):
        arr = np.asarray(obj[()], dtype=dtype)
    check_finite_array(arr, where)
    return arr


def check_finite_array(arr, where):
    """Refuse NaN or inf, and magnitudes whose squares overflow float64."""
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(f"{where} contains NaN or inf (first at index {tuple(int(i) for i in bad)}); clean the data first")
    if arr.size:
        big = float(np.max(np.abs(arr)))
        # squares summed over up to 1e8 terms must stay finite (kernels, Gram entries, |y|²)
        if big > 1e146:
            raise InputError(f"{where} holds values up to {big:.3g}, whose squares overflow float64; rescale the "
                             "data (e.g. divide by its largest value)")


def read_rows(ds, start, stop, filename, key):
    """Rows ``start:stop`` of an open dataset, guarded."""
    with guard(filename, key, ds):
        return ds[start:stop]


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

    def read(self, memory=None):
        """The whole dataset as float64, validated like `read_array`."""
        with open_h5(self.path) as f:
            return read_array(f, self.key, ndim=(len(self.shape),), option=self.option, what=self.what, memory=memory)


def dataset_source(f, path, key, *, ndim, option=None, what=None):
    """Check a dataset's metadata (`check_meta`) and describe it as a `DatasetSource`."""
    obj = check_meta(f, key, ndim=ndim, option=option, what=what)
    with guard(f.filename, key):
        chunks = tuple(obj.chunks) if obj.chunks else None
    return DatasetSource(path=path, key=key, shape=tuple(obj.shape), dtype=np.dtype(obj.dtype), chunks=chunks,
                         option=option, what=what)


def file_sha256(path, chunk=1 << 20):
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
