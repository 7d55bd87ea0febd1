"""The portable form of an exported NIR graph: no ``Delay`` node, readable by snnTorch and norse.

What. :func:`portable_nir` rewrites a graph written by :func:`~lnp_neuro.nir.reservoir_export.
to_nir` or :func:`~lnp_neuro.nir.export.graph_to_nir` so that the importers of snnTorch
1.0.0 (``snntorch.import_nir.import_from_nir``) and norse 1.1.0 (``norse.torch.from_nir``)
load it and, stepped one step per input sample, reproduce our float raster shifted:

* Every ``Delay`` node is removed (its two edges joined). snnTorch has no ``Delay``
  (``ValueError: Unknown node type``) and norse drops it silently. Each population then
  spikes ``portable_shift[p] = latency[p]`` steps earlier than in the exact form (our
  engines, Lava): the peer's ``s[t]`` is our ``s[t + shift]`` (the reservoir: shift 1).
  The shifts are stored in the graph metadata (``lnp_neuro.portable_shift``, JSON).
* Time constants are rescaled to a step of ``PORTABLE_DT = 1e-4`` s (``tau * 1e-4 / dt``;
  ``r = tau_mem/dt`` and ``w_in = tau_syn/dt`` are unchanged by it): snnTorch's importer
  hard-codes ``dt = 1e-4`` (``alpha = 1 - 1e-4/tau_syn``, and asserts ``r = tau_mem/1e-4``),
  so only in this unit are its decays ours. norse must be called with the same step,
  ``from_nir(graph, dt=1e-4)``; the metadata's ``dt`` is ``PORTABLE_DT`` and
  ``source_dt`` the network's own.
* A recurrent ``Linear`` that forms a two-node cycle with its population gets an identity
  ``Linear`` (``<name>.relay``) in front of it. Reason: snnTorch rewrites a two-node
  ``LIF <-> Linear`` cycle into an RNN subgraph whose input edge enters the recurrent
  weights, so the external input would reach the neurons only through ``W_rec``
  (tests/nir/test_nir_interop_matrix.py); a three-node cycle is left to nirtorch, which
  delivers it one step later, as ours. The identity costs ``N^2`` dense entries.
* A ``LIF`` population's bias (``v_leak``) moves to the bias of an ``Affine`` in place of
  one incoming ``Linear``: snnTorch asserts ``v_leak = 0``, and for a LIF (no synaptic
  current) a constant input is the same bias. A ``CubaLIF`` bias cannot move (it would pass
  the synaptic filter) and stays ``v_leak``: norse reads it, snnTorch refuses the graph.

Start-up with a bias. Ours applies a population's bias from its ``bias_onset``
(:func:`lnp_neuro.model.flat.bias_onsets`) while its input arrives ``shift`` steps late;
in the peer both start at its step 0, which is our step ``shift``. A graph imported from
snnTorch or norse has ``bias_onset = shift``, so the peer reproduces it exactly; a graph
built here has onset 0, so a biased population has ``shift`` steps of bias less in the
peer, which NIR cannot state (no initial state): the first steps can differ and a
recurrence can carry a flipped spike on. Without a bias the shift is exact. The exact
form's ``bias_onset_json`` is dropped here: without Delay nodes every bias starts at the
peer's step 0, which the re-import's own shift restores.

* An ``LI`` population (the forecast's readout on the chip) becomes a ``LIF`` whose
  threshold no membrane reaches (:data:`NEVER`): snnTorch has no ``LI`` converter, and
  the two equations are the same while a LIF does not spike (NIR: ``tau dv/dt = v_leak -
  v + R I`` for both). Its membrane is the readout's; the names are listed in the
  metadata (``lnp_neuro.li_as_lif``). Its bias then moves as a LIF's (above).

Not representable in snnTorch (documented, written as in the exact form for norse): a
threshold that differs between neurons of one population (its assert), the reset to
``v - threshold`` (snnTorch imports every neuron with reset to zero), ``IF`` (imported with
``beta = 0.9``) and ``I``. Both peers run in float32, ours in float64.
"""

from __future__ import annotations

import json

import nir
import numpy as np

__all__ = ["portable_nir", "PORTABLE_DT"]

#: The step snnTorch's NIR importer assumes (snntorch/import_nir.py, ``dt = 1e-4``).
PORTABLE_DT = 1e-4
#: The threshold of an ``LI`` written as a ``LIF`` (never reached; finite in float32).
NEVER = 1e30


def _li_as_lif(nodes: dict) -> list[str]:
    """Replace every ``LI`` node by the ``LIF`` that never spikes (module docstring);
    returns their names."""
    names = [name for name, node in nodes.items() if isinstance(node, nir.LI)]
    for name in names:
        li = nodes[name]
        lif = nir.LIF(tau=li.tau, r=li.r, v_leak=li.v_leak,
                      v_threshold=np.full(np.shape(li.tau), NEVER))
        lif.metadata = dict(li.metadata)
        nodes[name] = lif
    return names


