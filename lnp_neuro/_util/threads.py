"""Thread pinning: the same seed gives the same bits whatever thread counts the machine sets.

A BLAS reduction (``dot``, ``gemm``, the LAPACK calls of ``eigvals`` /
``solve_continuous_lyapunov`` in the covariance and spectrum steps, the QR of the
Lyapunov spectrum) splits its sums across the threads of its pool, so the rounding of
the result depends on ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` /
``MKL_NUM_THREADS``: with 1 against 2 threads most pruned weights of a deployment differed
in their last bits (issue 11). :func:`deterministic_threads` pins every BLAS / OpenMP pool
loaded in the process to one thread for the duration of a run, through ``threadpoolctl``
(which finds OpenBLAS, MKL, BLIS and OpenMP runtimes whatever their names). Numba
kernels of this package are compiled without ``parallel=True``, so
``NUMBA_NUM_THREADS`` cannot change their order of summation.

It is applied at the entry points (``run_deploy``, the experiment runner's ``run_one``,
the console scripts), not inside the algorithms, so a library user who wants threaded
BLAS for their own code keeps it.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Callable, Iterator, TypeVar

__all__ = ["deterministic_threads", "pinned"]

_F = TypeVar("_F", bound=Callable)


@contextlib.contextmanager
def deterministic_threads() -> Iterator[None]:
    """Within the block, every BLAS / OpenMP thread pool of the process uses one thread."""
    # threadpoolctl limits the pools of the libraries loaded when it is called; scipy
    # ships its own OpenBLAS, loaded with scipy.linalg, which the pruning imports lazily.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import scipy.sparse.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def pinned(fn: _F) -> _F:
    """Decorator: run ``fn`` inside :func:`deterministic_threads`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with deterministic_threads():
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
