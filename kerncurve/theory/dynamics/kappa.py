"""κ(z) of the finite-width, finite-data model, on the real axis and along the Talbot contour.

With df(κ) = Σ_k λ_k/(λ_k + κ), R_N = 1 − df/N and R_P = 1 − df/P, κ(z) solves

    κ R_N(κ) R_P(κ) = z            (physical branch: κ ~ z for large |z|)

**This is not the ridge κ equation when N and P are both finite**: the product R_N R_P makes
it quadratic in df. With one factor infinite it is exactly the ridge equation of
`kerncurve.theory.ridge` (eigenlearning units, k' = κ) with ridge zP (or zN):
Σ_k λ_k/(λ_k + κ) + zP/κ = P. Those points, and the z = 0 end of the branch (df(κ_c) =
min(N, P), the ridgeless κ), are solved by `kerncurve.theory.ridge.solve_kappa`; only the
two-factor equation is solved here.
"""

from __future__ import annotations

import numpy as np

from kerncurve.errors import InputError, NumericalError
from kerncurve.spectral import Spectrum

from ..ridge import solve_kappa

__all__ = ["TALBOT_NODES", "as_spectrum", "kappa_real", "kappa_contour"]

TALBOT_NODES = 32
"""Nodes of the fixed Talbot contour in each frequency variable."""

_SUBSTEPS = 4  # Newton continuation sub-steps between consecutive Talbot nodes
_NEWTON_ITERS = 30
_MAX_REFINE = 12  # halvings of a continuation step that failed to converge
_LOG_TINY = np.log(np.finfo(np.float64).tiny) + 10.0


def as_spectrum(eigenvalues, power=None) -> Spectrum:
    """The `Spectrum` of the modes the model can see.

    Parameters
    ----------
    eigenvalues : Spectrum or array_like (M,)
        A `Spectrum` (returned as is), or eigenvalues λ_k.
    power : array_like (M,), optional
        Target power p_k = λ_k w*_k² per eigenvalue (with arrays; default zero).

    Returns
    -------
    Spectrum
        From arrays: the modes with λ_k > 0, descending, coefficients √p_k, and the power
        given on modes with λ_k ≤ 0 as ``residual_power`` (no student of this model can
        represent it; the losses are against the learnable target and leave it out).

    Raises
    ------
    InputError
        Shapes differ, values are not finite, power is negative, or no eigenvalue is
        positive.
    """
    if isinstance(eigenvalues, Spectrum):
        return eigenvalues
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    pw = np.zeros_like(lam) if power is None else np.asarray(power, dtype=np.float64).ravel()
    if lam.shape != pw.shape:
        raise InputError(f"power has {pw.size} values but there are {lam.size} eigenvalues; give one target "
                         "power per eigenvalue", param="power")
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(pw))):
        raise InputError("eigenvalues and power must be finite numbers", param="eigenvalues")
    if np.any(pw < 0):
        raise InputError("power must be non-negative (it is λ_k w_k²)", param="power")
    keep = lam > 0
    if not np.any(keep):
        raise InputError("eigenvalues: no positive eigenvalue; the model has nothing to learn with "
                         "(check the kernel or features of the input)", param="eigenvalues")
    order = np.argsort(-lam[keep], kind="stable")
    return Spectrum(eigenvalues=lam[keep][order], coefficients=np.sqrt(pw[keep][order])[:, None],
                    residual_power=float(pw[~keep].sum()), n=int(keep.sum()), route="modes")


