"""Multi-core paths: the same bits with 1 and 2 threads (lnp_neuro._util.parallel)."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro._util.parallel import beside, csr_matmul, csr_operator, map_blocks
from lnp_neuro.model.build import hrsnn

needs_two = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                               reason="numba has fewer than 2 threads here")


def _with_threads(k, fn):
    before = numba.get_num_threads()
    numba.set_num_threads(k)
    try:
        return fn()
    finally:
        numba.set_num_threads(before)


def test_csr_matmul_equals_scipy_bit_for_bit_for_any_split():
    w = sp.csr_matrix(hrsnn(300, 0.1, seed=1).weights)
    w.data[::7] *= 1e-9                         # mixed magnitudes: the order would show
    x = np.random.default_rng(0).standard_normal(300)
    block = np.random.default_rng(1).standard_normal((300, 7))
    for workers in (1, 2, 3, 8):
        assert np.array_equal(csr_matmul(w, x, workers), w @ x)
        assert np.array_equal(csr_matmul(w, block, workers), w @ block)
    # Anything but float64 CSR goes to scipy.
    assert np.array_equal(csr_matmul(w.tocsc(), x, 2), w.tocsc() @ x)
    op = csr_operator(w.tocsc())
    assert np.array_equal(op.matvec(x), w @ x)


def test_map_blocks_keeps_block_order():
    assert list(map_blocks(lambda b: b * b, 7, workers=3)) == [b * b for b in range(7)]
    assert list(map_blocks(lambda b: b, 1)) == [0]


@needs_two
def test_lambda_max_and_covariance_do_not_depend_on_the_thread_count():
    from lnp_neuro.dynamics.operating_point import operating_lambda_max
    from lnp_neuro.prune.covariance import covariance_at_edges
    from lnp_neuro.prune.lyapunov_matrix import lyapunov_matrix

    net = hrsnn(450, 0.1, seed=2)                # above the dense limits: ARPACK, estimator
    w = sp.csr_matrix(net.weights) * 0.05
    leak = 1.0 / net.tau_mem
    lam = np.random.default_rng(3).normal(-20.0, 5.0, net.n_total_neurons)

    def run():
        est = operating_lambda_max(net, n_drives=2, n_steps=300, seed=5, k=4)
        cov = covariance_at_edges(w, leak, seed=6, method="estimate", duration=0.05)
        return (est.values, est.spectra[0].neuron_exponents, est.operating_points[1].gains,
                est.coupling_abscissa, cov.edges, cov.diagonal,
                lyapunov_matrix(w, lam, 1e-3, block_rows=64))

    one, two = _with_threads(1, run), _with_threads(2, run)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


@needs_two
def test_lnp_iteration_is_the_same_with_one_and_two_threads():
    from lnp_neuro.prune import lnp
    net = hrsnn(420, 0.1, seed=3)

    def run():
        return lnp(net, n_iter=1, seed=4, bo_budget=2, progress=False,
                   spectrum_options={"n_steps": 300})

    (a, ha), (b, hb) = _with_threads(1, run), _with_threads(2, run)
    assert np.array_equal(a.weights.data, b.weights.data)
    assert np.array_equal(a.weights.indices, b.weights.indices)
    assert np.array_equal(a.neuron_active, b.neuron_active)
    assert np.array_equal(a.tau_mem, b.tau_mem)
    assert [h["lambda_max"] for h in ha] == [h["lambda_max"] for h in hb]
    assert [h["mean_ipr"] for h in ha] == [h["mean_ipr"] for h in hb]


def _product_in_child(_):
    w = sp.csr_matrix(hrsnn(300, 0.1, seed=1).weights)
    x = np.ones(300)
    return bool(np.array_equal(csr_matmul(w, x, 2), w @ x))


def test_a_forked_child_gets_its_own_thread_pool():
    import multiprocessing as mp
    w = sp.csr_matrix(hrsnn(300, 0.1, seed=1).weights)
    csr_matmul(w, np.ones(300), 2)            # the parent's pool exists before the fork
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.map_async(_product_in_child, [0]).get(timeout=60) == [True]


def test_common_neighbour_counts_equal_the_dense_product():
    from lnp_neuro.prune.lyapunov_matrix import _common_counts
    rng = np.random.default_rng(8)
    for n in (5, 63, 64, 130):                     # bitset word boundaries
        a = sp.random(n, n, density=0.2, random_state=rng, format="csr")
        adj = ((a + a.T) > 0).astype(np.float64).tocsr()
        adj.setdiag(0)
        adj.eliminate_zeros()
        post, pre = np.nonzero(a.toarray())
        dense = adj.toarray()
        expected = (dense @ dense.T)[post, pre]
        got = _with_threads(1, lambda: _common_counts(adj, post, pre))
        assert np.array_equal(got, expected)
        assert np.array_equal(_common_counts(adj, post, pre), expected)


def test_blocks_of_map_blocks_do_not_split_again():
    from lnp_neuro._util.parallel import n_threads
    inner = _with_threads(2, lambda: list(map_blocks(lambda b: n_threads(), 2)))
    assert inner == [1, 1] or numba.config.NUMBA_NUM_THREADS < 2


def test_core_speedup_is_a_positive_ratio():
    from lnp_neuro._util.parallel import core_speedup
    ratio = core_speedup(0.05)
    assert 0.2 < ratio < 64


def test_beside_runs_at_once_with_one_thread_and_on_a_worker_with_more():
    def start(threads):
        order = []
        with _with_threads(threads, lambda: beside()) as pool:
            future = pool.submit(lambda: order.append("block") or 7)
            order.append("caller")
            failed = pool.submit(lambda: 1 / 0)
            assert future.result() == 7
        with pytest.raises(ZeroDivisionError):
            failed.result()
        return order
    assert start(1) == ["block", "caller"]
    if numba.config.NUMBA_NUM_THREADS >= 2:
        assert sorted(start(2)) == ["block", "caller"]
