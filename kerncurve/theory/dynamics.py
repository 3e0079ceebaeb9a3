"""Finite width, finite data and training time; compute-optimal scaling (THEORY §4).

Model (Bordelon, Atanasov, Pehlevan, *A Dynamical Model of Neural Scaling Laws*, ICML 2024,
arXiv:2402.01092): teacher y = w*·ψ(x) with ⟨ψψᵀ⟩ = diag(λ_k), k = 1…M; student
f = (1/√N) w·Aψ(x) with A ∈ R^{N×M} i.i.d. N(0, 1); P training samples; gradient flow on
(1/2P) Σ_μ (f − y)² from w = 0.  Δ = w* − Aᵀw/√N obeys dΔ/dt = −(AᵀA/N)(ΨᵀΨ/P)Δ and the
test loss is L(t) = E Σ_k λ_k Δ_k(t)².

Everything here takes the spectrum as eigenvalues λ_k and *target power* p_k = λ_k w*_k²
(the kernel's v_k² of THEORY §0), so w* is never formed.

Frequency domain (re-derived for this project by deterministic equivalents): with
df(κ) = Σ_k λ_k/(λ_k + κ), R_N = 1 − df/N, R_P = 1 − df/P, κ(z) solves

    κ R_N(κ) R_P(κ) = z            (physical branch: κ ~ z for large |z|)

and, with κ = κ(z), κ' = κ(z'), D_k = (λ_k + κ)(λ_k + κ'), A1 = Σ λ_k/D_k,
B1 = Σ p_k/D_k, B2 = Σ p_k λ_k/D_k,

    1 − γ_P = R_P(κ) + κ' A1/P,              c_P = A1/(P(1 − γ_P))
    1 − γ_N = R_N(κ') + κ A1 R_P(κ)/(N(1 − γ_P))
    z z' L̂(z, z') = κκ'/(1 − γ_P) · [B1 + A1/(N(1 − γ_N)) · (B2 + κκ' c_P B1)]
    L(t) = (2πi)⁻² ∮∮ e^{(z + z')t} L̂(z, z') dz dz'.

(These are THEORY §4's γ_P, γ_N, c_N and L̂ rewritten with the identities
Σ λ²/D = df(κ') − κA1 and κ₁κ₁'c_N = κκ' A1/(N(1 − γ_P)(1 − γ_N)), so that no difference of
nearly equal numbers is formed on the real axis and κ₁ = z/R_N is never divided by.)

The double inverse Laplace transform uses the fixed Talbot contour with n = 32 nodes in each
variable; t = ∞ is the z, z' → 0 limit, evaluated exactly at κ₀ = κ(0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError, NumericalError

__all__ = [
    "TALBOT_NODES",
    "DynamicsSpectrum",
    "Frontier",
    "FrontierExponents",
    "as_spectrum",
    "kappa_real",
    "kappa_contour",
    "loss",
    "loss_gradient_flow",
    "ridgeless_loss",
    "width_limited_loss",
    "asymptotic_loss",
    "compute_frontier",
    "predicted_frontier_exponents",
]

TALBOT_NODES = 32
"""Nodes of the fixed Talbot contour in each frequency variable (THEORY §4)."""

_SUBSTEPS = 4  # Newton continuation sub-steps between consecutive Talbot nodes
_NEWTON_ITERS = 30
_MAX_REFINE = 12  # halvings of a continuation step that failed to converge
_CHUNK_ELEMENTS = 2_000_000  # complex entries per batched matmul block (memory bound)


# ----------------------------------------------------------------------------- spectrum
@dataclass(frozen=True)
class DynamicsSpectrum:
    """Eigenvalues and target power of the modes the model can see.

    Attributes
    ----------
    eigenvalues : ndarray, shape (M,)
        λ_k > 0, descending.
    power : ndarray, shape (M,)
        p_k = λ_k w*_k² ≥ 0, aligned with ``eigenvalues``.
    dropped_power : float
        Target power given on modes with λ_k ≤ 0 (it cannot be represented by any student
        of this model; it is not included in the losses, which are against the learnable
        target).
    """

    eigenvalues: np.ndarray
    power: np.ndarray
    dropped_power: float = 0.0

    @property
    def trace(self) -> float:
        return float(self.eigenvalues.sum())

    @property
    def rank(self) -> int:
        return int(self.eigenvalues.size)

    @property
    def total_power(self) -> float:
        return float(self.power.sum())


def as_spectrum(eigenvalues, power) -> DynamicsSpectrum:
    """Validate and sort a spectrum (eigenvalues λ_k, target power p_k = λ_k w*_k²).

    Raises
    ------
    InputError
        Shapes differ, values are not finite, power is negative, or no eigenvalue is
        positive.
    """
    if isinstance(eigenvalues, DynamicsSpectrum):
        return eigenvalues
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    pw = np.asarray(power, dtype=np.float64).ravel()
    if lam.shape != pw.shape:
        raise InputError(
            f"spectrum: {lam.size} eigenvalues but {pw.size} target powers; "
            "give one target power per eigenvalue"
        )
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(pw))):
        raise InputError("spectrum: eigenvalues and target power must be finite numbers")
    if np.any(pw < 0):
        raise InputError("spectrum: target power must be non-negative (it is λ_k w_k²)")
    keep = lam > 0
    if not np.any(keep):
        raise InputError(
            "spectrum: no positive eigenvalue; the model has nothing to learn with "
            "(check the kernel/features of the input)"
        )
    order = np.argsort(-lam[keep], kind="stable")
    return DynamicsSpectrum(
        eigenvalues=lam[keep][order],
        power=pw[keep][order],
        dropped_power=float(pw[~keep].sum()),
    )


def _inv(x) -> np.ndarray:
    """1/x with 1/inf = 0 (N = ∞ or P = ∞ drops that factor)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(np.isinf(x), 0.0, 1.0 / x)


