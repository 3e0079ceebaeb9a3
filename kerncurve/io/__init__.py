"""The I/O layer: every HDF5 schema reader and writer, memory budgets, and safe outputs.

* `h5` — guarded reads (`open_h5`, `read_array`, `lookup`…): damaged files, broken links and
  missing virtual sources are one clear `InputError`;
* `problem` — an input's kernel problem (`load_problem`);
* `cache` — files kerncurve writes (format tags; the spectrum cache);
* `stream` — the feature route's moments in row blocks, or with dask;
* `sizes` — memory budgets;
* `outputs` — outputs resolved up front, written atomically, never onto an input.
"""

from .cache import SPECTRUM_FORMAT, SPECTRUM_FORMAT_VERSION, write_spectrum
from .h5 import DatasetSource, file_sha256, guard, has_dataset, lookup, open_h5, read_array
from .outputs import OutputTarget, plan_outputs, resolve_output, write_bytes, write_stdout
from .problem import Problem, load_problem
from .sizes import format_size, memory_budget, parse_size

__all__ = [
    "SPECTRUM_FORMAT",
    "SPECTRUM_FORMAT_VERSION",
    "write_spectrum",
    "DatasetSource",
    "file_sha256",
    "guard",
    "has_dataset",
    "lookup",
    "open_h5",
    "read_array",
    "OutputTarget",
    "plan_outputs",
    "resolve_output",
    "write_bytes",
    "write_stdout",
    "Problem",
    "load_problem",
    "format_size",
    "memory_budget",
    "parse_size",
]
