"""`kerncurve reservoir`: simulate a random rate RNN and write its codes as an input file."""

import click
import numpy as np

from ..api.reservoir import MAX_GAINS, reservoir
from .common import parse_float_list, parse_range, run_session

_LABELS = {"target_tau": "target τ_y (0: held)"}


def parse_gains(text):
    """``--gain``: a comma list ``0.5,1,2`` or ``START:STOP:NUM`` (NUM evenly spaced values)."""
    from ..errors import InputError

    text = (text or "").strip()
    if ":" not in text:
        return parse_float_list(text, "--gain", max_points=MAX_GAINS)
    start, stop, num = parse_range(text, "--gain", example="0.5:2.5:9")
    if not (np.isfinite(start) and np.isfinite(stop)) or start < 0 or stop < start or num < 1:
        raise InputError(f"--gain {text!r}: need 0 ≤ START ≤ STOP (finite) and NUM ≥ 1")
    if num > MAX_GAINS:
        raise InputError(f"--gain {text!r}: NUM = {num} is more than the {MAX_GAINS} gains allowed (one file each)")
    return np.linspace(start, stop, num).tolist()


@click.command("reservoir", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("output", type=click.Path(dir_okay=False, path_type=str), metavar="OUTPUT")
@click.option("--n", type=int, default=1000, show_default=True, help="Neurons N (≥ 2).")
@click.option("--gain", "gain_spec", default="1.5", show_default=True,
              help="Gain(s) g ≥ 0 of the recurrent weights W = g·G/√N: 1.5, a comma list, or START:STOP:NUM "
                   "(evenly spaced); several gains write one file each, OUTPUT_g<gain>.h5.")
@click.option("--trials", type=int, default=40, show_default=True, help="Trials (each with its own cue θ).")
@click.option("--steps", type=int, default=50, show_default=True, help="Time steps per trial.")
@click.option("--dt", type=float, default=0.04, show_default=True, help="Euler step Δt (≤ --tau).")
@click.option("--tau", type=float, default=0.08, show_default=True, help="Time constant τ of the units.")
@click.option("--target-tau", "target_tau_spec", default="0", show_default=True,
              help="Decay time constant(s) τ_y of the targets after the cue (0: held), comma list; one target "
                   "column each, also alone at /target_tau/<τ_y>.")
@click.option("--memory", default=None, metavar="SIZE",
              help="Memory budget (512M, 2G…) for the network and its codes, checked before they are built  "
                   "[default: 8G (at most 80% of physical memory)]")
@click.option("--json", "as_json", is_flag=True, help="Write JSON instead of CSV.")
@click.option("-q", "--quiet", is_flag=True, help="Silence summaries, warnings and progress.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Seed of every random choice (0 ≤ SEED < 2⁶³).")
@click.option("--debug", is_flag=True, help="Show a traceback on unexpected errors.")
@run_session
def command(s, output, n, gain_spec, trials, steps, dt, tau, target_tau_spec, memory, **_):
    """Codes of a random rate RNN: write them to OUTPUT, an input every command reads.

    N tanh units, z ← z + (Δt/τ)(−z + W r + w_in x_t), W = g·G/√N, driven by a cue θ during
    the first half of each trial; every (trial, step) pair is a sample. OUTPUT holds /features
    (rates/√N), /targets (θ·e^{−(t−t_on)/τ_y} after the cue, unit RMS), /trial and /time. The
    table (one row per gain) gives the code's participation ratio and top eigenvalue.
    """
    gains = parse_gains(gain_spec)
    taus = parse_float_list(target_tau_spec, "--target-tau", minimum=-np.inf)
    r = reservoir(output, n=n, gain=gains, trials=trials, steps=steps, dt=dt, tau=tau, target_tau=taus,
                  seed=s.rng_seed, memory=memory, progress=s.reporter.progress)
    s.reporter.summary("kerncurve reservoir", [(_LABELS.get(k, k), v) for k, v in r.summary.items()])
    s.emit(r)