def _scaled(node: nir.NIRNode, k: float, bias_moved: bool) -> nir.NIRNode:
    """``node`` with its time constants multiplied by ``k`` (and no v_leak if moved)."""
    meta = getattr(node, "metadata", {})
    if isinstance(node, nir.CubaLIF):
        return nir.CubaLIF(tau_syn=node.tau_syn * k, tau_mem=node.tau_mem * k, r=node.r,
                           v_leak=node.v_leak, v_threshold=node.v_threshold,
                           v_reset=node.v_reset, w_in=node.w_in, metadata=meta)
    if isinstance(node, nir.LIF):
        # r = 1 with v (and threshold) in units of r: norse reads no r for a LIF.
        v_leak = np.zeros_like(node.v_leak) if bias_moved else node.v_leak / node.r
        return nir.LIF(tau=node.tau * k, r=np.ones_like(node.r), v_leak=v_leak,
                       v_threshold=node.v_threshold / node.r, v_reset=node.v_reset / node.r,
                       metadata=meta)
    if isinstance(node, nir.LI):
        return nir.LI(tau=node.tau * k, r=node.r, v_leak=node.v_leak, metadata=meta)
    if isinstance(node, (nir.IF, nir.I)):
        # Their input scale is r dt: r = 1/dt becomes 1/PORTABLE_DT.
        kind = type(node)
        params = {"r": node.r / k}
        if isinstance(node, nir.IF):
            params.update(v_threshold=node.v_threshold, v_reset=node.v_reset)
        return kind(**params, metadata=meta)
    return node


def _without_delays(nodes: dict, edges: list) -> list:
    """The edges with every Delay node bypassed (its predecessor wired to its successors)."""
    for name in [k for k, v in nodes.items() if isinstance(v, nir.Delay)]:
        preds = [a for a, b in edges if b == name]
        succs = [b for a, b in edges if a == name]
        edges = [e for e in edges if name not in e] + [(p, s) for p in preds for s in succs]
        del nodes[name]
    return edges


def _move_lif_bias(nodes: dict, edges: list) -> set:
    """Turn the first incoming ``Linear`` of each biased LIF into an ``Affine`` carrying the
    bias ``v_leak / r`` (r dt/tau = 1 in our export); returns the LIF names done."""
    moved = set()
    for name, node in list(nodes.items()):
        if not isinstance(node, nir.LIF) or not np.any(node.v_leak):
            continue
        preds = [a for a, b in edges if b == name and isinstance(nodes[a], nir.Linear)]
        if not preds:
            continue
        lin = nodes[preds[0]]
        nodes[preds[0]] = nir.Affine(weight=lin.weight, bias=node.v_leak / node.r,
                                     metadata=getattr(lin, "metadata", {}))
        moved.add(name)
    return moved


def _relay_cycles(nodes: dict, edges: list) -> list:
    """Put an identity ``<linear>.relay`` before each Linear that closes a two-node cycle
    with a neuron node (module docstring: snnTorch's RNN rewrite)."""
    for a, b in list(edges):
        if (b, a) in edges and isinstance(nodes[a], (nir.CubaLIF, nir.LIF)) \
                and isinstance(nodes[b], (nir.Linear, nir.Affine)):
            relay = f"{b}.relay"
            if relay in nodes:
                raise ValueError(f"NIR node name {relay!r} is already used")
            size = nodes[b].weight.shape[1]
            nodes[relay] = nir.Linear(weight=np.eye(size))
            # First: norse's nirtorch (GraphExecutor) runs nodes in depth-first order of
            # the edges and returns the last one's output, so the cycle goes before the
            # path to the Output.
            edges = [(a, relay), (relay, b)] + [e for e in edges if e != (a, b)]
    return edges


def portable_nir(graph: nir.NIRGraph, shift: dict[str, int], dt: float,
                 metadata_key: str = "lnp_neuro") -> nir.NIRGraph:
    """The portable form (module docstring) of an exact graph of step ``dt``.

    ``shift``: per population node, the steps it runs earlier without the Delay nodes
    (stored as ``portable_shift`` under ``metadata_key``, the exporters' ``METADATA_KEY``;
    a parameter because those modules import this one). Node metadata is kept.
    """
    k = PORTABLE_DT / dt
    nodes = dict(graph.nodes)
    edges = _without_delays(nodes, list(graph.edges))
    li_as_lif = _li_as_lif(nodes)
    moved = _move_lif_bias(nodes, edges)
    nodes = {name: _scaled(node, k, name in moved) for name, node in nodes.items()}
    edges = _relay_cycles(nodes, edges)
    meta = dict(graph.metadata.get(metadata_key, {}))
    # Without Delay nodes the peer starts every bias at its step 0, as the source
    # framework of an imported graph did: the exact form's late start does not apply.
    meta.pop("bias_onset_json", None)
    meta.update({"dt": PORTABLE_DT, "source_dt": float(dt), "portable": True,
                 "portable_shift": json.dumps({p: int(s) for p, s in shift.items()})})
    if li_as_lif:
        meta["li_as_lif"] = json.dumps(li_as_lif)
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={**graph.metadata, metadata_key: meta}, type_check=False)
