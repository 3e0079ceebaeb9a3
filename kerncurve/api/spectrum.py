"""`kerncurve.spectrum`: the spectrum of an HDF5 input, by the command line's route."""

import dataclasses
import os

from .._validation import check_choice, check_float, check_int, check_seed
from ..errors import InputError

__all__ = ["spectrum", "load_input"]

_KERNEL_KEYS = ("kernel", "bandwidth", "bandwidth_rule", "degree", "depth")


def load_input(input, *, features_key="/features", gram_key="/gram", targets_key="/targets", inputs_key="/inputs",
               kernel=None, bandwidth=None, degree=2, depth=1, top_eigen=None, landmarks=None,
               landmark_rule="uniform", memory=None, engine="numpy", scheduler=None, scheduler_timeout=10.0, seed=0,
               progress=None, samples=False):
    """(problem, spectrum) of an HDF5 input: the validated problem and its spectrum.

    ``samples=True`` reads the features into memory (an experiment needs them), so that
    the spectrum uses them there instead of streaming the file a second time.
    """
    from ..io.problem import load_problem
    from ..kernels import KERNELS
    from ..spectral import compute_spectrum

    if not isinstance(input, (str, bytes, os.PathLike)):
        raise InputError(f"input must be a path to an HDF5 file, got {type(input).__name__}", param="input")
    if kernel is not None and kernel not in KERNELS:
        raise InputError(f"unknown kernel={kernel!r}; choose one of {', '.join(KERNELS)}", param="kernel")
    if bandwidth is not None and not (isinstance(bandwidth, (int, float)) and bandwidth > 0
                                      and bandwidth < float("inf")):
        raise InputError(f"bandwidth must be a positive number, got {bandwidth!r}", param="bandwidth")
    degree = check_int(degree, "degree", minimum=1, maximum=10_000)
    depth = check_int(depth, "depth", minimum=1, maximum=10_000)
    check_choice(engine, "engine", ("numpy", "dask"))
    check_choice(landmark_rule, "landmark_rule", ("uniform", "kmeans++"))
    if landmarks is not None:
        landmarks = check_int(landmarks, "landmarks", minimum=1)
    seed = check_seed(seed)
    gram_free = kernel is not None and (top_eigen is not None or landmarks is not None)
    problem = load_problem(os.fspath(input), features_key=features_key, gram_key=gram_key, targets_key=targets_key,
                           inputs_key=inputs_key, kernel=kernel,
                           kernel_params={"bandwidth": bandwidth, "degree": degree, "depth": depth}, memory=memory,
                           gram_free=gram_free)
    problem.options.update(memory=memory, engine=engine, scheduler=scheduler, scheduler_timeout=scheduler_timeout,
                           top_eigen=top_eigen, landmarks=landmarks, landmark_rule=landmark_rule, seed=seed,
                           progress=progress)
    if samples and problem.has_features and engine != "dask":
        problem.features  # noqa: B018 - loads once, reused by the spectrum and the experiment
    spec = compute_spectrum(problem)
    prov = {"input": os.fspath(input), "source": problem.info.get("source", "")}
    prov.update({k: problem.info[k] for k in _KERNEL_KEYS if k in problem.info})
    return problem, dataclasses.replace(spec, provenance=prov)


