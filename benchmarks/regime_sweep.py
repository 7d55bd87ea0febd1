"""Does the recurrence matter? A regime sweep of the starting networks on the memory tasks.

    nice -n 10 .venv/bin/python benchmarks/regime_sweep.py --quick            # ~1 CPU-minute
    nice -n 10 .venv/bin/python benchmarks/regime_sweep.py                    # HRSNN, seeds 0-2
    nice -n 10 .venv/bin/python benchmarks/regime_sweep.py --models hrsnn,chrsnn
    nice -n 10 .venv/bin/python benchmarks/regime_sweep.py --tasks lorenz-x --horizon 10

For each model at N = 500, coupling ``gain`` (the bulk spectral radius of the rate
coupling, ``lnp_neuro.model.build``; default 1) and ``input_scale`` (input coupling in
thresholds per unit input rate; default 1), and seed, on each memory task
(``lnp_neuro.tasks.memory``: memory capacity, NARMA-10, x-only Lorenz one step ahead):

- the unpruned network's score and its no-recurrence control's (the same network with
  every recurrent synapse masked, read out like the network: its own trace time
  constant, as ``lnp-deploy`` does), and the control's score read out with the
  network's trace time constant instead (``ctrl, network's tau``: the cheaper control
  this sweep showed to be unfair);
- persistence (NARMA-10, x-only Lorenz) and an ESN of the same size, once per seed;
- rho(M), the leading real part of the effective rate coupling at the operating point
  (unstable above 1), and the fraction of neurons firing on the task drive.

Training and validation data only: each task draws the ``--task-samples`` series
``lnp-deploy`` draws for the seed and keeps the part the deploy trains on (washout +
70 %); that part is split again, 70 % to fit the readout and the rest to score it. The
deploy's test samples are never read. Drive: the deploy's code for these inputs (48
channels, 20 steps per sample; range scaling for the uniform inputs, zscore for x),
native engine in float arithmetic (``--target lava-float``'s; ``--target cpu`` runs the
Loihi fixed-point arithmetic, whose scores differ slightly).

Ratio columns: ``rec/ctrl`` is the network's score over the control's in the metric's
good direction (MC: unpruned / control; NRMSE: control / unpruned), so > 1 means the
recurrence helps and 2 is the issue's target.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from lnp_neuro._util.threads import deterministic_threads
from lnp_neuro.deploy.measure import no_recurrence
from lnp_neuro.deploy.options import SERIES_CODE_DEFAULTS
from lnp_neuro.dynamics.operating_point import operating_lambda_max
from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model.build import build_network
from lnp_neuro.tasks.forecast import encode_series
from lnp_neuro.tasks.memory import (SeriesTask, TaskSplit, esn_states, make_task, score_states,
                                    select_task_tau)
from lnp_neuro.tasks.metrics import nrmse

TASKS = ("memory", "narma10", "lorenz-x")
STEPS_PER_SAMPLE = 20
N_INPUTS = 48


def sweep_task(name: str, seed: int, task_samples: int, horizon: int = 1
               ) -> tuple[SeriesTask, TaskSplit]:
    """The deploy's task for ``seed``, cut to the samples the deploy trains on, and a
    fit / validation split of them (module docstring); ``horizon`` for lorenz-x."""
    full = make_task(name, task_samples, seed=seed,
                     horizon=horizon if name == "lorenz-x" else 1)
    deploy_split = TaskSplit(task_samples)
    n = int(deploy_split.train[-1]) + 1            # washout + the deploy's training part
    kept = full.targets[:n]
    sigma = None if full.sigma is None else kept.std(axis=0)
    task = SeriesTask(name, full.inputs[:n], kept, full.metric, sigma=sigma,
                      persistence=None if full.persistence is None else full.persistence[:n],
                      info=full.info)
    return task, TaskSplit(n)


def encode(task: SeriesTask, dt: float):
    scaling = SERIES_CODE_DEFAULTS.get(task.name, {}).get("scaling", "zscore")
    fit = int(0.7 * task.inputs.shape[0])
    return encode_series(task.inputs, N_INPUTS, dt=dt, steps_per_sample=STEPS_PER_SAMPLE,
                         fit_samples=fit, scaling=scaling)


def score_network(net, spikes_in, task, split) -> dict:
    """Score of ``net`` and of its control (network's tau, and its own), and activity."""
    active = np.flatnonzero(net.neuron_active)
    spikes = simulate(net, spikes_in, mode="float").spikes
    tau, states, model = select_task_tau(spikes, STEPS_PER_SAMPLE, net.dt, task, split, active)
    ctrl_spikes = simulate(no_recurrence(net), spikes_in, mode="float").spikes
    _, c_states, c_model = select_task_tau(ctrl_spikes, STEPS_PER_SAMPLE, net.dt, task, split,
                                           active, taus=(tau,))
    own_tau, o_states, o_model = select_task_tau(ctrl_spikes, STEPS_PER_SAMPLE, net.dt, task,
                                                 split, active)
    return {"score": score_states(states, task, split, model), "tau": tau,
            "ctrl": score_states(o_states, task, split, o_model), "ctrl_tau": own_tau,
            "ctrl_net_tau": score_states(c_states, task, split, c_model),
            "firing": float(np.mean(spikes[:, active].any(axis=0))),
            "rate_hz": float(spikes[:, active].mean() / net.dt)}


def references(task: SeriesTask, split: TaskSplit, units: int, seed: int) -> dict:
    """Persistence (where it applies) and the same-size ESN on the validation samples."""
    out = {"persistence": None}
    if task.persistence is not None:
        out["persistence"] = float(nrmse(task.persistence[split.test],
                                         task.targets[split.test], task.sigma))
    out["esn"] = score_states(esn_states(task.inputs, split.train, units, seed), task, split)
    return out


def ratio(row: dict, higher: bool) -> float:
    a, c = row["score"], row["ctrl"]
    return a / c if higher else c / a


def run(args) -> list[dict]:
    rows, refs = [], {}
    grid = list(itertools.product(args.models, args.seeds, args.gains, args.input_scales))
    t0 = time.process_time()
    for model, seed, gain, in_scale in grid:
        net = build_network(model, args.neurons, seed=seed, n_inputs=N_INPUTS, gain=gain,
                            input_scale=in_scale)
        rho = operating_lambda_max(net, n_drives=1, n_steps=500, seed=seed,
                                   k=4).as_dict()["coupling_abscissa"]
        for name in args.tasks:
            task, split = sweep_task(name, seed, args.task_samples, args.horizon)
            if (name, seed) not in refs:
                refs[(name, seed)] = references(task, split, args.neurons, seed)
            r = score_network(net, encode(task, net.dt).spikes, task, split)
            rows.append({"model": model, "seed": seed, "gain": gain, "input_scale": in_scale,
                         "task": name, "metric": task.metric, "rho": rho, **r,
                         **refs[(name, seed)]})
            print(_line(rows[-1]), flush=True)
    print(f"# CPU time {time.process_time() - t0:.0f} s")
    return rows


def _line(r: dict) -> str:
    higher = r["metric"] == "memory_capacity"
    pers = "n/a" if r["persistence"] is None else f"{r['persistence']:.4f}"
    return (f"| {r['model']} | {r['seed']} | {r['gain']:g} | {r['input_scale']:g} | "
            f"{r['task']} | {r['rho']:.2f} | {r['firing']:.2f} | {r['rate_hz']:.0f} | "
            f"{r['score']:.4f} | {r['ctrl']:.4f} | {r['ctrl_net_tau']:.4f} | "
            f"{ratio(r, higher):.2f} | {pers} | {r['esn']:.4f} |")


def summary(rows: list[dict]) -> None:
    """Mean over seeds per (model, task, gain, input scale)."""
    print("\n| model | task | gain | input scale | rho(M) | score | control | rec/ctrl "
          "(mean, min-max) | persistence | ESN |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(r["model"], r["task"], r["gain"], r["input_scale"]) for r in rows},
                  key=lambda k: (k[0], TASKS.index(k[1]), k[2], k[3]))
    for key in keys:
        group = [r for r in rows if (r["model"], r["task"], r["gain"], r["input_scale"]) == key]
        higher = group[0]["metric"] == "memory_capacity"
        ratios = [ratio(r, higher) for r in group]
        pers = [r["persistence"] for r in group if r["persistence"] is not None]
        print(f"| {key[0]} | {key[1]} | {key[2]:g} | {key[3]:g} | "
              f"{np.mean([r['rho'] for r in group]):.2f} | "
              f"{np.mean([r['score'] for r in group]):.4f} | "
              f"{np.mean([r['ctrl'] for r in group]):.4f} | {np.mean(ratios):.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | "
              f"{f'{np.mean(pers):.4f}' if pers else 'n/a'} | "
              f"{np.mean([r['esn'] for r in group]):.4f} |")


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="hrsnn", type=lambda s: s.split(","))
    p.add_argument("--neurons", type=int, default=500)
    p.add_argument("--seeds", default="0,1,2", type=lambda s: [int(v) for v in s.split(",")])
    p.add_argument("--gains", default="0.5,1,1.5,2,3", type=_floats)
    p.add_argument("--input-scales", default="0.5,1,2", type=_floats)
    p.add_argument("--tasks", default=",".join(TASKS), type=lambda s: s.split(","))
    p.add_argument("--task-samples", type=int, default=3000)
    p.add_argument("--horizon", type=int, default=1, help="samples ahead for lorenz-x")
    p.add_argument("--quick", action="store_true",
                   help="seed 0, gains 1 and 2, input scale 1, 1500 task samples")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.gains, args.input_scales, args.task_samples = [0], [1.0, 2.0], [1.0], 1500
    print("| model | seed | gain | input scale | task | rho(M) | firing | rate (Hz) | score | "
          "control | ctrl, network's tau | rec/ctrl | persistence | ESN |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with deterministic_threads():
        rows = run(args)
    summary(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
