"""Linear algebra the spectrum needs: all eigenvalues with target projections (the Gram
route, `dense`), and the top-k eigenpairs of a matrix-free operator (`krylov`)."""

from .dense import apply_qt, eigh_project, tridiagonal_eig_project, tridiagonalize
from .krylov import TopEig, top_eigenpairs

__all__ = ["eigh_project", "tridiagonalize", "apply_qt", "tridiagonal_eig_project", "top_eigenpairs", "TopEig"]
