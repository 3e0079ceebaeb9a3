"""`kerncurve.heads`: infinite head dimension or infinitely many heads — what happens to attention.

Trains pre-LayerNorm multi-head attention models (extra ``kerncurve[nn]``) over a grid of
head counts H, head dimensions N, attention exponents α_A, depths L and residual exponents
α_L, and measures how different the heads are (head_spread) and how far the final-layer
kernel is from a deterministic limit (kernel_spread); or (``toy=True``) compares finite
gated-attention toy networks with their solved N → ∞ limit.
"""

import contextlib
import itertools
import warnings

import numpy as np

from .._validation import check_choice, check_float, check_floats, check_sizes
from ..errors import InputError, NumericalWarning
from ..result import Result, numerics_guard
from ._heads_report import COLUMNS, TOY_COLUMNS, rows_and_summary
from ._network import NETWORK_DEFAULTS as D
from ._network import as_list, check_batch, check_network_options, load_network_data, require_nn

__all__ = ["heads", "COLUMNS", "TOY_COLUMNS", "MAX_WORK", "default_at"]

#: Floating-point operations one call may ask for (about a day on two CPU cores).
MAX_WORK = 1e15
_GRID = {"heads": (2, 8), "head_dim": (4, 16), "attn_exp": (1.0, 0.5)}
_TOY = {"heads": (6,), "head_dim": (256, 1024, 4096), "attn_exp": (1.0,), "lr": 0.002, "gamma0": 2.5, "steps": 1000}
_LR = {"sgd": 1.0, "adam": 0.01}
_STEPS = 100


def default_at(steps, points=6):
    """Steps reported by default: 0 and ``points`` log-spaced steps up to ``steps``."""
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, steps, points))]).astype(np.int64))


def _distinct_sizes(value, name):
    out = tuple(int(v) for v in check_sizes(as_list(value), name, minimum=1, maximum=1 << 16))
    if len(set(out)) != len(out):
        raise InputError(f"{name} has repeated entries: {list(out)}", param=name)
    return out


def _exponents(value, name):
    vals = check_floats(as_list(value), name)
    for v in vals:
        if not 0.5 <= v <= 1.0:
            raise InputError(f"{name} must lie in [0.5, 1] (0.5 standard, 1 μP-style), got {float(v)!r}", param=name)
    if len(set(vals.tolist())) != vals.size:
        raise InputError(f"{name} has repeated entries: {vals.tolist()}", param=name)
    return tuple(float(v) for v in vals)


def _check(kw, toy):
    """Validate and canonicalize every argument (no data read yet)."""
    o = check_network_options(optimizer=kw["optimizer"], activation=kw["activation"], beta0=kw["beta0"],
                              seeds=kw["seeds"], seed=kw["seed"], memory=kw["memory"], dtype=kw["dtype"],
                              batch=kw["batch"], depth=kw["depth"])
    defaults = _TOY if toy else {**_GRID, "lr": _LR[o["optimizer"]], "gamma0": D["gamma0"], "steps": _STEPS}
    pick = lambda k: defaults[k] if kw[k] is None else kw[k]
    o["heads"] = _distinct_sizes(pick("heads"), "heads")
    o["head_dim"] = _distinct_sizes(pick("head_dim"), "head_dim")
    o["attn_exp"] = _exponents(pick("attn_exp"), "attn_exp")
    o["depth_exp"] = _exponents(kw["depth_exp"], "depth_exp")
    lr = check_network_options(lr=pick("lr"))["lr"]
    if lr.size != 1:
        raise InputError(f"lr must be one base learning rate, got {lr.tolist()}; run the command once per rate",
                         param="lr")
    o["lr"] = float(lr[0])
    o.update(check_network_options(gamma0=pick("gamma0"), steps=pick("steps")))
    o["base_depth"] = check_float(kw["base_depth"], "base_depth", minimum=0.0, strict=True)
    o["at"] = default_at(o["steps"]) if kw["at"] is None else np.unique(check_sizes(kw["at"], "at", minimum=0))
    if o["at"].max() > o["steps"]:
        raise InputError(f"at has step {o['at'].max()} beyond steps={o['steps']}; raise steps or drop that step",
                         param="at")
    return o


@numerics_guard(allow_inf=("loss", "loss_sem"),
                allow_nan=("depth_exp", "loss_sem", "head_spread", "kernel_spread", "head_spread_dmft"))
