"""Expected test loss of online and multi-pass SGD on a linear readout of fixed features.

Source: B. Bordelon, C. Pehlevan, *Learning Curves for SGD on Structured Features*, ICLR 2022
(arXiv:2106.02713); the exact fourth-moment recursion is THEORY.md §3.

Model ``f(x) = w·ψ(x)`` trained by ``w ← w − (η/m) Σ_batch ψ (ψ·w − y)`` from ``w₀ = 0``, the
batch drawn afresh each step from the population (the uniform measure on the n rows of the
feature matrix Ψ, targets y; optional label noise of variance σ² added independently to each
drawn label). With ``Σ = ΨᵀΨ/n``, ``w* = Σ⁺ Ψᵀy/n`` and ``y⊥ = y − Ψw*``:

**Every loss in this module is the expected test MSE against the (noisy) labels**,
``L_t = E[(ψ·w_t − y − ε)²] = tr(Σ C_t) + ⟨y⊥²⟩ + σ²``; subtract ``unlearnable + noise``
for the error against the learnable target.

All work happens in the eigenbasis of Σ (modes with ``λ < rtol·λ_max`` are dropped; their
target power joins ``y⊥``), where ``(I − ηΣ) C (I − ηΣ)`` is an elementwise product.
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse.linalg

from kerncurve.errors import InputError, NumericalError

__all__ = [
    "SGDProblem",
    "SGDCurve",
    "MultipassCurve",
    "BatchSearch",
    "prepare",
    "exact_loss",
    "gaussian_loss",
    "kappa_sgd",
    "plateau",
    "exact_plateau",
    "gaussian_edge",
    "exact_edge",
    "exact_radius",
    "critical_batch",
    "powerlaw_exponent",
    "fit_powerlaw",
    "batch_search",
    "multipass_loss",
]

_DIVERGED = 1e250  # a loss beyond this is reported as inf (and the recursion stops)


@dataclass(frozen=True)
class SGDProblem:
    """A feature distribution in the eigenbasis of its (uncentered) second moment.

    Attributes
    ----------
    eigenvalues : ndarray (r,)
        Eigenvalues λ_k of Σ = ΨᵀΨ/n, descending, those below ``rtol·λ_max`` dropped.
    phi : ndarray (n, r)
        Features in that basis, ``Ψ V``; ``phiᵀphi/n = diag(eigenvalues)``.
    w_star : ndarray (r,)
        Best linear readout in that basis (``λ_k w_k² = v_k²`` of THEORY §0).
    y_perp : ndarray (n,)
        Residual ``y − phi @ w_star``; ``⟨phi y_perp⟩ = 0``.
    basis : ndarray (M, r)
        Eigenvectors V of Σ (columns), to map back to the feature coordinates.
    """

    eigenvalues: np.ndarray
    phi: np.ndarray
    w_star: np.ndarray
    y_perp: np.ndarray
    basis: np.ndarray

    @property
    def n(self):
        return self.phi.shape[0]

    @property
    def unlearnable(self):
        """⟨y⊥²⟩: the loss floor of a linear readout (without label noise)."""
        return float(np.mean(self.y_perp**2))

    @property
    def target_power(self):
        """λ_k w_k², the power of the target in mode k."""
        return self.eigenvalues * self.w_star**2


@dataclass(frozen=True)
class SGDCurve:
    """Expected loss (against labels) of SGD at the requested steps; ``inf`` once diverged."""

    steps: np.ndarray
    loss: np.ndarray
    lr: float
    batch: int


@dataclass(frozen=True)
class MultipassCurve:
    """Expected test and train loss (against labels) of multi-pass SGD on a fixed set."""

    steps: np.ndarray
    test_loss: np.ndarray
    train_loss: np.ndarray
    lr: float
    batch: int


@dataclass(frozen=True)
class BatchSearch:
    """Fixed-compute batch search: per batch size m, t = compute // m steps.

    ``lr[i]`` is the learning rate used for ``batch[i]`` (the optimum if searched),
    ``loss[i]`` the predicted final loss, ``best`` the index of the smallest loss.
    """

    batch: np.ndarray
    steps: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    edge: np.ndarray
    best: int


def prepare(features, targets, rtol=1e-12):
    """Rotate features and targets into the eigenbasis of their second moment.

    Parameters
    ----------
    features : array_like (n, M)
        Feature vectors ψ(x_i) of the n population samples (rows).
    targets : array_like (n,)
        Targets y_i.
    rtol : float
        Eigenvalues below ``rtol·λ_max`` are treated as zero (THEORY §0).

    Returns
    -------
    SGDProblem
    """
    psi = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if psi.ndim != 2 or y.shape != (psi.shape[0],):
        raise InputError(
            f"features must be (n, M) and targets (n,), got {psi.shape} and {y.shape}"
        )
    if not (np.all(np.isfinite(psi)) and np.all(np.isfinite(y))):
        raise InputError("features or targets contain NaN or inf; clean the input file")
    n = psi.shape[0]
    lam, vec = np.linalg.eigh(psi.T @ psi / n)
    lam, vec = lam[::-1], vec[:, ::-1]
    if lam[0] <= 0:
        raise InputError("the features are all zero; nothing can be learned")
    keep = lam > rtol * lam[0]
    lam, vec = lam[keep], vec[:, keep]
    phi = psi @ vec
    w_star = (phi.T @ y / n) / lam
    y_perp = y - phi @ w_star
    return SGDProblem(lam, phi, w_star, y_perp, vec)


def _check(lr, batch, steps):
    if not lr > 0:
        raise InputError(f"learning rate must be positive, got {lr}")
    if int(batch) != batch or batch < 1:
        raise InputError(f"batch size must be a positive integer, got {batch}")
    steps = np.asarray(steps)
    if steps.ndim == 0:
        steps = np.arange(int(steps) + 1)
    steps = steps.astype(np.int64)
    if steps.size == 0 or steps.min() < 0:
        raise InputError("output steps must be a non-empty list of integers >= 0")
    return float(lr), int(batch), steps


def _record(out, steps, t, value):
    """Write value into every output slot whose step is t (steps need not be sorted)."""
    out[steps == t] = value


def _advance(progress, k):
    if progress is not None and k > 0:
        progress(k)


def exact_loss(problem, lr, batch, steps, noise=0.0, progress=None):
    """Expected test loss of online SGD from the exact second-moment recursion.

    With Δ = w − w*, μ = E[Δ], C = E[ΔΔᵀ] (eigenbasis of Σ, μ₀ = −w*, C₀ = w*w*ᵀ)::

        μ' = (I − ηΣ) μ
        C' = (I − ηΣ) C (I − ηΣ) + (η²/m) [F4(C) − ΣCΣ − 2 X3(μ) + ⟨ψψᵀ y⊥²⟩ + σ² Σ]
        F4(C) = Ψᵀ diag(q) Ψ / n,  q_i = ψ_iᵀ C ψ_i,    X3(μ) = ⟨ψψᵀ y⊥ (ψ·μ)⟩

    The three data terms combine into ``Ψᵀ diag(r) Ψ / n`` with
    ``r_i = q_i − 2 y⊥_i ψ_i·μ + y⊥_i² + σ²``, the expected squared residual on sample i, whose
    mean is the loss ``L_t = tr(ΣC_t) + ⟨y⊥²⟩ + σ²`` (against labels). Two GEMMs per step,
    O(n r²); C is symmetrized every step (THEORY §3).

    Parameters
    ----------
    problem : SGDProblem
    lr : float
        Learning rate η.
    batch : int
        Batch size m.
    steps : int or array_like of int
        Output steps (an int T means 0..T).
    noise : float
        Label-noise variance σ².
    progress : callable, optional
        Called as ``progress(k)`` with the number of steps just computed (all that are left
        when the recursion stops at a divergence); T calls' worth in all.

    Returns
    -------
    SGDCurve
        ``loss`` is ``inf`` from the step where the recursion exceeded 1e250.
    """
    lr, batch, steps = _check(lr, batch, steps)
    lam, phi, ys = problem.eigenvalues, problem.phi, problem.y_perp
    n = phi.shape[0]
    d = 1.0 - lr * lam
    a = np.outer(d, d) - (lr * lr / batch) * np.outer(lam, lam)
    g = lr * lr / (batch * n)
    base = ys * ys + noise
    mu = -problem.w_star.copy()
    c = np.outer(mu, mu)
    out = np.full(steps.shape, np.inf)
    tmax = int(steps.max())
    for t in range(tmax + 1):
        q = np.einsum("ij,ij->i", phi @ c, phi)
        r = q - 2.0 * ys * (phi @ mu) + base
        loss = r.mean()
        if not loss < _DIVERGED:  # also catches nan
            _advance(progress, tmax - t)
            break
        _record(out, steps, t, loss)
        if t == tmax:
            break
        _advance(progress, 1)
        c *= a
        c += g * (phi.T @ (r[:, None] * phi))
        c += c.T
        c *= 0.5
        mu *= d
    return SGDCurve(steps, out, lr, batch)


def gaussian_loss(eigenvalues, weights_sq, noise, lr, batch, steps):
    """Expected test loss of online SGD under the Gaussian (Isserlis) closure.

    ::

        c_k(t+1) = a_k c_k(t) + (η²/m) λ_k L_t,   a_k = (1 − ηλ_k)² + η²λ_k²/m
        L_t = Σ_k λ_k c_k(t) + σ²,                 c_k(0) = w_k²

    O(M) per step with three in-place BLAS-level operations (``c_k = h_k u_k``,
    ``h_k = η²λ_k/m``: ``u ← a u + L``). Bordelon & Pehlevan (2022), eq. for the mode errors.

    Parameters
    ----------
    eigenvalues : array_like (M,)
        λ_k > 0.
    weights_sq : array_like (M,)
        w_k² (target coefficients of the readout in the eigenbasis, squared).
    noise : float
        σ² := ⟨y⊥²⟩ + label noise, treated as independent noise; the loss is against labels.
    lr, batch, steps
        As in `exact_loss`.
    """
    lr, batch, steps = _check(lr, batch, steps)
    lam = np.asarray(eigenvalues, dtype=np.float64)
    w2 = np.asarray(weights_sq, dtype=np.float64)
    keep = lam > 0
    lam, w2 = lam[keep], w2[keep]
    a = (1.0 - lr * lam) ** 2 + lr * lr * lam * lam / batch
    h = lr * lr * lam / batch
    lh = lam * h
    u = w2 / h
    out = np.full(steps.shape, np.inf)
    tmax = int(steps.max())
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(tmax + 1):
            loss = float(lh @ u) + noise
            if not loss < _DIVERGED:
                break
            _record(out, steps, t, loss)
            u *= a
            u += loss
    return SGDCurve(steps, out, lr, batch)


def kappa_sgd(eigenvalues, lr, batch):
    """κ_sgd = (η/m) Σ_k λ_k / (2 − η(1 + 1/m) λ_k) (THEORY §3); ``inf`` past the a_k < 1 edge."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    den = 2.0 - lr * (1.0 + 1.0 / batch) * lam
    if np.any(den <= 0):
        return np.inf
    return float(lr / batch * np.sum(lam / den))


