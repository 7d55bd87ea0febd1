"""Running the grid: one run (:func:`run_one`) and many on an executor (:func:`run_grid`)."""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Iterable

from .._util.io import strict_json_record
from .._util.threads import deterministic_threads
from .config import ExperimentConfig, RunSpec, derive_seed
from .protocol import make_trainer, recurrent_sops, task_data
from .pruning import PruneCache, prune_for_run

__all__ = ["run_one", "run_grid", "EXECUTORS"]

#: Where :func:`run_grid` runs: this process, a local process pool, or Dask.
EXECUTORS = ("serial", "process", "dask")


def run_one(spec: RunSpec, config: ExperimentConfig | None = None, *,
            cache: PruneCache | None = None, cache_dir: str | Path | None = None,
            progress: bool = False) -> dict:
    """Execute one run (package docstring) and return its JSON row.

    ``cache``: pruning results shared with other runs (:class:`PruneCache`); ``cache_dir``
    is the same as ``cache=PruneCache(cache_dir)``. Without either, the run prunes its
    network itself.

    An exception inside the run is caught and reported in the row's ``error`` field (with
    the traceback), so one failing run never hides the others' results.
    """
    cfg = config or ExperimentConfig()
    if not isinstance(spec, RunSpec):
        raise ValueError(f"spec must be a RunSpec, got {type(spec).__name__}")
    if cache is not None and cache_dir is not None:
        raise ValueError("give cache or cache_dir, not both")
    if cache is None:
        cache = PruneCache(cache_dir)
    from ..training import limit_torch_threads
    limit_torch_threads(1)
    t_start = time.perf_counter()
    row = {"pruning": spec.pruning, "model": spec.model, "training": spec.training,
           "task": spec.task, "seed": spec.seed, "key": spec.key,
           "neurons": None, "synapses": None, "sops": None, "nrmse": None, "vpt": None,
           "accuracy": None, "error": None}
    try:
        with deterministic_threads():
            row.update(_run(spec, cfg, cache, progress))
    except Exception as exc:  # reported in the row, never swallowed silently
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc()
    row["seconds"] = time.perf_counter() - t_start
    return strict_json_record(row)


def _run(spec: RunSpec, cfg: ExperimentConfig, cache: PruneCache, progress: bool) -> dict:
    from ..model.build import build_network
    data = task_data(spec.task, spec.seed, cfg)
    net0 = build_network(spec.model, cfg.n_neurons, seed=spec.seed, n_inputs=data.n_inputs,
                         **cfg.network_settings(data.input_scale))
    out: dict = {"neurons_before": net0.n_active_neurons,
                 "synapses_before": net0.n_active_synapses}
    net, pruning = prune_for_run(spec, net0, data, cfg, cache)
    out.update(pruning)
    out["neurons"], out["synapses"] = net.n_active_neurons, net.n_active_synapses

    t0 = time.perf_counter()
    train_seed = derive_seed(spec.seed, spec.pruning, spec.model, spec.training, spec.task)
    trainer = make_trainer(spec.training, data.task_kind, cfg, train_seed, progress)
    trainer.fit(net, data.x_train, data.y_train)
    out["train_seconds"] = time.perf_counter() - t0
    hist = trainer.history_ if spec.training == "bp" else trainer.history_["readout"]
    out["epochs"] = len(hist)
    out["best_val_loss"] = float(min(h["val_loss"] for h in hist))

    scores, raster = data.evaluate(trainer)
    out.update(scores)
    out.update(recurrent_sops(trainer.network_, raster))
    return out


# ------------------------------------------------------------------------ grids
def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    # A pool worker is spawned (fork + exec), so the fork hook of lnp_neuro._util.interrupts
    # does not reach it: it asks the kernel itself to end it with its parent, and leaves
    # SIGINT / SIGTERM to the parent, which stops the pool.
    from .._util.interrupts import die_with_parent
    die_with_parent()


def run_grid(specs: Iterable[RunSpec], config: ExperimentConfig | None = None, *,
             workers: int = 2, executor: str = "process", scheduler: str | None = None,
             cache_dir: str | Path | None = None, on_row: Callable[[dict], None] | None = None,
             progress: bool = True) -> list[dict]:
    """Run every spec; rows come back in the order of ``specs``.

    ``executor``: ``"serial"`` (in this process), ``"process"`` (a
    ``concurrent.futures`` process pool of ``workers``, spawned workers with one thread
    each) or ``"dask"`` (a ``dask.distributed`` client on ``scheduler``, or a local
    cluster of ``workers`` single-threaded workers when ``scheduler`` is None).
    The runs of this grid share their pruning results through one :class:`PruneCache`:
    in memory when they run in this process, and through ``cache_dir`` (when given)
    across worker processes. ``on_row`` is called with each row as it completes (e.g. to
    save it).
    """
    specs = list(specs)
    cfg = config or ExperimentConfig()
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be 'serial', 'process' or 'dask', got {executor!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is not None and executor != "dask":
        raise ValueError("scheduler is only used with executor='dask'")
    cache = PruneCache(cache_dir)
    from tqdm.auto import tqdm
    bar = tqdm(total=len(specs), desc="runs", disable=not (progress and sys.stderr.isatty()))
    rows: list[dict | None] = [None] * len(specs)

    def done(i: int, row: dict) -> None:
        rows[i] = row
        if on_row is not None:
            on_row(row)
        bar.update(1)

    try:
        if executor == "serial" or (executor == "process" and workers == 1):
            for i, spec in enumerate(specs):
                done(i, run_one(spec, cfg, cache=cache))
        elif executor == "process":
            _run_in_pool(specs, cfg, cache, workers, done)
        else:
            _run_on_dask(specs, cfg, cache, workers, scheduler, done)
    finally:
        bar.close()
    return rows  # type: ignore[return-value]


def _run_in_pool(specs: list[RunSpec], cfg: ExperimentConfig, cache: PruneCache,
                 workers: int, done: Callable[[int, dict], None]) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=_worker_init) as pool:
        try:
            futures = {pool.submit(run_one, spec, cfg, cache=cache): i
                       for i, spec in enumerate(specs)}
            for fut in as_completed(futures):
                done(futures[fut], fut.result())
        except BaseException:
            # shutdown(wait=True) on leaving the block would wait for the running runs to
            # finish (minutes): end the workers first.
            from .._util.interrupts import kill_children
            workers_alive = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            kill_children(workers_alive)
            raise


def _run_on_dask(specs: list[RunSpec], cfg: ExperimentConfig, cache: PruneCache,
                 workers: int, scheduler: str | None,
                 done: Callable[[int, dict], None]) -> None:
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = [client.submit(run_one, spec, cfg, cache=cache, pure=False,
                                 key=f"lnp-run-{spec.key}") for spec in specs]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            done(index[fut.key], fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
