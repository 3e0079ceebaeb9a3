"""`kerncurve.capacity`: how many orbits a group-invariant linear readout separates, and its check."""

import contextlib
import os
import warnings

import numpy as np

from .._validation import check_count, check_float, check_int, check_seed, check_sizes
from ..errors import InputError, InputWarning
from ..result import Result, numerics_guard

__all__ = ["capacity", "MAX_TRIALS", "MAX_EMPIRICAL_FLOATS"]

COLUMNS = ["p", "fraction"]
_MAX_DEFAULT_ROWS = 200
#: Random labelings tested per call (labelings × number of P values).
MAX_TRIALS = 10**6
#: Orbit-cloud numbers the empirical check builds and solves per call (labelings × Σ_P P·|G|·(d+1)).
MAX_EMPIRICAL_FLOATS = 10**10
#: Copies of one trial's P·|G| × (d+1) constraint matrix held at once (points, matrix, certificate work).
_TRIAL_COPIES = 4


def _sources(input, group, channels, representation, orbits):
    arrays = [k for k, v in (("representation", representation), ("orbits", orbits)) if v is not None]
    given = (["input"] if input is not None else []) + (["group"] if group is not None else []) + arrays
    if input is not None and group is not None:
        raise InputError("give either input (an HDF5 file with /representation and/or /orbits) or group=..., "
                         "not both", param="group")
    if (input is not None or group is not None) and arrays:
        raise InputError(f"give either {given[0]} or the arrays {' and '.join(arrays)}, not both", param=arrays[0])
    if not given:
        raise InputError("give either input (an HDF5 file with /representation and/or /orbits), group=... (a "
                         "built-in group) or the arrays representation/orbits; neither was given", param="input")
    if channels is not None:
        channels = check_int(channels, "channels", minimum=1)
        if group is None:
            raise InputError("channels applies to group=... only; an input fixes its own dimension",
                             param="channels")
    if input is not None and not isinstance(input, (str, bytes, os.PathLike)):
        raise InputError(f"input must be a path to an HDF5 file, got {type(input).__name__}", param="input")
    return channels


def _check_orbits(orbits, group, where, rep_name, tol):
    """Warn when the given orbits do not look like orbits of the representation."""
    if orbits.shape[1] != group.order:
        warnings.warn(f"{where}: each orbit has {orbits.shape[1]} points but {rep_name} has {group.order} elements; "
                      "the theory assumes every orbit lists all |G| transformed copies", InputWarning)
    c = orbits.mean(axis=1)
    off = np.abs(c - c @ group.projector.T).max()
    scale = max(float(np.abs(orbits).max()), 1e-300)
    if off > max(tol, 1e-6) * scale * 10:
        warnings.warn(f"{where}: the orbit centroids are not fixed by {rep_name} (max |c − Πc| = {off:.3g}); the "
                      "orbits were not made by this representation", InputWarning)


def _check_empirical(p, labelings, order, d):
    """Refuse an empirical check too large to finish, or one trial too large to hold."""
    from ..io.sizes import check_bytes, memory_budget

    check_count(float(labelings) * p.size, "labelings", MAX_TRIALS,
                unit=f"trials ({p.size} values of p × labelings={labelings})",
                way_out="test fewer labelings or fewer p values")
    row = float(order) * (d + 1)
    check_count(float(labelings) * float(p.astype(float).sum()) * row, "p", MAX_EMPIRICAL_FLOATS,
                unit=f"orbit-cloud numbers (labelings × Σp × |G|·(d + 1), with |G| = {order}, d = {d})",
                way_out="test fewer or smaller p values, or fewer labelings")
    check_bytes(_TRIAL_COPIES * 8.0 * float(p.max()) * row, memory_budget(None),
                f"one trial of p={int(p.max())} orbits of {order} points in R^{d}",
                way_out="test smaller p values")


