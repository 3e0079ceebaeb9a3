"""Learning curves of kernel (ridge) regression: κ, γ, E_g, modal errors, optimal ridge.

Equations (docs/theory.md, clean learning curves) from Bordelon, Canatar & Pehlevan, ICML 2020 (arXiv:2002.02561) and
Canatar, Bordelon & Pehlevan, Nat. Commun. 12 (2021) (arXiv:2006.13198)::

    κ   = λ + κ Σ_k η_k/(P η_k + κ)          L_k = P η_k/(P η_k + κ)
    γ   = (1/P) Σ_k L_k²                      E_g = [Σ_k (1−L_k)² v_k² + v_⊥² + γ σ²]/(1 − γ)
    E_train = (λ/κ)² (E_g + σ²)

Everything is vectorized over the (P, λ, σ²) points of a curve; the eigenvalue sums go
through `ModeSums`, which is exact and cheap for millions of modes.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import NumericalError
from .modesums import ModeSums

__all__ = [
    "KappaSolution",
    "Curve",
    "solve_kappa",
    "solve_kprime",
    "learning_curve",
    "modal_errors",
    "optimal_ridge",
    "heldout_error",
]

_TOL = 1e-14
_TINY_RIDGE = 1e-250
_COARSE_MODES = 5000
_MAXITER = 200


@dataclass(frozen=True)
class KappaSolution:
    """Root of the κ equation at each point (arrays broadcast to a common shape).

    Attributes
    ----------
    kappa : ndarray
        κ (absolute units, as added to P η_k). 0 where ridgeless and P ≥ N₊.
    kprime : ndarray
        κ/P.
    residual : ndarray
        |Σ_k L_k + λ/k' − P| / P (0 where κ = 0 exactly).
    sum_l : ndarray
        Σ_k L_k.
    sum_lml : ndarray
        Σ_k L_k (1 − L_k).
    """

    kappa: np.ndarray
    kprime: np.ndarray
    residual: np.ndarray
    sum_l: np.ndarray
    sum_lml: np.ndarray


@dataclass(frozen=True)
class Curve:
    """A learning curve: one entry per (P, ridge, noise) point."""

    p: np.ndarray
    ridge: np.ndarray
    noise: np.ndarray
    kappa: np.ndarray
    gamma: np.ndarray
    eg: np.ndarray
    e_train: np.ndarray
    residual: np.ndarray
    bias: np.ndarray  # Σ_k (1−L_k)² v_k² + v_⊥²  (bias of the mean predictor)


def _as_mode_sums(eigenvalues, target_power=None):
    if isinstance(eigenvalues, ModeSums):
        return eigenvalues
    eta = np.asarray(eigenvalues, dtype=float)
    w = {"one": 1.0}
    if target_power is not None:
        w["power"] = np.asarray(target_power, dtype=float)
    return ModeSums(eta, w)


def solve_kappa(eigenvalues, p, ridge, *, mode_sums=None):
    """Solve the self-consistent κ equation for every (P, λ) point at once.

    In t = log k' (k' = κ/P), F(t) = Σ_k η_k/(η_k + eᵗ) + λe⁻ᵗ − P is strictly decreasing
    with a bracketed root; a safeguarded Newton iteration runs on all
    points simultaneously.

    Parameters
    ----------
    eigenvalues : ndarray (M,)
        Positive kernel eigenvalues η_k (of K/n), descending.
    p : array_like
        Sample sizes P > 0 (may be non-integer).
    ridge : array_like
        Absolute ridges λ ≥ 0; broadcast against ``p``.
    mode_sums : ModeSums, optional
        A prebuilt evaluator on the same eigenvalues (reused across calls).

    Returns
    -------
    KappaSolution
    """
    ms = mode_sums if mode_sums is not None else _as_mode_sums(eigenvalues)
    eta = ms.eta * ms.scale
    p, lam = np.broadcast_arrays(np.asarray(p, float), np.asarray(ridge, float))
    shape = p.shape
    p, lam = p.ravel(), lam.ravel()
    n_plus = eta.size
    # a ridge below 1e-250·Σ η changes nothing representable except through underflow of
    # k' = λ/(P − N₊) beyond the rank; its exact limit is the ridgeless solution
    lam = np.where(lam < _TINY_RIDGE * eta.sum(), 0.0, lam)
    kp = np.zeros(p.size)
    sum_l = np.full(p.size, float(n_plus))
    sum_lml = np.zeros(p.size)
    residual = np.zeros(p.size)

    zero = (lam == 0) & (p >= n_plus)  # ridgeless beyond the rank: κ = 0, every L_k = 1
    act = np.flatnonzero(~zero)
    if act.size:
        pa, la = p[act], lam[act]
        hi = np.log((eta.sum() + la) / pa)
        lo_k = np.where(la > 0, la / pa, eta[-1] * np.minimum(1e-3, (n_plus / pa - 1) / 2))
        lo = np.log(lo_k)
        t = np.clip(_initial_guess(ms, pa, la), lo, hi)
        done = np.zeros(act.size, bool)
        s1 = np.zeros(act.size)
        s2 = np.zeros(act.size)
        for _ in range(_MAXITER):
            todo = np.flatnonzero(~done)
            if todo.size == 0:
                break
            tt = t[todo]
            k = np.exp(tt)
            a, b = ms(k, [("L", "one"), ("LmL", "one")])
            s1[todo], s2[todo] = a, b
            ridge_term = la[todo] / k
            f = a + ridge_term - pa[todo]
            conv = np.abs(f) <= _TOL * pa[todo]
            # bracket update: F decreasing, so F > 0 means the root lies above t
            lo[todo] = np.where(f > 0, tt, lo[todo])
            hi[todo] = np.where(f < 0, tt, hi[todo])
            dfdt = -(b + ridge_term)
            with np.errstate(divide="ignore", invalid="ignore"):
                tn = tt - f / dfdt
            bad = ~np.isfinite(tn) | (tn <= lo[todo]) | (tn >= hi[todo])
            tn = np.where(bad, 0.5 * (lo[todo] + hi[todo]), tn)
            narrow = (hi[todo] - lo[todo]) <= 4e-16 * np.maximum(1.0, np.abs(tt))
            conv |= narrow
            t[todo] = np.where(conv, tt, tn)
            done[todo[conv]] = True
        if not done.all():
            raise NumericalError(
                f"the κ equation did not converge at {np.sum(~done)} point(s) after {_MAXITER} "
                "iterations; report this with the input spectrum",
                partial=np.exp(t),
            )
        kp[act] = np.exp(t)
        sum_l[act] = s1
        sum_lml[act] = s2
        residual[act] = np.abs(s1 + la / kp[act] - pa) / pa
    return KappaSolution(
        kappa=(kp * p).reshape(shape),
        kprime=kp.reshape(shape),
        residual=residual.reshape(shape),
        sum_l=sum_l.reshape(shape),
        sum_lml=sum_lml.reshape(shape),
    )


def solve_kprime(eigenvalues, p, ridge, *, polish=2, mode_sums=None):
    """k' = κ/P for every (P, λ): `solve_kappa`, then safeguarded Newton steps in log k'.

    The polish makes k' exact to round-off, which finite-difference checks and the gradient
    of the distribution-shift error over the training measure rely on. k' = 0 in the
    ridgeless regime P ≥ N₊.

    Parameters
    ----------
    eigenvalues : ndarray (M,)
        Positive eigenvalues, descending.
    p, ridge : array_like
        Broadcastable sample sizes and absolute ridges.
    polish : int
        Newton steps on F(t) = Σ η/(η + eᵗ) + λe⁻ᵗ − P, each kept only if it lowers |F|.
    mode_sums : ModeSums, optional
        A prebuilt evaluator on the same eigenvalues (reused across calls).

    Returns
    -------
    ndarray
        k' with the broadcast shape of ``p`` and ``ridge``.
    """
    eta = np.asarray(eigenvalues, dtype=np.float64)
    P, ridge = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(ridge, dtype=np.float64))
    kp = np.array(solve_kappa(eta, P, ridge, mode_sums=mode_sums).kprime, dtype=np.float64, copy=True)
    kp = np.broadcast_to(kp, P.shape).copy()
    pos = kp > 0
    if polish and np.any(pos):
        t = np.log(kp[pos])
        Pp, lp = P[pos], ridge[pos]

        def F(t):
            e = np.exp(t)[..., None]
            return (eta / (eta + e)).sum(-1) + lp * np.exp(-t) - Pp

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(polish):
                e = np.exp(t)[..., None]
                f = F(t)
                df = -(eta * e / (eta + e) ** 2).sum(-1) - lp * np.exp(-t)
                t_new = t - f / df
                better = np.isfinite(t_new) & (np.abs(F(t_new)) < np.abs(f))
                t = np.where(better, t_new, t)
        kp[pos] = np.exp(t)
    return kp


def _initial_guess(ms, p, lam):
    """log k' to start Newton from: the root on every s-th mode (weight s) for long spectra.

    The coarse root costs ~1/s of a full iteration and lands within a few per cent, so the
    full-spectrum Newton iteration needs only two or three steps.
    """
    eta = ms.eta * ms.scale
    crude = np.log(eta[np.clip(p.astype(int), 0, eta.size - 1)] + lam / p)
    stride = eta.size // _COARSE_MODES
    if stride < 2:
        return crude
    coarse = getattr(ms, "_coarse", None)
    if coarse is None:
        coarse = ModeSums(eta[::stride], {"one": float(stride)})
        ms._coarse = coarse
    ok = (lam > 0) | (p < 0.5 * coarse.eta.size * stride)
    if not ok.any():
        return crude
    sol = solve_kappa(None, p[ok], lam[ok], mode_sums=coarse)
    good = sol.kprime > 0
    out = crude.copy()
    out[np.flatnonzero(ok)[good]] = np.log(sol.kprime[good])
    return out


def learning_curve(eigenvalues, target_power, residual_power, p, ridge, noise, *, mode_sums=None):
    """Predicted test and training error for every (P, λ, σ²) point (broadcast together).

    Parameters
    ----------
    eigenvalues : ndarray (M,)
        Positive η_k, descending.
    target_power : ndarray (M,)
        v_k² summed over output channels.
    residual_power : float
        v_⊥², target power outside the modes (unlearnable; enters like bias).
    p, ridge, noise : array_like
        Sample sizes, absolute ridges λ ≥ 0, label-noise variances σ² ≥ 0 (summed over
        channels); broadcast together.
    mode_sums : ModeSums, optional
        Prebuilt evaluator with weights ``one`` and ``power``.

    Returns
    -------
    Curve
        ``eg`` is the test MSE against the clean target (summed over channels); it is
        ``inf`` at the ridgeless interpolation point P = N₊ when σ² + v_⊥² > 0.
    """
    ms = mode_sums if mode_sums is not None else _as_mode_sums(eigenvalues, target_power)
    p, lam, s2 = np.broadcast_arrays(*(np.asarray(x, float) for x in (p, ridge, noise)))
    shape = p.shape
    p, lam, s2 = p.ravel(), lam.ravel(), s2.ravel()
    sol = solve_kappa(None, p, lam, mode_sums=ms)
    kp = sol.kprime
    lam = np.where(lam < _TINY_RIDGE * ms.eta.sum() * ms.scale, 0.0, lam)  # as in solve_kappa
    n_plus = ms.eta.size
    bias_modes = np.zeros(p.size)
    pos = kp > 0
    if pos.any():
        (bias_modes[pos],) = ms(kp[pos], [("omL2", "power")])
    bias = bias_modes + residual_power
    with np.errstate(divide="ignore", invalid="ignore"):
        # 1 − γ without cancellation: (Σ L(1−L) + λ/k')/P; γ = (Σ L − Σ L(1−L))/P
        ridge_term = np.where(pos, lam / np.where(pos, kp, 1.0), 0.0)
        one_minus_gamma = np.where(pos, (sol.sum_lml + ridge_term) / p, 1.0 - n_plus / p)
        gamma = np.where(pos, (sol.sum_l - sol.sum_lml) / p, n_plus / p)
        num = bias + gamma * s2
        eg = num / one_minus_gamma
    interp = one_minus_gamma <= 0
    eg = np.where(interp, np.where(num > 0, np.inf, 0.0), eg)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pos, lam / np.where(pos, sol.kappa, 1.0), 0.0)
        e_train = np.where(pos, ratio**2 * (eg + s2), np.maximum(one_minus_gamma, 0.0) * (residual_power + s2))
    e_train = np.where(interp, 0.0, e_train)
    return Curve(
        p=p.reshape(shape),
        ridge=lam.reshape(shape),
        noise=s2.reshape(shape),
        kappa=sol.kappa.reshape(shape),
        gamma=gamma.reshape(shape),
        eg=eg.reshape(shape),
        e_train=e_train.reshape(shape),
        residual=sol.residual.reshape(shape),
        bias=bias.reshape(shape),
    )


def modal_errors(eigenvalues, target_power, residual_power, curve):
    """Error located in each predictor mode (the decomposition by predictor mode).

    E[(v̂_k − v_k)²] = b_k² + (L_k²/P)(Σ_l b_l² + v_⊥² + σ²)/(1 − γ); summed over k and added
    to the unlearnable bin v_⊥² it gives E_g.

    Returns
    -------
    learnability, modal_error : ndarray (S, M)
        One row per curve point.
    unlearnable : float
        The unlearnable bin v_⊥².
    """
    eta = np.asarray(eigenvalues, float)
    v2 = np.asarray(target_power, float)
    p = curve.p.ravel()[:, None]
    kp = (curve.kappa.ravel() / curve.p.ravel())[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        lk = np.where(kp > 0, eta[None, :] / (eta[None, :] + kp), 1.0)
        # 1 − L_k as k'/(η_k + k'), not 1 − L_k: no cancellation for well-learned modes
        b2 = np.where(kp > 0, kp / (eta[None, :] + kp), 0.0) ** 2 * v2[None, :]
        one_minus_gamma = 1.0 - curve.gamma.ravel()[:, None]
        var = (curve.bias.ravel()[:, None] + curve.noise.ravel()[:, None]) / one_minus_gamma
        modal = b2 + lk**2 / p * var
    modal = np.where(np.isfinite(modal), modal, np.inf)
    return lk, modal, float(residual_power)


def optimal_ridge(eigenvalues, target_power, residual_power, p, noise, *, mode_sums=None, grid=41):
    """Ridge minimizing the predicted E_g at each (P, σ²), over λ ≥ 0.

    A log-spaced grid over λ ∈ [1e-10, 1e3]·Σ η (all points at once), then a vectorized
    golden-section refinement in log λ around the best grid value; λ = 0 is compared too.

    Returns
    -------
    ndarray
        The optimal ridge per point (shape of ``broadcast(p, noise)``).
    """
    ms = mode_sums if mode_sums is not None else _as_mode_sums(eigenvalues, target_power)
    p, s2 = np.broadcast_arrays(np.asarray(p, float), np.asarray(noise, float))
    shape = p.shape
    p, s2 = p.ravel(), s2.ravel()
    trace = float(ms.eta.sum() * ms.scale)
    logs = np.linspace(np.log(1e-10 * trace), np.log(1e3 * trace), grid)

    def eg_at(loglam, pp, ss):
        return learning_curve(None, None, residual_power, pp, np.exp(loglam), ss, mode_sums=ms).eg

    vals = eg_at(logs[None, :], p[:, None], s2[:, None])
    best = np.argmin(vals, axis=1)
    step = logs[1] - logs[0]
    a = logs[np.maximum(best - 1, 0)]
    b = logs[np.minimum(best + 1, grid - 1)]
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = eg_at(c, p, s2), eg_at(d, p, s2)
    for _ in range(int(np.ceil(np.log(1e-6 / step) / np.log(g)))):
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        c_new = np.where(left, b - g * (b - a), d)
        d_new = np.where(left, c, a + g * (b - a))
        f_new = eg_at(np.where(left, c_new, d_new), p, s2)
        fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        c, d = c_new, d_new
    lam = np.exp(0.5 * (a + b))
    eg_opt = eg_at(np.log(lam), p, s2)
    eg_zero = learning_curve(None, None, residual_power, p, 0.0, s2, mode_sums=ms).eg
    lam = np.where(eg_zero <= eg_opt, 0.0, lam)
    return lam.reshape(shape)


def heldout_error(curve, n):
    """Predicted clean-target MSE on the n − P samples left out of training.

    The theory's population is the n samples, training points included. At a training point
    the clean-target error is, by the same deterministic equivalents that give E_train,
    e_tr = (λ/κ)² B/(1−γ) + σ²[1 − 2λ/κ + (λ/κ)²/(1−γ)] with
    B = Σ_k (1−L_k)² v_k² + v_⊥² (ridgeless below the rank: e_tr = σ²; beyond it, κ = 0:
    e_tr = (1 − N₊/P) v_⊥² + σ² N₊/P). The held-out error follows from
    n E_g = P e_tr + (n − P) E_ho.

    Parameters
    ----------
    curve : Curve
    n : int
        Number of samples in the population.

    Returns
    -------
    ndarray shaped like ``curve.eg`` (nan where P ≥ n).
    """
    p, lam, s2, gamma = curve.p, curve.ridge, curve.noise, curve.gamma
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(curve.kappa > 0, lam / np.where(curve.kappa > 0, curve.kappa, 1.0), 0.0)
        e_tr = r**2 * curve.bias / (1 - gamma) + s2 * (1 - 2 * r + r**2 / (1 - gamma))
        # ridgeless: interpolation (κ > 0) leaves the noise, e_tr = σ²; beyond the rank (κ = 0) the
        # least-squares fit at the P points keeps γ = N₊/P of the noise and 1 − γ of v_⊥²
        e_tr = np.where(r == 0, np.where(curve.kappa > 0, s2, (1 - gamma) * curve.bias + gamma * s2), e_tr)
        out = (n * curve.eg - p * e_tr) / (n - p)
    out = np.where(np.isinf(curve.eg), np.inf, out)
    return np.where(p < n, out, np.nan)
