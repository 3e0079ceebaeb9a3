"""The expected test loss L(N, P, t): the two-variable Talbot inversion and the closed forms.

With κ = κ(z), κ' = κ(z') (`kappa`), D_k = (λ_k + κ)(λ_k + κ'), A1 = Σ λ_k/D_k,
B1 = Σ p_k/D_k, B2 = Σ p_k λ_k/D_k (p_k = λ_k w*_k², the target power)::

    1 − γ_P = R_P(κ) + κ' A1/P,              c_P = A1/(P(1 − γ_P))
    1 − γ_N = R_N(κ') + κ A1 R_P(κ)/(N(1 − γ_P))
    z z' L̂(z, z') = κκ'/(1 − γ_P) · [B1 + A1/(N(1 − γ_N)) · (B2 + κκ' c_P B1)]
    L(t) = (2πi)⁻² ∮∮ e^{(z + z')t} L̂(z, z') dz dz'.

These are the paper's γ_P, γ_N, c_N and L̂ rewritten with the identities
Σ λ²/D = df(κ') − κA1 and κ₁κ₁'c_N = κκ' A1/(N(1 − γ_P)(1 − γ_N)) (κ₁ = z/R_N), so that no
difference of nearly equal numbers is formed on the real axis and κ₁ is never divided by.
The inversion uses the fixed Talbot contour with 32 nodes in each variable; t = ∞ is the
z, z' → 0 limit, evaluated exactly at κ₀ = κ(0).
"""

from __future__ import annotations

import numpy as np

from kerncurve.errors import InputError, NumericalError

from ..ridge import learning_curve
from .kappa import TALBOT_NODES, _inv, _kappa_real, _ridge_kappa, _talbot_upper, as_spectrum, kappa_contour

__all__ = ["loss", "loss_gradient_flow", "ridgeless_loss", "width_limited_loss", "asymptotic_loss"]

_CHUNK_ELEMENTS = 2_000_000  # entries of the largest temporary per block of points (memory bound)


