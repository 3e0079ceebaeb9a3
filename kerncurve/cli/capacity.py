"""`kerncurve capacity`: how many orbits a G-invariant linear readout separates (THEORY §6)."""

import warnings

import click
import numpy as np

from ..errors import InputError, InputWarning
from ..io import has_dataset, open_h5, read_array
from ..plots import plot_curves
from ..table import Table
from ..simulate.capacity import empirical_fraction
from ..theory.capacity import (
    analyze_group,
    cover_capacity,
    cover_fraction,
    estimate_n0,
    parse_group,
)
from .common import output_options, parse_p, run_session

COLUMNS = ["p", "fraction"]
_MAX_DEFAULT_ROWS = 200


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
    rep = s.reporter
    if (input is None) == (group_spec is None):
        raise InputError(
            "give either an INPUT file (with /representation and/or /orbits) or --group SPEC, "
            + ("not both" if input is not None else "neither was given")
        )
    if channels is not None and channels < 1:
        raise InputError(f"--channels must be >= 1, got {channels}")
    if channels is not None and input is not None:
        raise InputError("--channels applies to --group only; an INPUT file fixes its own dimension")
    if isinstance(labelings, int) and labelings < 2:
        raise InputError(f"--labelings must be >= 2, got {labelings}")
    if not tol > 0:
        raise InputError(f"--tol must be positive, got {tol}")
    p_user = parse_p(p_spec) if p_spec is not None else None

    summary = {}
    matrices = orbits = group = est = None
    if group_spec is not None:
        built = parse_group(group_spec, channels if channels is not None else 1)
        matrices = built.matrices
        group = analyze_group(matrices, tol=tol, check_closure=False, where=f"--group {group_spec}")
        summary["group"] = built.name
    else:
        matrices, orbits, orbit_dtype = _read_input(input, representation_key, orbits_key)
        summary["input"] = input
        if matrices is not None:
            group = analyze_group(matrices, tol=tol, where=f"{input}:{representation_key}")
        if orbits is not None:
            where = f"{input}:{orbits_key}"
            if matrices is not None:
                _check_orbits(orbits, matrices, group, where, representation_key, tol)
            est = estimate_n0(orbits, dtype=orbit_dtype)

    if group is not None:
        d, order, n0 = group.d, group.order, group.n0
        n0_source = "representation"
    else:
        d, order, n0 = est.d, est.order, est.n0
        n0_source = "orbit estimate" + (" (lower bound)" if est.lower_bound else "")
        if est.lower_bound:
            rep.warn(
                f"N0 = {n0} is only a lower bound: the {est.p} orbit centroids in {input}:{orbits_key} are all "
                "independent; give more orbits than N0, or the /representation"
            )
    if est is not None and group is not None and not est.lower_bound and est.n0 != n0:
        warnings.warn(
            f"{input}:{orbits_key}: the orbit centroids have rank {est.n0} but the representation fixes N0 = {n0} "
            "dimensions; the orbits are degenerate or not orbits of this representation",
            InputWarning,
        )

    n_cap = n0 + (1 if bias else 0)
    if p_user is not None:
        p = p_user
    else:
        top = 4 * max(n_cap, 1)
        p = np.unique(np.round(np.linspace(1, top, min(top, _MAX_DEFAULT_ROWS))).astype(np.int64))
        p = np.union1d(p, [2 * n_cap] if n_cap > 0 else []).astype(np.int64)
        if empirical and matrices is None and p.max() > orbits.shape[0]:
            rep.warn(f"--p capped at the {orbits.shape[0]} orbits in {input}:{orbits_key} (--empirical draws subsets)")
            p = p[p <= orbits.shape[0]]

    data = {"p": p, "fraction": cover_fraction(p, n0)}
    columns = list(COLUMNS)
    if bias:
        data["fraction_bias"] = cover_fraction(p, n0, bias=True)
        columns.append("fraction_bias")
    n_lp = None
    if empirical:
        with rep.progress("LP separability", p.size * labelings) as advance:
            last = [0]

            def progress(done, total):
                advance(done - last[0])
                last[0] = done

            emp = empirical_fraction(p, matrices=matrices, orbits=orbits, labelings=labelings, bias=bias,
                                     seed=s.rng_seed, progress=progress)
        data["fraction_empirical"], data["fraction_empirical_sem"] = emp.fraction, emp.sem
        columns += ["fraction_empirical", "fraction_empirical_sem"]
        n_lp = emp.n_lp
    table = Table(columns, data, int_columns=("p",))

    summary.update({
        "d": d,
        "group_order": order,
        "N0": n0,
        "N0_source": n0_source,
        "capacity": cover_capacity(n0, bias),
        "capacity_without_invariance": cover_capacity(d, bias),
        "bias": bias,
    })
    if group is not None:
        summary.update({
            "trace_projector": group.trace,
            "projector_error": group.projector_error,
            "is_projector": group.is_projector,
            "orthogonality_error": group.orthogonality_error,
        })
        if group.closure_pairs:
            summary["closed_under_products"] = group.closed
    if est is not None:
        summary["orbits"] = est.p
        summary["N0_orbit_estimate"] = est.n0
        summary["N0_orbit_estimate_lower_bound"] = est.lower_bound
    if empirical:
        ref = data["fraction_bias" if bias else "fraction"]
        se = np.sqrt(ref * (1 - ref) / labelings)
        z = np.abs(data["fraction_empirical"] - ref) / np.where(se > 0, se, np.inf)
        exact = se == 0
        summary["labelings"] = labelings
        summary["max_deviation_in_se"] = float(np.max(np.where(exact, 0.0, z)))
        summary["exact_rows_mismatched"] = int(np.sum(exact & (data["fraction_empirical"] != ref)))
        summary["lp_solved"] = n_lp
    labels = {
        "d": "d (dimension)",
        "group_order": "|G| (group order)",
        "N0": "N0 (fixed-point dimension)",
        "capacity": "capacity 2N0" + (" + 2 (bias)" if bias else ""),
        "capacity_without_invariance": "without invariance 2d" + (" + 2" if bias else ""),
        "max_deviation_in_se": "max |empirical − Cover| / SE",
        "lp_solved": "trials needing an LP (others: exact certificates)",
    }
    shown = dict(summary)
    shown["N0"] = f"{n0} ({n0_source})" if group is None else n0
    shown.pop("N0_source")
    rep.summary("kerncurve capacity", [(labels.get(k, k), v) for k, v in shown.items()])

    if s.opts.get("plot"):
        lines = [("Cover, N0 = %d" % n0, p, data["fraction"])]
        if bias:
            lines.append(("Cover with bias, N0 + 1", p, data["fraction_bias"]))
        points = []
        if empirical:
            points.append(("LP on orbits" + (" (bias)" if bias else ""), p, data["fraction_empirical"],
                           data["fraction_empirical_sem"]))
        plot_curves(s.opts["plot"], lines=lines, points=points, xlabel="P (orbits)",
                    ylabel="fraction of separable labelings", title="kerncurve capacity", logx=False, logy=False)
    params = {"input": input, "group": group_spec, "channels": channels, "p": p.tolist(), "bias": bias,
              "empirical": empirical, "labelings": labelings, "seed": s.rng_seed}
    s.emit(table, command="capacity", params=params, summary=summary)


