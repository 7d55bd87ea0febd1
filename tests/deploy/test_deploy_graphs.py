"""``lnp-deploy --network GRAPH.nir --prune none`` on graphs of several populations: the
NIR paper's two Braille graphs and a classifier exported by snnTorch, on every target.

Every spiking population's raster is in ``run.npz`` under ``spikes/<node name>``; the
target agrees with its parity reference spike for spike, norse included (its rasters are
shifted by each population's latency, and an imported population's bias switches on at
that latency here, so biased graphs agree from the first step).
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import nir
import numpy as np
import pytest
from conftest import norse_classifier, snntorch_classifier

from lnp_neuro.deploy.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "nir_paper"
TARGETS = ["cpu", "loihi-sim", "lava-float", "norse"]
STEPS = 200


def _graphs(tmp_path: Path) -> dict:
    graphs = {"braille_bias_zero": (DATA / "braille_noDelay_bias_zero.nir", ["--dt", "1e-4"]),
              "braille_subtract": (DATA / "braille_noDelay_noBias_subtract.nir",
                                   ["--dt", "1e-4"])}
    if importlib.util.find_spec("snntorch") and importlib.util.find_spec("torch"):
        path = tmp_path / "snntorch_classifier.nir"
        nir.write(path, snntorch_classifier()[1])
        graphs["snntorch_classifier"] = (path, [])
        # snnTorch's default neurons (reset by subtraction, one step late): the reset
        # amount on every engine, norse's LIF cells included.
        path = tmp_path / "snntorch_subtract.nir"
        nir.write(path, snntorch_classifier(reset_mechanism="subtract", reset_delay=True)[1])
        graphs["snntorch_subtract"] = (path, ["--source", "snntorch"])
    if importlib.util.find_spec("norse") and importlib.util.find_spec("torch"):
        path = tmp_path / "norse_classifier.nir"
        nir.write(path, norse_classifier("cuba")[1])
        graphs["norse_classifier"] = (path, ["--source", "norse"])
    return graphs


@pytest.fixture(scope="module")
def graph_files(tmp_path_factory):
    return _graphs(tmp_path_factory.mktemp("graphs"))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", ["braille_bias_zero", "braille_subtract",
                                  "snntorch_classifier", "snntorch_subtract",
                                  "norse_classifier"])
def test_graph_deploys_on_every_target(tmp_path, graph_files, name, target):
    if name not in graph_files:
        pytest.skip("snntorch or norse is not installed")
    if target in ("loihi-sim", "lava-float") and not importlib.util.find_spec("lava"):
        pytest.skip("lava is not installed")
    if target == "norse" and not importlib.util.find_spec("norse"):
        pytest.skip("norse is not installed")
    path, extra = graph_files[name]
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the Braille biases' folding warning
        code = main(["--target", target, "--network", str(path), *extra, "--prune", "none",
                     "--input", "poisson", "--rate", "0.3", "--steps", str(STEPS),
                     "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    populations = report["deployed"]["populations"]
    run = np.load(out / "run.npz")
    assert len(populations) == 2
    for pop in populations:
        raster = run[pop["run_npz_key"]]
        assert raster.shape == (STEPS, pop["neurons"])
        np.testing.assert_array_equal(raster, run["spikes"][:, slice(*pop["columns"])])
        assert raster.any(), f"{pop['name']} never spikes: the case tests nothing"
    assert [p["latency_steps"] for p in populations] == [1, 2]
    assert report["parity"] == 0


def test_graph_with_longer_delays_is_refused_naming_the_projection(tmp_path, capsys):
    from conftest import delayed_graph
    from lnp_neuro.nir import write_graph
    path = write_graph(delayed_graph(), tmp_path / "delayed.nir")
    code = main(["--target", "cpu", "--network", str(path), "--prune", "none", "--input",
                 "poisson", "--steps", "50", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "projection 'A->A' has delay_steps=2" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def test_console_warnings_are_one_line_each(tmp_path, graph_files):
    """Run as a user runs it (a process of its own), a warning reads ``lnp-deploy:
    warning: ...`` on one line, without our file names and source lines."""
    import subprocess
    import sys
    path, extra = graph_files["braille_bias_zero"]   # its Affine biases are folded: warned
    done = subprocess.run([sys.executable, "-m", "lnp_neuro.deploy.cli", "--target", "cpu",
                           "--network", str(path), *extra, "--prune", "none", "--input",
                           "poisson", "--steps", "20", "--out", str(tmp_path / "w"),
                           "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "arning" in line]
    assert warned, "the case tests nothing: no warning was shown"
    assert all(line.startswith("lnp-deploy: warning: ") for line in warned), warned
    assert ".py:" not in done.stderr
