"""lnp-deploy on the memory tasks (--input memory | narma10 | lorenz-x), and the
no-recurrence control in every task report."""

import json

import numpy as np
import pytest

from lnp_neuro.deploy import DeployOptions
from lnp_neuro.deploy.options import CHOSEN_CODE_SETTINGS
from lnp_neuro.deploy.cli import main
from lnp_neuro.deploy.inputs import build_network, load_series, make_input, series_inputs
from lnp_neuro.deploy.measure import no_recurrence
from lnp_neuro.engines.simulator import simulate
from lnp_neuro.tasks.deployed_readout import deployed_readout_nrmse, deployed_scale
from lnp_neuro.tasks.forecast import ForecastSplit, one_step_nrmse, select_trace_tau

# 400 samples: split 100 washout, 210 train, 90 test; 60 neurons, one LNP iteration.
SMALL = ["--neurons", "60", "--steps", "60", "--iterations", "1", "--task-samples", "400",
         "--quiet", "--target", "cpu"]


def deploy(tmp_path, name, *args):
    out = tmp_path / name
    code = main(["--out", str(out), *SMALL, *args])
    return code, (json.loads((out / "report.json").read_text()) if code == 0 else None), out


@pytest.mark.parametrize("task", ["memory", "narma10", "lorenz-x"])
def test_memory_inputs_deploy_and_score(tmp_path, task):
    code, r, out = deploy(tmp_path, task, "--input", task)
    assert code == 0
    t = r["task"]
    assert t["name"] == task and (t["n_train"], t["n_test"]) == (210, 90)
    assert r["input"]["kind"] == task and r["input"]["channels"] == 48   # one dimension
    if task == "lorenz-x":
        # No code flag: every setting is chosen on the training samples, as a CSV's, and
        # the ones chosen are the ones the drive used.
        choice = r["input"]["code_choice"]
        assert choice["chosen"] == list(CHOSEN_CODE_SETTINGS)
        for key in CHOSEN_CODE_SETTINGS:
            assert r["input"][key] == r["options"][key] == choice[key]
        assert min(c["nrmse"] for c in choice["candidates"]) == next(
            c["nrmse"] for c in choice["candidates"]
            if all(c[k] == choice[k] for k in CHOSEN_CODE_SETTINGS))
    else:
        # Their targets are not a forecast of the series: the defaults are kept.
        assert "code_choice" not in r["input"]
        assert (r["input"]["scaling"], r["input"]["steps_per_sample"], r["input"]["copies"],
                r["input"]["code"]) == ("range", 20, 24, "level")
    refs = t["references"]
    for key in ("unpruned", "pruned", "pruned_no_recurrence"):
        assert np.isfinite(t[key]) and t[key] >= 0
    for key in ("linear", "esn", "no_recurrence"):
        assert np.isfinite(refs[key]) and refs[key] >= 0
    report = (out / "report.md").read_text()
    assert "what the recurrence contributes" in report
    if task == "memory":
        assert t["metric"] == "memory_capacity" and t["higher_is_better"] is True
        assert t["persistence"] is None and refs["persistence"] is None
        assert "references.persistence" in t["null_reasons"]
        assert len(t["per_delay"]["unpruned"]) == t["delays"] == 30
        assert t["unpruned"] == pytest.approx(sum(t["per_delay"]["unpruned"]))
        assert "memory capacity, higher is better" in report
        # The NRMSE plot does not show a memory capacity, and says why.
        assert "this plot compares NRMSE only" in report
        # Same seed, same bits (the five scoring blocks run on a thread pool).
        code, again, _ = deploy(tmp_path, "again", "--input", task)
        assert code == 0 and again["task"] == t
    else:
        assert t["metric"] == "nrmse" and t["higher_is_better"] is False
        assert refs["persistence"] == t["persistence"] > 0
        assert "task_vs_energy.png" in report