def _read_input(path, rep_key, orbits_key):
    with open_h5(path) as f:
        has_rep, has_orb = has_dataset(f, rep_key), has_dataset(f, orbits_key)
        if not (has_rep or has_orb):
            raise InputError(
                f"{path!r} has neither {rep_key!r} (G, d, d) nor {orbits_key!r} (P, G, d); add one, set "
                "--representation-key/--orbits-key, or use --group"
            )
        matrices = orbits = None
        dtype = np.float64
        if has_rep:
            matrices = read_array(f, rep_key, ndim=(2, 3), option="--representation-key",
                                  what="the representation (G, d, d)")
            if matrices.ndim == 2:
                raise InputError(
                    f"{path}:{rep_key} is one {matrices.shape[0]}x{matrices.shape[1]} matrix; store every group "
                    "element as a stack of shape (G, d, d)"
                )
            if matrices.shape[1] != matrices.shape[2]:
                raise InputError(
                    f"{path}:{rep_key} holds {matrices.shape[1]}x{matrices.shape[2]} matrices, not square; each "
                    "rho(g) must be d x d (shape (G, d, d))"
                )
        if has_orb:
            orbits = read_array(f, orbits_key, ndim=(3,), option="--orbits-key", what="the orbits (P, G, d)")
            dtype = f[orbits_key].dtype if f[orbits_key].dtype.kind == "f" else np.float64
        if matrices is not None and orbits is not None and orbits.shape[2] != matrices.shape[1]:
            raise InputError(
                f"{path}:{orbits_key} has points of dimension {orbits.shape[2]} but {rep_key} acts on "
                f"R^{matrices.shape[1]}; the last axis of the orbits must equal d"
            )
    return matrices, orbits, dtype


def _check_orbits(orbits, matrices, group, where, rep_key, tol):
    """Warn when the given orbits do not look like orbits of the representation."""
    if orbits.shape[1] != group.order:
        warnings.warn(
            f"{where}: each orbit has {orbits.shape[1]} points but {rep_key} has {group.order} elements; "
            "the theory assumes every orbit lists all |G| transformed copies",
            InputWarning,
        )
    c = orbits.mean(axis=1)
    off = np.abs(c - c @ group.projector.T).max()
    scale = max(float(np.abs(orbits).max()), 1e-300)
    if off > max(tol, 1e-6) * scale * 10:
        warnings.warn(
            f"{where}: the orbit centroids are not fixed by {rep_key} (max |c − Πc| = {off:.3g}); "
            "the orbits were not made by this representation",
            InputWarning,
        )
