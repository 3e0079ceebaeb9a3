"""The one place that imports JAX: the engine works only when the extra ``kerncurve[nn]`` is installed."""

from __future__ import annotations

import importlib

from kerncurve.errors import InputError


def require_jax(what: str = "kerncurve.nn"):
    """Return the ``jax`` module, or raise InputError saying how to install it.

    Parameters
    ----------
    what : str
        The function or command that needs JAX, for the message.

    Raises
    ------
    InputError
        ``"<what> needs JAX: pip install 'kerncurve[nn]'"`` when JAX cannot be imported.
    """
    try:
        return importlib.import_module("jax")
    except ImportError:
        raise InputError(f"{what} needs JAX: pip install 'kerncurve[nn]'") from None