def heads(input=None, *, heads=None, head_dim=None, attn_exp=None, depth=(1,), depth_exp=(1.0,), lr=None,
          optimizer=D["optimizer"], activation="gelu", gamma0=None, beta0=D["beta0"], base_depth=1.0, steps=None,
          batch=D["batch"], seeds=D["seeds"], seed=D["seed"], at=None, memory=D["memory"], dtype=D["dtype"],
          toy=False, toy_start="warm", inputs_key="/inputs", targets_key="/targets", x=None, y=None,
          progress=None):
    """Train attention models over H × N × α_A × L × α_L and measure the heads' diversity.

    The model (Bordelon, Chaudhry, Pehlevan, NeurIPS 2024, arXiv:2405.15712; all weights
    N(0, 1), scales as multipliers, see `kerncurve.nn.attn_scaling`)::

        x¹ = W_in x/√D;  per block: A_h = softmax(q_h·k_h/N^{α_A}),  q, k = W LN(x)/√(2NH)
        x ← x + β₀(L/L₀)^{−α_L} W_O[A_h v_h]_h/√(NH),  x ← x + β₀(L/L₀)^{−α_L} W₂φ(W₁LN(x)/√(NH))/√(NH)
        f = w·mean_s LN(x)(s)/(γ₀NH),  trained on |f − f₀ − y|²/2 by SGD (rate η₀γ₀²NH(L/L₀)^{2α_L−1}) or Adam

    Per model and recorded step: the seed-mean loss; head_spread, the variance across heads
    of A_h(s, s′) averaged over probe sequences (the first 32 training ones), positions and
    blocks; kernel_spread, the variance across seeds of the final-layer kernel
    φ_μ·φ_ν/(NH) summed over entries over the sum of its squared mean. The summary fits
    head_spread ∝ N^{−p}, ∝ H^{−q} and kernel_spread ∝ H^{−r}, ∝ N^{−s} per α_A at the last
    step (one intercept per other grid point). With α_A = 1 the heads collapse as N grows
    (p ≈ 1); with α_A = ½ they stay random; at fixed N the heads stay diverse as H grows
    while the kernel concentrates (r ≈ 1).

    With ``toy=True`` no input is read: G = ``heads`` gated-attention networks of N =
    ``head_dim`` neurons on XOR (P = 4) train from a warm (or cold) start beside their
    exactly solved N → ∞ limit (`kerncurve.theory.heads_toy`); the rows add ``loss_dmft`` and
    ``head_spread_dmft``, the summary the largest |ΔL|/L(0) per N.

    Parameters
    ----------
    input : str or path, optional
        HDF5 file with ``/inputs`` (n, S, D) and ``/targets`` (n,) or (n, c). Or give ``x``, ``y``.
    heads, head_dim : int or sequence of int
        H and N (default 2, 8 and 4, 16; toy: 6 and 256, 1024, 4096).
    attn_exp, depth_exp : float or sequence of float in [½, 1]
        α_A (default 1 and ½; toy: 1) and α_L (default 1).
    depth : int or sequence of int
        Blocks L.
    lr : float, optional
        Base learning rate η₀ (default SGD 1, Adam 0.01; toy 0.002).
    optimizer : {'sgd', 'adam'}
    activation : {'tanh', 'relu', 'gelu'}
    gamma0, beta0, base_depth : float
        γ₀ (default 1; toy 2.5), β₀ and L₀.
    steps : int
        Training steps (default 100; toy 1000).
    batch : int, optional
        Minibatch size (default full batch).
    seeds, seed : int
        Networks per grid point, and the master seed.
    at : sequence of int, optional
        Reported steps (default 0 and six log-spaced steps up to ``steps``).
    memory : str or int, optional
        Budget for one model's seeds trained together (``2G``).
    dtype : {'float32', 'float64'}
    toy : bool
    toy_start : {'warm', 'cold'}
    progress : callable, optional
        ``progress(description, total)`` → context manager yielding ``advance(n)``.

    Returns
    -------
    Result
        Columns ``attn_exp, depth_exp, heads, head_dim, depth, step, loss, loss_sem,
        head_spread, kernel_spread`` (toy: + ``loss_dmft, head_spread_dmft``). Summary keys
        ``head_spread_exponent_n``, ``head_spread_exponent_h``, ``kernel_spread_exponent_h``,
        ``kernel_spread_exponent_n`` ({α_A: exponent}, each with ``_se``), ``models``
        (final loss, diverged seeds and W_Q/W_K movement per block of each model),
        ``verdict``. Attribute ``runs``: {(α_A, α_L, H, N, L): `kerncurve.nn.heads.HeadsRun`}.

    Examples
    --------
    >>> r = kc.heads("sample_data/query_match.h5", heads=8, head_dim=[4, 16, 64], steps=50)  # doctest: +SKIP
    >>> r.summary["head_spread_exponent_n"]                                                # doctest: +SKIP
    """
    kw = dict(heads=heads, head_dim=head_dim, attn_exp=attn_exp, depth=depth, depth_exp=depth_exp, lr=lr,
              optimizer=optimizer, activation=activation, gamma0=gamma0, beta0=beta0, base_depth=base_depth,
              steps=steps, batch=batch, seeds=seeds, seed=seed, at=at, memory=memory, dtype=dtype)
    if toy:
        from ._heads_toy import toy_heads

        o = _check(kw, toy=True)
        given = [k for k, v in (("input", input), ("x", x), ("y", y)) if v is not None]
        if given:
            raise InputError(f"toy trains the built-in XOR task; drop {given[0]}", param=given[0])
        return toy_heads(o, check_choice(toy_start, "toy_start", ("warm", "cold")), progress)
    o = _check(kw, toy=False)
    require_nn("kerncurve heads")
    data = load_network_data(input, x=x, y=y, ndim=3, seed=o["seed"], inputs_key=inputs_key,
                             targets_key=targets_key, memory=o["memory"])
    if data.x.shape[1] < 2:
        raise InputError(f"{data.source} has sequences of length S = 1: attention over one position is the "
                         "identity (every attention matrix is [[1]]), so heads and head dimension cannot matter; "
                         "give sequences of at least 2 tokens", param="input")
    o["batch"] = check_batch(o["batch"], data.n_train)
    grid = list(itertools.product(o["attn_exp"], o["depth_exp"], o["heads"], o["head_dim"], o["depth"]))
    _check_budgets(o, data)
    from ..nn.heads import train_heads

    runs = {}
    bar = (progress("training the attention models", len(grid)) if progress is not None
           else contextlib.nullcontext(lambda n=1: None))
    with bar as advance:
        for a_A, a_L, H, N, L in grid:
            runs[a_A, a_L, H, N, L] = train_heads(
                data.x, data.y, heads=H, head_dim=N, depth=L, attn_exp=a_A, depth_exp=a_L, lr=o["lr"],
                optimizer=o["optimizer"], activation=o["activation"], gamma0=o["gamma0"], beta0=o["beta0"],
                base_depth=o["base_depth"], steps=o["steps"], batch=o["batch"], seeds=o["seeds"], seed=o["seed"],
                at=o["at"], dtype=o["dtype"])
            advance(1)
    dead = sum(int(r.diverged.sum()) for r in runs.values())
    if dead:
        warnings.warn(f"{dead} of {len(runs) * o['seeds']} runs diverged (loss above 10³·L(0) or not finite) and were "
                      "stopped; their losses are inf and their spreads left out; lower lr", NumericalWarning)
    cols, summary = rows_and_summary(runs, o)
    summary = {"input": data.source, "train_samples": data.n_train, "sequence_length": int(data.x.shape[1]),
               "token_dim": data.d_in, **summary}
    return Result("heads", COLUMNS, cols, int_columns=("heads", "head_dim", "depth", "step"), summary=summary,
                  params=_params(o), runs=runs, network_data=data)


