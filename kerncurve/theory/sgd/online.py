"""Expected test loss of online SGD: the exact fourth-moment recursion and the Gaussian closure.

Model ``f(x) = w·ψ(x)`` trained by ``w ← w − (η/m) Σ_batch ψ (ψ·w − y)`` from ``w₀ = 0``, the
batch drawn afresh each step from the population (the uniform measure on the n rows of Ψ,
targets y; optional label noise of variance σ² added independently to each drawn label).
Bordelon & Pehlevan, *Learning Curves for SGD on Structured Features*, ICLR 2022
(arXiv:2106.02713); the exact recursion with the samples' own fourth moments is derived in
docs/theory/sgd.md.

**Every loss here is the expected test MSE against the (noisy) labels**,
``L_t = E[(ψ·w_t − y − ε)²] = tr(Σ C_t) + ⟨y⊥²⟩ + σ²``; subtract ``unlearnable + noise`` for the
error against the learnable target. All work happens in the eigenbasis of Σ (`SGDProblem`),
where ``(I − ηΣ) C (I − ηΣ)`` is an elementwise product.
"""

import numpy as np
import scipy.sparse.linalg

from kerncurve.errors import NumericalError

from .problem import DIVERGED, SGDCurve, advance, check_run, record
from .stability import exact_map

__all__ = ["exact_loss", "gaussian_loss", "exact_plateau"]


def exact_loss(problem, lr, batch, steps, noise=0.0, progress=None):
    """Expected test loss of online SGD from the exact second-moment recursion.

    With Δ = w − w*, μ = E[Δ], C = E[ΔΔᵀ] (eigenbasis of Σ, μ₀ = −w*, C₀ = w*w*ᵀ)::

        μ' = (I − ηΣ) μ
        C' = (I − ηΣ) C (I − ηΣ) + (η²/m) [F4(C) − ΣCΣ − 2 X3(μ) + ⟨ψψᵀ y⊥²⟩ + σ² Σ]
        F4(C) = Ψᵀ diag(q) Ψ / n,  q_i = ψ_iᵀ C ψ_i,    X3(μ) = ⟨ψψᵀ y⊥ (ψ·μ)⟩

    The three data terms combine into ``Ψᵀ diag(r) Ψ / n`` with
    ``r_i = q_i − 2 y⊥_i ψ_i·μ + y⊥_i² + σ²``, the expected squared residual on sample i, whose
    mean is the loss ``L_t = tr(ΣC_t) + ⟨y⊥²⟩ + σ²`` (against labels). Two GEMMs per step,
    O(n r²); C is symmetrized every step (its antisymmetric round-off would otherwise grow).

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
    lr, batch, steps = check_run(lr, batch, steps)
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
        if not loss < DIVERGED:  # also catches nan
            advance(progress, tmax - t)
            break
        record(out, steps, t, loss)
        if t == tmax:
            break
        advance(progress, 1)
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
    lr, batch, steps = check_run(lr, batch, steps)
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
            if not loss < DIVERGED:
                break
            record(out, steps, t, loss)
            u *= a
            u += loss
    return SGDCurve(steps, out, lr, batch)


def exact_plateau(problem, lr, batch, noise=0.0):
    """Stationary loss of the exact recursion: solve (I − T_η) C = (η²/m)(⟨ψψᵀy⊥²⟩ + σ²Σ).

    μ → 0, so X3 drops out; ``I − T_η`` is symmetric positive definite below the edge and the
    system is solved by conjugate gradients. Returns ``tr(ΣC_∞) + ⟨y⊥²⟩ + σ²`` (against labels).
    """
    lam, phi, ys = problem.eigenvalues, problem.phi, problem.y_perp
    r, n = lam.size, phi.shape[0]
    apply = exact_map(problem, lr, batch)

    def matvec(v):
        x = v.reshape(r, r)
        x = 0.5 * (x + x.T)
        return (x - apply(x)).ravel()

    g = lr * lr / batch
    rhs = g * (phi.T @ ((ys * ys + noise)[:, None] * phi) / n)
    op = scipy.sparse.linalg.LinearOperator((r * r, r * r), matvec=matvec, dtype=np.float64)
    sol, info = scipy.sparse.linalg.cg(op, rhs.ravel(), rtol=1e-12, maxiter=20 * r * r)
    if info != 0:
        raise NumericalError(f"the stationary loss did not converge (lr={lr} may be at or above the edge)")
    c = sol.reshape(r, r)
    return float(np.sum(lam * np.diag(c)) + problem.unlearnable + noise)
