"""Dense symmetric eigenproblems at the eigenvalues-only cost (the Gram route).

The theory needs every eigenvalue η_k of a symmetric PSD matrix A and the projections
Uᵀy of a few target vectors on its eigenvectors, never the eigenvectors themselves. So:

1. Householder tridiagonalization A = Q T Qᵀ (LAPACK ``dsytrd`` with its optimal
   workspace: the blocked, BLAS-3 half of the reduction; the default ``lwork`` falls back to
   the unblocked code);
2. z = Qᵀy by applying the stored reflectors to the targets (LAPACK ``dormtr``; a blocked
   compact-WY version in numpy when LAPACK's is not reachable);
3. T's eigenvalues and Sᵀz together, from a bidiagonal factor. T + sI = BBᵀ with B upper
   bidiagonal (``dpttrf`` on the reversed T: the "UL" Cholesky factor; s = n·eps·‖T‖ keeps
   round-off-negative eigenvalues away from zero), so T's eigenvectors are B's left singular
   vectors Q and η = σ² − s. Fast path: the bidiagonal divide-and-conquer SVD in compact form
   (``dlasda``, the engine of LAPACK's ``dgelsd``) and Qᵀz applied from that compact form
   (``dlalsa``): O(n²) secular-equation work with no n×n vectors, about half the time of
   the implicit-QR alternative. B splits into independent blocks at negligible couplings;
   blocks of at most 25 rows go to ``dbdsqr``, which applies its rotations to z's c columns.
   Otherwise (T + sI not positive definite, i.e. A is not PSD to round-off) MRRR
   (``eigh_tridiagonal``, driver ``stemr``) and an explicit Sᵀz.

Step 1 is the cost of ``scipy.linalg.eigvalsh`` (which is ``dsytrd`` + ``dsterf``); steps 2–3
are O(n²c). ``scipy.linalg.eigh`` with eigenvectors costs about twice as much.

``dormtr``, ``dlasda``, ``dlalsa`` and ``dbdsqr`` are not wrapped by ``scipy.linalg.lapack``;
they are called through the function pointers that ``scipy.linalg.cython_lapack`` exports
(the route numba uses).
"""

import ctypes
import functools

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

__all__ = ["eigh_project", "tridiagonalize", "apply_qt", "tridiagonal_eig_project"]


# --------------------------------------------------------------------------------------
# LAPACK routines that scipy.linalg.lapack does not wrap, through cython_lapack's pointers

@functools.lru_cache(maxsize=None)
def _cython_lapack(name, nargs):
    """A ctypes function for ``scipy.linalg.cython_lapack.<name>`` (all arguments pointers), or None."""
    try:
        import scipy.linalg.cython_lapack as cl

        cap = cl.__pyx_capi__[name]
        get_name = ctypes.pythonapi.PyCapsule_GetName
        get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
        get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
        get_ptr.restype, get_ptr.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        sig = get_name(cap).decode()
        if "int *" not in sig:  # only the LP64 interface is supported here
            return None
        ptr = get_ptr(cap, get_name(cap))
        if not ptr:
            return None
        return ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * nargs))(ptr)
    except Exception:  # noqa: BLE001 - any failure means: use the fallback
        return None


def _p(arr):
    return arr.ctypes.data_as(ctypes.c_void_p)


def _int(v):
    return ctypes.byref(ctypes.c_int(int(v)))


def _char(s):
    return ctypes.c_char_p(s.encode())


# --------------------------------------------------------------------------------------
# Step 1: A = Q T Qᵀ

