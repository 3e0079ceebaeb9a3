"""What every public command function returns, and the numerics guard around it.

A `Result` holds the command's table (``to_dict()``: the CSV columns, in order), its
``summary`` (the dict that ``--json`` prints) and the objects behind them (the spectrum,
the raw curve…) as attributes. Columns are also attributes: ``r.eg``, ``r.kappa``.

`numerics_guard` runs a command's computation with numpy's floating-point warnings
captured: numbers that cannot be trusted are never returned silently. Non-finite values
where a column does not allow them become one `NumericalError`; otherwise the captured
warnings become one `NumericalWarning`.
"""

import functools
import warnings
from collections import Counter

import numpy as np

from .errors import KerncurveWarning, NumericalError, NumericalWarning
from .table import Table

__all__ = ["Result", "numerics_guard"]


class Result:
    """A command's result.

    Parameters
    ----------
    command : str
        The command's name (``predict``).
    columns : list of str
        The CSV columns, in order.
    data : dict
        column → array (equal lengths).
    int_columns : tuple of str
        Columns written as integers.
    summary : dict
        The figures of the human summary (the ``--json`` summary).
    params : dict
        The arguments, as the ``--json`` output records them.
    **extras
        Objects behind the table (``spectrum``, ``curve``…), kept as attributes.
    """

    def __init__(self, command, columns, data, *, int_columns=(), summary=None, params=None, **extras):
        self.command = command
        self.columns = list(columns)
        self._data = {c: np.atleast_1d(np.asarray(data[c])) for c in self.columns}
        self.int_columns = tuple(c for c in int_columns if c in self.columns)
        self.summary = {} if summary is None else dict(summary)
        self.params = {} if params is None else dict(params)
        self.extras = dict(extras)
        Table(self.columns, self._data, self.int_columns)  # equal lengths, or ValueError

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        data = self.__dict__.get("_data", {})
        if name in data:
            return data[name]
        extras = self.__dict__.get("extras", {})
        if name in extras:
            return extras[name]
        raise AttributeError(f"{type(self).__name__} of {self.__dict__.get('command', '?')!r} has no column or "
                             f"attribute {name!r}; columns: {', '.join(data)}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._data) | set(self.extras))

    def __len__(self):
        return len(next(iter(self._data.values()))) if self._data else 0

    def __repr__(self):
        return f"<{self.command} result: {len(self)} rows × {len(self.columns)} columns ({', '.join(self.columns)})>"

    def to_dict(self):
        """{column: numpy array}: exactly the command line's CSV columns, in the same order."""
        return {c: self._data[c].copy() for c in self.columns}

    @property
    def table(self):
        """The `Table` the command line writes."""
        return Table(self.columns, self._data, self.int_columns)

    def to_csv(self):
        """The CSV text the command line prints."""
        return self.table.to_csv()

    def to_json(self):
        """The strict JSON text that ``--json`` prints."""
        return self.table.to_json(self.command, self.params, self.summary)

    def check_finite(self, allow_inf=(), allow_nan=(), cause=""):
        """Raise `NumericalError` if a column holds NaN/inf it does not allow."""
        for c in self.columns:
            col = self._data[c]
            if col.dtype.kind not in "fc":
                continue
            bad = np.isnan(col) if c not in allow_nan else np.zeros(col.shape, bool)
            if c not in allow_inf:
                bad |= np.isinf(col)
            if bad.any():
                i = int(np.argmax(bad))
                why = f" ({cause})" if cause else ""
                raise NumericalError(
                    f"{self.command}: column {c} is {col[i]!r} at row {i + 1}{why}; the numbers cannot be trusted. "
                    "Rescale the data (features, targets or Gram of order one) or move the options away from "
                    "extreme values", partial=self)
        return self


def _describe(records):
    counts = Counter(str(r.message) for r in records)
    return "; ".join(f"{msg} ({k}×)" if k > 1 else msg for msg, k in counts.most_common(3))


def numerics_guard(*, allow_inf=(), allow_nan=()):
    """Decorator for public command functions that return a `Result`.

    numpy's RuntimeWarnings raised inside are captured. If the result then holds NaN/inf
    in a column that does not allow them, a `NumericalError` names the column and the
    floating-point trouble; otherwise one `NumericalWarning` summarizes it. Other warnings
    (ours included) pass through unchanged.
    """

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = fn(*args, **kwargs)
            fp = [w for w in caught if issubclass(w.category, RuntimeWarning)
                  and not issubclass(w.category, KerncurveWarning)]
            for w in caught:
                if w not in fp:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            cause = f"floating-point trouble: {_describe(fp)}" if fp else ""
            if isinstance(result, Result):
                result.check_finite(allow_inf=allow_inf, allow_nan=allow_nan, cause=cause)
            if fp:
                warnings.warn(f"{getattr(result, 'command', fn.__name__)}: {cause}; check the results' magnitudes",
                              NumericalWarning)
            return result

        return wrapper

    return decorate
