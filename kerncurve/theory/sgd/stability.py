"""Where SGD converges: the stability edge of the learning rate, κ_sgd, the noise plateau.

The exact recursion's linear part (`exact_loss` with the data terms of C only) is the map
``T_η(C) = C − η(ΣC + CΣ) + η²𝒬(C)``, ``𝒬(C) = (1 − 1/m) ΣCΣ + F4(C)/m``, a completely
positive, self-adjoint map whose spectral radius decides convergence. Under the Gaussian
closure it reduces to the factors a_k and κ_sgd below (Bordelon & Pehlevan, ICLR 2022).
"""

import numpy as np
import scipy.optimize
import scipy.sparse.linalg

from kerncurve.errors import InputError

__all__ = ["kappa_sgd", "plateau", "gaussian_edge", "exact_edge", "exact_radius", "critical_batch", "exact_map"]


def kappa_sgd(eigenvalues, lr, batch):
    """κ_sgd = (η/m) Σ_k λ_k / (2 − η(1 + 1/m) λ_k); ``inf`` past the a_k < 1 edge."""
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


def exact_map(problem, lr, batch):
    """The linear map T_η of the exact recursion on C, as a function of a symmetric (r, r) C."""
    lam, phi = problem.eigenvalues, problem.phi
    d = 1.0 - lr * lam
    a = np.outer(d, d) - (lr * lr / batch) * np.outer(lam, lam)
    g = lr * lr / batch
    return lambda c: a * c + g * _data_term(phi, c)


def exact_edge(problem, batch, tol=1e-10):
    """Largest stable learning rate of the exact recursion.

    The spectral radius of T_η is a Perron eigenvalue that increases through 1 at the edge,
    where ``T_η C = C``, i.e. ``𝒬 C = (1/η)(ΣC + CΣ)``. Hence ``η_c = 1/ν_max`` with ν_max the
    top eigenvalue of the symmetric pencil (𝒬, 𝓛), 𝓛 = the Lyapunov operator, found by
    Lanczos iteration (`scipy.sparse.linalg.eigsh`: a Krylov-accelerated power iteration) on
    ``𝓛^{-1/2} 𝒬 𝓛^{-1/2}``. For Gaussian F4 this reproduces `gaussian_edge` exactly.
    """
    if not (np.ndim(batch) == 0 and int(batch) == batch and batch >= 1):
        raise InputError(f"batch must be a positive integer, got {batch!r}", param="batch")
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
        nu = scipy.sparse.linalg.eigsh(op, k=1, which="LA", v0=v0, tol=tol, return_eigenvectors=False)[0]
    return float(1.0 / nu)


def exact_radius(problem, lr, batch, iters=2000, tol=1e-12):
    """Spectral radius of the exact linear map T_η on C, by power iteration from C = I.

    ``T_η`` preserves the PSD cone, so the iteration stays PSD and the ratio of Frobenius
    norms converges to the Perron root; < 1 means the expected loss converges.
    """
    apply = exact_map(problem, lr, batch)
    c = np.eye(problem.eigenvalues.size) / np.sqrt(problem.eigenvalues.size)
    rho = 0.0
    for _ in range(iters):
        nxt = apply(c)
        nxt = 0.5 * (nxt + nxt.T)
        new = float(np.sum(nxt * c))  # Rayleigh quotient (T self-adjoint)
        c = nxt / np.linalg.norm(nxt)
        if abs(new - rho) < tol * abs(new):
            return new
        rho = new
    return rho


def critical_batch(eigenvalues):
    """tr Σ / λ_max: up to this batch size the loss at fixed compute is roughly flat."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    return float(lam.sum() / lam.max())
