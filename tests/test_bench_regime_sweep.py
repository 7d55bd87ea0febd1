"""benchmarks/regime_sweep.py: the sweep reads training data only, and scores a network
against its control the way lnp-deploy does."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from lnp_neuro.tasks.memory import TaskSplit, make_task

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "regime_sweep.py"


def _bench():
    spec = importlib.util.spec_from_file_location("regime_sweep", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["memory", "narma10", "lorenz-x"])
def test_sweep_never_reads_the_deploys_test_samples(name):
    bench = _bench()
    task, split = bench.sweep_task(name, 1, 1000, horizon=10 if name == "lorenz-x" else 1)
    deploy = TaskSplit(1000)
    full = make_task(name, 1000, seed=1, horizon=10 if name == "lorenz-x" else 1)
    # The sweep keeps the samples before the deploy's first test sample, and scores its
    # own validation part of them.
    assert task.inputs.shape[0] == deploy.test[0] and split.test[-1] < deploy.test[0]
    np.testing.assert_array_equal(task.targets, full.targets[:deploy.test[0]])
    np.testing.assert_array_equal(task.inputs, full.inputs[:deploy.test[0]])


def test_sweep_row_scores_a_network_and_its_control():
    from lnp_neuro.model.build import build_network
    bench = _bench()
    task, split = bench.sweep_task("memory", 0, 600)
    net = build_network("hrsnn", 80, seed=0, n_inputs=bench.N_INPUTS)
    row = bench.score_network(net, bench.encode(task, net.dt).spikes, task, split)
    assert row["score"] > 0 and row["ctrl"] > 0 and 0 < row["firing"] <= 1
    assert row["tau"] in (10e-3, 20e-3, 50e-3) and row["ctrl_tau"] in (10e-3, 20e-3, 50e-3)
    if row["ctrl_tau"] == row["tau"]:
        assert row["ctrl_net_tau"] == row["ctrl"]