def tridiagonalize(af):
    """Householder tridiagonalization of a symmetric matrix, overwriting ``af``.

    Parameters
    ----------
    af : ndarray (n, n), float64, Fortran-contiguous
        Only its lower triangle is read. (A C-contiguous symmetric matrix ``a`` can be passed
        as ``a.T``.) Overwritten by the reflectors.

    Returns
    -------
    c, d, e, tau
        ``c`` holds the reflectors (lower storage), ``d`` (n,) and ``e`` (n−1,) the diagonal
        and off-diagonal of T, ``tau`` (n−1,) the reflector scalars.
    """
    n = af.shape[0]
    lwork, info = lapack.dsytrd_lwork(n, lower=1)
    if info != 0:
        lwork = n * 64
    c, d, e, tau, info = lapack.dsytrd(af, lower=1, lwork=max(int(lwork), 1), overwrite_a=1)
    if info != 0:  # pragma: no cover - dsytrd only fails on invalid arguments
        raise RuntimeError(f"dsytrd failed (info={info})")
    return c, d, e, tau


# --------------------------------------------------------------------------------------
# Step 2: z = Qᵀ y

def _ormtr_lapack(c, tau, y):
    fn = _cython_lapack("dormtr", 13)
    if fn is None:
        return None
    n = c.shape[0]
    z = np.array(y, dtype=np.float64, order="F", copy=True)
    m, nc = z.shape
    info = ctypes.c_int(0)
    work = np.empty(1)
    c = np.asfortranarray(c)
    tau = np.ascontiguousarray(tau, dtype=np.float64)
    args = (_char("L"), _char("L"), _char("T"), _int(m), _int(nc), _p(c), _int(n), _p(tau), _p(z), _int(m))
    fn(*args, _p(work), _int(-1), ctypes.byref(info))
    if info.value != 0:
        return None
    lwork = max(int(work[0]), nc, 1)
    work = np.empty(lwork)
    fn(*args, _p(work), _int(lwork), ctypes.byref(info))
    if info.value != 0:
        return None
    return z


def _ormtr_numpy(c, tau, y, block=64):
    """Qᵀy by blocks of ``block`` reflectors in compact WY form (numpy/BLAS 3).

    Q = H(1)…H(n−1), H(i) = I − τ_i v_i v_iᵀ with v_i = [0…0, 1 (row i+1), c[i+2:, i]]. A
    block of consecutive reflectors is I − V S⁻¹ Vᵀ with S = diag(1/τ) + striu(VᵀV)
    (Joffrain, Low, Quintana-Ortí, van de Geijn & Van Zee, ACM TOMS 32, 2006), so
    Qᵀy applies (I − V S⁻ᵀ Vᵀ) block after block, first block first.
    """
    n = c.shape[0]
    z = np.array(y, dtype=np.float64, copy=True)
    for j0 in range(0, n - 1, block):  # n/64 blocks, each a few BLAS-3 calls
        j1 = min(j0 + block, n - 1)
        m = j1 - j0
        v = np.tril(c[j0 + 1:, j0:j1], -1)  # row r ↔ global row j0+1+r; column jj ↔ reflector j0+jj
        idx = np.arange(m)
        v[idx, idx] = 1.0
        t = tau[j0:j1]
        live = t != 0
        v[:, ~live] = 0.0  # τ = 0: the reflector is the identity
        s = np.triu(v.T @ v, 1)
        s[idx, idx] = np.where(live, 1.0 / np.where(live, t, 1.0), 1.0)
        w = v.T @ z[j0 + 1:]
        w = scipy.linalg.solve_triangular(s, w, trans="T", lower=False, check_finite=False)
        z[j0 + 1:] -= v @ w
    return z


def apply_qt(c, tau, y):
    """z = Qᵀy for the Q of `tridiagonalize` (LAPACK ``dormtr``, else blocked numpy)."""
    z = _ormtr_lapack(c, tau, y)
    return _ormtr_numpy(c, tau, y) if z is None else np.ascontiguousarray(z)


# --------------------------------------------------------------------------------------
# Step 3: eigenvalues of T and Sᵀz

_LEAF = 25  # leaf size of the divide-and-conquer tree (LAPACK's ilaenv value for dgelsd)


