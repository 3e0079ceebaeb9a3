"""kerncurve: learning curves of kernels and wide networks from their spectrum."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kerncurve")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
