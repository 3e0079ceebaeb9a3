"""`kerncurve.align`: kernels that move — deep-linear silent alignment, or the NTK-alignment toy model."""

import os

import numpy as np

from .._validation import (
    MAX_POINTS,
    check_choice,
    check_float,
    check_floats,
    check_int,
    check_seed,
)
from ..errors import InputError
from ..io.sizes import memory_budget
from ..result import numerics_guard
from ._align_modes import (
    CAVEAT,
    LINEAR_COLUMNS,
    LINEAR_EMPIRICAL,
    MAX_DEPTH,
    MAX_RUNS,
    MAX_TOY_SAMPLES,
    TOY_CHECK,
    TOY_COLUMNS,
    AlignResult,
    linear_mode,
    toy_mode,
)

__all__ = ["align", "AlignResult", "LINEAR_COLUMNS", "LINEAR_EMPIRICAL", "TOY_COLUMNS", "TOY_CHECK", "CAVEAT",
           "MAX_TOY_SAMPLES"]


def _times(time):
    """Sorted distinct times ≥ 0 with one > 0 (None: the mode's default); vectorized for arrays."""
    if time is None:
        return None
    try:
        t = np.asarray(time, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        t = check_floats(time, "time", minimum=0.0)
    if t.size == 0:
        raise InputError("time is empty; give at least one time > 0", param="time")
    if t.size > MAX_POINTS:
        raise InputError(f"time has {t.size} values, more than the {MAX_POINTS} allowed", param="time")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InputError(f"time must be finite values ≥ 0, got {float(t[~(np.isfinite(t) & (t >= 0))][0])!r}",
                         param="time")
    t = np.unique(t)
    if t[-1] <= 0:
        raise InputError("time must include a value > 0", param="time")
    return t


@numerics_guard(allow_nan=("loss_empirical_sem", "alignment", "centered_alignment"))
def align(input=None, *, depth=None, init=None, width=200, toy=None, lam=None, time=None, empirical=False, runs=1,
          subsample=None, features_key="/features", gram_key="/gram", targets_key="/targets", inputs_key="/inputs",
          kernel=None, bandwidth=None, degree=2, memory=None, seed=0, X=None, y=None, gram=None, kernels=False,
          progress=None, _max_samples=MAX_TOY_SAMPLES):
    """Kernels that move: deep-linear silent alignment, or the NTK-alignment toy model.

    **Deep linear** (``depth=L, init=σ``; Atanasov, Bordelon & Pehlevan, ICLR 2022): f(x) = β·x
    trained by gradient flow on (1/2P)|Xβ − y|² from i.i.d. N(0, σ²) weights ends with the
    kernel K(x, x') = xᵀM_∞x'::

        M_∞ = |β_∞|^{2(L−1)/L} (I + (L−1) β̂_∞β̂_∞ᵀ),   β_∞ = X⁺y;

    the time course is the balanced end-to-end flow dβ/dt = −M(β)(Σβ − c), Σ = XᵀX/P,
    c = Xᵀy/P (Arora, Cohen & Hazan, ICML 2018), started after the early alignment at s₀ĉ
    (loss, |cos| of the kernel's top eigenvector with β̂_∞, λ₁/λ₂).

    **Toy model** (``toy="variant1"|"variant2", lam=λ``; after Shan & Bordelon,
    arXiv:2105.14301): dΔ/dt = −KΔ, Δ(0) = y, with dK/dt = λΔΔᵀ (variant 1) or
    dK/dt = λ(ΔΔᵀK + KΔΔᵀ) (variant 2), in closed form; loss = ½|Δ|², loss_static with K
    frozen at K₀. Neither mode is the ridge κ equation: the kernel itself moves.
    Equations and conventions: docs/theory/alignment.md.

    Parameters
    ----------
    input : str or path, optional
        HDF5 file. Deep linear: ``inputs_key`` (or ``features_key``) (n, d) and scalar
        ``targets_key``; toy: a Gram (``gram_key``, the linear kernel of ``features_key``,
        or ``kernel`` on ``inputs_key``). Or pass arrays: ``X`` (n, d) and ``y`` (deep
        linear); ``gram`` (n, n) or features ``X``, and ``y`` (toy).
    depth : int
        Deep linear: weight layers L ≥ 1. Toy with ``kernel="relu-nngp"|"relu-ntk"``:
        hidden layers of the kernel (default 1).
    init : float
        Deep linear: init scale σ > 0.
    width : int
        Hidden width N (the theory's s₀, and the ``empirical`` networks).
    toy : {"variant1", "variant2"}, optional
        Toy-model mode.
    lam : float
        Toy: kernel speed λ ≥ 0.
    time : sequence of float, optional
        Output times ≥ 0 (sorted, distinct); default 101 points to a few relaxation times.
    empirical : bool
        Deep linear: also train ``runs`` networks (gradient flow, DOP853). Toy: also
        integrate the ODEs (column ``loss_ode``).
    subsample : int, optional
        Use this many samples drawn at random (``seed``).
    kernel, bandwidth, degree : optional
        Toy: build the Gram from raw inputs (`kerncurve.spectrum`'s kernels).
    memory : str or int, optional
        Budget (``"2G"``) for the arrays held whole: inputs, the Gram, kernels over time,
        trained networks. Default: 80 % of physical memory.
    kernels : bool
        Keep the kernels at every output time for ``result.kernel_file`` (``--kernel-output``).
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    AlignResult
        Deep linear: columns ``time, loss, top_overlap, anisotropy`` (+ ``loss_empirical,
        loss_empirical_sem, top_overlap_empirical, anisotropy_empirical,
        kernel_distance_empirical``). Toy: ``time, loss, loss_static, alignment,
        centered_alignment`` (+ ``loss_ode``).

    Examples
    --------
    >>> r = kc.align(X=X, y=y, depth=2, init=1e-3, time=[0, 10, 50])            # doctest: +SKIP
    >>> r = kc.align(gram=K, y=y, toy="variant1", lam=1.0)                      # doctest: +SKIP
    """
    times = _times(time)
    runs = check_int(runs, "runs", minimum=1, maximum=MAX_RUNS)
    if subsample is not None:
        subsample = check_int(subsample, "subsample", minimum=1)
    seed = check_seed(seed)
    budget = memory_budget(memory)
    if isinstance(input, (str, bytes, os.PathLike)):
        if any(a is not None for a in (X, y, gram)):
            raise InputError("pass either an HDF5 input or arrays (X, y or gram, y), not both", param="input")
        input = os.fspath(input)
    elif input is not None:
        raise InputError(f"input must be a path to an HDF5 file (or None with arrays), got {type(input).__name__}",
                         param="input")
    opts = dict(times=times, empirical=bool(empirical), subsample=subsample, seed=seed, budget=budget,
                kernels=bool(kernels), progress=progress)
    if toy is not None:
        check_choice(toy, "toy", ("variant1", "variant2"))
        if init is not None:
            raise InputError(f"init belongs to the deep linear mode; drop it, or drop toy={toy}", param="init")
        if lam is None:
            raise InputError(f"lam is needed with toy={toy} (the kernel speed λ ≥ 0)", param="lam")
        lam = check_float(lam, "lam", minimum=0.0)
        if depth is not None:
            depth = check_int(depth, "depth", minimum=1, maximum=MAX_DEPTH)
        keys = dict(features_key=features_key, gram_key=gram_key, targets_key=targets_key, inputs_key=inputs_key,
                    kernel=kernel, bandwidth=bandwidth, degree=degree, depth=1 if depth is None else depth)
        return toy_mode(input, X, y, gram, toy, lam, keys, max_samples=_max_samples, **opts)
    if lam is not None:
        raise InputError("lam belongs to the toy model; add toy=variant1 or toy=variant2", param="lam")
    if gram is not None:
        raise InputError("gram is for the toy model (toy=variant1|variant2); the deep linear network takes X and y",
                         param="gram")
    for name, value in (("depth", depth), ("init", init)):
        if value is None:
            raise InputError(f"{name} is needed: give depth=L and init=σ (deep linear network), or toy=variant1|"
                             "variant2 and lam=λ (toy model)", param=name)
    depth = check_int(depth, "depth", minimum=1, maximum=MAX_DEPTH)
    init = check_float(init, "init", minimum=0.0, strict=True)
    width = check_int(width, "width", minimum=1)
    return linear_mode(input, X, y, depth, init, width, runs, features_key, inputs_key, targets_key, **opts)

