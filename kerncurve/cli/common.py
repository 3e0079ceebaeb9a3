"""What every subcommand module imports: options, parsing, the session."""

from .options import (
    group_selection_options,
    input_argument,
    input_options,
    output_options,
    shift_options,
    spectrum_options,
)
from .parsing import parse_float_list, parse_group_list, parse_int_list, parse_p, parse_range
from .session import Session, run_session

__all__ = [
    "input_argument",
    "input_options",
    "spectrum_options",
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
]
