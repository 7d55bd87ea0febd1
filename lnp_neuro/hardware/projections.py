"""Per-projection and per-population accounting of a run: SOPs, cores and weight bits.

The energy accountant (:mod:`lnp_neuro.hardware.energy`) counts the SOPs of the whole flat
network. A graph of populations (:mod:`lnp_neuro.model`) lays every projection out as one
block of the flat matrices (:func:`lnp_neuro.model.flatten`): a projection ``p`` from
``source`` to ``target`` owns the entries of ``W`` (or of ``W_in`` for an input) in the
rows of ``target`` and the columns of ``source``. The blocks partition the stored
entries (at most one projection per source and target, all of one step), so the same
AND-mask model summed block by block gives figures that add up exactly to the run's::

    SOPs(p)       = sum_{(j, i) in block(p)} c_i [m_i AND m_ij AND m_j]   (population source)
    SOPs(p)       = sum_{(j, i) in block(p)} x_i [m_j]                    (input source)
    sum_{p not input} SOPs(p) = sops_and_mask     (report.json "sops_pruned")
    sum_{p input}     SOPs(p) = sops_input
    sum_p             SOPs(p) = sops_and_mask + sops_input  (the SOPs energy prices, and
                                                             NeuroBench's effective_acs)

with ``c_i`` / ``x_i`` the spike count of presynaptic neuron / input channel ``i`` over the
run and ``m`` the pruning masks (Shi et al., ICLR 2024, Sec. 3; the input model is
:func:`lnp_neuro.hardware.energy._input_sops`: an input spike costs on every stored input
synapse onto an active neuron). The reason for the split: a graph's SOPs, energy and
quantisation error are spent in different projections (a readout costs SOPs but is not
pruned), and the total alone does not say where.

Cores per population read the placement's ``core_of_neuron``
(:class:`lnp_neuro.hardware.mapping.Mapping`); weight bits per projection read the
integers of :func:`lnp_neuro.engines.fixed_point.quantize` over the projection's block
(8-bit mantissas, one exponent per row: the exponent range of a projection is that of the
rows holding its weights).

The default reservoir is the one-population graph of
:func:`lnp_neuro.model.from_network` (:func:`reservoir_layout`): projections
``input->reservoir`` and ``reservoir->reservoir``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..engines.fixed_point import FixedPointNetwork
from ..model.flat import INPUT, RESERVOIR, FlatLayout, from_network
from ..model.graph import Graph
from ..model.network import SpikingNetwork
from .energy import _spike_matrix

__all__ = ["PROJECTION_KINDS", "reservoir_layout", "layout_for", "projection_kind",
           "projection_sops", "population_cores", "projection_quantisation"]

PROJECTION_KINDS = ("input", "recurrent", "feed-forward", "readout")


def reservoir_layout(net: SpikingNetwork, name: str = RESERVOIR) -> FlatLayout:
    """The flat layout of the one-population graph of ``net`` (:func:`from_network`),
    with ``net`` itself as its network, so the accounting reads the very arrays the
    energy report read (``flatten(from_network(net)).network`` equals ``net``)."""
    graph = from_network(net, name)
    return FlatLayout(graph=graph, network=net, offsets={name: (0, net.n_total_neurons)},
                      input_offsets={INPUT: (0, net.n_inputs)}, latency=graph.latency())


def layout_for(net: SpikingNetwork, layout: FlatLayout | None = None) -> FlatLayout | None:
    """``layout`` when given (checked to describe ``net``), else the reservoir layout of
    ``net``; None for a network of several kinds of neuron without its graph (no
    population structure is known)."""
    if layout is not None:
        if not isinstance(layout, FlatLayout):
            raise ValueError(f"layout must be a FlatLayout, got {type(layout).__name__}")
        lnet = layout.network
        if (lnet.n_total_neurons, lnet.n_inputs, lnet.weights.nnz) != (
                net.n_total_neurons, net.n_inputs, net.weights.nnz):
            raise ValueError("layout does not describe the network (neurons, inputs or "
                             "synapses differ)")
        return layout
    return reservoir_layout(net) if net.is_plain_lif else None


def projection_kind(graph: Graph, proj) -> str:
    """``"input"`` (from an input), ``"readout"`` (onto a non-spiking population),
    ``"recurrent"`` (a population onto itself), else ``"feed-forward"``."""
    if proj.source in graph.inputs:
        return "input"
    if not graph.populations[proj.target].spiking:
        return "readout"
    return "recurrent" if proj.source == proj.target else "feed-forward"


def _entries(mat: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of every stored entry of a CSR matrix, in storage order."""
    rows = np.repeat(np.arange(mat.shape[0], dtype=np.int64), np.diff(mat.indptr))
    return rows, mat.indices.astype(np.int64)


