"""kerncurve: learning curves of kernels and wide networks from their spectrum.

The Python API mirrors the command line: one function per command, with the command's
options as keyword arguments, returning a result whose ``to_dict()`` holds the command's
CSV columns and whose ``summary`` is its ``--json`` summary::

    import kerncurve as kc
    spec = kc.Spectrum.from_features(X, y)              # or from_gram(K, y), load("cache.h5")
    spec = kc.spectrum("data.h5", kernel="rbf")          # an HDF5 input, the command line's route
    r = kc.predict(spec, p=[10, 100, 1000], ridge=[0.0, 1e-3], noise=0.1)
    r.eg, r.kappa, r.to_dict(), r.summary

Bad arguments raise `InputError` (a `ValueError`) naming the parameter; recoverable
numerical trouble is a `KerncurveWarning`.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kerncurve")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from .errors import (  # noqa: E402 - light modules, no numpy import
    InputError,
    InputWarning,
    KerncurveError,
    KerncurveWarning,
    NumericalError,
    NumericalWarning,
)

# public name -> module that defines it (imported on first use: `import kerncurve` stays light)
_LAZY = {
    "Spectrum": "kerncurve.spectral",
    "Result": "kerncurve.result",
    "spectrum": "kerncurve.api.spectrum",
    "predict": "kerncurve.api.predict",
    "shift": "kerncurve.api.shift",
    "shift_optimize": "kerncurve.api.shift_optimize",
    "sgd": "kerncurve.api.sgd",
    "dynamics": "kerncurve.api.dynamics",
    "td": "kerncurve.api.td",
    "capacity": "kerncurve.api.capacity",
    "dmft": "kerncurve.api.dmft",
    "align": "kerncurve.api.align",
    "reservoir": "kerncurve.api.reservoir",
    "report": "kerncurve.api.report",
    "transfer": "kerncurve.api.transfer",
    "heads": "kerncurve.api.heads",
    "limits": "kerncurve.api.limits",
}

__all__ = [
    "__version__",
    "Spectrum",
    "Result",
    "spectrum",
    "predict",
    "shift",
    "shift_optimize",
    "sgd",
    "dynamics",
    "td",
    "capacity",
    "dmft",
    "align",
    "reservoir",
    "report",
    "transfer",
    "heads",
    "limits",
    "KerncurveError",
    "InputError",
    "NumericalError",
    "KerncurveWarning",
    "InputWarning",
    "NumericalWarning",
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kerncurve' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