def plateau(eigenvalues, lr, batch, noise):
    """Gaussian-model noise plateau L_∞ = σ²/(1 − κ_sgd) (σ² = unlearnable + label noise)."""
    k = kappa_sgd(eigenvalues, lr, batch)
    return noise / (1.0 - k) if k < 1 else np.inf


def gaussian_edge(eigenvalues, batch):
    """Largest stable learning rate of the Gaussian model.

    E[L] converges iff every ``a_k < 1`` (η < 2m/((m+1)λ_max)) and ``κ_sgd(η) < 1``; κ_sgd
    increases from 0 to ∞ on that interval, so the edge is the root of κ_sgd = 1 (bisection
    by `scipy.optimize.brentq`).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lam = lam[lam > 0]
    top = 2.0 * batch / ((batch + 1) * lam.max())
    f = lambda eta: kappa_sgd(lam, eta, batch) - 1.0 if eta < top else np.inf  # noqa: E731
    return float(scipy.optimize.brentq(f, 0.0, top * (1 - 1e-15), xtol=1e-14 * top, rtol=1e-14))


def _data_term(phi, x):
    """F4(X) = Φᵀ diag(φ_iᵀXφ_i) Φ / n."""
    q = np.einsum("ij,ij->i", phi @ x, phi)
    return phi.T @ (q[:, None] * phi) / phi.shape[0]


def exact_edge(problem, batch, tol=1e-10):
    """Largest stable learning rate of the exact recursion.

    The linear part of the exact map, ``T_η(C) = C − η(ΣC + CΣ) + η²𝒬(C)`` with
    ``𝒬(C) = (1 − 1/m) ΣCΣ + F4(C)/m``, is a completely positive, self-adjoint map, so its
    spectral radius is a Perron eigenvalue that increases through 1 at the edge, where
    ``T_η C = C``, i.e. ``𝒬 C = (1/η)(ΣC + CΣ)``. Hence ``η_c = 1/ν_max`` with ν_max the top
    eigenvalue of the symmetric pencil (𝒬, 𝓛), 𝓛 = the Lyapunov operator, found by Lanczos
    iteration (`scipy.sparse.linalg.eigsh`: a Krylov-accelerated power iteration) on
    ``𝓛^{-1/2} 𝒬 𝓛^{-1/2}``. For Gaussian F4 this reproduces `gaussian_edge` exactly.
    """
    if int(batch) != batch or batch < 1:
        raise InputError(f"batch size must be a positive integer, got {batch}")
    lam, phi = problem.eigenvalues, problem.phi
    r = lam.size
    s = 1.0 / np.sqrt(lam[:, None] + lam[None, :])
    ll = np.outer(lam, lam) * (1.0 - 1.0 / batch)

    def matvec(v):
        x = v.reshape(r, r)
        x = 0.5 * (x + x.T) * s
        y = ll * x + _data_term(phi, x) / batch
        return (y * s).ravel()

    op = scipy.sparse.linalg.LinearOperator((r * r, r * r), matvec=matvec, dtype=np.float64)
    if r == 1:
        nu = matvec(np.ones(1))[0]
    else:
        v0 = (np.diag(1.0 / np.sqrt(lam)) / s).ravel()
        nu = scipy.sparse.linalg.eigsh(op, k=1, which="LA", v0=v0, tol=tol,
                                       return_eigenvectors=False)[0]
    return float(1.0 / nu)


def exact_radius(problem, lr, batch, iters=2000, tol=1e-12):
    """Spectral radius of the exact linear map T_η on C, by power iteration from C = I.

    ``T_η`` preserves the PSD cone, so the iteration stays PSD and the ratio of Frobenius
    norms converges to the Perron root; < 1 means the expected loss converges.
    """
    lam, phi = problem.eigenvalues, problem.phi
    d = 1.0 - lr * lam
    a = np.outer(d, d) - (lr * lr / batch) * np.outer(lam, lam)
    c = np.eye(lam.size) / np.sqrt(lam.size)
    rho = 0.0
    for _ in range(iters):
        nxt = a * c + (lr * lr / batch) * _data_term(phi, c)
        nxt = 0.5 * (nxt + nxt.T)
        new = float(np.sum(nxt * c))  # Rayleigh quotient (T self-adjoint)
        c = nxt / np.linalg.norm(nxt)
        if abs(new - rho) < tol * abs(new):
            return new
        rho = new
    return rho


def exact_plateau(problem, lr, batch, noise=0.0):
    """Stationary loss of the exact recursion: solve (I − T_η) C = (η²/m)(⟨ψψᵀy⊥²⟩ + σ²Σ).

    μ → 0, so X3 drops out; ``I − T_η`` is symmetric positive definite below the edge and the
    system is solved by conjugate gradients. Returns ``tr(ΣC_∞) + ⟨y⊥²⟩ + σ²`` (against labels).
    """
    lam, phi, ys = problem.eigenvalues, problem.phi, problem.y_perp
    r, n = lam.size, phi.shape[0]
    d = 1.0 - lr * lam
    a = np.outer(d, d) - (lr * lr / batch) * np.outer(lam, lam)
    g = lr * lr / batch

    def matvec(v):
        x = v.reshape(r, r)
        x = 0.5 * (x + x.T)
        return (x - a * x - g * _data_term(phi, x)).ravel()

    rhs = g * (phi.T @ ((ys * ys + noise)[:, None] * phi) / n)
    op = scipy.sparse.linalg.LinearOperator((r * r, r * r), matvec=matvec, dtype=np.float64)
    sol, info = scipy.sparse.linalg.cg(op, rhs.ravel(), rtol=1e-12, maxiter=20 * r * r)
    if info != 0:
        raise NumericalError(
            f"the stationary loss did not converge (lr={lr} may be at or above the edge)"
        )
    c = sol.reshape(r, r)
    return float(np.sum(lam * np.diag(c)) + problem.unlearnable + noise)


def critical_batch(eigenvalues):
    """tr Σ / λ_max: up to this batch size the loss at fixed compute is roughly flat."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    return float(lam.sum() / lam.max())


