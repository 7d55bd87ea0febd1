"""Step 3 of a run: the pruned network, and the cache that lets the runs of a grid share it.

The pruning itself is the one implementation ``lnp-deploy`` uses too: LNP
(:func:`lnp_neuro.prune.pipeline.lnp`), AP
(:func:`lnp_neuro.prune.baselines.activity_prune_on_task`) and random
(:func:`lnp_neuro.prune.baselines.random_network_like`). This module only decides what
each of them is given and keeps their results (:class:`PruneCache`).
"""

from __future__ import annotations

import json
import time
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from .._util.io import json_default
from .config import ExperimentConfig, RunSpec, derive_seed

__all__ = ["PruneCache", "prune_for_run"]

#: LNP history fields a row keeps (the rest is per-step detail).
_LNP_HISTORY_FIELDS = ("iteration", "neurons", "synapses", "lambda_max", "mean_ipr", "seconds")


class PruneCache:
    """Pruning results of one grid, kept so that runs which need the same one share it.

    Runs that share (kind, model, seed, inputs, settings) share the result -- LNP for the
    LNP and random rows of both trainings, AP for both trainings. A result is a pure
    function of that key. Results are kept in memory for the runs of this process and,
    given a ``folder``, on disk for every process of the grid (two workers computing one
    result at once write the same file). Pickling (to send the cache to a worker process)
    keeps the folder and leaves the in-memory results behind.

    A run given no cache computes its pruning itself: nothing is shared unless a caller
    passes one cache to several runs.
    """

    def __init__(self, folder: str | Path | None = None):
        self.folder = None if folder is None else Path(folder)
        self._results: dict = {}

    def __getstate__(self) -> dict:
        return {"folder": self.folder}

    def __setstate__(self, state: dict) -> None:
        self.folder = state["folder"]
        self._results = {}

    def get(self, kind: str, net, model: str, seed: int, cfg: ExperimentConfig,
            compute: Callable[[], tuple]) -> tuple:
        """``(pruned, history rows)`` for ``kind`` of ``net``: kept, loaded or computed.

        ``net`` identifies itself by its input weights (the only part of a built network
        that depends on the task's inputs); the rest of the key is ``(kind, model, seed)``
        and every setting of ``cfg``.
        """
        from ..model.network import SpikingNetwork
        text = json.dumps(cfg.to_dict(), sort_keys=True)
        fingerprint = zlib.crc32(np.ascontiguousarray(net.input_weights.data).tobytes())
        key = (kind, model, seed, net.n_inputs, text, fingerprint)
        if key in self._results:
            return self._results[key]
        path = None
        if self.folder is not None:
            digest = zlib.crc32((text + str(fingerprint)).encode())
            path = self.folder / f"{kind}-{model}-s{seed}-in{net.n_inputs}-{digest:08x}.npz"
            if path.exists():
                pruned = SpikingNetwork.load(path)
                self._results[key] = (pruned, pruned.metadata.get("prune_history_rows", []))
                return self._results[key]
        pruned, rows = compute()
        rows = json.loads(json.dumps(rows, default=json_default))
        pruned.metadata["prune_history_rows"] = rows
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            pruned.save(path, overwrite=True)
        self._results[key] = (pruned, rows)
        return self._results[key]


def _lnp(net, model: str, seed: int, cfg: ExperimentConfig, cache: PruneCache):
    """LNP (task-agnostic) result for this network."""
    from ..prune.pipeline import lnp

    def compute():
        pruned, history = lnp(net, n_iter=cfg.lnp_iter, seed=derive_seed(seed, model, "lnp"),
                              progress=False, **cfg.lnp_kwargs)
        return pruned, [{k: v for k, v in h.items() if k in _LNP_HISTORY_FIELDS}
                        for h in history]

    return cache.get("lnp", net, model, seed, cfg, compute)


def prune_for_run(spec: RunSpec, net0, data, cfg: ExperimentConfig,
                  cache: PruneCache) -> tuple[object, dict]:
    """The network run ``spec`` trains, and the row fields pruning adds.

    ``unpruned``: ``net0`` itself. ``lnp``: LNP, task-agnostic. ``random``: ``net0``
    rewired as an Erdos-Renyi graph with the LNP result's neuron and synapse counts.
    ``ap``: activity pruning (Rust et al. 1997; design section 3) on the task's training
    input (``data.x_train``, ``data.y_train``): a ridge readout refitted after every round
    on the first half of the training windows and scored on the second (NRMSE for
    prediction, accuracy for images); stop after ``ap_iter`` rounds or when performance
    falls below 90 % of the unpruned model's.
    """
    out: dict = {}
    t0 = time.perf_counter()
    if spec.pruning == "unpruned":
        net = net0
    elif spec.pruning == "lnp":
        net, out["prune_history"] = _lnp(net0, spec.model, spec.seed, cfg, cache)
    elif spec.pruning == "random":
        from ..prune.baselines import random_network_like
        lnp_net, _ = _lnp(net0, spec.model, spec.seed, cfg, cache)
        net = random_network_like(net0, lnp_net.n_active_neurons, lnp_net.n_active_synapses,
                                  seed=derive_seed(spec.seed, spec.model, "random"))
    else:
        from ..prune.baselines import activity_prune_on_task
        net, out["prune_history"] = cache.get(
            f"ap-{spec.task}", net0, spec.model, spec.seed, cfg,
            lambda: activity_prune_on_task(net0, data.x_train, data.y_train,
                                           task=data.task_kind, fraction=cfg.ap_fraction,
                                           n_iter=cfg.ap_iter))
    out["prune_seconds"] = time.perf_counter() - t0
    return net, out
