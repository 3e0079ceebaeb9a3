"""The NTK-alignment toy model: function-space gradient flow with a kernel that moves.

A reconstruction from Shan & Bordelon, *A Theory of Neural Tangent Kernel Alignment and Its
Influence on Training* (arXiv:2105.14301): dΔ/dt = −KΔ (Δ(0) = y, loss ½|Δ|²) with a kernel
that grows along the residual, either dK/dt = λΔΔᵀ (variant 1, a matrix Riccati equation) or
dK/dt = λ(ΔΔᵀK + KΔΔᵀ) (variant 2), both solved in closed form below. It captures that
feature learning speeds training, but on real two-layer μP networks it explains at most
~25 % of the actual kernel change (docs/theory/alignment.md). The loss is the sum ½|Δ|² (the
paper's convention), time in the units of K.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.special import exprel

from kerncurve.errors import InputError, NumericalError, NumericalWarning

from .checks import check_gram, check_lam, check_times

__all__ = [
    "ToyCurve",
    "ToyRun",
    "kernel_alignment",
    "static_loss",
    "toy_variant1",
    "toy_variant1_scalar",
    "toy_variant2",
    "toy_variant2_isotropic",
    "toy_model",
    "toy_chunk_size",
    "toy_default_times",
]


@dataclass(frozen=True)
class ToyCurve:
    """Closed-form time course of the NTK-alignment toy model.

    Attributes
    ----------
    time : ndarray (T,)
    kernel : ndarray (T, P, P)
        K(t).
    residual : ndarray (T, P, c) or None
        Δ(t) (None for variant 2 with several output channels, where only ΔΔᵀ is closed).
    loss : ndarray (T,)
        ½‖Δ(t)‖²_F.
    loss_static : ndarray (T,)
        ½‖e^{−K₀t}y‖²: the same flow with the kernel frozen at K₀.
    alignment, centered_alignment : ndarray (T,)
        Kernel–target alignment of K(t) (`kernel_alignment`).
    kernel_inf : ndarray (P, P)
        K_∞ (variant 1: (K₀² + λyyᵀ)^{1/2}; variant 2: K₀ + λyyᵀ).
    conserved : ndarray (P, P)
        The conserved matrix (variant 1: Q = K² + λΔΔᵀ; variant 2: K + λΔΔᵀ).
    """

    time: np.ndarray
    kernel: np.ndarray
    residual: Optional[np.ndarray]
    loss: np.ndarray
    loss_static: np.ndarray
    alignment: np.ndarray
    centered_alignment: np.ndarray
    kernel_inf: np.ndarray
    conserved: np.ndarray


def kernel_alignment(K, y, centered: bool = False) -> np.ndarray:
    """Kernel–target alignment A(K) = ⟨K, yyᵀ⟩_F/(‖K‖_F‖yyᵀ‖_F) = yᵀKy/(‖K‖_F|y|²).

    With ``centered=True``, the centered alignment of Cortes, Mohri, Rostamizadeh (JMLR
    2012): both K and yyᵀ are centered with H = I − 11ᵀ/P first. Several channels
    (y of shape (P, c)) use YYᵀ. Vectorized over leading axes of K: (..., P, P) → (...).
    """
    K = np.asarray(K, dtype=float)
    Y = np.asarray(y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if centered:
        K = K - K.mean(axis=-1, keepdims=True) - K.mean(axis=-2, keepdims=True) \
            + K.mean(axis=(-1, -2), keepdims=True)
        Y = Y - Y.mean(axis=0, keepdims=True)
    G = Y @ Y.T
    num = np.einsum("...ij,ij->...", K, G)
    den = np.linalg.norm(K, axis=(-2, -1)) * np.linalg.norm(G)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def static_loss(K0, y, t) -> np.ndarray:
    """½‖e^{−K₀t}y‖²: gradient flow dΔ/dt = −K₀Δ with a frozen kernel."""
    K0, Y = check_gram(K0, y)
    ev, U = np.linalg.eigh(K0)
    ev = np.maximum(ev, 0.0)
    power = np.sum((U.T @ Y) ** 2, axis=1)
    t = np.asarray(t, dtype=float)
    return 0.5 * np.exp(-2 * np.multiply.outer(t, ev)) @ power


def _b(s, t):
    """∫₀ᵗ e^{−2sτ}dτ = (1 − e^{−2st})/(2s), equal to t at s = 0; broadcast (T,1)×(P,)."""
    return t * exprel(-2.0 * s * t)


def _toy_curve(t, K0, Y, K, residual, loss, kernel_inf, conserved):
    """A `ToyCurve` with the quantities both variants derive the same way (static loss, alignments)."""
    return ToyCurve(
        time=t,
        kernel=K,
        residual=residual,
        loss=loss,
        loss_static=static_loss(K0, Y, t),
        alignment=kernel_alignment(K, Y),
        centered_alignment=kernel_alignment(K, Y, centered=True),
        kernel_inf=kernel_inf,
        conserved=conserved,
    )


def toy_variant1(K0, y, lam: float, t) -> ToyCurve:
    """NTK-alignment toy model, variant 1 (bounded kernel speed), in closed form.

    dΔ/dt = −KΔ, dK/dt = λΔΔᵀ, Δ(0) = y. Q = K² + λΔΔᵀ is conserved, so K obeys the Riccati
    equation dK/dt = Q − K², solved by

        K(t) = S + e^{−St} W₀ [I + B(t)W₀]⁻¹ e^{−St},
        S = Q^{1/2}, W₀ = K₀ − S, B(t) = (2S)⁻¹(I − e^{−2St}).

    The residual has a closed form too (derived for this implementation): writing K = ẎY⁻¹
    with Ÿ = QY, Y(0) = I, Ẏ(0) = K₀ gives Y = cosh(St) + S⁻¹sinh(St)K₀, and since K is
    symmetric d(Y⁻ᵀ)/dt = −KY⁻ᵀ, so

        Δ(t) = Y(t)⁻ᵀ y = e^{−St} [(I + e^{−2St})/2 + K₀B(t)]⁻¹ y.

    Everything is evaluated in the eigenbasis of S (one eigendecomposition) and vectorized
    over times (batched P×P solves, O(T·P³)). Zero eigenvalues of S use B → t.
    """
    K0, Y = check_gram(K0, y)
    lam = check_lam(lam)
    t = check_times(t)
    P = K0.shape[0]
    Q = K0 @ K0 + lam * (Y @ Y.T)
    Q = 0.5 * (Q + Q.T)
    q, V = np.linalg.eigh(Q)
    s = np.sqrt(np.maximum(q, 0.0))
    K0t = V.T @ K0 @ V
    K0t = 0.5 * (K0t + K0t.T)
    W0 = K0t - np.diag(s)
    Yt = V.T @ Y
    T = t[:, None]
    e = np.exp(-s[None, :] * T)  # (T, P)
    b = _b(s[None, :], T)  # (T, P)
    eye = np.eye(P)
    # W₀[I + BW₀]⁻¹ = [I + W₀B]⁻¹W₀ (push-through), a symmetric matrix.
    Z = np.linalg.solve(eye + W0[None] * b[:, None, :], np.broadcast_to(W0, (t.size, P, P)))
    Kt = e[:, :, None] * Z * e[:, None, :]
    Kt[:, np.arange(P), np.arange(P)] += s
    Kt = 0.5 * (Kt + np.swapaxes(Kt, 1, 2))
    H = K0t[None] * b[:, None, :]
    H[:, np.arange(P), np.arange(P)] += 0.5 * (1 + e**2)
    Dt = e[:, :, None] * np.linalg.solve(H, np.broadcast_to(Yt, (t.size,) + Yt.shape))
    K = V @ Kt @ V.T
    Delta = V @ Dt
    loss = 0.5 * np.sum(Delta**2, axis=(1, 2))
    return _toy_curve(t, K0, Y, K, Delta, loss, kernel_inf=(V * s) @ V.T, conserved=Q)


def toy_variant1_scalar(k0: float, y: float, lam: float, t):
    """P = 1 solution of variant 1: k(t) = c tanh(ct + artanh(k₀/c)),
    δ(t) = sign(y)(c/√λ) sech(ct + artanh(k₀/c)), c = √(k₀² + λy²).

    λ = 0 or y = 0 reduce to the static flow k = k₀, δ = y e^{−k₀t}.

    Returns
    -------
    k, delta : ndarray
    """
    lam = check_lam(lam)
    t = np.asarray(t, dtype=float)
    if lam == 0 or y == 0:
        return np.full_like(t, k0), y * np.exp(-k0 * t)
    c = np.sqrt(k0**2 + lam * y**2)
    u = c * t + np.arctanh(k0 / c)
    return c * np.tanh(u), np.sign(y) * (c / np.sqrt(lam)) / np.cosh(u)


def toy_variant2(K0, y, lam: float, t) -> ToyCurve:
    """NTK-alignment toy model, variant 2 (bounded feature speed), in closed form.

    dΔ/dt = −KΔ, dK/dt = λ(ΔΔᵀK + KΔΔᵀ). C = K + λΔΔᵀ is conserved, so
    dΔ/dt = −CΔ + λΔΔᵀΔ. Writing Δ = e^{−Ct}Y G(t) gives d(GGᵀ)⁻¹/dt = −2λ Yᵀe^{−2Ct}Y,
    hence (derived for this implementation)

        (GGᵀ)⁻¹ = N(t) = I − 2λ Yᵀ B_C(t) Y,   B_C(t) = (2C)⁻¹(I − e^{−2Ct}),
        ΔΔᵀ = e^{−Ct} Y N(t)⁻¹ Yᵀ e^{−Ct},   K(t) = C − λΔΔᵀ.

    With one channel Δ = e^{−Ct}y/√N(t); isotropic K₀ = k₀I reduces to
    |Δ|² = c|y|²/(λ|y|² + k₀e^{2ct}) (`toy_variant2_isotropic`). K_∞ = K₀ + λyyᵀ exactly.
    """
    K0, Y = check_gram(K0, y)
    lam = check_lam(lam)
    t = check_times(t)
    P, nc = Y.shape
    if lam > 0:
        ev, U = np.linalg.eigh(K0)
        null = U[:, ev <= 1e-12 * max(ev[-1], 0.0)]
        outside = np.sum((null.T @ Y) ** 2) / max(np.sum(Y**2), np.finfo(float).tiny)
        if outside > 1e-10:
            warnings.warn(
                f"{outside:.1%} of the target power lies outside the range of the Gram "
                "matrix: variant 2 cannot learn it (the loss plateaus) and its solution "
                "is numerically unstable at late times; add a small ridge to the Gram or "
                "use variant 1",
                NumericalWarning,
                stacklevel=2,
            )
    C = K0 + lam * (Y @ Y.T)
    C = 0.5 * (C + C.T)
    cev, U = np.linalg.eigh(C)
    cev = np.maximum(cev, 0.0)
    Yt = U.T @ Y  # (P, c)
    T = t[:, None]
    e = np.exp(-cev[None, :] * T)
    b = _b(cev[None, :], T)
    N = np.eye(nc)[None] - 2 * lam * np.einsum("pi,tp,pj->tij", Yt, b, Yt)
    Ninv = np.linalg.inv(N)
    EY = e[:, :, None] * Yt[None]  # (T, P, c)
    DDt = np.einsum("tpi,tij,tqj->tpq", EY, Ninv, EY)  # ΔΔᵀ in the C eigenbasis
    DDt = 0.5 * (DDt + np.swapaxes(DDt, 1, 2))
    K = U @ (np.diag(cev)[None] - lam * DDt) @ U.T
    K = 0.5 * (K + np.swapaxes(K, 1, 2))
    loss = 0.5 * np.trace(DDt, axis1=1, axis2=2)
    residual = None
    if nc == 1:
        if np.any(N[:, 0, 0] <= 0):
            raise NumericalError("variant-2 normalizer N(t) lost positivity (round-off)")
        residual = U @ (EY / np.sqrt(N[:, 0, 0])[:, None, None])
    return _toy_curve(t, K0, Y, K, residual, loss, kernel_inf=C, conserved=C)


def toy_variant2_isotropic(k0: float, y_norm2: float, lam: float, t) -> np.ndarray:
    """|Δ(t)|² of variant 2 from K₀ = k₀I: c|y|²/(λ|y|² + k₀e^{2ct}), c = k₀ + λ|y|²."""
    lam = check_lam(lam)
    t = np.asarray(t, dtype=float)
    c = k0 + lam * y_norm2
    # divide through by e^{2ct} so large ct cannot overflow
    return c * y_norm2 * np.exp(-2 * c * t) / (lam * y_norm2 * np.exp(-2 * c * t) + k0)


# --------------------------------------------------------------------------- time course


@dataclass(frozen=True)
class ToyRun:
    """The toy model's time course at many times, evaluated in chunks (`toy_model`).

    Attributes
    ----------
    time, loss, loss_static, alignment, centered_alignment : ndarray (T,)
        As in `ToyCurve`.
    kernel : ndarray (T, P, P) or None
        K(t), kept only when asked for.
    kernel_inf : ndarray (P, P)
    conservation : float
        Largest relative violation of the conserved matrix over the times (nan when the
        residual has no closed form: variant 2 with several channels).
    """

    time: np.ndarray
    loss: np.ndarray
    loss_static: np.ndarray
    alignment: np.ndarray
    centered_alignment: np.ndarray
    kernel: Optional[np.ndarray]
    kernel_inf: np.ndarray
    conservation: float


_VARIANTS = {"variant1": toy_variant1, "variant2": toy_variant2}


def toy_chunk_size(P: int, budget_bytes: int = 256 << 20) -> int:
    """Times per chunk so that the closed form's O(chunk·P²) work arrays stay within a budget."""
    return max(1, int(budget_bytes // (8 * 8 * P * P)))


def toy_model(K0, y, lam: float, t, variant: str = "variant1", keep_kernels: bool = False,
              budget_bytes: int = 256 << 20, progress=None) -> ToyRun:
    """`toy_variant1` or `toy_variant2` at every time in ``t``, in chunks of `toy_chunk_size`.

    Memory stays O(chunk·P²) unless ``keep_kernels`` (then K(t) for every time, T·P² floats).
    The conservation law (variant 1: K² + λΔΔᵀ = Q; variant 2: K + λΔΔᵀ = C) is checked at
    every time. ``progress`` is called with 1 after each chunk.
    """
    if variant not in _VARIANTS:
        raise InputError(f"variant must be 'variant1' or 'variant2', got {variant!r}", param="toy")
    fn = _VARIANTS[variant]
    lam = check_lam(lam)
    t = check_times(t)
    P = np.shape(K0)[0]
    step = toy_chunk_size(P, budget_bytes)
    names = ("loss", "loss_static", "alignment", "centered_alignment")
    series = {k: [] for k in names}
    violations, kernels, kernel_inf = [], [], None
    for i in range(0, t.size, step):
        c = fn(K0, y, lam, t[i:i + step])
        if c.residual is not None:
            DD = np.einsum("tpc,tqc->tpq", c.residual, c.residual)
            cons = c.kernel @ c.kernel + lam * DD if variant == "variant1" else c.kernel + lam * DD
            violations.append(np.max(np.abs(cons - c.conserved)) / np.max(np.abs(c.conserved)))
        for k in names:
            series[k].append(getattr(c, k))
        if keep_kernels:
            kernels.append(c.kernel)
        if kernel_inf is None:
            kernel_inf = c.kernel_inf
        if progress is not None:
            progress(1)
    return ToyRun(time=t, kernel=np.concatenate(kernels) if keep_kernels else None, kernel_inf=kernel_inf,
                  conservation=float(max(violations)) if violations else float("nan"),
                  **{k: np.concatenate(v) for k, v in series.items()})


def toy_default_times(K0, y, lam: float, variant: str = "variant1", points: int = 101) -> np.ndarray:
    """``points`` evenly spaced times from 0 to 5/rate, rate = yᵀK_∞y/|y|² (about five
    relaxation times of the final kernel along the target)."""
    K_inf = _VARIANTS[variant](K0, y, lam, [0.0]).kernel_inf
    Y = np.asarray(y, dtype=float)
    Y = Y[:, None] if Y.ndim == 1 else Y
    rate = np.sum(Y * (K_inf @ Y)) / np.sum(Y * Y)
    if not rate > 0:
        raise InputError("y lies in the null space of the kernel; nothing to learn", param="y")
    return np.linspace(0.0, 5.0 / rate, points)