# ----------------------------------------------------------------------------- κ on R
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


_LOG_TINY = np.log(np.finfo(np.float64).tiny) + 10.0


def _kappa_critical(spec: DynamicsSpectrum, m) -> np.ndarray:
    """κ_c with df(κ_c) = m for m < rank, else 0 (the z → 0 end of the physical branch)."""
    lam = spec.eigenvalues
    m = np.asarray(m, dtype=np.float64)
    out = np.zeros(m.shape)
    need = m < spec.rank
    if not np.any(need):
        return out
    mm = m[need]

    def func(u):
        df, s = _df_real(lam, np.exp(u))
        # decreasing df → use f = mm − df (increasing in u)
        return mm - df, np.exp(u) * s

    hi = np.log(spec.trace / mm) + 1.0
    # df(κ) ≥ rank − κ Σ 1/λ: κ below (rank − m)/(2 Σ 1/λ) has df > m
    lo = np.log(np.maximum((spec.rank - mm) / (2.0 * np.sum(1.0 / lam)), np.exp(_LOG_TINY)))
    out[need] = np.exp(_monotone_root(func, lo, hi))
    return out


def kappa_real(eigenvalues, *, width=np.inf, p=np.inf, z=0.0) -> np.ndarray:
    """κ(z) on the physical branch for real z ≥ 0 (broadcast over width, p, z).

    Solves κ(1 − df(κ)/N)(1 − df(κ)/P) = z with κ above κ_c, where df(κ_c) = min(N, P)
    (κ_c = 0 when min(N, P) ≥ M); z = 0 returns κ_c.  The left side is increasing on
    (κ_c, ∞), so a bracketed Newton/bisection on log κ always converges.

    Parameters
    ----------
    eigenvalues : array_like or DynamicsSpectrum
    width, p : float or array
        N and P; ``inf`` drops that factor.
    z : float or array
        Real frequency ≥ 0.
    """
    if isinstance(eigenvalues, DynamicsSpectrum):
        spec = eigenvalues
    else:
        lam = np.asarray(eigenvalues, dtype=np.float64)
        spec = as_spectrum(lam, np.zeros_like(lam))
    width, p, z = np.broadcast_arrays(
        np.asarray(width, float), np.asarray(p, float), np.asarray(z, float)
    )
    return _kappa_real(spec, _inv(width), _inv(p), z)


