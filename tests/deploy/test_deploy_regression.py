"""``lnp-deploy --network MODEL.nir --data DATA.npz`` with regression ``targets``
(:mod:`lnp_neuro.deploy.regression`): the NRMSE of the graph's own LI output, equal to
one computed here from the native simulator's membrane, and bad fields refused naming
them (exit 2, one line).

The graph: input (6) -> H (lif, 16) -> O (li, 2). The targets are the graph's own
prediction (O's membrane at the last step of each sample, run alone from rest) plus
noise, so the NRMSE is known to be small but not 0.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import deploy_with_data

from lnp_neuro.deploy.cli import summary_text
from lnp_neuro.deploy.inputs import load_network
from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model import Graph, Population, Projection
from lnp_neuro.nir import write_graph

SAMPLES, STEPS, INPUTS, OUTPUTS = 30, 20, 6, 2


def _graph(output: str = "li") -> Graph:
    rng = np.random.default_rng(3)
    h = Population("H", "lif", 16, tau_mem=10e-3, v_threshold=1.0)
    o = Population("O", output, OUTPUTS, tau_mem=20e-3,
                   v_threshold=1.0 if output == "lif" else None)
    w_in = sp.random(16, INPUTS, density=0.6, random_state=rng,
                     data_rvs=lambda k: rng.uniform(0.3, 0.9, k)).tocsr()
    w_out = sp.csr_matrix(rng.uniform(-0.5, 1.0, (OUTPUTS, 16)))
    return Graph(inputs={"x": INPUTS}, populations=[h, o],
                 projections=[Projection("x", "H", w_in), Projection("H", "O", w_out)],
                 outputs=["O"], dt=1e-3)


def _membrane(path, inputs, mode, spiking=False):
    """O's membrane at the last step of each sample (its spike counts, ``spiking``), run
    alone from rest for its steps plus O's latency: the prediction the deployment should
    score."""
    layout = load_network(path)
    a, b = layout.offsets["O"]
    pad = np.zeros((int(layout.latency["O"]), INPUTS), bool)
    runs = [simulate(layout.network, np.concatenate([x, pad]), mode=mode, record_state=True)
            for x in inputs]
    return np.array([r.spikes[:, a:b].sum(axis=0) if spiking else r.v[-1, a:b]
                     for r in runs])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("regression")
    write_graph(_graph(), folder / "model.nir")
    rng = np.random.default_rng(0)
    inputs = rng.random((SAMPLES, STEPS, INPUTS)) < 0.3
    ideal = _membrane(folder / "model.nir", inputs, "fixed")
    assert np.ptp(ideal, axis=0).min() > 0, "the graph's outputs do not vary"
    targets = ideal + 0.2 * ideal.std(axis=0) * rng.standard_normal(ideal.shape)
    np.savez(folder / "data.npz", inputs=inputs, targets=targets)
    return folder, inputs, targets


def _nrmse(prediction, targets):
    """Computed here: RMSE over samples and outputs, each output divided by its targets'
    standard deviation."""
    return float(np.sqrt(np.mean(((prediction - targets) / targets.std(axis=0)) ** 2)))


def test_regression_scores_the_output_membrane(files):
    folder, inputs, targets = files
    code, out = deploy_with_data(folder, folder / "data.npz")
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    task = report["task"]
    assert task["name"] == "regression" and task["metric"] == "nrmse"
    assert task["n_test"] == SAMPLES and task["n_outputs"] == OUTPUTS
    assert task["output_kind"] == "li" and "membrane" in task["prediction"]
    expected = _nrmse(_membrane(folder / "model.nir", inputs, "fixed"), targets)
    print(f"NRMSE {task['unpruned']} (computed here {expected}), baseline "
          f"{task['baseline_mean']}")
    assert 0 < expected < 0.5
    assert task["unpruned"] == pytest.approx(expected, rel=1e-12)
    assert task["pruned"] == task["unpruned"]                 # --prune none
    assert task["baseline_mean"] == pytest.approx(1.0)        # no 'train': scored mean
    assert "chance" not in task and "reference_accuracy" not in task
    assert report["latency_per_inference_seconds"] == pytest.approx(
        (STEPS + task["latency_steps"]) * report["dt"])
    md = (out / "report.md").read_text()
    assert "regression NRMSE (lower is better)" in md and "predicting the mean" in md
    assert "regression NRMSE" in summary_text(report)


def test_regression_with_train_and_refit(files):
    folder, inputs, targets = files
    train = np.arange(SAMPLES) < 12
    path = folder / "train.npz"
    np.savez(path, inputs=inputs, targets=targets, train=train)
    code, out = deploy_with_data(folder, path, extra=["--refit-readout"])
    assert code == 0
    task = json.loads((out / "report.json").read_text())["task"]
    scored = targets[~train]
    expected = _nrmse(_membrane(folder / "model.nir", inputs[~train], "fixed"), scored)
    assert task["n_test"] == SAMPLES - 12
    assert task["unpruned"] == pytest.approx(expected, rel=1e-12)
    baseline = _nrmse(np.broadcast_to(targets[train].mean(axis=0), scored.shape), scored)
    assert task["baseline_mean"] == pytest.approx(baseline, rel=1e-12)
    refitted = task["refitted"]
    assert refitted["source_population"] == "H" and refitted["n_train"] == 12
    assert np.isfinite(refitted["unpruned"]) and refitted["unpruned"] == refitted["pruned"]


def test_spiking_output_scores_spike_counts(tmp_path):
    write_graph(_graph("lif"), tmp_path / "model.nir")
    rng = np.random.default_rng(1)
    inputs = rng.random((SAMPLES, STEPS, INPUTS)) < 0.3
    counts = _membrane(tmp_path / "model.nir", inputs, "fixed", spiking=True)
    assert np.ptp(counts, axis=0).min() > 0, "the output spike counts do not vary"
    targets = counts + rng.standard_normal(counts.shape)
    np.savez(tmp_path / "data.npz", inputs=inputs, targets=targets)
    code, out = deploy_with_data(tmp_path, tmp_path / "data.npz")
    assert code == 0
    task = json.loads((out / "report.json").read_text())["task"]
    assert task["output_kind"] == "lif" and "spike count" in task["prediction"]
    assert task["unpruned"] == pytest.approx(_nrmse(counts, targets), rel=1e-12)


def test_bad_regression_fields_name_the_field(files, capsys):
    folder, inputs, targets = files
    cases = {
        "'targets' has 3 column(s)": dict(inputs=inputs, targets=np.tile(targets, 2)[:, :3]),
        "'targets' holds 2 non-finite": dict(inputs=inputs, targets=np.where(
            np.arange(SAMPLES)[:, None] == 4, np.nan, targets)),
        "'labels' and 'targets' are both": dict(inputs=inputs, targets=targets,
                                                labels=np.arange(SAMPLES) % 2),
        "'targets' must be [samples, n_outputs]": dict(inputs=inputs, targets=targets[:, 0]),
        "'targets' is constant": dict(inputs=inputs, targets=np.ones((SAMPLES, OUTPUTS))),
        "'inputs' holds values other than 0 and 1 (graded input); target cpu": dict(
            inputs=inputs * 0.5, targets=targets),
        "'labels' (classification) or 'targets' (regression) is missing": dict(
            inputs=inputs),
    }
    for i, (message, fields) in enumerate(cases.items()):
        path = folder / f"bad{i}.npz"
        np.savez(path, **fields)
        code, out = deploy_with_data(folder, path)
        err = capsys.readouterr().err
        assert code == 2, (message, err)
        assert message in err and str(path) in err and len(err.strip().splitlines()) == 1, err
        assert not out.exists()          # refused before any output
    code, out = deploy_with_data(folder, folder / "data.npz",
                        extra=["--reference-accuracy", "0.9", "--out", str(folder / "ref")])
    err = capsys.readouterr().err
    assert code == 2 and "--reference-accuracy applies to classification" in err
    assert len(err.strip().splitlines()) == 1 and not (folder / "ref").exists()
