"""An equivalent smaller problem for the linear solvers: one point per eigenvalue of Kx that y sees.

A linear network's output is ``f = X v`` with an end-to-end map ``v``, and its loss
``|y - X v|^2 / (2P)`` depends on the data only through ``X^T X / P`` and ``X^T y / P``. At
infinite width the dynamics moves ``v - v(0)`` only inside the Krylov space of ``X^T X`` on
``X^T y`` (the initial weights are isotropic), so only the eigenvalues ``lambda_k`` of
``Kx = X X^T / D`` that ``y`` has weight on matter, each with the norm ``t_k`` of the
projection of ``y`` on its eigenspace. The problem with ``m`` such eigenvalues

    Kx' = (m / P) diag(lambda_k),   y' = sqrt(m / P) t,   m points

has the same training loss up to the constant ``|y_rest|^2 / (2P)`` of the part of ``y`` it
never fits (outside the range of ``X``, or on dropped eigenspaces of weight 0), because
``(m / P)`` in the kernel and ``sqrt(m / P)`` in the targets keep ``X'^T X' / m`` and
``X'^T y' / m`` equal to the originals on the kept directions. Whitened inputs with a linear
teacher reduce to one point, so the residual solver's cost no longer grows with P.
"""

from __future__ import annotations

import numpy as np

__all__ = ["spectral_reduction"]


def spectral_reduction(kx, y, rtol: float = 1e-9):
    """The equivalent problem ``(kx', y', loss_offset)`` of the module doc (training points only).

    Eigenvalues within ``rtol * max`` of each other are one eigenspace; eigenspaces with
    eigenvalue below ``rtol * max`` or target weight below ``rtol * |y|`` are dropped (their part
    of ``y`` goes into ``loss_offset``). The loss of the original problem at every time is the
    reduced problem's loss plus ``loss_offset``.
    """
    kx = np.asarray(kx, float)
    y = np.asarray(y, float)
    P = y.shape[0]
    lam, U = np.linalg.eigh(0.5 * (kx + kx.T))
    proj = (U.T @ y) ** 2
    top = max(float(lam.max()), 0.0)
    order = np.argsort(lam)[::-1]
    groups, weights = [], []
    for i in order:
        if lam[i] <= rtol * top:
            break
        if groups and groups[-1][0] - lam[i] <= rtol * top:
            groups[-1][1].append(lam[i])
            weights[-1] += proj[i]
        else:
            groups.append((lam[i], [lam[i]]))
            weights.append(proj[i])
    keep = [(float(np.mean(g)), float(w)) for (_, g), w in zip(groups, weights) if w > (rtol * np.linalg.norm(y)) ** 2]
    if not keep:
        return np.zeros((0, 0)), np.zeros(0), float(y @ y) / (2 * P)
    lam_k, w_k = np.array(keep).T
    m = lam_k.size
    offset = max(float(y @ y) - float(w_k.sum()), 0.0) / (2 * P)
    return (m / P) * np.diag(lam_k), np.sqrt(m / P) * np.sqrt(w_k), offset
