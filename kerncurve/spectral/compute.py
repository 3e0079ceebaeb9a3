"""The route chooser: the spectrum of an input's problem, or of arrays, by the cheapest route.

A spectrum cache is returned as is; a Gram (or a built-in kernel) takes the Gram route;
features in memory, or with d ≥ n, are used in memory; otherwise the features are streamed
from the file in row blocks (memory independent of n), or summed by dask.
"""

import contextlib
import dataclasses
import warnings

import numpy as np

from ..errors import InputError, InputWarning
from .spectrum import _validate_gram, spectrum_from_features, spectrum_from_gram, spectrum_from_moments
from .topk import dense_moments, feature_moments, spectrum_top

__all__ = ["compute_spectrum", "spectrum_of_arrays"]


def _option(problem, overrides, key, default=None):
    if overrides.get(key) is not None:
        return overrides[key]
    v = getattr(problem, "options", {}).get(key)
    return default if v is None else v


def _check_top(top, dim, what):
    from .._validation import check_int

    if top is None:
        return None
    top = check_int(top, "top_eigen", minimum=1)
    if dim < 2:
        raise InputError(f"top_eigen={top}: {what} has a single mode, nothing to truncate; omit top_eigen",
                         param="top_eigen")
    if top >= dim:
        raise InputError(
            f"top_eigen={top}: must be between 1 and {dim - 1} ({what} has {dim} modes); "
            "omit top_eigen for the full spectrum", param="top_eigen"
        )
    return top


def compute_spectrum(problem, *, memory=None, engine=None, scheduler=None, scheduler_timeout=None, top_eigen=None,
                     landmarks=None, landmark_rule=None, method="auto", progress=None):
    """The spectrum of a `Problem` by the cheapest route.

    Settings come from the keyword arguments, else from ``problem.options`` (filled by the
    command line), else the defaults:

    memory : str or int
        Budget of the streamed feature route (``512M``; `kerncurve.io.sizes.parse_size`).
    engine : {"numpy", "dask"}
        "dask" sums the feature route's moments with dask.array (extra ``kerncurve[dask]``).
    scheduler : str
        Address of a running dask.distributed scheduler [default: a LocalCluster].
    top_eigen : int
        Compute only the top K eigenpairs; model the rest (`spectrum_top`).
    progress : callable
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Routes: a spectrum cache is returned as is; a Gram (or ``--kernel``) takes the Gram
    route; features already in memory, or with d ≥ n, are used in memory; otherwise the
    features are streamed from the file in row blocks (memory independent of n), or summed
    by dask.
    """
    from ..io import stream

    ov = {"memory": memory, "engine": engine, "scheduler": scheduler, "scheduler_timeout": scheduler_timeout,
          "top_eigen": top_eigen, "progress": progress}
    memory = _option(problem, ov, "memory")
    engine = _option(problem, ov, "engine", "numpy")
    scheduler = _option(problem, ov, "scheduler")
    timeout = float(_option(problem, ov, "scheduler_timeout", 10.0))
    top = _option(problem, ov, "top_eigen")
    landmarks = _option(problem, {"landmarks": landmarks}, "landmarks")
    rule = _option(problem, {"landmark_rule": landmark_rule}, "landmark_rule", "uniform")
    progress = _option(problem, ov, "progress")
    seed = int(getattr(problem, "options", {}).get("seed", 0) or 0)
    if engine not in ("numpy", "dask"):
        raise InputError(f"engine must be numpy or dask, got {engine!r}", param="engine")
    if scheduler and engine != "dask":
        raise InputError("scheduler= is the address of a dask scheduler; add engine=dask", param="scheduler")
    budget = stream.parse_size(memory if memory is not None else stream.DEFAULT_MEMORY)

    def unused(what, why):
        sep = " " if why.startswith("for ") else ": "
        warnings.warn(f"{what} ignored{sep}{why}", InputWarning)

    if landmarks is not None and top is not None:
        raise InputError("landmarks= and top_eigen= are two routes to the same end; give one", param="landmarks")
    if landmarks is not None and problem.kernel is None:
        if problem.gram is not None and problem.spectrum is None:
            why = "with a precomputed Gram, use top_eigen= (block Krylov on the Gram) instead"
            if problem.info.get("kernel"):
                why = "the kernel's Gram was built: this is a bug"
        elif problem.spectrum is not None:
            why = "the input is a spectrum cache (already computed)"
        else:
            why = ("the feature route is already streamed in row blocks at d×d cost; landmarks are for a built-in "
                   "kernel= on /inputs")
        raise InputError(f"landmarks= needs raw inputs and a built-in kernel=; {why}", param="landmarks")
    if problem.kernel is not None:
        return _kernel_free(problem, top, landmarks, rule, memory, engine, scheduler, timeout, seed, bar_factory(progress))

    if problem.spectrum is not None:
        if top is not None or engine == "dask":
            raise InputError("top_eigen= and engine= need samples; the input is a spectrum cache (already computed)")
        if memory is not None:
            unused("memory=", "the input is a spectrum cache")
        return problem.spectrum

    bar = bar_factory(progress)

    if problem.gram is not None:
        where = "K" if problem.path is None else f"{problem.path}: Gram"
        if engine == "dask":
            raise InputError("engine=dask computes the feature route (/features without kernel=); this input uses "
                             "a Gram matrix; drop engine=dask", param="engine")
        if memory is not None:
            unused("memory=", "for streaming: only the feature route is streamed (this input uses a Gram matrix); "
                   "it still bounds the Gram held in memory")
        k, y = problem.gram, problem.targets
        n = k.shape[0]
        top = _check_top(top, n, "the Gram")
        if top is None:
            return spectrum_from_gram(k, y, problem.source_dtype, where, method=method)
        k, _ = _validate_gram(k, problem.source_dtype, where)
        tr2, ty = dense_moments(k, y)
        return spectrum_top(lambda v: k @ v / n, n, top, coefficients=lambda th, u: u.T @ y / np.sqrt(n),
                            trace=float(np.trace(k)) / n, total_power=np.sum(y**2, 0) / n, n_modes=n, n=n,
                            route="gram", source_dtype=problem.source_dtype, where=where, seed=seed,
                            moments=(tr2 / n**2, ty / n**2))

    where = "X" if problem.path is None else f"{problem.path}: features"
    src = problem.feature_source
    n, d = problem._features.shape if problem.features_loaded else src.shape
    top = _check_top(top, min(n, d), "the feature kernel")
    if engine == "dask" and src is None:
        raise InputError("engine=dask reads the features from the input file; this problem was built from arrays",
                         param="engine")
    in_memory = src is None or (engine != "dask" and (problem.features_loaded or d >= n))
    if in_memory:
        if memory is not None and not problem.features_loaded:
            unused("memory=", "for streaming: with d ≥ n the feature route needs the n×n Gram in memory")
        x, y = problem.features, problem.targets
        if top is None:
            return spectrum_from_features(x, y, problem.source_dtype, where, method=method)
        tp = np.sum(y**2, 0) / n
        trace = float(np.einsum("ij,ij->", x, x)) / n
        if d < n:
            b = x.T @ y / n
            return spectrum_top(lambda v: x.T @ (x @ v) / n, d, top,
                                coefficients=lambda th, vv: (vv.T @ b) / np.sqrt(np.maximum(th, 1e-300))[:, None],
                                trace=trace, total_power=tp, n_modes=d, n=n, route="features",
                                source_dtype=problem.source_dtype, where=where, seed=seed)
        return spectrum_top(lambda v: x @ (x.T @ v) / n, n, top, coefficients=lambda th, u: u.T @ y / np.sqrt(n),
                            trace=trace, total_power=tp, n_modes=n, n=n, route="gram",
                            source_dtype=problem.source_dtype, where=where, seed=seed)

    tsrc = problem.targets_source
    if engine == "dask":
        mom = stream.dask_moments(src, tsrc, budget, scheduler=scheduler, timeout=timeout)
        notes = {"engine": "dask", "scheduler": scheduler or "LocalCluster", "rows_per_block": mom.rows_per_block}
    else:
        with bar("streaming features", n) as advance:
            mom = stream.stream_moments(src, tsrc, budget, progress=advance)
        notes = {"engine": "numpy (streamed)", "memory_budget": stream.format_size(budget),
                 "rows_per_block": mom.rows_per_block}
    if top is None:
        spec = spectrum_from_moments(mom.c, mom.b, mom.total_power, n, problem.source_dtype, where,
                                     overwrite=True, method=method)
    else:
        cfull = mom.full()
        b = mom.b
        tp = mom.channel_power
        spec = spectrum_top(lambda v: cfull @ v, d, top,
                            coefficients=lambda th, vv: (vv.T @ b) / np.sqrt(np.maximum(th, 1e-300))[:, None],
                            trace=mom.trace, total_power=tp, n_modes=d, n=n, route="features",
                            source_dtype=problem.source_dtype, where=where, seed=seed,
                            moments=feature_moments(cfull, b))
    return _with_notes(spec, notes)


