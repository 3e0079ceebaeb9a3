"""Beneficial and adversarial test measures for a fixed training measure.

E_g(p→q) = Σ_j q_j e_j is linear in q (e_j the pointwise error), so its optimum over the
simplex is a vertex: the point (or group) of smallest or largest error. Kept close to a
reference q₀ by an entropy penalty τ or a KL budget ρ, the optimum is the tilt
q ∝ q₀·exp(∓e/τ).
"""

from dataclasses import dataclass

import numpy as np

from kerncurve.errors import InputError

from .problem import check_measure

__all__ = ["TEST_OBJECTIVES", "TestMeasureResult", "tilt", "kl_divergence", "optimize_test_measure"]

TEST_OBJECTIVES = ("beneficial-test", "adversarial-test")


@dataclass(frozen=True)
class TestMeasureResult:
    """Result of `optimize_test_measure`.

    Attributes
    ----------
    vertex : ndarray (n_q,)
        The unconstrained optimum: a point mass (or q₀ restricted to the best/worst group).
    vertex_error : float
    vertex_group : object or None
        The chosen group label (with ``groups``).
    group_labels, group_errors : ndarray or None
        Every group's error under q₀ restricted to it.
    tilted : ndarray (n_q,) or None
        q ∝ q₀·exp(∓e/τ) (with a temperature or a KL budget).
    tilted_error : float or None
    temperature : float or None
        τ used (found by a 1-D search with a KL budget).
    kl : float or None
        KL(tilted ‖ q₀).
    base_error : float
        Σ q₀ e, the error under the reference measure.
    """

    __test__ = False  # not a pytest class

    vertex: np.ndarray
    vertex_error: float
    vertex_group: object
    group_labels: np.ndarray
    group_errors: np.ndarray
    tilted: np.ndarray
    tilted_error: float
    temperature: float
    kl: float
    base_error: float


def tilt(errors, q0, temperature, sign):
    """q ∝ q₀·exp(sign·e/τ), computed in log space (sign +1 adversarial, −1 beneficial)."""
    errors = np.asarray(errors, dtype=np.float64)
    with np.errstate(divide="ignore"):
        logq = np.log(q0) + sign * errors / temperature
    logq = logq - logq.max()
    w = np.exp(logq)
    return w / w.sum()


def kl_divergence(q, q0):
    """KL(q ‖ q₀) = Σ q log(q/q₀) over supp q."""
    m = q > 0
    return float(np.sum(q[m] * (np.log(q[m]) - np.log(q0[m]))))


def optimize_test_measure(errors, q0=None, objective="adversarial-test", temperature=None,
                          kl_budget=None, groups=None):
    """Best or worst test measure for a fixed training measure.

    E_g(p→q) = Σ_j q_j e_j is linear in q, so the optimum over the simplex is a vertex: the
    point (or group) of smallest/largest error, within the support of q₀. With an entropy
    penalty τ the optimum is the tilt q ∝ q₀·exp(∓e/τ); with a KL budget ρ, τ is found by a
    1-D search on log τ so that KL(q‖q₀) = ρ (KL decreases monotonically in τ).

    Parameters
    ----------
    errors : ndarray (n_q,)
        Pointwise predicted errors e_j (`pointwise_error`).
    q0 : ndarray or None
        Reference test measure (uniform if None).
    objective : {"beneficial-test", "adversarial-test"}
    temperature : float or None
        τ > 0 for the tilted measure.
    kl_budget : float or None
        ρ > 0; overrides ``temperature``.
    groups : ndarray or None
        Group labels: the vertex is then q₀ restricted to the best/worst group.

    Returns
    -------
    TestMeasureResult
    """
    from scipy.optimize import brentq

    e = np.asarray(errors, dtype=np.float64)
    n = e.shape[0]
    q0 = check_measure(q0, n, "test weights", param="q0")
    if objective not in TEST_OBJECTIVES:
        raise InputError(f"objective must be beneficial-test or adversarial-test, got {objective!r}",
                         param="objective")
    sign = 1.0 if objective == "adversarial-test" else -1.0
    if temperature is not None and not temperature > 0:
        raise InputError(f"temperature must be positive, got {temperature}", param="temperature")
    if kl_budget is not None and not kl_budget > 0:
        raise InputError(f"kl_budget must be positive, got {kl_budget}", param="kl_budget")
    supp = q0 > 0
    base = float(np.dot(q0, e))
    labels = gerr = None
    vgroup = None
    if groups is not None:
        groups = np.asarray(groups)
        labels, inv = np.unique(groups, return_inverse=True)
        mass = np.bincount(inv, weights=q0)
        seen = mass > 0  # groups meeting supp q0
        labels = labels[seen]
        gerr = np.bincount(inv, weights=q0 * e)[seen] / mass[seen]
        k = int(np.argmax(sign * gerr))
        vgroup = labels[k]
        vertex = np.where(groups == vgroup, q0, 0.0)
        vertex = vertex / vertex.sum()
    else:
        score = np.where(supp, sign * e, -np.inf)
        vertex = np.zeros(n)
        vertex[int(np.argmax(score))] = 1.0
    vertex_error = float(np.dot(vertex, e))
    tilted = t_err = kl = None
    tau = temperature
    if kl_budget is not None:
        spread = float(e[supp].max() - e[supp].min())
        top = (sign * e == np.max(sign * e[supp])) & supp
        kl_max = -np.log(q0[top].sum())
        if spread == 0 or kl_budget >= kl_max:
            tau = spread * 1e-12 if spread > 0 else np.inf
        else:
            def f(logt):
                return kl_divergence(tilt(e, q0, np.exp(logt), sign), q0) - kl_budget

            lo, hi = np.log(spread * 1e-6), np.log(spread * 1e6)
            while f(lo) < 0:
                lo -= 5.0
            tau = float(np.exp(brentq(f, lo, hi, xtol=1e-12)))
    if tau is not None:
        tilted = q0.copy() if np.isinf(tau) else tilt(e, q0, tau, sign)
        t_err = float(np.dot(tilted, e))
        kl = kl_divergence(tilted, q0)
    return TestMeasureResult(
        vertex=vertex, vertex_error=vertex_error, vertex_group=vgroup, group_labels=labels,
        group_errors=gerr, tilted=tilted, tilted_error=t_err, temperature=tau, kl=kl,
        base_error=base,
    )