def test_lorenz_x_horizon_and_bad_flags(tmp_path, capsys):
    code, r, _ = deploy(tmp_path, "h10", "--input", "lorenz-x", "--horizon", "10",
                        "--prune", "none")
    assert code == 0 and r["task"]["horizon"] == 10 and r["input"]["horizon"] == 10
    assert "x[t+10]" in r["task"]["definition"]
    capsys.readouterr()
    code, _, _ = deploy(tmp_path, "bad", "--input", "memory", "--horizon", "3")
    err = capsys.readouterr().err
    assert code == 2 and "--horizon" in err and len(err.strip().splitlines()) == 1
    code, _, _ = deploy(tmp_path, "bad2", "--input", "narma20")
    assert code == 2 and "narma20" in capsys.readouterr().err
    # The code is chosen on a forecast split of the inputs, which needs 133 samples.
    code, _, _ = deploy(tmp_path, "short", "--input", "lorenz-x", "--task-samples", "132")
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--task-samples 132" in err and "at least 133" in err


def test_memory_input_code_defaults_yield_to_flags():
    assert DeployOptions(input="memory").copies == 24
    assert DeployOptions(input="memory").scaling == "range"
    assert DeployOptions(input="lorenz").copies == 8
    assert DeployOptions(input="memory", copies=4, scaling="zscore").copies == 4
    # lorenz-x chooses what it is not given, with a built network only; the defaults
    # stand in until it does. memory and narma10 never choose.
    assert DeployOptions(input="lorenz-x").code_to_choose == CHOSEN_CODE_SETTINGS
    assert DeployOptions(input="lorenz-x", code="level", copies=4).code_to_choose == \
        ("scaling", "steps_per_sample")
    assert DeployOptions(input="lorenz-x", network="net.nir").code_to_choose == ()
    assert DeployOptions(input="lorenz-x", network="net.nir").copies == 24
    for task in ("memory", "narma10"):
        assert DeployOptions(input=task).code_to_choose == ()


def test_lorenz_x_keeps_a_code_flag_given(tmp_path):
    code, r, _ = deploy(tmp_path, "sps10", "--input", "lorenz-x", "--steps-per-sample", "10",
                        "--prune", "none")
    assert code == 0
    choice = r["input"]["code_choice"]
    assert choice["chosen"] == ["scaling", "copies", "code"]
    assert choice["steps_per_sample"] == r["input"]["steps_per_sample"] == 10
    assert {c["steps_per_sample"] for c in choice["candidates"]} == {10}
    assert r["task"]["n_train"] == 210 and np.isfinite(r["task"]["unpruned"])


def test_no_recurrence_control_is_present_and_scored(tmp_path):
    """The default task's control is the built network with its recurrent synapses
    masked, run and read out as the network is (the off-chip readout, and the on-chip
    readout population the task's figures come from): recomputed here, it gives the same
    numbers."""
    code, r, _ = deploy(tmp_path, "lorenz", "--prune", "none")
    assert code == 0
    t = r["task"]
    control = t["offchip_readout"]["no_recurrence"]
    options = DeployOptions(neurons=60, task_samples=400, steps=60, target="cpu")
    series, info = load_series(options)
    net = build_network(options, series_inputs(series, options))
    _, encoded, _ = make_input(options, net, series, info)
    bare = no_recurrence(net)
    assert bare.n_active_synapses == 0 and bare.n_active_neurons == net.n_active_neurons
    spikes = simulate(bare, encoded.spikes, mode="fixed").spikes       # --target cpu
    split = ForecastSplit(encoded.series.shape[0])
    _, states, ridge = select_trace_tau(spikes, 20, net.dt, encoded.series, split)
    assert control == pytest.approx(one_step_nrmse(states, encoded.series, split,
                                                   model=ridge), rel=1e-12)
    tau = select_trace_tau(spikes, 20, net.dt, encoded.series, split)[0]
    on_chip = deployed_readout_nrmse(spikes, encoded.series, split, 20, net.dt, tau,
                                     np.arange(net.n_total_neurons), "fixed",
                                     deployed_scale(bare))
    assert t["references"]["no_recurrence"] == pytest.approx(on_chip["nrmse"], rel=1e-12)
    # --prune none: the deployed network is the unpruned one, so is its control.
    assert t["offchip_readout"]["pruned_no_recurrence"] == pytest.approx(control, rel=1e-12)
    assert t["pruned_no_recurrence"] == pytest.approx(on_chip["nrmse"], rel=1e-12)
    assert control != pytest.approx(t["offchip_readout"]["unpruned"])
