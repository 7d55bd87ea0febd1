"""Synapse layouts for the fixed kernel's scatter at large N, on the events of one run.

The measurement behind the row blocks of ``lnp_neuro.engines._kernels_fixed`` (its docstring
quotes it): the HRSNN of ``benchmarks/simulator.py``'s N = 100 000 row (fan-in 50, 20
Poisson inputs at 0.05, ~25 % of the neurons spiking per step) runs once in fixed point;
its recurrent events are then added into int32 accumulators with each layout, and the
best of ``--repeats`` is printed as synaptic events/s. Every layout must give the same
accumulators (checked).

- ``plain CSC``: one CSC over all rows (uint32 row indices), as the kernel stored it
  before the blocks;
- ``B blocks, uint16 / uint32``: the rows split into B equal blocks, one CSC per block
  (block-major), row offsets within the block as uint16 or uint32, and each step's
  spikes added block by block (the kernel's layout is uint16 with
  ``ceil(N / 32768)`` blocks).

    .venv/bin/python benchmarks/scatter_layouts.py [--neurons 100000] [--steps 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from simulator import _event_lists  # noqa: E402  (benchmarks/simulator.py)

from lnp_neuro import models  # noqa: E402
from lnp_neuro.engines.fixed_point import quantize  # noqa: E402
from lnp_neuro.engines.simulator import simulate  # noqa: E402


@numba.njit  # not cached: loaded from a file path, the module has no stable name
def _scatter_blocks(ptr, offsets, values, block_rows, spk_ptr, spk_idx, acc):
    # Unsigned indices throughout, as in the kernel: numba wraps a signed index that
    # could be negative, at six instructions per array read.
    events = 0
    for t in range(spk_ptr.shape[0] - 1):
        for b in range(ptr.shape[0]):
            first = np.uint64(b * block_rows)
            for k in range(spk_ptr[t], spk_ptr[t + 1]):
                j = spk_idx[k]
                for p in range(ptr[b, j], ptr[b, j + 1]):
                    acc[first + offsets[p]] += values[p]
                events += np.int64(ptr[b, j + 1] - ptr[b, j])
    return events


def blocked_csc(mat: sp.csr_matrix, n_blocks: int, offset_dtype):
    """(pointers [n_blocks, n_cols + 1], offsets, int16 weights, rows per block)."""
    n_rows, n_cols = mat.shape
    block_rows = -(-n_rows // n_blocks)
    coo = mat.tocoo()
    block = coo.row // block_rows
    order = np.lexsort((coo.row, coo.col, block))
    ptr = np.zeros((n_blocks, n_cols + 1), np.int64)
    base = 0
    for b in range(n_blocks):
        counts = np.bincount(coo.col[block == b], minlength=n_cols)
        ptr[b, 0] = base
        ptr[b, 1:] = base + np.cumsum(counts)
        base = ptr[b, -1]
    offsets = (coo.row[order] - block[order] * block_rows).astype(offset_dtype)
    return ptr.astype(np.uint64), offsets, coo.data[order].astype(np.int16), block_rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--fan-in", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.neurons < 2 or args.steps < 1 or args.repeats < 1:
        ap.error("--neurons must be >= 2, --steps and --repeats >= 1")

    net = models.hrsnn(args.neurons, args.fan_in / args.neurons, seed=args.seed, n_inputs=20)
    x = np.random.default_rng(args.seed + 1).random((args.steps, net.n_inputs)) < 0.05
    q = quantize(net)
    spikes = simulate(net, x, mode="fixed", quantization=q).spikes
    spk_ptr, spk_idx = _event_lists(spikes)
    print(f"N = {args.neurons}, {net.n_active_synapses} synapses, {args.steps} steps, "
          f"{spikes.mean():.3f} of the neurons spike per step")

    csr = sp.csr_matrix(q.weights)
    layouts = [("plain CSC, uint32 rows", 1, np.uint32)]
    for n_blocks in range(2, 7):
        if -(-args.neurons // n_blocks) <= 2 ** 16:
            layouts.append((f"{n_blocks} blocks, uint16 offsets", n_blocks, np.uint16))
    layouts.append(("4 blocks, uint32 offsets", 4, np.uint32))
    reference = None
    for name, n_blocks, dtype in layouts:
        ptr, offsets, values, block_rows = blocked_csc(csr, n_blocks, dtype)
        acc = np.zeros(args.neurons, np.int32)
        _scatter_blocks(ptr, offsets, values, block_rows, spk_ptr[:2], spk_idx, acc)  # compile
        best = np.inf
        for _ in range(args.repeats):
            acc[:] = 0
            t0 = time.perf_counter()
            events = _scatter_blocks(ptr, offsets, values, block_rows, spk_ptr, spk_idx, acc)
            best = min(best, time.perf_counter() - t0)
        if reference is None:
            reference = acc.copy()
        elif not np.array_equal(acc, reference):
            print(f"ACCUMULATORS DIFFER: {name}")
            return 1
        print(f"{name:<28} rows/block {block_rows:>7}  {events / best:.3g} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
