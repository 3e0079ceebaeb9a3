"""Built-in kernels on raw inputs X (n, d_in), rows are samples.

=============  ==========================================================================
``linear``     K = X Xᵀ
``rbf``        K = exp(−|x − x'|² / (2 h²)),  h = ``bandwidth`` (default: median distance)
``laplace``    K = exp(−|x − x'| / h),        h = ``bandwidth`` (default: median distance)
``poly``       K = (1 + x·x'/d_in)^degree
``relu-nngp``  NNGP of a fully connected ReLU network with ``depth`` hidden layers at
               infinite width (He initialization, no biases): arc-cosine recursion
               Σ⁰ = x·x'/d_in, Σ^ℓ = (√(Σ^{ℓ−1}_xx Σ^{ℓ−1}_x'x')/π)(sin θ + (π − θ) cos θ)
``relu-ntk``   its neural tangent kernel: Θ⁰ = Σ⁰, Θ^ℓ = Σ^ℓ + Θ^{ℓ−1} (π − θ_ℓ)/π
=============  ==========================================================================

(Cho & Saul, NeurIPS 2009; Jacot, Gabriel & Hongler, NeurIPS 2018; Arora et al., NeurIPS 2019.)

The relu kernels equal neural-tangents' ``stax.serial([Dense(W_std=√2), Relu()] * depth,
Dense(W_std=1))`` (NTK parameterization, no biases): its ``kernel_fn(x, x, "nngp")`` and
``"ntk"``. With ``W_std = √2`` on the readout too, both are twice ours, and a ridge λ here
corresponds to 2λ there (docs/kernels.md; pinned by tests/test_kernels_convention.py).
"""

import numpy as np

from .errors import InputError

__all__ = ["KERNELS", "build_kernel", "median_distance", "kernel_matrix", "resolve_kernel", "checked_kernel",
           "kernel_diag"]

KERNELS = ("linear", "rbf", "laplace", "poly", "relu-nngp", "relu-ntk")
_MEDIAN_POINTS = 3000


def _sqdist(a, b):
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def median_distance(x, max_points=_MEDIAN_POINTS):
    """Median pairwise Euclidean distance (i < j).

    Exact for n ≤ ``max_points``; above, computed on the first ``max_points`` rows of a fixed
    permutation (seed 0), so that it is deterministic.
    """
    n = x.shape[0]
    if n > max_points:
        x = x[np.random.default_rng(0).permutation(n)[:max_points]]
        n = max_points
    iu = np.triu_indices(n, 1)
    d = np.sqrt(_sqdist(x, x)[iu])
    return float(np.median(d)) if d.size else 0.0


def _arccos_step(kxy, kxx, kyy):
    """One arc-cosine layer: (Σ^ℓ, dΣ^ℓ/dΣ^{ℓ−1}) from Σ^{ℓ−1} and its diagonals.

    θ = atan2(√(Σ_xx Σ_x'x' − Σ_xx'²), Σ_xx') rather than arccos(Σ_xx'/√(Σ_xx Σ_x'x')): arccos
    loses half the digits near θ = 0 (1e-8 on the diagonal), atan2 is exact there.
    """
    det = np.maximum(np.outer(kxx, kyy) - kxy * kxy, 0.0)
    sin_norm = np.sqrt(det)  # = norm·sin θ
    theta = np.arctan2(sin_norm, kxy)
    nngp = (sin_norm + (np.pi - theta) * kxy) / np.pi
    deriv = (np.pi - theta) / np.pi
    return nngp, deriv


def kernel_matrix(name, a, b, *, bandwidth=None, degree=2, depth=1):
    """K(a_i, b_j) for a built-in kernel with fixed hyper-parameters (no defaults resolved)."""
    d_in = a.shape[1]
    if name == "linear":
        return a @ b.T
    if name == "rbf":
        return np.exp(-_sqdist(a, b) / (2.0 * bandwidth**2))
    if name == "laplace":
        return np.exp(-np.sqrt(_sqdist(a, b)) / bandwidth)
    if name == "poly":
        return (1.0 + a @ b.T / d_in) ** degree
    if name in ("relu-nngp", "relu-ntk"):
        kxy = a @ b.T / d_in
        if a is b:  # the diagonal from the same product: θ = 0 exactly there
            kxx = kyy = np.diag(kxy).copy()
        else:
            kxx = (a * a).sum(1) / d_in
            kyy = (b * b).sum(1) / d_in
        ntk = kxy.copy()
        for _ in range(depth):
            kxy, deriv = _arccos_step(kxy, kxx, kyy)  # diagonals are preserved under He init
            if a is b:
                kxx = kyy = np.diag(kxy).copy()  # …to round-off: keep them the product's own
            ntk = kxy + ntk * deriv
        return ntk if name == "relu-ntk" else kxy
    raise InputError(f"unknown kernel={name!r}; choose one of {', '.join(KERNELS)}", param="kernel")


