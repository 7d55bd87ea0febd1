"""Hostile inputs to ``lnp-deploy``: each is one line on stderr, exit 2, no traceback (or
a correct run), never a crash deep in numpy, reservoirpy or json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nir
import numpy as np
import pytest

from conftest import chain_graph

import lnp_neuro
from lnp_neuro.deploy import cli
from lnp_neuro.model.build import hrsnn
from lnp_neuro.nir import write_graph
from lnp_neuro.nir.reservoir_files import METADATA_KEY, write_nir
from lnp_neuro.tasks.forecast import ForecastSplit, _sigma, check_scorable, reference_forecasts

ROOT = Path(lnp_neuro.__file__).resolve().parent.parent
SMALL = ["--target", "cpu", "--neurons", "20", "--steps", "30", "--iterations", "1",
         "--task-samples", "300", "--vpt-starts", "0", "--quiet"]
DEEP = "[" * 5000 + "]" * 5000


def _one_line_error(capsys, *needles: str) -> str:
    """The error on stderr: one line (after argparse's usage lines, if any)."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    lines = err.splitlines()
    if lines[0].startswith("usage:"):
        lines = [line for line in lines if line.startswith("lnp-deploy: error:")]
    assert len(lines) == 1, err
    err = lines[0]
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def _network(tmp_path: Path):
    return hrsnn(20, 0.2, seed=0, n_inputs=6)


def test_deep_npz_metadata_is_named(tmp_path, capsys):
    path = tmp_path / "net.npz"
    _network(tmp_path).save(path)
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    for text in (DEEP, '{"model": 1' + "0" * 400 + "}"):
        data["metadata_json"] = np.array(text)
        bad = tmp_path / "bad.npz"
        np.savez_compressed(bad, **data)
        out = tmp_path / "out"
        assert cli.main(["--target", "cpu", "--network", str(bad), "--prune", "none",
                         "--steps", "20", "--quiet", "--out", str(out)]) == 2
        _one_line_error(capsys, str(bad), "metadata_json")
        assert not out.exists()


def test_deep_nir_metadata_is_named(tmp_path, capsys):
    path = tmp_path / "net.nir"
    write_nir(_network(tmp_path), path)
    graph = nir.read(path)
    graph.metadata[METADATA_KEY]["network_metadata_json"] = DEEP
    bad = tmp_path / "bad.nir"
    nir.write(bad, graph)
    assert cli.main(["--target", "cpu", "--network", str(bad), "--prune", "none",
                     "--steps", "20", "--quiet", "--out", str(tmp_path / "out")]) == 2
    _one_line_error(capsys, str(bad), "network_metadata_json", "deeper")


@pytest.mark.parametrize("argv, flag", [
    (["--neurons", "2"], "--neurons"),
    (["--neurons", "1", "--input", "poisson"], "--neurons"),  # was the builder's n_neurons
    (["--model", "chrsnn", "--neurons", "3"], "--clusters"),  # and its n_clusters
    (["--seed", "-1"], "--seed"),
    (["--target-density", "0.5", "--density", "0.1"], "--target-density"),
])
def test_argument_ranges_name_the_flag(tmp_path, capsys, argv, flag):
    try:
        code = cli.main(SMALL + argv + ["--out", str(tmp_path / "out")])
    except SystemExit as exc:  # argparse's own refusal
        code = exc.code
    assert code == 2
    _one_line_error(capsys, flag)
    assert not (tmp_path / "out").exists()


def test_prune_random_with_two_neurons_is_refused(tmp_path, capsys):
    assert cli.main(SMALL + ["--neurons", "2", "--prune", "random",
                             "--out", str(tmp_path / "out")]) == 2
    _one_line_error(capsys, "--neurons")


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("x,y\n" + "\n".join(rows) + "\n")
    return path


def test_csv_files_that_are_not_files(tmp_path, capsys):
    folder = tmp_path / "d.csv"
    folder.mkdir()
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    zero = tmp_path / "z.csv"
    zero.symlink_to("/dev/zero")
    for path, why in ((folder, "folder"), (fifo, "regular file"), (zero, "regular file"),
                      (tmp_path / "none.csv", "no such CSV file")):
        assert cli.main(SMALL + ["--input", str(path), "--out", str(tmp_path / "o")]) == 2
        _one_line_error(capsys, str(path), why)


def test_csv_contents_are_named(tmp_path, capsys):
    huge = _csv(tmp_path / "huge.csv", [f"{i},1e308" for i in range(400)])
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"x,y\n1,2\n3,\xe9\n")
    for path, needles in ((huge, ("'y'", "line 2", "1e308")), (latin, ("UTF-8",))):
        assert cli.main(SMALL + ["--input", str(path), "--out", str(tmp_path / "o")]) == 2
        _one_line_error(capsys, str(path), *needles)


