"""The feature route's moments XᵀX/n and Xᵀy/n without holding X in memory.

`stream_moments` reads the features (and targets) from HDF5 in row blocks sized to a memory
budget, converts each block to float64 (float32 stays float32 on disk) and accumulates
XᵀX and Xᵀy by numpy matrix products, both in float64. Its arrays
take O(d² + block·d) memory whatever n is.

`dask_moments` computes the same sums with dask.array over the same HDF5 datasets, on a
local cluster or a running dask.distributed scheduler (optional extra ``kerncurve[dask]``).
"""

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .h5 import guard
from .sizes import DEFAULT_STREAM_MEMORY as DEFAULT_MEMORY
from .sizes import format_size, parse_size

__all__ = ["Moments", "parse_size", "format_size", "plan_rows", "stream_moments", "dask_moments", "DEFAULT_MEMORY"]

MAX_BLOCK_BYTES = 32 << 20  # a float64 block beyond this is no faster for BLAS; it only costs memory
MIN_BLOCK_ROWS = 16

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True)
class Moments:
    """Second moments of the features and their cross moments with the targets.

    Attributes
    ----------
    c : ndarray (d, d)
        XᵀX/n (float64; lower triangle valid, Fortran order, when ``lower_only``).
    b : ndarray (d, c)
        Xᵀy/n.
    total_power : float
        mean_i |y_i|².
    n : int
    trace : float
        tr(XᵀX)/n.
    rows_per_block : int
    lower_only : bool
    channel_power : ndarray (c,)
        mean_i y_ic² per channel (sums to ``total_power``).
    """

    c: np.ndarray
    b: np.ndarray
    total_power: float
    n: int
    trace: float
    rows_per_block: int = 0
    lower_only: bool = True
    channel_power: np.ndarray = None

    def full(self):
        """XᵀX/n as a full symmetric C-ordered array."""
        if not self.lower_only:
            return np.ascontiguousarray(self.c)
        low = np.tril(self.c)
        return low + np.tril(low, -1).T


