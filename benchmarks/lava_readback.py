"""Reading spikes back from Lava: Lava's ``Monitor`` against our bit-packed ``SpikeRecorder``.

The measurement behind ``lnp_neuro.engines.lava.procs`` (design section 6): the default
deploy's unpruned network (HRSNN, N = 1000, its Lorenz-63 drive of 500 steps) is built
as Lava processes by ``build_lava_network`` (which attaches a ``SpikeRecorder``), a
``Monitor`` probes the same ``s_out``, and one fixed-point run is made. Printed: the
seconds of the run, of ``Monitor.get_data()`` and of the recorder's read, and the CPU
seconds of Lava's worker processes; the two rasters must agree.

    .venv/bin/python benchmarks/lava_readback.py [--steps 500]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lnp_neuro.deploy import (DeployOptions, build_network, load_series,  # noqa: E402
                              make_input, series_inputs)
from lnp_neuro.engines.lava.backend import build_lava_network  # noqa: E402
from lnp_neuro.engines.lava.compat import ensure_lava  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=500)
    args = ap.parse_args(argv)
    if args.steps < 2:
        ap.error("--steps must be >= 2")
    options = DeployOptions(prune="none", steps=args.steps, progress=False)
    series, info = load_series(options)
    net = build_network(options, series_inputs(series, options))
    inputs = make_input(options, net, series, info)[0]

    ensure_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.monitor.process import Monitor

    lava_net = build_lava_network(net, inputs != 0, "fixed")
    lif = lava_net.lif
    monitor = Monitor()
    monitor.probe(lif.s_out, args.steps)
    cpu0 = _children_cpu()
    try:
        t0 = time.perf_counter()
        lif.run(condition=RunSteps(num_steps=args.steps),
                run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        t1 = time.perf_counter()
        recorded = lava_net.recorded_spikes(args.steps)
        t2 = time.perf_counter()
        monitored = np.asarray(monitor.get_data()[lif.name]["s_out"]).reshape(args.steps, -1)
        t3 = time.perf_counter()
    finally:
        lif.stop()
    cpu = _children_cpu() - cpu0
    same = np.array_equal(recorded, monitored != 0)
    print(f"network: {net.n_active_neurons} neurons, {net.n_active_synapses} synapses, "
          f"{args.steps} steps (fixed point), {int(recorded.sum())} spikes")
    print(f"run (compile, start, {args.steps} steps)  {t1 - t0:7.2f} s")
    print(f"SpikeRecorder read                 {t2 - t1:7.2f} s   "
          f"({recorded.shape[0] * -(-recorded.shape[1] // 32)} elements)")
    print(f"Monitor.get_data()                 {t3 - t2:7.2f} s   ({monitored.size} elements)")
    print(f"CPU seconds of Lava's workers      {cpu:7.2f} s")
    print(f"rasters {'agree' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