def _kappa_real(spec, invN, invP, z):
    lam = spec.eigenvalues
    invN, invP, z = np.broadcast_arrays(invN, invP, z)
    shape = z.shape
    invN, invP, z = invN.ravel(), invP.ravel(), z.ravel()
    with np.errstate(divide="ignore"):
        m = np.minimum(np.where(invN > 0, 1.0 / np.where(invN > 0, invN, 1), np.inf),
                       np.where(invP > 0, 1.0 / np.where(invP > 0, invP, 1), np.inf))
    kc = _kappa_critical(spec, m)
    out = kc.copy()
    pos = z > 0
    if np.any(pos):
        zz, a, b, k0 = z[pos], invN[pos], invP[pos], kc[pos]

        def func(u):
            k = np.exp(u)
            df, s = _df_real(lam, k)
            rn, rp = 1 - df * a, 1 - df * b
            g = k * rn * rp
            # d g / d log κ = κ[R_N R_P + κ s (a R_P + b R_N)]
            return g - zz, k * (rn * rp + k * s * (a * rp + b * rn))

        lo = np.where(k0 > 0, np.log(np.maximum(k0, 1e-300)), _LOG_TINY)
        hi = np.log(zz + spec.trace * (a + b)) + 1e-12
        out[pos] = np.exp(_monotone_root(func, lo, hi))
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


def kappa_contour(spec: DynamicsSpectrum, invN, invP, r, n=TALBOT_NODES):
    """κ at the upper Talbot nodes z_j = r θ_j (cot θ_j + i), shape (B, n/2).

    The real point z = r is solved by bracketed Newton on log κ (physical branch), then κ
    is continued node by node with ``_SUBSTEPS`` predictor–corrector sub-steps between
    nodes (Euler predictor, two Newton corrections), converged fully at each node; a node
    that does not converge is redone from the previous node with halved steps.  (Starting
    Newton from κ ≈ z picks the wrong root when N and P are both finite.)
    """
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


