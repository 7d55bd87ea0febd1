"""``lnp-deploy --network MODEL.nir --data DATA.npz``: a classifier made in snnTorch,
scored by its own output population against the labels snnTorch itself gives
(:mod:`lnp_neuro.deploy.data`), and bad data files refused naming the field.

The labels are the argmax of the snnTorch model's output spike counts on each sample
(stepped by snnTorch, ``net.run``), so the deployed graph's accuracy measures how
closely it reproduces snnTorch (measured without the Linear biases: 1.0 unpruned and
deployed, cpu and loihi-sim; ``reset_delay=False`` rasters match up to the output
latency). With them, the biases are folded into the neuron bias, which the import starts
``shift`` steps late (``bias_onset``), when snnTorch's first step reaches the population:
the float rasters then equal snnTorch's, and the targets' fixed-point arithmetic scores
0.925 (3 of 40 samples flip on the quantised weights and biases; 0.733 before the onset).
"""

from __future__ import annotations

import importlib.util
import json

import nir
import numpy as np
import pytest
from conftest import deploy_with_data, snntorch_classifier

from lnp_neuro.deploy.cli import main

pytestmark = pytest.mark.skipif(not (importlib.util.find_spec("snntorch")
                                     and importlib.util.find_spec("torch")),
                                reason="snntorch is not installed")
SAMPLES, STEPS, INPUTS = 40, 25, 8


def _files(tmp_path_factory, bias: bool):
    """The NIR file of the classifier and its data set (labels from snnTorch itself)."""
    import torch

    folder = tmp_path_factory.mktemp("data")
    net, graph = snntorch_classifier(bias=bias)
    nir.write(folder / "model.nir", graph)
    net.double()   # float32 parameters are exact in float64, the arithmetic ours runs in
    rng = np.random.default_rng(0)
    inputs = rng.random((SAMPLES, STEPS, INPUTS)) < 0.3
    with torch.no_grad():
        counts = [net.run(torch.tensor(x, dtype=torch.float64))[1].sum(0).numpy()
                  for x in inputs]
    labels = np.array([np.argmax(c) for c in counts], dtype=np.int64)
    np.savez(folder / "data.npz", inputs=inputs, labels=labels)
    return folder, inputs, labels


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The bias-free classifier's files."""
    return _files(tmp_path_factory, bias=False)


@pytest.fixture(scope="module")
def biased_files(tmp_path_factory):
    """The classifier with its Linear biases (folded into the neurons' late bias)."""
    return _files(tmp_path_factory, bias=True)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("target", ["cpu", "loihi-sim"])
def test_accuracy_against_snntorch(request, target, bias):
    if target == "loihi-sim" and not importlib.util.find_spec("lava"):
        pytest.skip("lava is not installed")
    folder, _, labels = request.getfixturevalue("biased_files" if bias else "files")
    code, out = deploy_with_data(folder, folder / "data.npz", target,
                        ["--reference-accuracy", "1.0"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    task = report["task"]
    assert task["metric"] == "accuracy" and task["name"] == "classification"
    assert task["n_test"] == SAMPLES and task["output_population"]
    assert task["reference_accuracy"] == 1.0
    assert task["chance"] == np.bincount(labels).max() / SAMPLES
    assert len(set(labels)) > 1, "every label the same: the case tests nothing"
    print(f"{target}: accuracy {task['unpruned']} unpruned, {task['pruned']} deployed")
    assert task["unpruned"] >= 0.9 and task["pruned"] >= 0.9
    assert task["engine"] == f"native {report['mode']}"
    assert report["steps"] == 100 and report["parity"] == 0
    per_step = report["energy_joules"] / report["steps"]
    assert report["energy_per_inference_joules"][report["profile"]] == pytest.approx(
        per_step * STEPS)
    assert report["latency_per_inference_seconds"] == pytest.approx(
        (STEPS + task["latency_steps"]) * report["dt"])


def _bad(folder, name, **fields):
    path = folder / f"{name}.npz"
    np.savez(path, **fields)
    return path


def test_bad_data_files_name_the_field(files, capsys):
    folder, inputs, labels = files
    cases = {
        "inputs": _bad(folder, "missing", labels=labels),
        "'inputs' has 7": _bad(folder, "channels", inputs=inputs[:, :, :7], labels=labels),
        "field 'labels'": _bad(folder, "shape", inputs=inputs, labels=labels[:-1]),
        "'labels' must be integers": _bad(folder, "float_labels", inputs=inputs,
                                          labels=labels.astype(float)),
        "'train' is an object array": _bad(folder, "pickled", inputs=inputs, labels=labels,
                                           train=np.array([None] * SAMPLES, dtype=object)),
        "'inputs' holds values other": _bad(folder, "graded", inputs=inputs * 0.5,
                                            labels=labels),
        "'targets' must be [samples, n_outputs]": _bad(folder, "regression", inputs=inputs,
                                                       targets=np.zeros(SAMPLES)),
        "'labels' and 'targets' are both": _bad(folder, "both", inputs=inputs, labels=labels,
                                                targets=np.zeros((SAMPLES, 4))),
    }
    for message, path in cases.items():
        code, _ = deploy_with_data(folder, path)
        err = capsys.readouterr().err
        assert code == 2, (path.name, err)
        assert message in err and str(path) in err and len(err.strip().splitlines()) == 1


def test_data_needs_a_graph(files, capsys):
    folder = files[0]
    assert main(["--target", "cpu", "--data", str(folder / "data.npz"), "--out",
                 str(folder / "none"), "--quiet"]) == 2
    assert "--data" in capsys.readouterr().err