def spectrum(input, *, top=None, save=None, features_key="/features", gram_key="/gram", targets_key="/targets",
             inputs_key="/inputs", kernel=None, bandwidth=None, degree=2, depth=1, top_eigen=None, landmarks=None,
             landmark_rule="uniform", memory=None, engine="numpy", scheduler=None, scheduler_timeout=10.0, seed=0,
             bootstrap=None, band=0.9, progress=None):
    """The kernel's eigenvalues and the target's power per mode, from an HDF5 input.

    The population is the empirical measure on the n samples: eigenvalues η_k of K/n,
    eigenfunctions φ_k = √n u_k, target coefficients v_k = u_kᵀy/√n (Bordelon, Canatar &
    Pehlevan, ICML 2020; Canatar, Bordelon & Pehlevan, Nat. Commun. 2021). Which kernel:
    ``kernel`` given → built from ``inputs_key`` (or ``features_key``); otherwise the Gram at
    ``gram_key`` if present, else the linear kernel of the features; a spectrum cache is
    read as is.

    Parameters
    ----------
    input : str or path
        HDF5 file (see the README's schema).
    top : int, optional
        Rows of the table (`Spectrum.to_dict`); every mode is still computed.
    save : str or path, optional
        Also write the spectrum cache there (accepted as input by every command).
    features_key, gram_key, targets_key, inputs_key : str
        Dataset paths.
    kernel : {"linear", "rbf", "laplace", "poly", "relu-nngp", "relu-ntk"}, optional
        Build the kernel from raw inputs; ``bandwidth`` (rbf/laplace; default: median
        pairwise distance), ``degree`` (poly), ``depth`` (relu kernels).
    top_eigen : int, optional
        Compute only the top K modes and model the rest as a power-law tail carrying the
        exact remaining trace and target power. With a built-in ``kernel`` the n×n Gram is
        never formed: kernel blocks are computed on the fly (memory O(n·block)).
    landmarks : int, optional
        Nyström with this many landmark inputs (``landmark_rule`` "uniform" or "kmeans++",
        seeded): the M×M eigenproblem, with the same tail for the rest; needs ``kernel``.
    memory : str or int, optional
        Memory budget (``"2G"``): streaming blocks of /features and every array held whole.
    engine : {"numpy", "dask"}
        ``"dask"`` sums the feature moments with dask (``scheduler``: a dask address).
    seed : int
        Seed of the top-k start, the landmarks and the bootstrap.
    bootstrap : int, optional
        Resample the n samples with replacement this many times and add per-mode columns
        ``eigenvalue_lo, eigenvalue_hi, target_power_lo, target_power_hi`` (the basic bootstrap
        interval of coverage ``band``) and the bootstrap SEs of the fitted exponents.
    band : float
        Coverage of the bootstrap interval, in (0, 1).
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    Spectrum
        With ``to_dict()`` (the command's table) and ``summary``.
    """
    if top is not None:
        top = check_int(top, "top", minimum=1)
    if bootstrap is not None:
        bootstrap = check_int(bootstrap, "bootstrap", minimum=2, maximum=10**6)
    band = check_float(band, "band", minimum=0.0, strict=True, maximum=1.0)
    if band >= 1.0:
        raise InputError(f"band must be < 1 (a coverage), got {band}", param="band")
    if save is not None:
        from ..io.outputs import plan_outputs

        plan_outputs([("save", save)], [("input", input)])  # before any work
    problem, spec = load_input(input, features_key=features_key, gram_key=gram_key, targets_key=targets_key,
                               inputs_key=inputs_key, kernel=kernel, bandwidth=bandwidth, degree=degree, depth=depth,
                               top_eigen=top_eigen, landmarks=landmarks, landmark_rule=landmark_rule, memory=memory,
                               engine=engine, scheduler=scheduler,
                               scheduler_timeout=scheduler_timeout, seed=seed, progress=progress,
                               samples=bootstrap is not None)
    if bootstrap is not None:
        spec = _with_band(spec, problem, bootstrap, band, seed, progress)
    if top is not None:
        spec = dataclasses.replace(spec, notes={**spec.notes, "table_rows": top})
    if save is not None:
        from ..io.cache import write_spectrum
        from ..io.h5 import file_sha256

        sha = file_sha256(os.fspath(input)) if problem.has_samples else ""
        write_spectrum(spec, save, input_sha256=sha,
                       extra_attrs={"source": f"{os.fspath(input)} ({spec.provenance.get('source', '')})"},
                       option="save")
    return spec


def _with_band(spec, problem, draws, band, seed, progress):
    """``spec`` with bootstrap columns per mode and the exponents' bootstrap SEs."""
    import contextlib

    from ..spectral.bootstrap import bootstrap_spectra, gram_free_resampler, mode_band

    if not problem.has_samples:
        raise InputError("bootstrap needs samples (features, Gram or inputs); the input is a spectrum cache",
                         param="bootstrap")
    spectrum_of = gram_free_resampler(problem, problem.targets, spec.n)
    features = gram = None
    if spectrum_of is None:
        gram = problem.gram
        features = problem.features if gram is None else None
        if features is not None and features.shape[1] >= features.shape[0]:
            features, gram = None, features @ features.T
    modes = spec.rank if spec.exact_modes is None else min(spec.exact_modes, spec.rank)
    ctx = contextlib.nullcontext(lambda n=1: None) if progress is None else progress("bootstrap", draws)
    with ctx as advance:
        spectra = bootstrap_spectra(problem.targets, features=features, gram=gram, draws=draws, seed=seed,
                                    top_eigen=spec.exact_modes, progress=advance, spectrum_of=spectrum_of)
        columns, ses = mode_band(spec, spectra, modes, band)
    notes = {**spec.notes, "bootstrap_draws": draws, "bootstrap_band": band, **ses}
    return dataclasses.replace(spec, band=columns, notes=notes)