def plan_rows(n, d, c, itemsize, t_itemsize, memory, chunk_rows=None, option="--memory"):
    """Rows per block for a budget of ``memory`` bytes; `InputError` if not even one block fits.

    The budget covers the float64 accumulators (XᵀX, a copy and the workspace of its
    eigendecomposition: 3·d² doubles), one block as stored plus its float64 copy, and the
    targets' block. The smallest block is one HDF5 chunk of rows (at least 16 rows, or n).
    Blocks are capped at 32 MB of float64 (larger ones are no faster) and aligned to chunks.
    """
    fixed = 8 * (3 * d * d + 2 * d * c)
    per_row = d * itemsize + (8 * d if itemsize != 8 else 0) + c * (t_itemsize + 8)
    min_rows = min(n, max(MIN_BLOCK_ROWS, int(chunk_rows or 1)))
    need = fixed + min_rows * per_row
    if memory < need:
        raise InputError(
            f"{option} {format_size(memory)} is too small for one row block: {min_rows} rows of {d} features "
            f"plus the {d}×{d} float64 accumulators need {format_size(need)}; raise {option} to at least "
            f"{format_size(need)}"
        )
    rows = (memory - fixed) // per_row
    rows = min(rows, max(min_rows, MAX_BLOCK_BYTES // (8 * d)), n)
    if chunk_rows and rows > chunk_rows:
        rows -= rows % chunk_rows  # whole chunks: each is read (and decompressed) once
    return int(max(rows, min_rows))


def _nonfinite_error(where, block, start):
    bad = np.argwhere(~np.isfinite(block))[0]
    idx = (int(bad[0]) + start,) + tuple(int(i) for i in bad[1:])
    return InputError(f"{where} contains NaN or inf (first at index {idx}); clean the data first")


def stream_moments(fsrc, tsrc, memory, progress=None):
    """XᵀX/n, Xᵀy/n and mean |y|² by one pass over the HDF5 datasets in row blocks.

    Parameters
    ----------
    fsrc, tsrc : kerncurve.io.DatasetSource
        Features (n, d) and targets (n,) or (n, c).
    memory : int
        Budget in bytes for the arrays of the pass (see `plan_rows`).
    progress : callable, optional
        Called with the number of rows done after each block.

    Returns
    -------
    Moments
    """
    import h5py

    n, d = fsrc.shape
    c = 1 if len(tsrc.shape) == 1 else tsrc.shape[1]
    rows = plan_rows(n, d, c, fsrc.dtype.itemsize, tsrc.dtype.itemsize, memory,
                     fsrc.chunks[0] if fsrc.chunks else None)
    raw = np.empty((rows, d), dtype=fsrc.dtype)
    x64 = raw if raw.dtype == np.float64 else np.empty((rows, d))
    ybuf = np.empty((rows,) + tuple(tsrc.shape[1:]), dtype=tsrc.dtype)
    acc = np.zeros((d, d))
    b = np.zeros((d, c))
    sum_y2 = np.zeros(c)
    chunk_cache = int(np.prod(fsrc.chunks) * fsrc.dtype.itemsize * 4) if fsrc.chunks else 1 << 20
    with guard(fsrc.path, fsrc.key):
        f = h5py.File(fsrc.path, "r", rdcc_nbytes=max(chunk_cache, 1 << 20))
    try:
        with guard(fsrc.path, fsrc.key):
            xds = f[fsrc.key]
        with guard(tsrc.path, tsrc.key):
            yds = f[tsrc.key]
        for start in range(0, n, rows):  # one iteration per block of ≥ 16 rows (BLAS 3 inside)
            stop = min(start + rows, n)
            m = stop - start
            with guard(fsrc.path, fsrc.key, xds):
                xds.read_direct(raw, np.s_[start:stop], np.s_[0:m])
            with guard(tsrc.path, tsrc.key, yds):
                yds.read_direct(ybuf, np.s_[start:stop], np.s_[0:m])
            xb = x64[:m]
            if x64 is not raw:
                np.copyto(xb, raw[:m], casting="unsafe")
            yb = np.asarray(ybuf[:m], dtype=np.float64).reshape(m, c)
            if not np.isfinite(yb).all():
                raise _nonfinite_error(tsrc.where, yb if len(tsrc.shape) == 2 else yb[:, 0], start)
            # numpy's BLAS only inside the loop: alternating with scipy's own OpenBLAS (syrk) leaves
            # one library's idle threads spinning against the other's, halving throughput on 2 cores
            acc += xb.T @ xb
            b += xb.T @ yb
            sum_y2 += np.einsum("ij,ij->j", yb, yb)
            if progress is not None:
                progress(m)
    finally:
        f.close()
    diag = np.diag(acc).copy()
    if not np.all(np.isfinite(diag)):  # NaN/inf anywhere in a column shows on the diagonal
        raise _find_nonfinite(fsrc, rows)
    if not (np.all(np.isfinite(sum_y2)) and np.all(np.isfinite(b))):
        raise InputError(f"{tsrc.where} holds values whose squares overflow float64; rescale the targets")
    acc /= n
    return Moments(acc, b / n, float(sum_y2.sum()) / n, n, float(diag.sum()) / n, rows, False, sum_y2 / n)


def _find_nonfinite(fsrc, rows):
    """The InputError for the first NaN/inf in a dataset (only called when there is one)."""
    import h5py

    n = fsrc.shape[0]
    with guard(fsrc.path, fsrc.key), h5py.File(fsrc.path, "r") as f:
        ds = f[fsrc.key]
        for start in range(0, n, rows):
            block = np.asarray(ds[start:min(start + rows, n)], dtype=np.float64)
            if not np.isfinite(block).all():
                return _nonfinite_error(fsrc.where, block, start)
    return InputError(f"{fsrc.where}: the second moment overflowed float64; rescale the features")


# --------------------------------------------------------------------------------------
# dask

DASK_HINT = "pip install 'kerncurve[dask]'"


def _import_dask():
    try:
        import dask  # noqa: F401
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"--engine dask needs dask and dask.distributed, which are not installed ({exc.name or exc}); "
            f"install the optional extra: {DASK_HINT}"
        ) from None
    return dask


def _read_rows(path, key, start, stop, ncols):
    """One block of a dataset as float64 (runs on a dask worker)."""
    import h5py

    with guard(path, key), h5py.File(path, "r") as f:
        block = np.asarray(f[key][start:stop], dtype=np.float64)
    block = block.reshape(stop - start, ncols)
    if not np.isfinite(block).all():
        raise _nonfinite_error(f"{path}:{key}", block, start)
    return block


def connect(scheduler=None, timeout=10.0, workers=None, processes=True):
    """A dask.distributed Client: to ``scheduler`` if given (failing after ``timeout`` s), else a LocalCluster."""
    _import_dask()
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{float(timeout)}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            msg = " ".join(str(exc).split())[:160]
            raise InputError(
                f"--scheduler {scheduler}: no dask scheduler answered within {timeout:g} s ({msg}); check the "
                "address (tcp://HOST:PORT) and that the scheduler is running, or omit --scheduler for a local cluster"
            ) from None
    import os

    nw = workers or max(1, min(4, os.cpu_count() or 1))
    cluster = LocalCluster(n_workers=nw, threads_per_worker=1, processes=processes, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    client._kerncurve_cluster = cluster  # closed together with the client (see `dask_moments`)
    return client


def dask_moments(fsrc, tsrc, memory, scheduler=None, timeout=10.0, client=None, workers=None, processes=True):
    """XᵀX/n, Xᵀy/n and mean |y|² with dask.array over the HDF5 datasets.

    Each chunk of rows (sized like `stream_moments`' blocks) is read on a worker; the
    products are summed by dask's tree reduction. ``client``: an existing
    ``distributed.Client`` (else one is made: `connect`).
    """
    dask = _import_dask()
    import dask.array as da

    n, d = fsrc.shape
    c = 1 if len(tsrc.shape) == 1 else tsrc.shape[1]
    rows = plan_rows(n, d, c, fsrc.dtype.itemsize, tsrc.dtype.itemsize, memory,
                     fsrc.chunks[0] if fsrc.chunks else None)
    starts = list(range(0, n, rows))
    read = dask.delayed(_read_rows, pure=True)
    x = da.concatenate([da.from_delayed(read(fsrc.path, fsrc.key, s, min(s + rows, n), d),
                                        shape=(min(s + rows, n) - s, d), dtype=np.float64) for s in starts])
    y = da.concatenate([da.from_delayed(read(tsrc.path, tsrc.key, s, min(s + rows, n), c),
                                        shape=(min(s + rows, n) - s, c), dtype=np.float64) for s in starts])
    xtx = x.T @ x
    xty = x.T @ y
    y2 = (y * y).sum(axis=0)
    own = client is None
    if own:
        client = connect(scheduler, timeout, workers=workers, processes=processes)
    try:
        xtx, xty, y2 = client.compute([xtx, xty, y2], sync=True)
    finally:
        if own:
            cluster = getattr(client, "_kerncurve_cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    xtx = np.asarray(xtx, dtype=np.float64)
    xtx = 0.5 * (xtx + xtx.T)
    y2 = np.asarray(y2, dtype=np.float64).reshape(c) / n
    return Moments(xtx / n, np.asarray(xty, dtype=np.float64) / n, float(y2.sum()), n, float(np.trace(xtx)) / n,
                   rows, False, y2)