def resolve_kernel(name, x, *, bandwidth=None, degree=2, depth=1):
    """Validate a built-in kernel's hyper-parameters and resolve the defaults.

    Returns
    -------
    params : dict
        ``bandwidth``, ``degree``, ``depth`` for `kernel_matrix`.
    info : dict
        The kernel and its resolved hyper-parameters (e.g. the median bandwidth), for summaries.
    """
    if name not in KERNELS:
        raise InputError(f"unknown kernel={name!r}; choose one of {', '.join(KERNELS)}", param="kernel")
    info = {"kernel": name}
    if name in ("rbf", "laplace"):
        if bandwidth is None:
            bandwidth = median_distance(x)
            info["bandwidth_rule"] = "median pairwise distance"
            if bandwidth <= 0:
                raise InputError("bandwidth: the median pairwise distance is 0 (duplicate inputs); give bandwidth=H",
                                 param="bandwidth")
        elif not 0 < bandwidth < np.inf:
            raise InputError(f"bandwidth must be positive and finite, got {bandwidth}", param="bandwidth")
        if not 0 < 2.0 * float(bandwidth) ** 2 < np.inf:
            raise InputError(f"bandwidth={bandwidth:g} cannot be squared in float64; give a bandwidth on the scale of "
                             "the distances between inputs", param="bandwidth")
        info["bandwidth"] = float(bandwidth)
    if name == "poly":
        if int(degree) != degree or degree < 1:
            raise InputError(f"degree must be a positive integer, got {degree}", param="degree")
        info["degree"] = int(degree)
    if name in ("relu-nngp", "relu-ntk"):
        if int(depth) != depth or depth < 1:
            raise InputError(f"depth must be a positive integer, got {depth}", param="depth")
        info["depth"] = int(depth)
    return {"bandwidth": bandwidth, "degree": int(degree), "depth": int(depth)}, info


def checked_kernel(name, a, b, params):
    """`kernel_matrix` with floating-point trouble turned into one clear `InputError`."""
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        k = kernel_matrix(name, a, b, **params)
    if not np.all(np.isfinite(k)):
        bw, deg = params.get("bandwidth"), params.get("degree")
        what = {"poly": f"degree={deg}", "rbf": f"bandwidth={bw:g}" if bw else "", "laplace":
                f"bandwidth={bw:g}" if bw else ""}
        raise InputError(f"the {name} kernel of these inputs overflows float64"
                         f"{' at ' + what[name] if what.get(name) else ''}; rescale the inputs"
                         f"{' or lower degree=' if name == 'poly' else ''}", param="kernel")
    return k


def kernel_diag(name, x, params, block=256):
    """K(x_i, x_i) for every row, without the n×n matrix (row blocks of ``block``)."""
    n = x.shape[0]
    if name in ("rbf", "laplace"):
        return np.ones(n)
    out = np.empty(n)
    for i in range(0, n, block):  # n/block small blocks: O(n·block·d) in all
        kb = checked_kernel(name, x[i:i + block], x[i:i + block], params)
        out[i:i + block] = np.diag(kb)
    return out


def build_kernel(name, x, *, bandwidth=None, degree=2, depth=1):
    """Gram matrix of a built-in kernel on inputs ``x`` (n, d_in).

    Returns
    -------
    K : ndarray (n, n)
    info : dict
        The kernel and its resolved hyper-parameters (e.g. the median bandwidth), for the summary.
    """
    params, info = resolve_kernel(name, x, bandwidth=bandwidth, degree=degree, depth=depth)
    k = checked_kernel(name, x, x, params)
    k += k.T
    k *= 0.5
    return k, info
