"""HDF5 files that kerncurve writes: one format-tag convention, and the spectrum cache.

Every HDF5 file kerncurve writes carries root attributes ``format`` (what it holds, e.g.
``kerncurve-spectrum``), ``format-version`` (an integer, raised when the layout changes) and
``kerncurve-version``. Files are built in memory and written atomically, with no timestamps,
so the same inputs and seed give the same bytes.
"""

import io

import numpy as np

from .. import __version__
from ..errors import InputError
from .h5 import check_finite_array, guard, lookup, read_array
from .outputs import write_bytes

__all__ = [
    "SPECTRUM_FORMAT",
    "SPECTRUM_FORMAT_VERSION",
    "h5_bytes",
    "write_h5",
    "is_spectrum_cache",
    "read_spectrum_fields",
    "write_spectrum",
    "attr_int",
    "attr_float",
]

SPECTRUM_FORMAT = "kerncurve-spectrum"
SPECTRUM_FORMAT_VERSION = 1


def h5_bytes(fill, *, fmt, version, attrs=None):
    """The bytes of an HDF5 file made by ``fill(h5py.File)``, with the format tag set.

    Datasets should be created with ``track_times=False`` (see `dataset`) so that the bytes
    depend only on the content.
    """
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w", track_order=False) as f:
        f.attrs["format"] = fmt
        f.attrs["format-version"] = int(version)
        f.attrs["kerncurve-version"] = __version__
        for key, val in (attrs or {}).items():
            f.attrs[key] = val
        fill(f)
    return buf.getvalue()


def write_h5(target, fill, *, fmt, version, attrs=None, option="--save"):
    """Build an HDF5 file in memory (`h5_bytes`) and write it atomically to ``target``."""
    write_bytes(target, h5_bytes(fill, fmt=fmt, version=version, attrs=attrs), option)


def dataset(group, name, data):
    """Create a dataset without timestamps (same content, same bytes)."""
    return group.create_dataset(name, data=data, track_times=False)


def _attr(f, obj, name, where):
    with guard(f.filename, where):
        return obj.attrs.get(name)


def _required(f, obj, name, where, default):
    """The attribute, or ``default`` when missing; missing with no default is an `InputError`."""
    v = _attr(f, obj, name, where)
    if v is None and default is None:
        raise InputError(f"{f.filename}: attribute {name!r} of {where} is missing; write the file again with kerncurve")
    return v


def attr_int(f, obj, name, where, *, minimum=None, default=None):
    """An integer scalar attribute, validated (`InputError` names file, attribute and value)."""
    v = _required(f, obj, name, where, default)
    if v is None:
        return default
    arr = np.asarray(v)
    if arr.ndim != 0 or arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.isfinite(arr)
                                                             and float(arr) == int(arr)):
        raise InputError(f"{f.filename}: attribute {name!r} of {where} must be an integer, got {v!r}")
    out = int(arr)
    if minimum is not None and out < minimum:
        raise InputError(f"{f.filename}: attribute {name!r} of {where} must be ≥ {minimum}, got {out}")
    return out


def attr_float(f, obj, name, where, *, minimum=None, default=None):
    """A finite float scalar attribute, validated."""
    v = _required(f, obj, name, where, default)
    if v is None:
        return default
    arr = np.asarray(v)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf" or not np.isfinite(arr):
        raise InputError(f"{f.filename}: attribute {name!r} of {where} must be a finite number, got {v!r}")
    out = float(arr)
    if minimum is not None and out < minimum:
        raise InputError(f"{f.filename}: attribute {name!r} of {where} must be ≥ {minimum:g}, got {out:g}")
    return out


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def is_spectrum_cache(f):
    """True if the open file carries the spectrum-cache format tag and a /spectrum group."""
    return _text(_attr(f, f, "format", "/")) == SPECTRUM_FORMAT and lookup(f, "spectrum") is not None


def read_spectrum_fields(f):
    """The validated fields of ``/spectrum`` in a cache (keyword arguments of `Spectrum`)."""
    version = attr_int(f, f, "format-version", "/", minimum=1)
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
        raise InputError(f"{f.filename}: /spectrum/coefficients has {coeffs.shape[0]} rows but there are {eta.size} "
                         "eigenvalues")
    if np.any(eta <= 0):
        raise InputError(f"{f.filename}: /spectrum/eigenvalues must all be positive")
    check_finite_array(eta, f"{f.filename}:/spectrum/eigenvalues")
    order = np.argsort(eta, kind="stable")[::-1]
    g = lookup(f, "spectrum")
    n = attr_int(f, g, "n", "/spectrum", minimum=1, default=int(eta.size))
    residual = attr_float(f, g, "residual_power", "/spectrum", minimum=0.0, default=0.0)
    exact = _attr(f, g, "exact_modes", "/spectrum")
    if exact is not None:
        exact = attr_int(f, g, "exact_modes", "/spectrum", minimum=1)
        if exact > eta.size:
            raise InputError(f"{f.filename}: attribute 'exact_modes' of /spectrum is {exact} but there are only "
                             f"{eta.size} modes")
    return dict(eigenvalues=eta[order], coefficients=coeffs[order], residual_power=residual, n=n, route="cache",
                exact_modes=exact)


def write_spectrum(spec, target, input_sha256="", extra_attrs=None, option="--save"):
    """Write a spectrum cache (format tag + version) atomically."""

    def fill(f):
        g = f.create_group("spectrum", track_order=False)
        dataset(g, "eigenvalues", spec.eigenvalues)
        dataset(g, "coefficients", spec.coefficients)
        g.attrs["n"] = int(spec.n)
        g.attrs["residual_power"] = float(spec.residual_power)
        g.attrs["route"] = spec.route
        if spec.exact_modes is not None:  # modes beyond are the modeled power-law tail
            g.attrs["exact_modes"] = int(spec.exact_modes)

    attrs = {"input-sha256": input_sha256, **(extra_attrs or {})}
    write_h5(target, fill, fmt=SPECTRUM_FORMAT, version=SPECTRUM_FORMAT_VERSION, attrs=attrs, option=option)
