"""The deployment job behind ``lnp-deploy``: network -> pruning -> target run -> report.

Steps (each logged, long ones with a progress bar):

1. resolve the target (``targets/``) and its hardware profile; refuse early when the target
   cannot run here or the output folder exists and ``force`` is not set;
2. load the network (``.nir`` through :mod:`lnp_neuro.nir_io`, ``.npz``) or build one
   (HRSNN / CHRSNN, SPEC section 1);
3. build the drive: rate-encoded Lorenz-63 (SPEC section 4, the on/off channel pair per
   dimension) or Poisson spikes;
4. prune: LNP (task-agnostic), AP (activity pruning, uses the drive), random (an
   Erdos-Renyi graph with the counts LNP reaches), or none;
5. run the unpruned network on the native simulator (the SOP baseline, same input) and the
   pruned one on the target; run the pruned one on the native simulator too and count the
   spike mismatches (``parity``: 0 expected for the native and Lava targets);
6. place the pruned network on cores (:mod:`lnp_neuro.mapping`) and price the run on every
   hardware profile (:mod:`lnp_neuro.energy`);
7. write ``network.nir``, ``run.npz``, ``analysis.npz``, ``report.json``, ``report.html``
   and ``report.md``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .io_utils import atomic_write, strict_json
from .network import SpikingNetwork

__all__ = ["DeployOptions", "run_deploy", "DEFAULT_SPECTRUM", "OUTPUT_FILES",
           "check_build_size"]

# Lyapunov spectra shown in the report (paper A.7): leading exponents of the rate surrogate.
DEFAULT_SPECTRUM = {"n_steps": 300, "k": 20}
_LORENZ_CHANNELS = 6  # x, y, z as on/off pairs (signed z-score scaling)


@dataclass
class DeployOptions:
    """Options of one deployment (the ``lnp-deploy`` flags)."""

    target: str = "loihi-sim"
    network: Path | None = None
    model: str = "hrsnn"
    neurons: int = 1000
    density: float = 0.1
    clusters: int = 4
    prune: str = "lnp"
    iterations: int = 4
    target_density: float = 0.02
    input: str = "lorenz"
    rate: float = 0.05
    steps: int = 500
    seed: int = 0
    out: Path = Path("lnp-out")
    force: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.model not in ("hrsnn", "chrsnn"):
            raise ValueError(f"model must be 'hrsnn' or 'chrsnn', got {self.model!r}")
        if self.prune not in ("lnp", "ap", "random", "none"):
            raise ValueError(f"prune must be one of lnp, ap, random, none; got {self.prune!r}")
        if self.input not in ("lorenz", "poisson"):
            raise ValueError(f"input must be 'lorenz' or 'poisson', got {self.input!r}")
        for name in ("neurons", "clusters", "iterations", "steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("density", "rate", "target_density"):
            value = float(getattr(self, name))
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        self.out = Path(self.out)
        if self.network is not None:
            self.network = Path(self.network)


# ----------------------------------------------------------------- network and input
def load_network(path: Path) -> SpikingNetwork:
    """A network from ``.nir`` (HDF5, via NIR) or ``.npz`` (lnp_neuro's own format)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such network file")
    if path.suffix == ".nir":
        from .nir_io import read_nir
        return read_nir(path)
    if path.suffix == ".npz":
        return SpikingNetwork.load(path)
    raise ValueError(f"{path}: a network file must end in .nir or .npz")


def build_network(options: DeployOptions, n_inputs: int) -> SpikingNetwork:
    from .models import chrsnn, hrsnn
    if options.model == "hrsnn":
        return hrsnn(options.neurons, options.density, seed=options.seed, n_inputs=n_inputs)
    return chrsnn(options.neurons, options.clusters, seed=options.seed, n_inputs=n_inputs)


def make_input(options: DeployOptions, n_inputs: int, dt: float) -> tuple[np.ndarray, dict]:
    """The drive ``[steps, n_inputs]`` and a description of it for the report."""
    rng_seed = np.random.SeedSequence([options.seed, 1])
    if options.input == "poisson":
        rng = np.random.default_rng(rng_seed)
        spikes = rng.random((options.steps, n_inputs)) < options.rate
        return spikes, {"kind": "poisson", "rate_per_step": options.rate, "channels": n_inputs}
    if n_inputs != _LORENZ_CHANNELS:
        raise ValueError(f"the network has {n_inputs} inputs but rate-encoded Lorenz-63 has "
                         f"{_LORENZ_CHANNELS} channels (x, y, z as on/off pairs); use "
                         f"--input poisson for this network")
    from .tasks.dynamical import lorenz63
    from .tasks.encoding import RateEncoder

    steps_per_sample = 10
    n_samples = -(-options.steps // steps_per_sample)
    data = lorenz63(n_samples=n_samples + 1, split=(n_samples, 0, 1), seed=options.seed)
    encoder = RateEncoder(max_rate=200.0, dt=dt, steps_per_sample=steps_per_sample,
                          method="poisson", scaling="zscore",
                          seed=int(rng_seed.generate_state(1)[0]))
    spikes = encoder.fit_transform(data.train)[: options.steps]
    return spikes, {"kind": "lorenz63", "encoding": "poisson rate, z-score, on/off pairs",
                    "max_rate_hz": 200.0, "steps_per_sample": steps_per_sample,
                    "channels": _LORENZ_CHANNELS}


# --------------------------------------------------------------------------- pruning
def prune_network(options: DeployOptions, net: SpikingNetwork, inputs: np.ndarray,
                  log: Callable[..., None]) -> tuple[SpikingNetwork, list[dict]]:
    from .prune.pipeline import lnp

    def run_lnp() -> tuple[SpikingNetwork, list[dict]]:
        return lnp(net, n_iter=options.iterations, seed=options.seed,
                   target_density=options.target_density, progress=options.progress)

    if options.prune == "none":
        return net.copy(), []
    if options.prune == "lnp":
        log(f"pruning with LNP: {options.iterations} iteration(s), steps I-IV")
        return run_lnp()
    if options.prune == "random":
        from .prune.baselines import random_network_like
        log(f"random baseline: LNP ({options.iterations} iteration(s)) for the counts, then an "
            f"Erdos-Renyi network with the same neuron and synapse counts")
        reference, history = run_lnp()
        return random_network_like(reference, seed=options.seed), history
    log(f"activity pruning (AP): up to {options.iterations} round(s) on the drive")
    return activity_prune_on_input(net, inputs, options)


def activity_prune_on_input(net: SpikingNetwork, inputs: np.ndarray,
                            options: DeployOptions) -> tuple[SpikingNetwork, list[dict]]:
    """AP (Rust et al. 1997) driven by this run's input.

    Activity is the spike count on the drive; the retrained readout is a ridge regression
    from the neurons' filtered spike trains to the drive's channel rates one step ahead
    (the task the encoded input defines), scored by its R^2 on the second half.
    """
    from .prune.baselines import activity_prune
    from .simulator import simulate

    def activity(candidate: SpikingNetwork) -> np.ndarray:
        return simulate(candidate, inputs, mode="float").spikes.sum(axis=0).astype(float)

    def retrain(candidate: SpikingNetwork) -> float:
        spikes = simulate(candidate, inputs, mode="float").spikes[:, candidate.neuron_active]
        trace = np.zeros(spikes.shape[1])
        feats = np.empty(spikes.shape, dtype=float)
        decay = np.exp(-1.0 / 20.0)
        for t, s in enumerate(spikes):
            trace = decay * trace + s
            feats[t] = trace
        target = np.zeros(inputs.shape, dtype=float)
        kernel = np.ones(20) / 20.0
        for c in range(inputs.shape[1]):
            target[:, c] = np.convolve(inputs[:, c].astype(float), kernel, mode="same")
        x, y = feats[:-1], target[1:]
        half = len(x) // 2
        a = x[:half]
        coef = np.linalg.solve(a.T @ a + 1e-2 * np.eye(a.shape[1]), a.T @ y[:half])
        resid = y[half:] - x[half:] @ coef
        denom = ((y[half:] - y[half:].mean(axis=0)) ** 2).sum()
        return float(1.0 - (resid ** 2).sum() / denom) if denom > 0 else 0.0

    return activity_prune(net, activity, retrain, fraction=0.1, n_iter=options.iterations)


# --------------------------------------------------------------------------- running
def run_on_target(target, net: SpikingNetwork, inputs: np.ndarray, progress: bool) -> np.ndarray:
    if target.backend == "native":
        from .simulator import simulate
        return simulate(net, inputs, mode=target.mode, progress=progress).spikes
    if target.backend == "lava":
        from .backends.lava_backend import run_lava
        return run_lava(net, inputs, mode=target.mode)
    if target.backend == "norse":
        from .backends.norse_backend import run_norse
        # Lava and the native simulator deliver input one step late (Sparse delay).
        return run_norse(net, inputs, input_delay=1)
    raise ValueError(f"target {target.name!r}: back end {target.backend!r} cannot run here")


def _core_limits(profile):
    from .mapping import CoreLimits
    cap = profile.capacity()
    if cap["neurons_per_core"] is None or cap["synapses_per_core"] is None \
            or cap["cores_per_chip"] is None:
        return None
    return CoreLimits(profile.name, neurons_per_core=cap["neurons_per_core"],
                      synapses_per_core=cap["synapses_per_core"],
                      cores_per_chip=cap["cores_per_chip"],
                      max_fan_in=cap["max_fan_in"], max_fan_out=cap["max_fan_out"])


def _spectrum(net: SpikingNetwork, seed: int) -> np.ndarray:
    from .lyapunov import network_spectrum
    k = min(DEFAULT_SPECTRUM["k"], net.n_neurons)
    return network_spectrum(net, DEFAULT_SPECTRUM["n_steps"], k, seed=seed,
                            progress=False).exponents


#: Files every deployment writes (the report adds its PNG plots).
OUTPUT_FILES = ("network.nir", "run.npz", "analysis.npz", "report.json", "report.html",
                "report.md")


def run_deploy(options: DeployOptions, log: Callable[..., None] = print) -> dict:
    """Run one deployment (module docstring) and return the report dict it wrote.

    The output is a transaction (:class:`lnp_neuro.io_utils.OutputFolder`): files are
    written into a staging folder beside ``options.out`` and moved into place only when
    the run is complete; the folder is locked for the whole run and checked for
    writability, and the run's size against the memory it needs, before any computation.
    BLAS thread pools are pinned to one thread (:mod:`lnp_neuro.threads`) so that the
    same seed gives the same bits whatever thread counts are set.
    """
    from .io_utils import OutputFolder
    from .targets_registry import load_target
    from .threads import deterministic_threads

    if not isinstance(options, DeployOptions):
        raise ValueError(f"options must be DeployOptions, got {type(options).__name__}")
    target = load_target(options.target)
    target.require_available()
    if options.network is None:
        check_build_size(options)
    with OutputFolder(options.out, force=options.force, expected=OUTPUT_FILES,
                      protect=[options.network]) as staging, deterministic_threads():
        return _run_deploy(options, log, staging)


def check_build_size(options: DeployOptions) -> None:
    """Refuse a network to build, or a run, that cannot fit in memory (before allocating)."""
    from ._limits import check_memory, deploy_memory_estimate, expected_synapses

    n_inputs = _LORENZ_CHANNELS if options.input == "lorenz" else 6
    synapses = expected_synapses(options.model, options.neurons, options.density,
                                 options.clusters)
    check_memory(deploy_memory_estimate(options.neurons, synapses, options.steps, n_inputs),
                 f"--neurons {options.neurons}, --steps {options.steps}",
                 neurons=options.neurons)


def _run_deploy(options: DeployOptions, log: Callable[..., None], out: Path) -> dict:
    """The deployment itself; every file goes into ``out`` (the staging folder)."""
    from .energy import energy_report
    from .mapping import map_to_cores
    from .profiles import load_profile
    from .simulator import simulate
    from .targets_registry import load_target

    t_start = time.perf_counter()
    target = load_target(options.target)
    profile = load_profile(target.profile)
    timings: dict[str, float] = {}

    def timed(name: str, fn, *args, **kwargs):
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[name] = round(time.perf_counter() - t, 3)
        return result

    if options.network is not None:
        net0 = timed("load", load_network, options.network)
        log(f"loaded {options.network}: {net0}")
        from ._limits import check_memory, deploy_memory_estimate
        check_memory(deploy_memory_estimate(net0.size, net0.n_synapses, options.steps,
                                            net0.n_inputs),
                     f"--network {options.network} ({net0.size} neurons), "
                     f"--steps {options.steps}")
    else:
        n_inputs = _LORENZ_CHANNELS if options.input == "lorenz" else 6
        net0 = timed("build", build_network, options, n_inputs)
        log(f"built {options.model.upper()}: {net0.n_neurons} neurons, "
            f"{net0.n_synapses} synapses (seed {options.seed})")
    inputs, input_info = timed("input", make_input, options, net0.n_inputs, net0.dt)
    log(f"drive: {input_info['kind']}, {inputs.shape[0]} steps x {inputs.shape[1]} channels")

    net1, history = timed("prune", prune_network, options, net0, inputs, log)
    log(f"pruned ({options.prune}): {net0.n_neurons} -> {net1.n_neurons} neurons, "
        f"{net0.n_synapses} -> {net1.n_synapses} synapses")

    mode = "fixed" if target.mode == "fixed" else "float"
    log("running the unpruned network on the native simulator (SOP baseline)")
    spikes0 = timed("run_unpruned", lambda: simulate(net0, inputs, mode=mode,
                                                     progress=options.progress).spikes)
    log(f"running the pruned network on {target.name} ({target.description})")
    spikes1 = timed("run_target", run_on_target, target, net1, inputs, options.progress)
    reference = timed("run_reference",
                      lambda: simulate(net1, inputs, mode=mode, progress=False).spikes)
    parity = int(np.count_nonzero(spikes1 != reference))
    if target.backend in ("native", "lava") and parity:
        log(f"WARNING: {parity} spike mismatch(es) between {target.name} and the native "
            f"simulator; they are expected to agree exactly")

    limits = _core_limits(profile)
    mapping = timed("map", map_to_cores, net1, limits) if limits is not None else None
    cores_used = mapping.cores_used if mapping is not None else None
    energy = timed("energy", energy_report, net1, spikes1, None, (net0, spikes0),
                   input_spikes=inputs,
                   cores_used={profile.name: cores_used} if cores_used is not None else None)
    log("computing Lyapunov spectra before and after pruning (rate surrogate)")
    spectrum0 = timed("spectrum_before", _spectrum, net0, options.seed)
    spectrum1 = timed("spectrum_after", _spectrum, net1, options.seed)

    sops_dense = energy["baseline"]["sops_dense"]
    sops_pruned = energy["sops_and_mask"]
    report = {
        "label": {"lnp": "LNP", "ap": "AP", "random": "Random", "none": "Unpruned"}[options.prune],
        "target": target.name, "backend": target.backend, "mode": target.mode,
        "profile": profile.name, "steps": int(inputs.shape[0]), "dt": net1.dt,
        "neurons_before": net0.n_neurons, "neurons_after": net1.n_neurons,
        "synapses_before": net0.n_synapses, "synapses_after": net1.n_synapses,
        "sops_dense": sops_dense, "sops_pruned": sops_pruned,
        "sop_ratio": energy["sop_ratio"],
        "energy_joules": energy["profiles"][profile.name]["energy_joules"],
        "energy_by_profile": {k: v["energy_joules"] for k, v in energy["profiles"].items()},
        "cores_used": cores_used,
        "mapping": mapping.summary() if mapping is not None else None,
        "parity": parity,
        "spikes_before": int(np.count_nonzero(spikes0)),
        "spikes_after": int(np.count_nonzero(spikes1)),
        "lambda_max_before": float(spectrum0[0]), "lambda_max_after": float(spectrum1[0]),
        "history": history,
        "energy": energy,
        "input": input_info,
        "options": {k: v for k, v in asdict(options).items() if k not in ("progress",)},
        "timings_seconds": timings,
    }
    if target.mode == "fixed":
        from .fixed_point import quantize
        report["quantisation"] = quantize(net1).error.as_dict()

    from .nir_io import write_nir
    write_nir(net1, out / "network.nir", overwrite=True)
    with atomic_write(out / "run.npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, input_spikes=inputs.astype(bool), spikes=spikes1.astype(bool),
                            spikes_unpruned=spikes0.astype(bool))
    with atomic_write(out / "analysis.npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, lyapunov_before=spectrum0, lyapunov_after=spectrum1,
                            tau_mem_before=net0.tau_mem[net0.neuron_active],
                            tau_mem_after=net1.tau_mem[net1.neuron_active])
    report["seconds"] = round(time.perf_counter() - t_start, 3)
    null_reasons: dict[str, str] = {}
    report = strict_json(report, null_reasons)
    if null_reasons:
        report["null_reasons"] = null_reasons
    with atomic_write(out / "report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, allow_nan=False), encoding="utf-8")
    from .report import write_report
    write_report([out], out, force=True)
    return report