def _chunked(func, per_row, *arrays):
    """``func`` over blocks of the flat ``arrays`` so that no temporary exceeds the chunk size.

    ``per_row`` is the number of temporary entries one point needs (modes × nodes…).
    """
    size = arrays[0].size
    out = np.empty(size)
    step = max(1, _CHUNK_ELEMENTS // max(int(per_row), 1))
    for start in range(0, size, step):
        out[start:start + step] = func(*(a[start:start + step] for a in arrays))
    return out


def _loss_contour(spec, invN, invP, t, n=TALBOT_NODES):
    """L(t) by the two-variable fixed Talbot inversion; invN, invP, t are 1-D (B,)."""
    lam, pw = spec.eigenvalues, spec.target_power
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
    lam, pw = spec.eigenvalues, spec.target_power
    t = np.asarray(time, dtype=np.float64)

    def block(tt):
        with np.errstate(invalid="ignore"):
            e = np.exp(-2.0 * np.multiply.outer(tt, lam))
        return np.where(np.isinf(tt)[:, None], 0.0, e) @ pw

    return _chunked(block, lam.size, t.ravel()).reshape(t.shape)


def ridgeless_loss(eigenvalues, power, p) -> np.ndarray:
    """N = ∞, t = ∞: the ridgeless, noise-free learning curve of kernel regression.

    This is `kerncurve.theory.ridge.learning_curve` at ridge 0, noise 0 and no unlearnable
    power (eigenlearning units: κ solves df(κ) = P): E_g = Σ_k (1 − L_k)² p_k/(1 − γ),
    L_k = λ_k/(λ_k + κ), γ = Σ L_k²/P; P ≥ M gives κ = 0 and E_g = 0.
    (Bordelon, Canatar & Pehlevan, ICML 2020; Simon et al., TMLR 2023.)
    """
    spec = as_spectrum(eigenvalues, power)
    p = np.asarray(p, dtype=np.float64)

    def block(pp):
        return learning_curve(None, None, 0.0, pp, 0.0, 0.0, mode_sums=spec.mode_sums).eg

    return _chunked(block, spec.rank, p.ravel()).reshape(p.shape)


def width_limited_loss(eigenvalues, power, width) -> np.ndarray:
    """P = ∞, t = ∞: L = κ₀ Σ_k λ_k w_k²/(λ_k + κ₀) with df(κ₀) = N (0 when N ≥ M).

    κ₀ is the ridgeless ridge κ with N in place of P (`kerncurve.theory.ridge.solve_kappa`).
    """
    spec = as_spectrum(eigenvalues, power)
    lam, pw = spec.eigenvalues, spec.target_power
    n = np.asarray(width, dtype=np.float64)

    def block(nn):
        k = _ridge_kappa(spec, nn, 0.0)
        return k * ((1.0 / (lam + k[:, None])) @ pw)

    return _chunked(block, lam.size, n.ravel()).reshape(n.shape)


def _loss_infinite_time(spec, invN, invP):
    """z, z' → 0 limit of z z' L̂, evaluated exactly at κ₀ = κ(0)."""
    lam, pw = spec.eigenvalues, spec.target_power
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
    # N = P (finite) with κ₀ > 0: the interpolation peak, 1 − γ_N = 0 exactly (a target
    # without power has nothing to get wrong there)
    peak = (invN == invP) & (invN > 0) & (k > 0)
    return np.where(peak, np.inf if pw.sum() > 0 else 0.0, out)


def asymptotic_loss(eigenvalues, power, width=np.inf, p=np.inf) -> np.ndarray:
    """t = ∞ loss for any N, P (broadcast): lim_{z,z'→0} z z' L̂(z, z').

    Equals `ridgeless_loss` at N = ∞ and `width_limited_loss` at P = ∞; ``inf`` at
    N = P < M when the target has power (the interpolation peak).
    """
    spec = as_spectrum(eigenvalues, power)
    width, p = np.broadcast_arrays(np.asarray(width, float), np.asarray(p, float))
    out = _chunked(lambda a, b: _loss_infinite_time(spec, a, b), spec.rank, _inv(width).ravel(), _inv(p).ravel())
    return out.reshape(width.shape)


# ----------------------------------------------------------------------------- public loss
def _validate_npt(width, p, time):
    width, p, time = np.broadcast_arrays(np.asarray(width, float), np.asarray(p, float), np.asarray(time, float))
    for name, x in (("width", width), ("p", p)):
        if np.any(np.isnan(x)) or np.any(x <= 0):
            raise InputError(f"{name} must be positive (or inf), got {x[(x <= 0) | np.isnan(x)][0]!r}", param=name)
    if np.any(np.isnan(time)) or np.any(time < 0):
        raise InputError("time must be non-negative (or inf)", param="time")
    return width, p, time


def loss(eigenvalues, power=None, width=np.inf, p=np.inf, time=np.inf, *, method="auto") -> np.ndarray:
    """Expected test loss L(N, P, t) of the random-feature model under gradient flow.

    Teacher y = w*·ψ with ⟨ψψᵀ⟩ = diag(λ_k); student (1/√N) w·Aψ, A ∈ R^{N×M} i.i.d.
    N(0, 1); gradient flow on (1/2P) Σ_μ (f − y)² from w = 0; L(t) = E Σ_k λ_k Δ_k(t)² with
    Δ = w* − Aᵀw/√N (Bordelon, Atanasov & Pehlevan, ICML 2024, arXiv:2402.01092; the
    equations are in the module docstrings and docs/theory/dynamics.md).

    Parameters
    ----------
    eigenvalues : Spectrum or array_like (M,)
        A `Spectrum` (``power`` None), or the eigenvalues λ_k.
    power : array_like (M,), optional
        Target power p_k = λ_k w*_k² with array eigenvalues.
    width, p, time : float or array_like
        N, P, t, broadcast against each other; ``inf`` allowed in each.
    method : {"auto", "contour"}
        "auto" uses the closed forms where they apply (N = P = ∞: Σ p_k e^{−2λ_k t};
        t = ∞: the z → 0 limit, which is the ridgeless curve of `kerncurve.theory.ridge`
        at N = ∞ and κ₀ Σ p_k/(λ_k + κ₀) at P = ∞) and the two-variable Talbot inversion
        otherwise. "contour" uses the Talbot inversion for every finite t (for testing it).

    Returns
    -------
    ndarray
        Loss against the learnable target, with the broadcast shape; ``inf`` at N = P < M,
        t = ∞ (the interpolation peak).
    """
    spec = as_spectrum(eigenvalues, power)
    width, p, time = _validate_npt(width, p, time)
    if method not in ("auto", "contour"):
        raise InputError(f"method must be 'auto' or 'contour', got {method!r}", param="method")
    shape = time.shape
    invN, invP, t = _inv(width).ravel(), _inv(p).ravel(), time.ravel()
    out = np.empty(t.shape)

    at_zero = t == 0
    out[at_zero] = spec.target_power.sum()
    at_inf = np.isinf(t)
    if np.any(at_inf):
        out[at_inf] = _chunked(lambda a, b: _loss_infinite_time(spec, a, b), spec.rank, invN[at_inf], invP[at_inf])
    finite = ~at_zero & ~at_inf
    if method == "auto":
        closed = finite & (invN == 0) & (invP == 0)
        if np.any(closed):
            out[closed] = loss_gradient_flow(spec, None, t[closed])
        finite &= ~closed
    idx = np.flatnonzero(finite)
    if idx.size:
        out[idx] = _chunked(lambda a, b, c: _loss_contour(spec, a, b, c), 3 * TALBOT_NODES * spec.rank,
                            invN[idx], invP[idx], t[idx])
    if np.any(np.isnan(out)):
        raise NumericalError("dynamics: the loss came out NaN", partial=out.reshape(shape))
    return out.reshape(shape)
