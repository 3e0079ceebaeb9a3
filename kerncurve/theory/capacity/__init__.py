"""Capacity of group-invariant linear readouts.

A finite group G acts on R^d by orthogonal matrices ρ(g). Each of P objects is an orbit
{ρ(g)x_μ : g ∈ G}; a labeling y ∈ {±1}^P is *G-invariantly separable* when one w gives
y_μ w·ρ(g)x_μ > 0 for every μ and g. Averaging those inequalities over g shows that the
orbits are separable exactly when their centroids Πx_μ are, with

    Π = (1/|G|) Σ_g ρ(g),        N₀ = tr Π = dim{v : ρ(g)v = v for all g},

so Cover's function-counting theorem in N₀ dimensions gives the separable fraction

    f(P, N₀) = 2^{1−P} Σ_{k<N₀} C(P−1, k) = Pr[Binomial(P−1, ½) ≤ N₀ − 1],

capacity 2N₀ (2N₀ + 2 with a bias) instead of 2d without invariance.

Source: Farrell, Bordelon, Trivedi, Pehlevan, *Capacity of Group-invariant Linear Readouts
from Equivariant Representations: How Many Objects can be Linearly Classified Under All
Possible Views?*, ICLR 2022 (arXiv:2110.07472).

* `cover` — Cover's count (`cover_fraction`, `cover_capacity`);
* `groups` — validation of a representation, Π and N₀ (`analyze_group`);
* `orbits` — N₀ estimated from orbit point clouds (`estimate_n0`);
* `builtin` — built-in groups (`parse_group`: ``cyclic:N``, ``cyclic2d:H,W``, ``perm:N``).
"""

from .builtin import (
    MAX_PERM_N,
    MAX_REPRESENTATION_ENTRIES,
    check_size,
    cyclic,
    cyclic2d,
    group_size,
    parse_group,
    permutation,
    z4_rotation,
)
from .cover import cover_capacity, cover_fraction
from .groups import GroupAnalysis, Representation, analyze_group, validate_representation
from .orbits import OrbitEstimate, estimate_n0, orbit_centroids, orbits_from_representation

__all__ = [
    "Representation",
    "GroupAnalysis",
    "OrbitEstimate",
    "cover_fraction",
    "cover_capacity",
    "validate_representation",
    "analyze_group",
    "orbit_centroids",
    "estimate_n0",
    "orbits_from_representation",
    "cyclic",
    "cyclic2d",
    "permutation",
    "z4_rotation",
    "parse_group",
    "group_size",
    "check_size",
    "MAX_REPRESENTATION_ENTRIES",
    "MAX_PERM_N",
]