def test_constant_series_is_never_a_perfect_score(tmp_path, capsys):
    const = _csv(tmp_path / "const.csv", ["5,5"] * 400)
    assert cli.main(SMALL + ["--input", str(const), "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "constant", "undefined")
    assert not (tmp_path / "o").exists()
    y = np.full((50, 1), 3.0)
    y[7] += 1e-13  # nearly constant: rounding noise, not a signal
    with pytest.raises(ValueError, match="constant"):
        _sigma(y)
    with pytest.raises(ValueError, match="constant"):
        reference_forecasts(np.ones((300, 1)), ForecastSplit(300), esn_units=None)


def test_series_constant_where_it_is_scored_is_refused(tmp_path, capsys):
    """Varying only in the washout: persistence and the readouts scored a perfect 0.0."""
    y = np.ones(400)
    y[5] = 0.0
    step = _csv(tmp_path / "step.csv", [f"{v},{v}" for v in y])
    assert cli.main(SMALL + ["--input", str(step), "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, str(step), "constant", "scored on", "undefined")
    assert not (tmp_path / "o").exists()
    split = ForecastSplit(400)
    wave = np.sin(np.arange(400) / 5.0)
    check_scorable(wave, split)   # varying where it is scored: accepted
    wave[split.test[0] + 1:] = 2.0
    with pytest.raises(ValueError, match="scored on"):
        check_scorable(wave, split)


def test_too_few_task_samples_name_the_flag(tmp_path, capsys):
    need = ForecastSplit.min_samples()
    ForecastSplit(need)           # the minimum is exact: one sample fewer is refused
    with pytest.raises(ValueError, match=f"need at least {need}"):
        ForecastSplit(need - 1)
    argv = [*SMALL, "--out", str(tmp_path / "o")]
    argv[argv.index("--task-samples") + 1] = str(need - 1)
    assert cli.main(argv) == 2
    _one_line_error(capsys, f"--task-samples {need - 1}", f"at least {need}")
    assert not (tmp_path / "o").exists()


def test_network_too_small_for_the_esn_reference_is_named(tmp_path, capsys):
    tiny = tmp_path / "tiny.npz"
    hrsnn(2, 1.0, seed=0, n_inputs=48).save(tiny)
    assert cli.main(["--target", "cpu", "--network", str(tiny), "--prune", "none",
                     "--steps", "30", "--task-samples", "300", "--quiet",
                     "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, f"--network {tiny}", "echo-state")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("labels, train", [([2] * 10, None),
                                           ([0, 1, 2, 3], [True, True, True, False])])
def test_data_scored_on_one_class_is_refused(tmp_path, capsys, labels, train):
    """One class among the scored samples: chance is 1.0, a constant answer is perfect."""
    write_graph(chain_graph(), tmp_path / "model.nir")
    labels = np.array(labels)
    inputs = np.random.default_rng(0).random((labels.size, 20, 6)) < 0.3
    extra = {} if train is None else {"train": np.array(train)}
    np.savez(tmp_path / "data.npz", inputs=inputs, labels=labels, **extra)
    assert cli.main(["--target", "cpu", "--network", str(tmp_path / "model.nir"), "--data",
                     str(tmp_path / "data.npz"), "--prune", "none", "--steps", "40",
                     "--quiet", "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "data.npz", "'labels'", "one class", "undefined")
    assert not (tmp_path / "o").exists()


def _shell(cmd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True,
                          text=True, timeout=300, env=env)


def test_closed_stdout_ends_quietly(tmp_path):
    deploy = f"{sys.executable} -m lnp_neuro.deploy.cli"
    res = _shell(f"{deploy} --list-targets | true")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    out = tmp_path / "out"
    res = _shell(f"{deploy} --target cpu --neurons 20 --steps 30 --iterations 1 "
                 f"--input poisson --json --out {out} | true")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr == ""
    assert json.loads((out / "report.json").read_text())["steps"] == 30