def _block(layout: FlatLayout, proj, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Which stored entries (``rows``, ``cols`` of W or W_in) belong to ``proj``."""
    t0, t1 = layout.offsets[proj.target]
    src = layout.input_offsets if proj.source in layout.graph.inputs else layout.offsets
    s0, s1 = src[proj.source]
    return (rows >= t0) & (rows < t1) & (cols >= s0) & (cols < s1)


def _counts(spikes: Any, n: int, name: str) -> np.ndarray:
    """Spikes per column of a 0/1 raster ``[T, n]`` (validated as energy validates it)."""
    return np.count_nonzero(_spike_matrix(spikes, n, name), axis=0).astype(np.int64)


def projection_sops(layout: FlatLayout, spikes: Any, input_spikes: Any = None) -> list[dict]:
    """Per projection of ``layout.graph``: name, source, target, kind, synapses and SOPs.

    ``synapses``: active synapses (AND-mask for a population source; for an input, the
    stored input synapses onto active neurons), ``synapses_stored``: stored entries of the
    block; ``sops``: AND-mask SOPs of the run and ``sops_dense`` the dense-model SOPs
    (masks ignored; None for inputs, which the dense count does not cover), both per
    the module docstring. Without ``input_spikes`` an input projection's SOPs are None.
    """
    net = layout.network
    counts = _counts(spikes, net.n_total_neurons, "spikes")
    rows, pre = _entries(net.weights)
    keep = net.synapse_and_mask()
    cost = counts[pre]
    win = net.input_weights
    in_rows, in_cols = _entries(win)
    in_keep = net.neuron_active[in_rows]
    in_cost = None
    if input_spikes is not None:
        x = np.asarray(input_spikes)
        if x.ndim != 2 or x.shape[0] != np.asarray(spikes).shape[0]:
            raise ValueError(f"input_spikes must be [T, {net.n_inputs}] with the raster's T, "
                             f"got shape {x.shape}")
        in_cost = _counts(x, win.shape[1], "input_spikes")[in_cols]
    out = []
    for proj in layout.graph.projections:
        kind = projection_kind(layout.graph, proj)
        row = {"name": proj.name, "source": proj.source, "target": proj.target, "kind": kind}
        if kind == "input":
            sel = _block(layout, proj, in_rows, in_cols)
            active = sel & in_keep
            row.update(synapses=int(np.count_nonzero(active)),
                       synapses_stored=int(np.count_nonzero(sel)),
                       sops=None if in_cost is None else int(in_cost[active].sum()),
                       sops_dense=None)
        else:
            sel = _block(layout, proj, rows, pre)
            active = sel & keep
            row.update(synapses=int(np.count_nonzero(active)),
                       synapses_stored=int(np.count_nonzero(sel)),
                       sops=int(cost[active].sum()), sops_dense=int(cost[sel].sum()))
        out.append(row)
    return out


def population_cores(layout: FlatLayout, mapping=None) -> list[dict]:
    """Per population: neurons, active neurons and the cores its neurons occupy.

    ``cores``: the ids of the cores (of the placement ``mapping``,
    :class:`lnp_neuro.hardware.mapping.Mapping`) that hold at least one of its active
    neurons, ``neurons_on_cores`` how many on each, ``cores_used`` their number; all three
    None without a placement (a target whose profile has no core limits). A core may
    hold neurons of several populations.
    """
    net = layout.network
    core_of = None if mapping is None else np.asarray(mapping.core_of_neuron)
    out = []
    for name, (a, b) in layout.offsets.items():
        row = {"name": name, "neurons": b - a,
               "neurons_active": int(np.count_nonzero(net.neuron_active[a:b])),
               "cores_used": None, "cores": None, "neurons_on_cores": None}
        if core_of is not None:
            placed = core_of[a:b][core_of[a:b] >= 0]
            cores, per_core = np.unique(placed, return_counts=True)
            row.update(cores_used=int(cores.size), cores=[int(c) for c in cores],
                       neurons_on_cores=[int(k) for k in per_core])
        out.append(row)
    return out


def _quant_block(w_float: sp.csr_matrix, w_int: sp.csr_matrix, w_q: sp.csr_matrix,
                 row_exp: np.ndarray, sel: np.ndarray, rows: np.ndarray,
                 sign_mode: str) -> dict:
    """Weight bits of the entries ``sel`` of one quantised matrix (one projection's block).

    ``w_float``, ``w_int`` and ``w_q`` (the float value the integers stand for) share one
    sparsity pattern (:func:`lnp_neuro.engines.fixed_point.quantize_weights` keeps it).
    ``weight_rms_rel = rms(w_q - w) / rms(w)`` over the nonzero float weights, as
    :class:`~lnp_neuro.engines.fixed_point.QuantizationError` defines it for the matrix.
    """
    step = 2 if sign_mode == "mixed" else 1
    w, q = w_float.data[sel], w_q.data[sel]
    mant = w_int.data[sel].astype(np.int64) // step
    nz = w != 0
    exps = row_exp[np.unique(rows[sel])]
    rms = (float(np.sqrt(np.mean((q[nz] - w[nz]) ** 2)) / np.sqrt(np.mean(w[nz] ** 2)))
           if nz.any() else None)
    return {"sign_mode": sign_mode, "mantissa_bits": 8,
            "mantissa_bits_used": _bits_used(mant, signed=sign_mode == "mixed"),
            "exponent_min": int(exps.min()) if exps.size else None,
            "exponent_max": int(exps.max()) if exps.size else None,
            "weights": int(np.count_nonzero(sel)), "weights_nonzero": int(nz.sum()),
            "weights_flushed": int(np.count_nonzero(nz & (mant == 0))),
            "weight_rms_rel": rms}


def _bits_used(mant: np.ndarray, signed: bool) -> int:
    """Bits the mantissas need: unsigned ``bit_length(max |m|)``, or two's complement
    ``1 + max(bit_length(max m), bit_length(-min m - 1))`` when signed (-128..127: 8)."""
    if not mant.size:
        return 0
    if not signed:
        return int(np.abs(mant).max()).bit_length()
    hi, lo = int(mant.max()), int(mant.min())
    return 1 + max(max(hi, 0).bit_length(), max(-lo - 1, 0).bit_length())


def _sorted_csr(mat) -> sp.csr_matrix:
    out = sp.csr_matrix(mat)
    out.sort_indices()
    return out


def projection_quantisation(layout: FlatLayout, fp: FixedPointNetwork) -> list[dict]:
    """Per projection: the 8-bit weight mantissas and exponents ``fp`` gives its block.

    ``fp`` is :func:`lnp_neuro.engines.fixed_point.quantize` of ``layout.network``, whose
    effective weights (pruned synapses removed) it quantised row by row. Per projection:
    ``sign_mode`` (Lava's, of the whole matrix: W or W_in), ``mantissa_bits`` (8) and
    ``mantissa_bits_used`` (bits of the largest mantissa, sign included in mixed mode),
    ``exponent_min``/``exponent_max`` over the rows holding its weights (None without
    weights), ``weights`` (quantised entries), ``weights_nonzero``, ``weights_flushed``
    (nonzero float weights whose mantissa is 0) and ``weight_rms_rel``.
    """
    net = layout.network
    out = []
    mats = {}
    for key, w_eff, w_int, w_q, exp, mode in (
            ("rec", net.effective_weights(), fp.weights, fp.float_weights(), fp.weight_exp,
             fp.sign_mode),
            ("in", net.effective_input_weights(), fp.input_weights, fp.float_input_weights(),
             fp.input_weight_exp, fp.input_sign_mode)):
        w_eff = _sorted_csr(w_eff)
        if (w_eff.shape != w_int.shape or w_eff.nnz != w_int.nnz
                or not np.array_equal(w_eff.indices, w_int.indices)):
            raise ValueError("fp is not the quantisation of the layout's network (the weight "
                             "patterns differ)")
        rows, cols = _entries(w_int)
        mats[key] = (w_eff, w_int, w_q, np.asarray(exp), rows, cols, mode)
    for proj in layout.graph.projections:
        kind = projection_kind(layout.graph, proj)
        w_eff, w_int, w_q, exp, rows, cols, mode = mats["in" if kind == "input" else "rec"]
        sel = _block(layout, proj, rows, cols)
        out.append({"name": proj.name, "kind": kind,
                    **_quant_block(w_eff, w_int, w_q, exp, sel, rows, mode)})
    return out