def _params(o):
    keys = ("heads", "head_dim", "attn_exp", "depth", "depth_exp", "lr", "optimizer", "activation", "gamma0",
            "beta0", "base_depth", "steps", "batch", "seeds", "seed", "dtype")
    out = {k: list(o[k]) if isinstance(o[k], tuple) else o[k] for k in keys}
    out["at"] = o["at"].tolist()
    return out


def _check_budgets(o, data):
    """Refuse, before any training, a model whose seeds do not fit in memory or a grid beyond MAX_WORK."""
    from ..io.sizes import check_bytes
    from ..nn.heads import memory_estimate, work_estimate

    shape = dict(d_in=data.d_in, seq_len=int(data.x.shape[1]), n_train=data.n_train, channels=data.channels,
                 seeds=o["seeds"], batch=o["batch"], steps=o["steps"])
    worst, work = 0, 0.0
    for H, N, L in itertools.product(o["heads"], o["head_dim"], o["depth"]):
        est = memory_estimate(heads=H, head_dim=N, depth=L, optimizer=o["optimizer"], dtype=o["dtype"], **shape)
        if est > worst:
            worst, big = est, (H, N, L)
        work += work_estimate(heads=H, head_dim=N, depth=L, recorded=o["at"].size, **shape)
    check_bytes(worst, o["memory"], f"training {o['seeds']} attention models at once with {big[0]} heads of "
                f"dimension {big[1]} and {big[2]} blocks", way_out="use fewer heads, a smaller head dimension, "
                "fewer seeds, a --batch, or raise --memory")
    work *= len(o["attn_exp"]) * len(o["depth_exp"])
    if work > MAX_WORK:
        raise InputError(f"steps: the grid asks for {work:.3g} floating-point operations, more than the "
                         f"{MAX_WORK:.0e} allowed (about a day on two cores); use fewer steps, seeds or sizes, or a "
                         "--batch", param="steps")
