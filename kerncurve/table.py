"""Result tables and their text: CSV and strict JSON.

CSV numbers are Python ``repr(float)`` (they round-trip exactly; ``inf``/``nan`` spelled
so), integer columns integers. JSON is an object ``{"command", "params", "summary",
"rows"}`` of strict JSON: a non-finite number is written as the string ``"inf"``,
``"-inf"`` or ``"nan"`` (the CSV spellings), since bare ``Infinity``/``NaN`` are rejected
by strict parsers.
"""

import csv
import io
import json
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Table", "format_value", "json_value"]


def format_value(v):
    """A cell: ints as ints, floats as repr(float), strings as they are."""
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def json_value(v):
    """A value as strict JSON data: non-finite floats become "inf", "-inf", "nan"."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isfinite(f):
            return f
        return "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")
    if isinstance(v, np.ndarray):
        return [json_value(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): json_value(x) for k, x in v.items()}
    if v is None or isinstance(v, str):
        return v
    return str(v)


@dataclass
class Table:
    """Named columns of equal length; ``int_columns`` are written as integers."""

    columns: list
    data: dict
    int_columns: tuple = ()
    _rows: int = field(init=False, default=0)

    def __post_init__(self):
        lengths = {len(np.atleast_1d(self.data[c])) for c in self.columns}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal length: {lengths}")
        self._rows = lengths.pop() if lengths else 0

    def __len__(self):
        return self._rows

    def rows(self):
        cols = []
        for c in self.columns:
            arr = np.atleast_1d(self.data[c])
            if c in self.int_columns:
                cols.append([int(x) for x in arr])
            elif arr.dtype.kind in "fc":
                cols.append([float(x) for x in arr])
            else:
                cols.append(arr.tolist())
        return list(zip(*cols))

    def write_csv(self, fh, comment=None):
        """Write the CSV (after ``# comment`` lines, if given) to a text stream."""
        if comment:
            for line in str(comment).splitlines():
                fh.write(f"# {line}\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(self.columns)
        for row in self.rows():
            w.writerow([format_value(v) for v in row])

    def to_csv(self, comment=None):
        """The CSV text."""
        buf = io.StringIO()
        self.write_csv(buf, comment)
        return buf.getvalue()

    def to_json(self, command, params, summary):
        """The strict JSON text ``{"command", "params", "summary", "rows"}``."""
        obj = {
            "command": command,
            "params": json_value(params),
            "summary": json_value(summary),
            "rows": [dict(zip(self.columns, (json_value(v) for v in row))) for row in self.rows()],
        }
        return json.dumps(obj, indent=1, allow_nan=False)

    def to_dict(self):
        """{column: numpy array}, in column order."""
        return {c: np.atleast_1d(self.data[c]) for c in self.columns}


