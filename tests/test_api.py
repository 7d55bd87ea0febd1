"""The one-call API (lnp_neuro.run_deployment, compare) against lnp-deploy: one code path,
the same files and bytes, the same messages for bad input."""

import json

import numpy as np
import pytest

import lnp_neuro
from lnp_neuro.deploy.cli import main
from lnp_neuro.engines.base import TargetUnavailable
from lnp_neuro.engines.simulator import simulate

SMALL = {"target": "cpu", "neurons": 60, "steps": 60, "iterations": 1, "task_samples": 300,
         "vpt_starts": 2}
SMALL_FLAGS = ["--target", "cpu", "--neurons", "60", "--steps", "60", "--iterations", "1",
               "--task-samples", "300", "--vpt-starts", "2", "--quiet"]
#: The fields that hold wall-clock times (every other byte must match).
TIMING_FIELDS = ("timings_seconds", "seconds", "step_seconds")


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def _zero_timings(value):
    if isinstance(value, dict):
        return {k: (0 if k in TIMING_FIELDS else _zero_timings(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_zero_timings(v) for v in value]
    return value


def _without_timings(path):
    """report.json's bytes with the timing fields zeroed (read and written back with the
    formatting deploy uses, which the first assert shows reproduces the file exactly)."""
    text = path.read_text()
    data = json.loads(text)
    assert json.dumps(data, indent=2, allow_nan=False) == text
    return json.dumps(_zero_timings(data), indent=2, allow_nan=False).encode()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """``lnp-deploy --out run`` from its own working folder (``options.out`` = "run")."""
    root = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert main([*SMALL_FLAGS, "--out", "run"]) == 0
    return root / "run"


def test_api_with_out_writes_what_the_cli_writes(cli_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = lnp_neuro.run_deployment(out="run", **SMALL)
    out = tmp_path / "run"
    assert result.saved and result.path == out.relative_to(tmp_path)
    assert _files(out) == _files(cli_run)
    assert _without_timings(out / "report.json") == _without_timings(cli_run / "report.json")
    assert (out / "network.nir").read_bytes() == (cli_run / "network.nir").read_bytes()
    with np.load(out / "run.npz") as a, np.load(cli_run / "run.npz") as b:
        assert a.files == b.files
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    # The result holds what the folder holds.
    with np.load(out / "run.npz") as z:
        np.testing.assert_array_equal(result.spikes, z["spikes"])
        np.testing.assert_array_equal(result.spikes_unpruned, z["spikes_unpruned"])
        np.testing.assert_array_equal(result.input_spikes, z["input_spikes"])
    assert result.report == json.loads((out / "report.json").read_text())
    assert result.deployed.source == str(out.relative_to(tmp_path) / "network.nir")
    np.testing.assert_array_equal(
        simulate(result.deployed.network, result.input_spikes, mode="fixed").spikes,
        result.spikes)
    assert result.energy["profiles"][result.report["profile"]]["energy_joules"] == \
        result.report["energy_joules"]
    _check_headline(result)


def test_unsaved_result_saves_the_cli_folder(cli_run, tmp_path, monkeypatch):
    result = lnp_neuro.run_deployment(**SMALL)
    assert not result.saved and result.report["options"]["out"] is None
    staging = result.path
    assert staging.is_dir()
    monkeypatch.chdir(tmp_path)
    result.save("run")
    out = tmp_path / "run"
    assert _files(out) == _files(cli_run)
    assert _without_timings(out / "report.json") == _without_timings(cli_run / "report.json")
    assert not staging.exists(), "the temporary folder goes once the run is saved"
    assert result.saved and result.report["options"]["out"] == "run"
    # The reports name the run where it is, never a temporary or staging folder.
    for name in ("report.html", "report.md"):
        text = (out / name).read_text()
        assert str(staging) not in text and ".partial-" not in text
        assert "LNP (this folder)" in text
    with pytest.raises(lnp_neuro.DeployInputError, match="--out"):
        result.save("run")            # exists: refused as the CLI refuses it (exit 2)
    result.save("run", force=True)


def _check_headline(result):
    """The result's headline in a notebook (HTML) and a terminal (text)."""
    report = result.report
    html, text = result._repr_html_(), str(result)
    for shown in (html, text):
        assert f"{report['energy_joules']:.3g} J" in shown
        assert f"{report['sop_ratio']:.3g}x" in shown
        assert f"{report['task']['pruned']:.3g}" in shown
        assert "persistence" in shown and "ESN" in shown
    assert html.startswith("<div>") and "<table>" in html


@pytest.mark.parametrize("api, flags, message", [
    ({"neurons": 0}, ["--neurons", "0"], "argument --neurons: expected a whole number >= 1"),
    ({"prune": "lnpx"}, ["--prune", "lnpx"], "argument --prune: invalid choice: 'lnpx'"),
    ({"density": 1.5}, ["--density", "1.5"], "argument --density: expected a number in (0, 1]"),
    ({"target_density": 0.5}, ["--target-density", "0.5"], "--target-density 0.5"),
])
def test_bad_options_same_message_as_the_cli(tmp_path, capsys, api, flags, message):
    try:
        code = main([*SMALL_FLAGS, *flags, "--out", str(tmp_path / "cli")])
    except SystemExit as exc:  # argparse's own refusal
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
    with pytest.raises(lnp_neuro.DeployInputError) as info:
        lnp_neuro.run_deployment(**{**SMALL, **api, "out": tmp_path / "api"})
    assert isinstance(info.value, ValueError) and message in str(info.value)
    assert not (tmp_path / "api").exists()


def test_unknown_option_and_unavailable_target(tmp_path):
    with pytest.raises(lnp_neuro.DeployInputError, match="no --nuerons"):
        lnp_neuro.run_deployment(nuerons=60)
    with pytest.raises(lnp_neuro.DeployInputError, match="--force: expected True or False"):
        lnp_neuro.run_deployment(force="yes")
    with pytest.raises(lnp_neuro.DeployInputError, match="lnp-deploy has no --json"):
        lnp_neuro.run_deployment(json=True)
    with pytest.raises(TargetUnavailable):   # the CLI's exit 3
        lnp_neuro.run_deployment(**{**SMALL, "target": "loihi2"}, out=tmp_path / "x")


def test_in_memory_network_deploys_as_its_file(tmp_path):
    """A SpikingNetwork passed as an object runs as the same network saved to .npz."""
    net = lnp_neuro.models.hrsnn(40, 0.2, seed=3, n_inputs=6)
    net.save(tmp_path / "net.npz")
    options = {"target": "cpu", "prune": "none", "input": "poisson", "rate": 0.2,
               "steps": 50}
    a = lnp_neuro.run_deployment(network=net, **options)
    b = lnp_neuro.run_deployment(network=tmp_path / "net.npz", **options)
    np.testing.assert_array_equal(a.spikes, b.spikes)
    assert a.report["sops_pruned"] == b.report["sops_pruned"]
    with pytest.raises(lnp_neuro.DeployInputError, match="network must be"):
        lnp_neuro.run_deployment(network=[1, 2, 3])


def test_compare_saves_runs_beside_its_report(cli_run, tmp_path):
    unsaved = lnp_neuro.run_deployment(**{**SMALL, "prune": "none"})
    shown = lnp_neuro.compare([cli_run, unsaved])        # nothing written: the headline
    assert shown.path is None and not unsaved.saved
    assert "<td>LNP</td>" in shown._repr_html_() and "<td>Unpruned</td>" in shown._repr_html_()
    assert repr(unsaved).startswith("Deployment('Unpruned' on 'cpu'")
    comparison = lnp_neuro.compare([cli_run, unsaved], out=tmp_path / "cmp")
    folder = tmp_path / "cmp" / "1-unpruned"
    assert unsaved.saved and unsaved.path == folder and (folder / "report.json").is_file()
    md = (tmp_path / "cmp" / "report.md").read_text()
    html = (tmp_path / "cmp" / "report.html").read_text()
    runs_line = next(line for line in md.splitlines() if line.startswith("Runs:"))
    cli_rel = "../../" + cli_run.parent.name + "/run"
    assert "(1-unpruned)" in runs_line and cli_rel in runs_line
    assert 'href="1-unpruned/report.html"' in html
    assert ".partial-" not in md + html and "lnp-run-" not in md + html
    assert "Headline" in comparison._repr_html_() and "Unpruned" in str(comparison)
    with pytest.raises(lnp_neuro.DeployInputError):
        lnp_neuro.compare([], out=tmp_path / "none")
    with pytest.raises(lnp_neuro.DeployInputError, match="no such run folder"):
        lnp_neuro.compare([tmp_path / "missing"])
    assert shown.save(tmp_path / "later") == tmp_path / "later"   # the runs are saved now
    assert "Runs: LNP (../../" in (tmp_path / "later" / "report.md").read_text()
