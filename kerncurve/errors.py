"""Exceptions and warnings of kerncurve.

`KerncurveError` and its subclasses are trouble the user can fix (bad input, a request the
theory cannot answer); the CLI turns them into one ``error:`` line and exit status 2.
`KerncurveWarning` and its subclasses are recoverable trouble, routed to stderr.
"""

__all__ = [
    "KerncurveError",
    "InputError",
    "NumericalError",
    "KerncurveWarning",
    "NumericalWarning",
    "InputWarning",
]


class KerncurveError(Exception):
    """A problem the user can act on; the message says what, where and how to fix it."""


class InputError(KerncurveError):
    """The input file or an option is invalid."""


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


class KerncurveWarning(UserWarning):
    """Base class of kerncurve's warnings."""


class InputWarning(KerncurveWarning):
    """The input had a small defect that was repaired (e.g. a slightly asymmetric Gram)."""


class NumericalWarning(KerncurveWarning):
    """Recoverable numerical trouble, or a regime where the theory is less reliable."""
