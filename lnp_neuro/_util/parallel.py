"""Multi-core building blocks whose results do not depend on the thread count.

Same seed, same result, bit for bit, whatever the thread count (design section 3,
"Schedule"; :mod:`lnp_neuro._util.threads`). Every routine here splits its work so that each
output element is computed by exactly one thread, in the same order of operations as the
serial code it replaces, so the number of threads changes who computes an element, never
how:

- :func:`map_blocks`: independent blocks of work (whole simulations, single-threaded BLAS
  calls, numba kernels that release the GIL) on a thread pool; results are placed by
  block index.
- :func:`beside`: one worker thread for work that needs none of the calling thread's
  results yet (the deployment scores the unpruned network while it prunes); with one
  thread, the work is done when it is submitted. :func:`one_thread` runs such work on
  its own thread only, leaving the other cores to the caller.
- :func:`csr_matmul` (and :func:`csr_operator` for ARPACK): ``matrix @ x`` of a CSR
  matrix with a float64 vector or block of vectors, one block of rows per thread. Each
  row is summed from 0.0 in storage order, exactly as scipy's ``csr_matvec`` /
  ``csr_matvecs`` do, so the result equals ``matrix @ x`` bit for bit (numba does not
  contract ``a * b + c`` into an FMA). scipy's loops hold the GIL, so threads running
  them take turns; hence numba kernels that release it.

Only coarse blocks are parallelised (milliseconds of work per block, threads meet once per
call): on a machine shared with other jobs, fine-grained parallel loops wait at every
barrier for a descheduled thread and end up slower than serial code.
The number of threads is numba's (``NUMBA_NUM_THREADS``, :func:`numba.set_num_threads`).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Sequence

import numba
import numpy as np
import scipy.sparse as sp

__all__ = ["beside", "csr_matmul", "csr_operator", "map_blocks", "n_threads", "one_thread"]


_inside = threading.local()


def n_threads() -> int:
    """Threads the parallel routines may use: numba's current setting, or 1 inside a
    block of :func:`map_blocks` (the cores are already shared out between the blocks)."""
    if getattr(_inside, "block", False):
        return 1
    return max(1, int(numba.get_num_threads()))


@numba.njit(cache=True, nogil=True)
def _csr_matvec_rows(indptr, indices, data, x, out, r0, r1):
    for i in range(r0, r1):
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            acc += data[p] * x[np.uint64(indices[p])]   # unsigned: no wrap check
        out[i] = acc


@numba.njit(cache=True, nogil=True)
def _csr_matvecs_rows(indptr, indices, data, x, out, r0, r1):
    # scipy's csr_matvecs: y[i, :] starts at 0 and gets a * x[j, :] added per stored
    # entry in storage order.
    n_vecs = x.shape[1]
    for i in range(r0, r1):
        for k in range(n_vecs):
            out[i, k] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            a = data[p]
            j = np.uint64(indices[p])
            for k in range(n_vecs):
                out[i, k] += a * x[j, k]


def _row_blocks(matrix, workers: int) -> np.ndarray:
    # Row blocks of about equal stored entries.
    n = matrix.shape[0]
    bounds = np.searchsorted(matrix.indptr, np.linspace(0, matrix.nnz, workers + 1))
    bounds = np.minimum(bounds, n)
    bounds[0], bounds[-1] = 0, n
    return bounds


def csr_matmul(matrix, x: np.ndarray, workers: int | None = None,
               _bounds: np.ndarray | None = None) -> np.ndarray:
    """``matrix @ x``, bit-identical to scipy's, rows split over ``workers`` threads.

    ``matrix`` is a scipy sparse matrix (anything but float64 CSR with a float64 ``x``
    falls back to scipy), ``x`` a vector (n,) or a block (n, k). One block of rows per
    thread, so the threads meet once per call: for products of milliseconds or more.
    """
    x = np.asarray(x)
    if (not sp.isspmatrix_csr(matrix) or matrix.dtype != np.float64
            or x.dtype != np.float64 or x.ndim not in (1, 2)
            or x.shape[0] != matrix.shape[1]):
        return matrix @ x
    workers = n_threads() if workers is None else max(1, int(workers))
    if workers == 1 and x.ndim == 1:
        # scipy's own loop: alone it is a little faster than the numba one (for a block
        # of vectors numba's is the faster).
        return matrix @ x
    x = np.ascontiguousarray(x)
    n = matrix.shape[0]
    out = np.empty((n,) + x.shape[1:])
    kernel = _csr_matvec_rows if x.ndim == 1 else _csr_matvecs_rows
    bounds = _bounds if _bounds is not None and _bounds.size == workers + 1 \
        else _row_blocks(matrix, workers)

    def rows(b: int) -> None:
        kernel(matrix.indptr, matrix.indices, matrix.data, x, out,
               int(bounds[b]), int(bounds[b + 1]))

    # The calling thread computes the first block itself; the others go to a long-lived
    # pool: a product is a leaf task (it never submits work itself), so sharing the pool
    # cannot deadlock, and ARPACK's thousands of products do not each start threads.
    others = [_leaf_pool(workers - 1).submit(rows, b) for b in range(1, workers)]
    rows(0)
    for future in others:
        future.result()
    return out


_LEAF_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _leaf_pool(workers: int) -> ThreadPoolExecutor:
    # Keyed by process id too: a forked child (multiprocessing, the experiment runner)
    # inherits the parent's pool object but not its threads, so it makes its own.
    key = (os.getpid(), workers)
    pool = _LEAF_POOLS.get(key)
    if pool is None:
        pool = _LEAF_POOLS[key] = ThreadPoolExecutor(max_workers=workers,
                                                     thread_name_prefix="lnp-leaf")
    return pool


def csr_operator(matrix):
    """``LinearOperator`` of ``matrix`` whose products are :func:`csr_matmul`'s.

    ARPACK sees exactly the vectors ``aslinearoperator(m)`` gives it when ``matrix`` is
    ``m`` in CSR form with the same entry order (for a CSC ``m``: sorted CSR indices, each
    row summed in ascending column order either way).
    """
    import scipy.sparse.linalg as spla

    csr = matrix if sp.isspmatrix_csr(matrix) else sp.csr_matrix(matrix)
    workers = n_threads()
    bounds = _row_blocks(csr, workers)       # once, not per product
    return spla.LinearOperator(
        csr.shape, dtype=csr.dtype,
        matvec=lambda v: csr_matmul(csr, np.ravel(v), workers, bounds),
        matmat=lambda v: csr_matmul(csr, np.asarray(v), workers, bounds),
        rmatvec=lambda v: csr.T @ v)


def map_blocks(fn: Callable[[int], object], n_blocks: int, workers: int | None = None
               ) -> Sequence[object]:
    """``[fn(0), ..., fn(n_blocks - 1)]`` computed on a thread pool, in block order.

    For blocks whose work releases the GIL (numpy BLAS calls, numba ``nogil`` kernels).
    ``fn`` must not depend on which thread runs it; with one worker or one block the
    calls are made in order on the calling thread.
    """
    workers = n_threads() if workers is None else max(1, int(workers))
    if workers == 1 or n_blocks <= 1:
        return [fn(b) for b in range(n_blocks)]

    with ThreadPoolExecutor(max_workers=min(workers, n_blocks)) as pool:
        return list(pool.map(lambda b: one_thread(fn, b), range(n_blocks)))


def one_thread(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)`` with :func:`n_threads` 1 on the calling thread, as inside a
    block of :func:`map_blocks`: for work submitted :func:`beside` a caller that keeps
    the other cores busy. The result is the same with any thread count."""
    outer = getattr(_inside, "block", False)
    _inside.block = True
    try:
        return fn(*args, **kwargs)
    finally:
        _inside.block = outer