def _with_notes(spec, notes):
    return dataclasses.replace(spec, notes={**notes, **spec.notes})



def bar_factory(progress):
    """``bar(description, total)`` from an optional ``progress`` callable."""

    def bar(description, total):
        if progress is None:
            return contextlib.nullcontext(lambda n=1: None)
        return progress(description, total)

    return bar


def _kernel_free(problem, top, landmarks, rule, memory, engine, scheduler, timeout, seed, bar):
    """A built-in kernel's spectrum without its Gram (`kerncurve.spectral.kernelfree`)."""
    from ..io import stream
    from .kernelfree import kernelfree_top, nystrom

    x, y = problem.kernel_inputs, problem.targets
    name, params = problem.kernel
    n = x.shape[0]
    where = f"{problem.path}: {name} kernel"
    if top is None and landmarks is None:
        raise InputError("the Gram-free route needs top_eigen= or landmarks=", param="top_eigen")
    client = stream.connect(scheduler, timeout) if engine == "dask" else None
    progress = None if bar is None else (lambda d, t: bar(d, t))
    try:
        if landmarks is not None:
            spec = nystrom(x, y, name, params, landmarks, rule=rule, memory=memory, seed=seed, client=client,
                           progress=progress, source_dtype=problem.source_dtype, where=where)
        else:
            top = _check_top(top, n, "the kernel")
            spec = kernelfree_top(x, y, name, params, top, memory=memory, seed=seed, client=client,
                                  progress=progress, source_dtype=problem.source_dtype, where=where)
    finally:
        if client is not None:
            cluster = getattr(client, "_kerncurve_cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    if client is not None:
        spec.notes["scheduler"] = scheduler or "LocalCluster"
    return spec


def spectrum_of_arrays(*, y, features=None, gram=None, top_eigen=None, seed=0, basis=False):
    """The spectrum of validated arrays (see `Spectrum.from_features`, `Spectrum.from_gram`)."""
    from ..io.problem import Problem

    if basis and top_eigen is not None:
        raise InputError("basis=True needs every mode; drop top_eigen", param="basis")
    if basis:
        if gram is not None:
            return spectrum_from_gram(gram, y, where="K", basis=True)
        return spectrum_from_features(features, y, where="X", basis=True)
    problem = Problem(path=None, targets=y, features=features, gram=gram, options={"seed": seed})
    return compute_spectrum(problem, top_eigen=top_eigen)
