"""What every subcommand module imports: options, parsing, the session."""

from .options import (
    group_selection_options,
    input_argument,
    input_options,
    network_kwargs,
    network_options,
    output_options,
    shift_options,
    spectrum_options,
)
from .parsing import (parse_float_list, parse_group_list, parse_int_list, parse_lr_grid, parse_p, parse_range,
                      parse_sizes)
from .session import Session, run_session

__all__ = [
    "input_argument",
    "input_options",
    "spectrum_options",
    "network_options",
    "network_kwargs",
    "output_options",
    "group_selection_options",
    "shift_options",
    "Session",
    "run_session",
    "parse_p",
    "parse_float_list",
    "parse_int_list",
    "parse_range",
    "parse_group_list",
    "parse_sizes",
    "parse_lr_grid",
]
