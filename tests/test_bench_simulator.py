"""benchmarks/simulator.py: the accumulate-limit row visits exactly the run's events."""

import importlib.util
from pathlib import Path

import numpy as np

from lnp_neuro import models
from lnp_neuro.engines.fixed_point import quantize
from lnp_neuro.engines.simulator import simulate

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "simulator.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_simulator", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_accumulate_limit_counts_the_same_events_as_the_fixed_run():
    bench = _bench()
    net = models.hrsnn(120, 0.08, seed=4, n_inputs=5)
    x = np.random.default_rng(5).random((60, 5)) < 0.2
    q = quantize(net)
    res = simulate(net, x, mode="fixed", quantization=q)
    assert res.spikes.any()
    events, secs, _ = bench.time_accumulate_limit(q, x, res.spikes, repeats=1)
    assert events == res.synaptic_events > 0 and secs >= 0


def test_brian2_target_off_and_parse_args():
    bench = _bench()
    assert bench.brian2_target("off") is None
    args = bench.parse_args(["--brian2", "cython", "--steps", "10"])
    assert args.brian2 == "cython" and args.lava_steps == 10


def test_scale_run_counts_its_events_and_flags_parse():
    bench = _bench()
    res, secs, _, limit_secs = bench.time_scale(600, 0.05, 30, repeats=1)
    assert res.spikes.shape == (30, 600) and res.synaptic_events > 0
    assert secs > 0 and limit_secs >= 0
    assert bench.parse_args(["--no-scale"]).scale is False
    assert bench.parse_args([]).scale is True