def _ul_bidiagonal(d, e):
    """Upper bidiagonal B with BBᵀ = (T + sI)/scale, from T = tridiag(d, e); None if not PD.

    The Cholesky factor of the reversed matrix J(T + sI)J = LLᵀ (``dpttrf``), reversed back:
    B = JLJ. Dividing by scale ≥ ‖T‖ puts ‖B‖ near 1, where LAPACK's D&C tolerances are set.

    Returns
    -------
    bd, be, scale, shift
        η = σ²·scale − shift for the singular values σ of B.
    """
    n = d.size
    scale = float(np.max(np.abs(d)) + 2 * (np.max(np.abs(e)) if e.size else 0.0))
    if scale == 0 or not np.isfinite(scale):
        return None
    shift = max(n, 16) * np.finfo(np.float64).eps * scale
    dd, ee, info = lapack.dpttrf((d[::-1] + shift) / scale, e[::-1] / scale)
    if info != 0:  # not positive definite: A has eigenvalues below −s
        return None
    sd = np.sqrt(dd)
    return np.ascontiguousarray(sd[::-1]), np.ascontiguousarray((ee * sd[:-1])[::-1]), scale, shift


def _bdsqr_left(bd, be, z):
    """(σ, Qᵀz) for the upper bidiagonal B = QΣPᵀ by implicit QR (``dbdsqr``); None on failure."""
    fn = _cython_lapack("dbdsqr", 15)
    if fn is None:
        return None
    m, nc = z.shape
    d = np.array(bd, dtype=np.float64, copy=True)
    e = np.zeros(max(m, 2))
    e[: m - 1] = be
    cz = np.array(z, dtype=np.float64, order="F", copy=True)
    work = np.empty(max(4 * m, 1))
    dummy = np.zeros(1)
    info = ctypes.c_int(0)
    fn(_char("U"), _int(m), _int(0), _int(0), _int(nc), _p(d), _p(e), _p(dummy), _int(1), _p(dummy), _int(1),
       _p(cz), _int(m), _p(work), ctypes.byref(info))
    return None if info.value != 0 else (d, cz)


def _lasd_left(bd, be, z):
    """(σ, Qᵀz) for the upper bidiagonal B = QΣPᵀ by divide and conquer; None on failure.

    ``dlasda`` computes the SVD in compact form (Gu & Eisenstat's stable secular-equation
    merges, SIAM J. Matrix Anal. Appl. 16, 1995; the tree's Givens rotations, permutations,
    poles and the stabilized z vectors of every merge) and ``dlalsa`` applies Qᵀ from that
    form to the c columns of z, as ``dgelsd`` does; Q itself is never formed.
    """
    fa, fl = _cython_lapack("dlasda", 24), _cython_lapack("dlalsa", 26)
    if fa is None or fl is None:
        return None
    m, nc = z.shape
    lvl = int(np.log(m / (_LEAF + 1)) / np.log(2.0)) + 2  # dlasdt's tree depth, one to spare

    def real(cols):
        return np.zeros((m, cols), order="F")

    def ints(cols):
        return np.zeros((m, cols), dtype=np.intc, order="F")

    d = np.array(bd, dtype=np.float64, copy=True)
    e = np.array(be, dtype=np.float64, copy=True)
    # two spare columns in U and VT: leaves of _LEAF + 1 rows if LAPACK's log-based tree depth
    # ever rounded down (dgelsd's shared workspace would absorb that; separate arrays do not)
    u, vt, k, givptr, c, s = real(_LEAF + 2), real(_LEAF + 3), ints(1), ints(1), real(1), real(1)
    difl, difr, zz, poles = real(lvl), real(2 * lvl), real(lvl), real(2 * lvl)
    givcol, perm, givnum = ints(2 * lvl), ints(lvl), real(2 * lvl)
    work = np.zeros(6 * m + (_LEAF + 1) ** 2)
    iwork = np.zeros(7 * m, dtype=np.intc)
    info = ctypes.c_int(0)
    tree = (_p(u), _int(m), _p(vt), _p(k), _p(difl), _p(difr), _p(zz), _p(poles), _p(givptr), _p(givcol), _int(m),
            _p(perm), _p(givnum), _p(c), _p(s), _p(work), _p(iwork), ctypes.byref(info))
    fa(_int(1), _int(_LEAF), _int(m), _int(0), _p(d), _p(e), *tree)
    if info.value != 0:
        return None
    if nc == 0:  # dlalsa refuses NRHS = 0 (and LAPACK's xerbla prints about it)
        return d, np.zeros((m, 0))
    b = np.array(z, dtype=np.float64, order="F", copy=True)
    bx = np.zeros((m, nc), order="F")
    fl(_int(0), _int(_LEAF), _int(m), _int(nc), _p(b), _int(m), _p(bx), _int(m), *tree)
    return None if info.value != 0 else (d, bx)