def _loss_contour(spec: DynamicsSpectrum, invN, invP, t, n=TALBOT_NODES):
    """L(t) by the two-variable fixed Talbot inversion; invN, invP, t are 1-D (B,)."""
    lam, pw = spec.eigenvalues, spec.power
    r = n / (5.0 * t)
    _, zeta, dzeta = _talbot_upper(n)
    ku = kappa_contour(spec, invN, invP, r, n)  # (B, n/2), θ > 0
    ka = np.concatenate([np.conj(ku[:, ::-1]), ku], axis=1)  # (B, n), θ ascending
    zu = r[:, None] * zeta  # (B, n/2)
    za = np.concatenate([np.conj(zu[:, ::-1]), zu], axis=1)
    dzu = r[:, None] * dzeta
    dza = np.concatenate([-np.conj(dzu[:, ::-1]), dzu], axis=1)

    # All pair sums Σ_k g_k/((λ_k+κ_i)(λ_k+κ'_l)) as one batched matmul (no cancellation).
    qa = 1.0 / (lam + ka[..., None])  # (B, n, M)
    qu = qa[:, n // 2:]  # (B, n/2, M), θ > 0
    df_u = qu @ lam
    df_a = qa @ lam
    weights = np.stack([lam, pw, pw * lam])  # A1, B1, B2
    lhs = (weights[None, :, None, :] * qu[:, None, :, :]).reshape(r.size, -1, lam.size)
    sums = (lhs @ np.swapaxes(qa, 1, 2)).reshape(r.size, 3, n // 2, n)
    A1, B1, B2 = sums[:, 0], sums[:, 1], sums[:, 2]

    iN = invN[:, None, None]
    iP = invP[:, None, None]
    kk = ku[:, :, None] * ka[:, None, :]
    rp_u = (1 - df_u * invP[:, None])[:, :, None]
    rn_a = (1 - df_a * invN[:, None])[:, None, :]
    omg_p = rp_u + ka[:, None, :] * A1 * iP  # 1 − γ_P
    c_p = A1 * iP / omg_p
    omg_n = rn_a + ku[:, :, None] * A1 * rp_u * iN / omg_p  # 1 − γ_N
    zzL = kk / omg_p * (B1 + A1 * iN / omg_n * (B2 + kk * c_p * B1))

    expo = np.exp((zu[:, :, None] + za[:, None, :]) * t[:, None, None])
    terms = expo * zzL * (dzu[:, :, None] * dza[:, None, :]) / (zu[:, :, None] * za[:, None, :])
    # (2πi)^-2 (2π/n)^2 = −1/n²; conjugate symmetry doubles the upper half.
    return -2.0 / n**2 * np.real(terms.sum(axis=(1, 2)))


# ----------------------------------------------------------------------------- closed forms
def loss_gradient_flow(eigenvalues, power, time) -> np.ndarray:
    """N = P = ∞: L(t) = Σ_k λ_k w_k² e^{−2λ_k t} (plain gradient flow on the population)."""
    spec = as_spectrum(eigenvalues, power)
    t = np.asarray(time, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        e = np.exp(-2.0 * np.multiply.outer(t, spec.eigenvalues))
    e = np.where(np.isinf(t)[..., None], 0.0, e)
    return e @ spec.power


def ridgeless_loss(eigenvalues, power, p) -> np.ndarray:
    """N = ∞, t = ∞: the ridgeless noise-free learning curve of THEORY §1.

    κ solves df(κ) = P (κ in eigenlearning units), L_k = λ_k/(λ_k + κ), γ = Σ L_k²/P and
    E_g = Σ_k (1 − L_k)² p_k/(1 − γ), with 1 − γ = κ Σ λ_k/(λ_k+κ)²/P (no cancellation).
    P ≥ M gives κ = 0 and E_g = 0 (every mode learned, nothing unlearnable).
    (Bordelon, Canatar, Pehlevan, ICML 2020; Simon et al., TMLR 2023.)
    """
    spec = as_spectrum(eigenvalues, power)
    p = np.asarray(p, dtype=np.float64)
    k = _kappa_critical(spec, p.ravel()).reshape(p.shape)
    q = 1.0 / (spec.eigenvalues + k[..., None])
    s1 = (q * q) @ spec.eigenvalues
    with np.errstate(invalid="ignore", divide="ignore"):
        eg = k * p * ((q * q) @ spec.power) / s1
    return np.where(k > 0, eg, 0.0)


def width_limited_loss(eigenvalues, power, width) -> np.ndarray:
    """P = ∞, t = ∞: L = κ₀ Σ_k λ_k w_k²/(λ_k + κ₀) with df(κ₀) = N (0 when N ≥ M)."""
    spec = as_spectrum(eigenvalues, power)
    n = np.asarray(width, dtype=np.float64)
    k = _kappa_critical(spec, n.ravel()).reshape(n.shape)
    return k * ((1.0 / (spec.eigenvalues + k[..., None])) @ spec.power)


def _loss_infinite_time(spec, invN, invP):
    """z, z' → 0 limit of z z' L̂, evaluated exactly at κ₀ = κ(0)."""
    lam, pw = spec.eigenvalues, spec.power
    k = _kappa_real(spec, invN, invP, np.zeros(np.shape(invN)))
    q = 1.0 / (lam + k[:, None])
    df, A1 = q @ lam, (q * q) @ lam
    B1, B2 = (q * q) @ pw, (q * q) @ (pw * lam)
    rn, rp = 1 - df * invN, 1 - df * invP
    # At κ₀ one of R_N, R_P vanishes; clip the round-off so the cancellation-free forms hold.
    rn, rp = np.maximum(rn, 0.0), np.maximum(rp, 0.0)
    omg_p = rp + k * A1 * invP
    with np.errstate(divide="ignore", invalid="ignore"):
        c_p = A1 * invP / omg_p
        omg_n = rn + k * A1 * rp * invN / omg_p
        out = k * k / omg_p * (B1 + A1 * invN / omg_n * (B2 + k * k * c_p * B1))
    out = np.where(k > 0, out, 0.0)  # κ₀ = 0: every mode is learned
    # N = P (finite) with κ₀ > 0: the interpolation peak, 1 − γ_N = 0 exactly.
    peak = (invN == invP) & (invN > 0) & (k > 0) & (spec.total_power > 0)
    return np.where(peak, np.inf, out)


def asymptotic_loss(eigenvalues, power, width=np.inf, p=np.inf) -> np.ndarray:
    """t = ∞ loss for any N, P (broadcast): lim_{z,z'→0} z z' L̂(z, z').

    Equals `ridgeless_loss` at N = ∞ and `width_limited_loss` at P = ∞; ``inf`` at
    N = P < M when the target has power (the interpolation peak).
    """
    spec = as_spectrum(eigenvalues, power)
    width, p = np.broadcast_arrays(np.asarray(width, float), np.asarray(p, float))
    return _loss_infinite_time(spec, _inv(width).ravel(), _inv(p).ravel()).reshape(width.shape)


# ----------------------------------------------------------------------------- public loss
def _validate_npt(width, p, time):
    width, p, time = np.broadcast_arrays(
        np.asarray(width, float), np.asarray(p, float), np.asarray(time, float)
    )
    for name, x in (("width", width), ("p", p)):
        if np.any(np.isnan(x)) or np.any(x <= 0):
            raise InputError(f"dynamics: {name} must be positive (or inf); got {x[(x <= 0) | np.isnan(x)][0]!r}")
    if np.any(np.isnan(time)) or np.any(time < 0):
        raise InputError("dynamics: time must be non-negative (or inf)")
    return width, p, time


def loss(eigenvalues, power, width=np.inf, p=np.inf, time=np.inf, *, method="auto") -> np.ndarray:
    """Expected test loss L(N, P, t) of the random-feature model under gradient flow.

    Parameters
    ----------
    eigenvalues, power : array_like, shape (M,)
        λ_k and target power p_k = λ_k w*_k² (or a `DynamicsSpectrum` and None).
    width, p, time : float or array_like
        N, P, t, broadcast against each other; ``inf`` allowed in each.
    method : {"auto", "contour"}
        "auto" uses the closed forms where they apply (N = P = ∞: Σ p_k e^{−2λ_k t};
        t = ∞: the z → 0 limit, which reduces to THEORY §1's ridgeless curve at N = ∞ and
        to κ₀ Σ p_k/(λ_k + κ₀) at P = ∞) and the two-variable Talbot inversion otherwise.
        "contour" uses the Talbot inversion for every finite t (for testing it).

    Returns
    -------
    ndarray
        Loss with the broadcast shape; ``inf`` at N = P < M, t = ∞ (interpolation peak).

    Notes
    -----
    Bordelon, Atanasov & Pehlevan, ICML 2024 (arXiv:2402.01092); THEORY §4.
    """
    spec = as_spectrum(eigenvalues, power)
    width, p, time = _validate_npt(width, p, time)
    shape = time.shape
    invN, invP, t = _inv(width).ravel(), _inv(p).ravel(), time.ravel()
    out = np.empty(t.shape)

    at_zero = t == 0
    out[at_zero] = spec.total_power
    at_inf = np.isinf(t)
    if np.any(at_inf):
        out[at_inf] = _loss_infinite_time(spec, invN[at_inf], invP[at_inf])
    finite = ~at_zero & ~at_inf
    if method == "auto":
        closed = finite & (invN == 0) & (invP == 0)
        out[closed] = loss_gradient_flow(spec, None, t[closed]) if np.any(closed) else 0.0
        finite &= ~closed
    elif method != "contour":
        raise ValueError(f"method must be 'auto' or 'contour', not {method!r}")
    idx = np.flatnonzero(finite)
    # Chunk so the (B, n/2, n, M)-sized intermediates stay bounded in memory.
    chunk = max(1, _CHUNK_ELEMENTS // (3 * TALBOT_NODES * spec.rank))
    for start in range(0, idx.size, chunk):
        sel = idx[start:start + chunk]
        out[sel] = _loss_contour(spec, invN[sel], invP[sel], t[sel])
    if np.any(np.isnan(out)):
        raise NumericalError("dynamics: the loss came out NaN", partial=out.reshape(shape))
    return out.reshape(shape)


# ----------------------------------------------------------------------------- frontier
@dataclass(frozen=True)
class FrontierExponents:
    """Exponents of the compute-optimal frontier: N* ∝ C^width, t* ∝ C^time, L* ∝ C^loss."""

    width: float
    time: float
    loss: float


def predicted_frontier_exponents(b: float, a: float) -> FrontierExponents:
    """THEORY §4 (P = ∞, C = N·t): with m = min(a−1, b),

    t* ∝ C^{bm/(a−1+bm)},  N* ∝ C^{(a−1)/(a−1+bm)},  L* ∝ C^{−(a−1)m/(a−1+bm)}.
    """
    m = min(a - 1.0, b)
    den = a - 1.0 + b * m
    return FrontierExponents(width=(a - 1.0) / den, time=b * m / den, loss=-(a - 1.0) * m / den)


@dataclass(frozen=True)
class Frontier:
    """Compute-optimal split of C = N·t (at fixed P) and its fitted power-law exponents."""

    compute: np.ndarray
    width_opt: np.ndarray
    time_opt: np.ndarray
    loss_opt: np.ndarray
    p: float
    fitted: FrontierExponents


def _fit_slope(x, y):
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if np.count_nonzero(ok) < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def compute_frontier(eigenvalues, power, compute, *, p=np.inf, width_bounds=(1.0, np.inf),
                     time_bounds=(0.0, np.inf), grid=16, refine=10) -> Frontier:
    """For each compute C = N·t, the width N* (and t* = C/N*) minimizing L(N, P, C/N).

    A scan of ``grid`` log-spaced widths brackets the minimum; ``refine`` rounds of
    safeguarded successive parabolic interpolation on log N then refine it.  Both are
    vectorized over all C at once.  Widths above 100·M are not searched (past the number
    of modes a wider model only shortens the training time).

    Parameters
    ----------
    eigenvalues, power : array_like
        λ_k and target power λ_k w*_k².
    compute : array_like
        Budgets C = N·t (positive, finite).
    p : float
        Training-set size P (``inf``: fresh data, THEORY §4's compute-optimal setting).
    width_bounds, time_bounds : (float, float)
        Allowed N and t.

    Returns
    -------
    Frontier
        Optimal width, time, loss per C and the fitted exponents N* ∝ C^x, t* ∝ C^y,
        L* ∝ C^z (log-log least squares over the given C).

    Raises
    ------
    InputError
        A compute value has no feasible split (C ≤ 0, or no N in ``width_bounds`` with
        t = C/N in ``time_bounds``).
    """
    spec = as_spectrum(eigenvalues, power)
    C = np.asarray(compute, dtype=np.float64).ravel()
    if C.size == 0 or np.any(~np.isfinite(C)) or np.any(C <= 0):
        raise InputError("dynamics: --compute values must be positive and finite")
    nlo, nhi = (float(x) for x in width_bounds)
    tlo, thi = (float(x) for x in time_bounds)
    if not (0 < nlo <= nhi) or not (0 <= tlo <= thi):
        raise InputError("dynamics: width and time bounds must be positive and ordered")
    with np.errstate(divide="ignore"):
        lo = np.log(np.maximum(nlo, C / thi))
        hi = np.log(np.minimum(nhi, C / tlo if tlo > 0 else np.inf))
    bad = ~(lo <= hi) | ~np.isfinite(lo)
    if np.any(bad):
        c0 = C[bad][0]
        raise InputError(
            f"dynamics: compute {c0:g} has no feasible split N·t with width in "
            f"[{nlo:g}, {nhi:g}] and time in [{tlo:g}, {thi:g}]; raise the compute or "
            "widen the width/time range"
        )
    hi = np.maximum(lo, np.minimum(hi, np.log(100.0 * spec.rank)))
    pP = float(p)

    def f(u):  # u: (nC, k) log widths → loss
        n = np.exp(u)
        val = loss(spec, None, n, pP, C[:, None] / n)
        return np.where(np.isfinite(val), val, np.inf)

    rows = np.arange(C.size)
    u = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, grid)[None, :]
    vals = f(u)
    i = np.clip(np.argmin(vals, axis=1), 1, grid - 2)
    x0, x1, x2 = u[rows, i - 1], u[rows, i], u[rows, i + 1]
    f0, f1, f2 = vals[rows, i - 1], vals[rows, i], vals[rows, i + 1]
    # Edge minimum: keep the grid end point (the triplet may not bracket).
    edge_best = np.minimum(f0, f2) < f1
    for _ in range(refine):
        w = x2 - x0
        with np.errstate(divide="ignore", invalid="ignore"):
            num = (x1 - x0) ** 2 * (f1 - f2) - (x1 - x2) ** 2 * (f1 - f0)
            den = (x1 - x0) * (f1 - f2) - (x1 - x2) * (f1 - f0)
            v = x1 - 0.5 * num / den
        # Safeguards: stay inside the bracket, away from its ends and from x1.
        golden = np.where(x1 - x0 > x2 - x1, x1 - 0.382 * (x1 - x0), x1 + 0.382 * (x2 - x1))
        v = np.where(np.isfinite(v), v, golden)
        v = np.clip(v, x0 + 0.05 * w, x2 - 0.05 * w)
        tiny = np.abs(v - x1) < 1e-3 * w
        v = np.where(tiny, x1 + np.where(x2 - x1 > x1 - x0, 1e-3, -1e-3) * w, v)
        fv = f(v[:, None])[:, 0]
        better = fv < f1
        left = v < x1
        # Bracket update: the best point becomes the middle one.
        nx0 = np.where(left, np.where(better, x0, v), np.where(better, x1, x0))
        nx2 = np.where(left, np.where(better, x1, x2), np.where(better, x2, v))
        nf0 = np.where(left, np.where(better, f0, fv), np.where(better, f1, f0))
        nf2 = np.where(left, np.where(better, f1, f2), np.where(better, f2, fv))
        x1, f1 = np.where(better, v, x1), np.where(better, fv, f1)
        x0, x2, f0, f2 = nx0, nx2, nf0, nf2
    j = np.argmin(vals, axis=1)
    uo = np.where(edge_best & (vals[rows, j] < f1), u[rows, j], x1)
    lopt = np.where(edge_best & (vals[rows, j] < f1), vals[rows, j], f1)
    n_opt = np.exp(uo)
    t_opt = C / n_opt
    fitted = FrontierExponents(_fit_slope(C, n_opt), _fit_slope(C, t_opt), _fit_slope(C, lopt))
    return Frontier(compute=C, width_opt=n_opt, time_opt=t_opt, loss_opt=lopt, p=pP, fitted=fitted)