class _AtOnce:
    """:func:`beside` with one thread: each call is made when it is submitted."""

    def __enter__(self) -> "_AtOnce":
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def submit(self, fn: Callable, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:        # raised by result(), as from a worker thread
            future.set_exception(exc)
        return future


def beside(name: str = "lnp-beside"):
    """An executor (a context manager with ``submit``) of one worker thread, for work the
    calling thread does not need yet; with :func:`n_threads` 1, one that makes each call
    as it is submitted, so that one thread stays one. Either way each call computes what
    it would alone (its BLAS is pinned like the caller's)."""
    if n_threads() > 1:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    return _AtOnce()


@numba.njit(cache=True, nogil=True)
def _spin(n):
    acc = 0.0
    for i in range(n):
        acc += np.sqrt(i)
    return acc


def core_speedup(seconds: float = 0.3) -> float:
    """Wall-time speed-up of :func:`n_threads` busy threads over one, measured now.

    For benchmark headers: on a machine whose other cores are taken by other jobs it is
    near 1, and no multi-core figure measured then means much.
    """
    workers = n_threads()
    _spin(10)
    t = time.perf_counter()
    _spin(1000)
    per_iter = max((time.perf_counter() - t) / 1000, 1e-9)
    n = max(1000, int(seconds / per_iter / 4))
    t = time.perf_counter()
    _spin(n)
    one = time.perf_counter() - t
    t = time.perf_counter()
    threads = [threading.Thread(target=_spin, args=(n,)) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    many = time.perf_counter() - t
    return workers * one / many if many > 0 else float("nan")