def _inv(x) -> np.ndarray:
    """1/x with 1/inf = 0 (N = ∞ or P = ∞ drops that factor)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(np.isinf(x), 0.0, 1.0 / x)


def _df_real(lam, kappa):
    """df(κ) and s(κ) = Σ λ/(λ+κ)² for real κ of any shape (broadcast over modes)."""
    q = 1.0 / (lam + kappa[..., None])
    return q @ lam, (q * q) @ lam


def _monotone_root(func, lo, hi, iters=200, rtol=1e-15):
    """Vectorized safeguarded Newton on u = log κ for an increasing ``func(u) -> (f, f')``.

    ``lo`` and ``hi`` bracket the root (f(lo) < 0 < f(hi)); Newton steps that leave the
    bracket are replaced by bisection, so convergence is guaranteed.
    """
    lo = np.array(lo, dtype=np.float64)
    hi = np.array(hi, dtype=np.float64)
    u = 0.5 * (lo + hi)
    for _ in range(iters):
        f, fp = func(u)
        neg = f < 0
        lo = np.where(neg, u, lo)
        hi = np.where(neg, hi, u)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = u - f / fp
        bad = ~np.isfinite(step) | (step <= lo) | (step >= hi)
        new = np.where(bad, 0.5 * (lo + hi), step)
        done = np.abs(new - u) <= rtol * np.maximum(1.0, np.abs(u))
        u = new
        if np.all(done | (hi - lo <= rtol * np.maximum(1.0, np.abs(u)))):
            break
    return u


def _ridge_kappa(spec: Spectrum, size, ridge):
    """The ridge κ (eigenlearning units): Σ λ/(λ+κ) + ridge/κ = size, 0 where ridgeless at size ≥ M."""
    size, ridge = np.broadcast_arrays(np.asarray(size, dtype=np.float64), np.asarray(ridge, dtype=np.float64))
    out = np.zeros(size.shape)
    need = (ridge > 0) | (size < spec.rank)
    if np.any(need):
        out[need] = solve_kappa(None, size[need], ridge[need], mode_sums=spec.mode_sums).kprime
    return out


def kappa_real(eigenvalues, *, width=np.inf, p=np.inf, z=0.0) -> np.ndarray:
    """κ(z) on the physical branch for real z ≥ 0 (broadcast over width, p, z).

    Solves κ(1 − df(κ)/N)(1 − df(κ)/P) = z with κ above κ_c, where df(κ_c) = min(N, P)
    (κ_c = 0 when min(N, P) ≥ M); z = 0 returns κ_c. With N or P infinite this is the
    ridge κ (module docstring); otherwise the left side is increasing on (κ_c, ∞), so a
    bracketed Newton/bisection on log κ always converges.

    Parameters
    ----------
    eigenvalues : Spectrum or array_like
    width, p : float or array
        N and P; ``inf`` drops that factor.
    z : float or array
        Real frequency ≥ 0.
    """
    spec = as_spectrum(eigenvalues)
    width, p, z = np.broadcast_arrays(np.asarray(width, float), np.asarray(p, float), np.asarray(z, float))
    return _kappa_real(spec, _inv(width), _inv(p), z)


def _kappa_real(spec, invN, invP, z):
    lam = spec.eigenvalues
    invN, invP, z = np.broadcast_arrays(invN, invP, z)
    shape = z.shape
    invN, invP, z = invN.ravel(), invP.ravel(), z.ravel()
    small = np.maximum(invN, invP)  # 1/min(N, P); 0 when both are infinite
    with np.errstate(divide="ignore"):
        m = np.where(small > 0, 1.0 / np.where(small > 0, small, 1.0), np.inf)
    kc = _ridge_kappa(spec, m, 0.0)
    out = kc.copy()
    pos = z > 0
    one = pos & ((invN == 0) | (invP == 0))  # a single finite factor: the ridge equation, ridge z·size
    out[one & (small == 0)] = z[one & (small == 0)]
    ridge_pts = one & (small > 0)
    if np.any(ridge_pts):
        out[ridge_pts] = _ridge_kappa(spec, m[ridge_pts], z[ridge_pts] * m[ridge_pts])
    two = pos & ~one
    if np.any(two):
        zz, a, b, k0 = z[two], invN[two], invP[two], kc[two]

        def func(u):
            k = np.exp(u)
            df, s = _df_real(lam, k)
            rn, rp = 1 - df * a, 1 - df * b
            g = k * rn * rp
            # d g / d log κ = κ[R_N R_P + κ s (a R_P + b R_N)]
            return g - zz, k * (rn * rp + k * s * (a * rp + b * rn))

        lo = np.where(k0 > 0, np.log(np.maximum(k0, 1e-300)), _LOG_TINY)
        hi = np.log(zz + spec.trace * (a + b)) + 1e-12
        out[two] = np.exp(_monotone_root(func, lo, hi))
    return out.reshape(shape)


# ----------------------------------------------------------------------------- Talbot
def _talbot_upper(n=TALBOT_NODES):
    """θ, z/r and (dz/dθ)/r at the n/2 Talbot nodes with θ > 0 (the others are conjugates)."""
    theta = (np.arange(n // 2) + 0.5) * 2 * np.pi / n
    cot = 1.0 / np.tan(theta)
    zeta = theta * (cot + 1j)
    dzeta = cot - theta / np.sin(theta) ** 2 + 1j
    return theta, zeta, dzeta


def _g_eval(lam, kappa, z, invN, invP):
    """g(κ) − z for g = κ R_N R_P, its derivative g'(κ), and the round-off scale of g."""
    q = 1.0 / (lam + kappa[:, None])
    df = q @ lam
    s = (q * q) @ lam
    rn, rp = 1 - df * invN, 1 - df * invP
    g = kappa * rn * rp - z
    gp = rn * rp + kappa * s * (invN * rp + invP * rn)
    # Round-off in κ R_N R_P is ~ε|κ|(1 + |df|/N)(1 + |df|/P), which can exceed ε|z| near κ_c.
    scale = np.abs(z) + 1e-3 * np.abs(kappa) * (1 + np.abs(df) * invN) * (1 + np.abs(df) * invP)
    return g, gp, scale


def _newton_complex(lam, kappa, z, invN, invP, iters=_NEWTON_ITERS):
    """Up to ``iters`` Newton steps on g(κ) = z from ``kappa``.

    Returns κ, g'(κ) at the last evaluation, and a mask of entries whose residual was below
    1e-10 of its round-off scale before the last step (so that step made them exact).
    """
    ok = np.zeros(kappa.shape, dtype=bool)
    gp = np.ones_like(kappa)
    for _ in range(iters):
        g, gp, scale = _g_eval(lam, kappa, z, invN, invP)
        ok = np.isfinite(g) & np.isfinite(gp) & (np.abs(g) <= 1e-10 * scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = g / gp
        kappa = kappa - np.where(np.isfinite(step), step, 0.0)
        if np.all(ok):
            break
    return kappa, gp, ok


def _continue(lam, kappa, z0, z1, invN, invP, depth=0):
    """Robust move of κ from its solution at z0 to the one at z1, halving failed steps."""
    _, gp, _ = _g_eval(lam, kappa, z0, invN, invP)
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = kappa + (z1 - z0) / gp  # first-order predictor
    guess = np.where(np.isfinite(guess), guess, kappa)
    new, _, ok = _newton_complex(lam, guess, z1, invN, invP)
    if np.all(ok):
        return new
    if depth >= _MAX_REFINE:
        raise NumericalError(
            "dynamics: κ(z) continuation along the Talbot contour did not converge; "
            "try fewer modes or a less extreme time",
            partial=new,
        )
    bad = ~ok
    zm = 0.5 * (z0[bad] + z1[bad])
    km = _continue(lam, kappa[bad], z0[bad], zm, invN[bad], invP[bad], depth + 1)
    new[bad] = _continue(lam, km, zm, z1[bad], invN[bad], invP[bad], depth + 1)
    return new


def kappa_contour(spec: Spectrum, invN, invP, r, n=TALBOT_NODES):
    """κ at the upper Talbot nodes z_j = r θ_j (cot θ_j + i), shape (B, n/2).

    The real point z = r is solved on the physical branch (`kappa_real`), then κ is
    continued node by node with ``_SUBSTEPS`` predictor–corrector sub-steps between nodes
    (Euler predictor, two Newton corrections), converged fully at each node; a node that
    does not converge is redone from the previous node with halved steps. (Starting Newton
    from κ ≈ z picks the wrong root when N and P are both finite.)
    """
    spec = as_spectrum(spec)
    lam = spec.eigenvalues
    invN, invP, r = (np.asarray(x, float).ravel() for x in np.broadcast_arrays(invN, invP, r))
    theta, _, _ = _talbot_upper(n)
    edges = np.concatenate([[0.0], theta])
    out = np.empty((r.size, n // 2), dtype=np.complex128)
    kappa = _kappa_real(spec, invN, invP, r).astype(np.complex128)
    z_prev = r.astype(np.complex128)
    _, gp, _ = _g_eval(lam, kappa, z_prev, invN, invP)
    for j in range(n // 2):
        k_node, z_node = kappa.copy(), z_prev
        path = np.linspace(edges[j], edges[j + 1], _SUBSTEPS + 1)[1:]
        for i, th in enumerate(path):
            z_next = r * (th / np.tan(th) + 1j * th)
            with np.errstate(divide="ignore", invalid="ignore"):
                guess = kappa + (z_next - z_prev) / gp
            kappa = np.where(np.isfinite(guess), guess, kappa)
            last = i == _SUBSTEPS - 1
            kappa, gp, ok = _newton_complex(
                lam, kappa, z_next, invN, invP, iters=_NEWTON_ITERS if last else 2
            )
            z_prev = z_next
        if not np.all(ok):
            bad = ~ok
            kappa[bad] = _continue(lam, k_node[bad], z_node[bad], z_prev[bad], invN[bad], invP[bad], 1)
            _, gp_bad, _ = _g_eval(lam, kappa[bad], z_prev[bad], invN[bad], invP[bad])
            gp[bad] = gp_bad
        out[:, j] = kappa
    return out