def powerlaw_exponent(a, b):
    """Predicted loss exponent: λ_k ∝ k^-b, λ_k w_k² ∝ k^-a ⇒ L_t ∝ (ηt)^{-(a−1)/b}."""
    return -(a - 1.0) / b


def fit_powerlaw(steps, loss, floor=0.0):
    """Least-squares slope of log(loss − floor) against log(step) over points with step > 0
    and loss > floor; nan if fewer than 2 such points."""
    t = np.asarray(steps, dtype=np.float64)
    y = np.asarray(loss, dtype=np.float64) - floor
    ok = (t > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(t[ok]), np.log(y[ok]), 1)[0])


def _final(problem, model, lr, batch, t, noise):
    if model == "gaussian":
        curve = gaussian_loss(problem.eigenvalues, problem.w_star**2,
                              problem.unlearnable + noise, lr, batch, [t])
    else:
        curve = exact_loss(problem, lr, batch, [t], noise)
    return float(curve.loss[0])


def batch_search(problem, compute, batches, lr="opt", model="gaussian", noise=0.0,
                 lr_frac=None, xatol=0.01):
    """Best batch size at fixed compute C = t·m (THEORY §3).

    For each m, t = C // m steps; the learning rate is ``lr`` (a float), ``lr_frac·η_c(m)``,
    or with ``lr="opt"`` the minimizer of the final loss over η ∈ (0, η_c(m)) (bounded
    scalar minimization in log η over [1e-3 η_c, (1 − 1e-6) η_c], to ``xatol`` in log η).
    Losses are against labels.
    """
    if model not in ("gaussian", "exact"):
        raise InputError(f"model must be 'gaussian' or 'exact', got {model!r}")
    batches = np.asarray(batches, dtype=np.int64)
    steps = np.asarray(compute // batches, dtype=np.int64)
    if np.any(steps < 1):
        raise InputError(f"compute {compute} is smaller than the largest batch {batches.max()}")
    edges, lrs, losses = [], [], []
    for m, t in zip(batches, steps):
        m, t = int(m), int(t)
        edge = (gaussian_edge(problem.eigenvalues, m) if model == "gaussian"
                else exact_edge(problem, m))
        if isinstance(lr, str):
            res = scipy.optimize.minimize_scalar(
                lambda x: _final(problem, model, np.exp(x), m, t, noise),
                bounds=(np.log(edge) + np.log(1e-3), np.log(edge) + np.log1p(-1e-6)),
                method="bounded", options={"xatol": xatol})
            eta = float(np.exp(res.x))
        else:
            eta = float(lr if lr_frac is None else lr_frac * edge)
        edges.append(edge)
        lrs.append(eta)
        losses.append(_final(problem, model, eta, m, t, noise))
    losses = np.asarray(losses)
    return BatchSearch(batches, steps, np.asarray(lrs), losses, np.asarray(edges),
                       int(np.argmin(losses)))


def multipass_loss(train_features, train_targets, test_features, test_targets,
                   lr, batch, steps, noise=0.0, progress=None):
    """Expected test and train loss of multi-pass SGD on a fixed training set.

    P training points, batches of m drawn with replacement, w₀ = 0; Σ̂ = ΨᵀΨ/P, b̂ = Ψᵀy/P,
    μ = E[w], S = E[wwᵀ] (THEORY §3)::

        μ' = μ − η(Σ̂μ − b̂)
        S' = S − η(SΣ̂ − μb̂ᵀ + transpose) + η²[(1 − 1/m)(Σ̂SΣ̂ − Σ̂μb̂ᵀ − b̂μᵀΣ̂ + b̂b̂ᵀ)
             + (1/m)(1/P) Σ_i ψ_iψ_iᵀ(ψ_iᵀSψ_i − 2y_iψ_i·μ + y_i²)]
        test  = tr(Σ_te S) − 2 b_te·μ + ⟨y²⟩_te + σ²,   train = (1/P) Σ_i (ψ_iᵀSψ_i − 2y_iψ_i·μ + y_i²)

    The training labels are taken as given (already noisy if they carry noise); ``noise`` σ²
    is added to the test loss (fresh noisy test labels). Both losses are against labels.
    O(P M²) per step; S is symmetrized every step. ``progress`` as in `exact_loss`.
    """
    lr, batch, steps = _check(lr, batch, steps)
    x = np.asarray(train_features, dtype=np.float64)
    y = np.asarray(train_targets, dtype=np.float64)
    xt = np.asarray(test_features, dtype=np.float64)
    yt = np.asarray(test_targets, dtype=np.float64)
    p = x.shape[0]
    if batch > p:
        raise InputError(f"batch {batch} is larger than the training set ({p} points)")
    sig = x.T @ x / p
    b = x.T @ y / p
    sig_te = xt.T @ xt / xt.shape[0]
    b_te = xt.T @ yt / xt.shape[0]
    yy_te = float(np.mean(yt * yt)) + noise
    dim = x.shape[1]
    mu = np.zeros(dim)
    s = np.zeros((dim, dim))
    test = np.full(steps.shape, np.inf)
    train = np.full(steps.shape, np.inf)
    tmax = int(steps.max())
    e2, inv = lr * lr, 1.0 / batch
    for t in range(tmax + 1):
        q = np.einsum("ij,ij->i", x @ s, x)
        r = q - 2.0 * y * (x @ mu) + y * y
        tr_loss = r.mean()
        te_loss = float(np.sum(sig_te * s) - 2.0 * b_te @ mu + yy_te)
        if not (tr_loss < _DIVERGED and te_loss < _DIVERGED):
            _advance(progress, tmax - t)
            break
        _record(train, steps, t, tr_loss)
        _record(test, steps, t, te_loss)
        if t == tmax:
            break
        _advance(progress, 1)
        ss = s @ sig
        smu = sig @ mu
        cross = np.outer(mu, b)
        outer_g = (1 - inv) * (sig @ ss - np.outer(smu, b) - np.outer(b, smu) + np.outer(b, b))
        new = s - lr * (ss - cross + ss.T - cross.T) + e2 * (
            outer_g + inv * (x.T @ (r[:, None] * x)) / p)
        s = 0.5 * (new + new.T)
        mu = mu - lr * (smu - b)
    return MultipassCurve(steps, test, train, lr, batch)
