"""Exceptions and warnings of kerncurve.

`KerncurveError` and its subclasses are trouble the user can fix (bad input, a request the
theory cannot answer); the command line turns them into one ``error:`` line and exit
status 2. `InputError` is also a `ValueError`, so library callers can catch it the usual
way. `KerncurveWarning` and its subclasses are recoverable trouble; the library issues them
with `warnings.warn` (a notebook shows them), the command line routes them to stderr.
"""

__all__ = [
    "KerncurveError",
    "InputError",
    "NumericalError",
    "OutputError",
    "KerncurveWarning",
    "NumericalWarning",
    "InputWarning",
]


class KerncurveError(Exception):
    """A problem the user can act on; the message says what, where and how to fix it."""


class InputError(KerncurveError, ValueError):
    """An argument, the input file or an option is invalid.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it. When ``param`` is given the message starts with
        the parameter's Python name (``"p must be positive integers, got -5"``), which the
        command line replaces by the option's flag (``--p``).
    param : str, optional
        The Python parameter at fault.
    """

    def __init__(self, message, param=None):
        super().__init__(message)
        self.param = param


class NumericalError(KerncurveError):
    """The computation failed in a way that makes the answer wrong.

    Parameters
    ----------
    message : str
        What failed and what to try.
    partial : object, optional
        Whatever was computed before the failure (e.g. a partial curve).
    """

    def __init__(self, message, partial=None):
        super().__init__(message)
        self.partial = partial


class OutputError(KerncurveError):
    """An output could not be written (disk full, closed stream, I/O error).

    The command line reports it as one ``error:`` line with exit status 1: the input was
    fine, the environment failed.
    """


class KerncurveWarning(UserWarning):
    """Base class of kerncurve's warnings."""


class InputWarning(KerncurveWarning):
    """The input had a small defect that was repaired (e.g. a slightly asymmetric Gram)."""


class NumericalWarning(KerncurveWarning):
    """Recoverable numerical trouble, or a regime where the theory is less reliable."""