@numerics_guard()
def capacity(input=None, *, group=None, channels=None, representation=None, orbits=None, p=None, bias=False,
             empirical=False, labelings=100, representation_key="/representation", orbits_key="/orbits", tol=1e-6,
             seed=0, progress=None):
    """Fraction of the 2^P labelings of P orbits that a G-invariant linear readout separates.

    A finite group acts on R^d by orthogonal ρ(g); each object is an orbit {ρ(g)x_μ}. A
    readout that labels every view alike only sees the centroids Πx_μ, Π = (1/|G|) Σ_g ρ(g),
    which span N₀ = tr Π dimensions, so Cover's count applies there (Farrell, Bordelon,
    Trivedi & Pehlevan, ICLR 2022, arXiv:2110.07472)::

        f(P, N₀) = 2^{1−P} Σ_{k<N₀} C(P−1, k) = Pr[Binomial(P−1, ½) ≤ N₀ − 1],

    capacity 2N₀ (2N₀ + 2 with a bias) instead of 2d. See docs/theory/capacity.md.

    Parameters
    ----------
    input : str or path, optional
        HDF5 file with ``/representation`` (G, d, d) and/or ``/orbits`` (P, G, d) (paths set
        by ``representation_key``, ``orbits_key``); without a representation N₀ is the rank of
        the orbit centroids.
    group : str, optional
        A built-in group instead: ``cyclic:N``, ``cyclic2d:H,W`` or ``perm:N`` (N ≤ 8).
    channels : int, optional
        Channels each transformed identically by ``group`` (d = size × C; default 1).
    representation, orbits : array_like, optional
        The arrays themselves instead of a file: (G, d, d) and/or (P, G, d).
    p : int or sequence of int, optional
        Numbers of orbits; default every P from 1 to 4× the capacity dimension (N₀, or
        N₀ + 1 with ``bias``), at most 200 rows.
    bias : bool
        Also the fraction for a readout with a bias (N₀ → N₀ + 1); the empirical check then
        tests the readout with a bias.
    empirical : bool
        Also measure the fraction: random orbits (fresh Gaussian base points through the
        representation, or random subsets of the given orbits) and random labelings,
        separability decided on the full orbit clouds by certificates or HiGHS.
    labelings : int
        Random labelings per P for the check (≥ 2).
    tol : float
        Tolerance for orthogonality, closure and the projector check.
    seed : int
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    Result
        Columns ``p, fraction`` (+ ``fraction_bias``, + ``fraction_empirical,
        fraction_empirical_sem``); attributes ``group`` (`GroupAnalysis` or None),
        ``estimate`` (`OrbitEstimate` or None) and ``simulation`` (`EmpiricalCapacity` or None).

    Examples
    --------
    >>> r = kc.capacity(group="cyclic:8", channels=5, p=[5, 10, 15])   # doctest: +SKIP
    >>> r.fraction, r.summary["capacity"]                               # doctest: +SKIP
    """
    from ..theory.capacity import cover_capacity, cover_fraction

    channels = _sources(input, group, channels, representation, orbits)
    p_user = None if p is None else check_sizes(p, "p")
    bias, empirical = bool(bias), bool(empirical)
    labelings = check_int(labelings, "labelings", minimum=2)
    tol = check_float(tol, "tol", minimum=0.0, strict=True)
    seed = check_seed(seed)
    for name, key in (("representation_key", representation_key), ("orbits_key", orbits_key)):
        if not isinstance(key, str) or not key:
            raise InputError(f"{name} must be a dataset path, got {key!r}", param=name)

    names = _Names(input, representation_key, orbits_key)
    summary, matrices, orb, ga, est = _load(input, group, channels, representation, orbits, names, tol)

    if ga is not None:
        d, order, n0 = ga.d, ga.order, ga.n0
        n0_source = "characters (no matrices)" if matrices is None else "representation"
    else:
        d, order, n0 = est.d, est.order, est.n0
        n0_source = "orbit estimate" + (" (lower bound)" if est.lower_bound else "")
        if est.lower_bound:
            warnings.warn(f"N0 = {n0} is only a lower bound: the {est.p} orbit centroids{names.among} are all "
                          "independent; give more orbits than N0, or the representation", InputWarning)
    if est is not None and ga is not None and not est.lower_bound and est.n0 != n0:
        warnings.warn(f"{names.orbits}: the orbit centroids have rank {est.n0} but the representation fixes N0 = {n0} "
                      "dimensions; the orbits are degenerate or not orbits of this representation", InputWarning)

    if empirical and matrices is None and orb is None:
        raise InputError(f"empirical needs the representation's matrices, but {summary['group']} (|G| = "
                         f"{order:.6g}, d = {d}) is too large to store as matrices (over 2^25 entries); N0 = {n0} needs "
                         "none: leave out the empirical check, or check a smaller group or fewer channels", param="empirical")
    n_cap = n0 + (1 if bias else 0)
    if p_user is not None:
        p = p_user
    else:
        top = 4 * max(n_cap, 1)
        p = np.unique(np.round(np.linspace(1, top, min(top, _MAX_DEFAULT_ROWS))).astype(np.int64))
        p = np.union1d(p, [2 * n_cap] if n_cap > 0 else []).astype(np.int64)
        if empirical and matrices is None and p.max() > orb.shape[0]:
            warnings.warn(f"p capped at the {orb.shape[0]} orbits{names.among} (the empirical check draws subsets)",
                          InputWarning)
            p = p[p <= orb.shape[0]]

    data = {"p": p, "fraction": cover_fraction(p, n0)}
    columns = list(COLUMNS)
    if bias:
        data["fraction_bias"] = cover_fraction(p, n0, bias=True)
        columns.append("fraction_bias")
    sim = None
    if empirical:
        if orb is not None and p.max() > orb.shape[0]:  # given orbits are drawn from in preference
            raise InputError(f"p={int(p.max())} exceeds the {orb.shape[0]} orbits{names.among}; use p={orb.shape[0]} "
                             "or less, or give only the representation to draw fresh orbits", param="p")
        _check_empirical(p, labelings, order, d)
        sim = _simulate(p, matrices, orb, labelings, bias, seed, progress)
        data["fraction_empirical"], data["fraction_empirical_sem"] = sim.fraction, sim.sem
        columns += ["fraction_empirical", "fraction_empirical_sem"]

    summary.update({"d": d, "group_order": order, "N0": n0, "N0_source": n0_source,
                    "capacity": cover_capacity(n0, bias), "capacity_without_invariance": cover_capacity(d, bias),
                    "bias": bias})
    if ga is not None:
        summary.update({"trace_projector": ga.trace, "projector_error": ga.projector_error,
                        "is_projector": ga.is_projector, "orthogonality_error": ga.orthogonality_error})
        if ga.closure_pairs:
            summary["closed_under_products"] = ga.closed
    if est is not None:
        summary.update({"orbits": est.p, "N0_orbit_estimate": est.n0, "N0_orbit_estimate_lower_bound": est.lower_bound})
    if empirical:
        ref = data["fraction_bias" if bias else "fraction"]
        se = np.sqrt(ref * (1 - ref) / labelings)
        z = np.abs(data["fraction_empirical"] - ref) / np.where(se > 0, se, np.inf)
        exact = se == 0
        summary.update({"labelings": labelings, "max_deviation_in_se": float(np.max(np.where(exact, 0.0, z))),
                        "exact_rows_mismatched": int(np.sum(exact & (data["fraction_empirical"] != ref))),
                        "lp_solved": sim.n_lp})
    params = {"input": None if input is None else os.fspath(input), "group": group, "channels": channels,
              "p": p.tolist(), "bias": bias, "empirical": empirical, "labelings": labelings, "seed": seed}
    return Result("capacity", columns, data, int_columns=("p",), summary=summary, params=params, group=ga,
                  estimate=est, simulation=sim)