def _dc_project(d, e, z):
    """η (descending) and Sᵀz from T + sI = BBᵀ, B's blocks by D&C or implicit QR; None if not applicable."""
    if d.size == 1:
        return d.astype(np.float64), np.array(z, dtype=np.float64)
    fac = _ul_bidiagonal(d, e)
    if fac is None:
        return None
    bd, be, scale, shift = fac
    n = bd.size
    eps = np.finfo(np.float64).eps
    # dgelsd's conventions at ‖B‖ ≈ 1: no pivot below eps (none is, after the shift), and a
    # coupling below eps splits B (changing σ by less than eps)
    bd = np.where(np.abs(bd) < eps, eps, bd)
    cut = np.flatnonzero(np.abs(be) < eps)
    starts, stops = np.r_[0, cut + 1], np.r_[cut + 1, n]
    sigma = bd.copy()  # 1×1 blocks: σ = d, Q = 1
    proj = np.array(z, dtype=np.float64, copy=True)
    for a, b in zip(starts[stops - starts > 1], stops[stops - starts > 1]):
        solve = _bdsqr_left if b - a <= _LEAF else _lasd_left
        out = solve(bd[a:b], be[a:b - 1], proj[a:b])
        if out is None:
            return None
        sigma[a:b], proj[a:b] = out
    eta = sigma**2 * scale - shift
    order = np.argsort(-eta, kind="stable")
    return eta[order], proj[order]


def _stemr_project(d, e, z):
    w, s = scipy.linalg.eigh_tridiagonal(d, e, lapack_driver="stemr", check_finite=False)
    return w[::-1], (s.T @ z)[::-1]


def tridiagonal_eig_project(d, e, z):
    """All eigenvalues of the tridiagonal T (descending) and Sᵀz, S its eigenvectors."""
    out = _dc_project(d, e, z)
    return _stemr_project(d, e, z) if out is None else out


def eigh_project(a, y, *, overwrite_a=False, method="auto"):
    """Eigenvalues of a symmetric matrix and the projections of ``y`` on its eigenvectors.

    Parameters
    ----------
    a : ndarray (n, n)
        Symmetric. A Fortran-contiguous array is read in its lower triangle, a C-contiguous
        one in its upper triangle (the same numbers when ``a`` is symmetric).
    y : ndarray (n, c)
    overwrite_a : bool
        Allow ``a`` to be destroyed (saves a copy).
    method : {"auto", "tridiagonal", "eigh"}
        "auto"/"tridiagonal": the eigenvalues-only route of this module; "eigh": LAPACK
        ``syevd`` with eigenvectors (the reference).

    Returns
    -------
    eta : ndarray (n,), descending
    proj : ndarray (n, c)
        Uᵀy, row k for eigenvalue eta[k].
    """
    a = np.asarray(a, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if method == "eigh":
        eta, u = scipy.linalg.eigh(a, overwrite_a=overwrite_a, check_finite=False, driver="evd")
        return eta[::-1], (u.T @ y)[::-1]
    if a.shape[0] == 1:
        return a.reshape(1).copy(), y.copy()
    if a.flags.f_contiguous:
        af = a if overwrite_a else a.copy(order="F")
    elif a.flags.c_contiguous:
        af = (a if overwrite_a else a.copy()).T  # the transpose of a symmetric matrix
    else:
        af = np.array(a, order="F")
    c, d, e, tau = tridiagonalize(af)
    z = apply_qt(c, tau, y)
    del c, af
    return tridiagonal_eig_project(d, e, z)
