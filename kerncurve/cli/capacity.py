"""`kerncurve capacity`: how many orbits a G-invariant linear readout separates."""

import click

from ..api.capacity import capacity
from .common import output_options, parse_p, run_session

_LABELS = {
    "d": "d (dimension)",
    "group_order": "|G| (group order)",
    "N0": "N0 (fixed-point dimension)",
    "max_deviation_in_se": "max |empirical − Cover| / SE",
    "lp_solved": "trials needing an LP (others: exact certificates)",
}


@click.command("capacity", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input", required=False, type=click.Path(dir_okay=True, path_type=str), metavar="[INPUT]")
@click.option("--group", "group_spec", default=None,
              help="Built-in group instead of INPUT: cyclic:N (shifts of length-N signals), "
                   "cyclic2d:H,W (2-D circular shifts of HxW images) or perm:N (all permutations of N coordinates).")
@click.option("--channels", type=int, default=None,
              help="Channels, each transformed identically by --group (d = size x C).  [default: 1]")
@click.option("--p", "p_spec", default=None,
              help="Numbers of orbits: 10,20,50 or START:STOP:NUM (log-spaced).  "
                   "[default: every P from 1 to 4x the capacity dimension (N0, or N0+1 with --bias)]")
@click.option("--bias", is_flag=True, help="Also the fraction for a readout with a bias (N0 -> N0+1); "
                                           "--empirical then tests the readout with a bias.")
@click.option("--empirical", is_flag=True,
              help="Also measure the fraction: random orbits and labelings, separability by linear programming "
                   "on the full orbit point clouds (HiGHS).")
@click.option("--labelings", type=int, default=100, show_default=True, help="Random labelings per P for --empirical.")
@click.option("--representation-key", default="/representation", show_default=True,
              help="Dataset of the matrices rho(g), shape (G, d, d).")
@click.option("--orbits-key", default="/orbits", show_default=True,
              help="Dataset of the orbits rho(g)x, shape (P, G, d).")
@click.option("--tol", type=float, default=1e-6, show_default=True,
              help="Tolerance for orthogonality, closure and the projector check.")
@output_options
@run_session
def command(s, input, group_spec, channels, p_spec, bias, empirical, labelings, representation_key, orbits_key,
            tol, **_):
    """Fraction of the 2^P labelings of P orbits that a G-invariant linear readout separates.

    Cover's count in the N0-dimensional subspace that the group fixes (Farrell et al., ICLR
    2022): fraction = Pr[Binomial(P-1, 1/2) <= N0-1], capacity 2 N0 instead of 2 d.
    INPUT holds /representation (G, d, d) and/or /orbits (P, G, d); without a
    representation N0 is estimated from the orbit centroids' rank. Alternatively
    --group SPEC builds a representation. With --empirical, fraction_empirical is measured
    on fresh Gaussian orbits of the representation (or on random subsets of the given
    orbits, which take precedence).
    """
    r = capacity(input, group=group_spec, channels=channels, p=parse_p(p_spec) if p_spec is not None else None,
                 bias=bias, empirical=empirical, labelings=labelings, representation_key=representation_key,
                 orbits_key=orbits_key, tol=tol, seed=s.rng_seed, progress=s.reporter.progress)
    s.reporter.summary("kerncurve capacity", _items(r.summary))
    if s.target("plot"):
        _plot(s.target("plot"), r.to_dict(), r.summary["N0"], bias, empirical)
    s.emit(r)


def _items(summary):
    """The human summary: the JSON summary with readable labels (N0 with its source when estimated)."""
    bias = summary["bias"]
    labels = dict(_LABELS, capacity="capacity 2N0" + (" + 2 (bias)" if bias else ""),
                  capacity_without_invariance="without invariance 2d" + (" + 2" if bias else ""))
    shown = dict(summary)
    source = shown.pop("N0_source")
    if source != "representation":
        shown["N0"] = f"{summary['N0']} ({source})"
    return [(labels.get(k, k), v) for k, v in shown.items()]


def _plot(path, data, n0, bias, empirical):
    from ..plots import plot_curves

    p = data["p"]
    lines = [(f"Cover, N0 = {n0}", p, data["fraction"])]
    if bias:
        lines.append(("Cover with bias, N0 + 1", p, data["fraction_bias"]))
    points = []
    if empirical:
        points.append(("LP on orbits" + (" (bias)" if bias else ""), p, data["fraction_empirical"],
                       data["fraction_empirical_sem"]))
    plot_curves(path, lines=lines, points=points, xlabel="P (orbits)", ylabel="fraction of separable labelings",
                title="kerncurve capacity", logx=False, logy=False)