class _Names:
    """What to call the representation and the orbits in messages."""

    def __init__(self, input, representation_key, orbits_key):
        path = None if input is None else os.fspath(input)
        self.representation = representation_key if path else "representation"
        self.representation_where = f"{path}:{representation_key}" if path else "representation"
        self.orbits = f"{path}:{orbits_key}" if path else "orbits"
        self.among = f" in {self.orbits}" if path else " given"
        self.keys = {"representation_key": representation_key, "orbits_key": orbits_key}


def _load(input, group, channels, representation, orbits, names, tol):
    """(summary, matrices, orbits, GroupAnalysis or None, OrbitEstimate or None) of the source."""
    from ..theory.capacity import analyze_group, estimate_n0, group_size, parse_group
    from ..theory.capacity.characters import character_n0

    if group is not None:
        c = 1 if channels is None else channels
        try:
            group_size(group, c)  # the matrices fit: analyze them (the check also validates the SPEC)
        except InputError as exc:
            if "the representation would hold" not in str(exc) and "is supported" not in str(exc):
                raise
            # too large for matrices: N0 from characters, nothing allocated
            cg = character_n0(group, c)
            return {"group": cg.name}, None, None, cg, None
        built = parse_group(group, c)
        ga = analyze_group(built.matrices, tol=tol, check_closure=False, where=f"group {group}")
        return {"group": built.name}, built.matrices, None, ga, None
    summary, dtype = {}, np.float64
    matrices, orb = representation, orbits
    if input is not None:
        from ..io.capacity import read_capacity

        matrices, orb, dtype = read_capacity(input, **names.keys)
        summary["input"] = os.fspath(input)
    ga = est = None
    if matrices is not None:
        ga = analyze_group(matrices, tol=tol, where=names.representation_where)
        matrices = np.asarray(matrices, dtype=float)
    if orb is not None:
        orb = np.asarray(orb, dtype=float) if input is not None else _orbits(orb, ga)
        if ga is not None:
            _check_orbits(orb, ga, names.orbits, names.representation, tol)
        est = estimate_n0(orb, dtype=dtype)
    return summary, matrices, orb, ga, est


def _orbits(orbits, ga):
    """In-memory orbits as a finite (P, G, d) array matching the representation's d."""
    from .._validation import check_array

    orbits = check_array(orbits, "orbits", ndim=(3,), what="(P, G, d)")
    if ga is not None and orbits.shape[2] != ga.d:
        raise InputError(f"orbits have points of dimension {orbits.shape[2]} but the representation acts on "
                         f"R^{ga.d}; the last axis of the orbits must equal d", param="orbits")
    return orbits


def _simulate(p, matrices, orbits, labelings, bias, seed, progress):
    from ..simulate.capacity import empirical_fraction

    bar = (progress("LP separability", p.size * labelings) if progress is not None
           else contextlib.nullcontext(lambda n=1: None))
    with bar as advance:
        last = [0]

        def report(done, total):
            advance(done - last[0])
            last[0] = done

        return empirical_fraction(p, matrices=matrices, orbits=orbits, labelings=labelings, bias=bias, seed=seed,
                                  progress=report)
