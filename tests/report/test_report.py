"""The comparison report, built from real small runs (hrsnn + the native simulator)."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from lnp_neuro.dynamics.lyapunov import network_spectrum
from lnp_neuro.engines.simulator import simulate
from lnp_neuro.hardware.energy import energy_report
from lnp_neuro.model.build import hrsnn
from lnp_neuro.report.record import RunRecord
from lnp_neuro.report.render import NOT_AVAILABLE, load_run, write_report

STEPS = 300


def mean_ipr(net) -> float:
    """Mean inverse participation ratio of the eigenvectors of the active recurrent matrix."""
    keep = np.flatnonzero(net.neuron_active)
    w = net.effective_weights()[keep][:, keep].toarray()
    _, vecs = np.linalg.eig(w)
    p = np.abs(vecs) ** 2
    return float(np.mean((p ** 2).sum(0) / p.sum(0) ** 2))


def prune_step(net, rng):
    """Drop 15 % of the active neurons and 30 % of the active synapses (masks only)."""
    neuron_active = net.neuron_active.copy()
    active = np.flatnonzero(neuron_active)
    neuron_active[rng.choice(active, size=int(0.15 * active.size), replace=False)] = False
    synapse_active = net.synapse_active & (rng.random(net.synapse_active.size) > 0.3)
    return net.copy(neuron_active=neuron_active, synapse_active=synapse_active)


def write_run(path: Path, label: str, net0, net, inputs, history, analysis: bool,
              quantisation: dict | None, with_account: bool):
    """A run folder as lnp-deploy writes it: report.json is a RunRecord (the typed
    structure deploy writes), run.npz holds the deployed (compacted) network's raster."""
    from lnp_neuro.deploy import activity
    deployed, _ = net.compact()
    spikes0 = simulate(net0, inputs).spikes
    spikes = simulate(deployed, inputs).spikes
    assert spikes0.any() and spikes.any(), "the fixture networks must spike to be reported"
    acc = energy_report(deployed, spikes, profiles=None, baseline=(net0, spikes0))
    before = network_spectrum(net0, n_steps=150, k=6, seed=0).exponents
    after = network_spectrum(deployed, n_steps=150, k=6, seed=0).exponents
    act0, act1 = activity(spikes0, net0), activity(spikes, deployed)
    record = RunRecord(
        label=label, target="cpu", backend="native", mode="float", profile="loihi2",
        steps=STEPS, dt=net.dt,
        neurons_before=net0.n_active_neurons, neurons_after=deployed.n_active_neurons,
        synapses_before=net0.n_active_synapses, synapses_after=deployed.n_active_synapses,
        sops_dense=acc["baseline"]["sops_dense"], sops_pruned=acc["sops_and_mask"],
        sop_ratio=acc["sop_ratio"],
        energy_joules=acc["profiles"]["loihi2"]["energy_joules"],
        energy_by_profile={k: v["energy_joules"] for k, v in acc["profiles"].items()},
        cores_used=acc["profiles"]["loihi2"]["cores_lower_bound"], mapping=None,
        parity=0, parity_reference="numpy",
        spikes_before=int(spikes0.sum()), spikes_after=int(spikes.sum()),
        lambda_max_before=float(before[0]), lambda_max_after=float(after[0]),
        lambda_max_stderr_before=0.0, lambda_max_stderr_after=0.0,
        stability={"measure": "network_spectrum (test fixture)"},
        activity={"fraction_firing_before": act0["fraction_firing"],
                  "fraction_firing_after": act1["fraction_firing"],
                  "rate_hz_before": act0["rate_hz"], "rate_hz_after": act1["rate_hz"]},
        task=None, history=history, baseline_budget=None,
        # As lnp-deploy writes it: the whole energy account; an account without the
        # per-profile detail exercises the report's fallbacks.
        energy=acc if with_account else {},
        input={"kind": "poisson", "rate_per_step": 0.1}, options={},
        deployed={"network": "network.nir", "neurons": deployed.n_total_neurons},
        timings_seconds={}, quantisation=quantisation, seconds=0.5)
    path.mkdir()
    record.write(path / "report.json")
    np.savez(path / "run.npz", input_spikes=inputs, spikes=spikes)
    if analysis:
        np.savez(path / "analysis.npz", lyapunov_before=before, lyapunov_after=after,
                 tau_mem_before=net0.tau_mem, tau_mem_after=deployed.tau_mem)
    return record.json_object()


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(7)
    net0 = hrsnn(80, density=0.2, seed=3, n_inputs=3, gain=1.0)
    inputs = rng.random((STEPS, 3)) < 0.1
    net, history = net0, []
    for it in range(3):
        spec = network_spectrum(net, n_steps=100, k=3, seed=0)
        history.append({"iteration": it, "neurons": net.n_active_neurons,
                        "synapses": net.n_active_synapses,
                        "lambda_max": float(spec.exponents[0]), "mean_ipr": mean_ipr(net),
                        "seconds": 0.01})
        net = prune_step(net, rng)
    # Step IV stand-in: time constants resampled from a narrower gamma distribution.
    net = net.copy(tau_mem=np.maximum(rng.gamma(8.0, 0.0025, net.n_total_neurons), 2 * net.dt))
    lnp = write_run(root / "lnp", "LNP", net0, net, inputs, history, analysis=True,
                    quantisation={"weight_bits": 8, "max_abs_error": 0.004}, with_account=True)
    random_net = prune_step(prune_step(net0, np.random.default_rng(1)), np.random.default_rng(2))
    rnd = write_run(root / "random", "Random", net0, random_net, inputs, [], analysis=False,
                    quantisation=None, with_account=False)
    return root, lnp, rnd


@pytest.fixture(scope="module")
def report_out(run_dirs, tmp_path_factory):
    root, _, _ = run_dirs
    out = tmp_path_factory.mktemp("report") / "out"
    paths = write_report([root / "lnp", root / "random"], out)
    return out, paths


def bare_run(path: Path, label: str = "bare") -> Path:
    path.mkdir()
    (path / "report.json").write_text(json.dumps({"label": label}))
    return path


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None
        self.tables = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "table":
            self.tables += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        self.text.append(data)


def test_report_html_is_self_contained(run_dirs, report_out):
    _, lnp, rnd = run_dirs
    out, paths = report_out
    html_path = out / "report.html"
    assert paths[0] == html_path and (out / "report.md") in paths
    text = html_path.read_text()
    assert "http://" not in text and "https://" not in text
    parser = _Collector()
    parser.feed(text)
    # energy bars, SOP ratio, 2 history plots, LNP spectrum, 2 rasters, LNP tau histogram
    assert len(parser.images) == 8
    from matplotlib.image import imread
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        image = imread(io.BytesIO(png), format="png")
        assert image.shape[0] > 50 and image.shape[1] > 50
    assert parser.tables >= 6
    assert parser.cells and all(parser.cells), "every table cell must be filled"
    body = " ".join(parser.text)
    # The random run has no history, spectra or time constants: said, not left blank.
    assert f"Pruning history of Random: {NOT_AVAILABLE}" in body
    assert f"Lyapunov spectra of Random: {NOT_AVAILABLE}" in body
    assert f"Time-constant distributions of Random: {NOT_AVAILABLE}" in body
    assert f"Quantisation report of Random: {NOT_AVAILABLE}" in body
    assert f"Lyapunov spectra of LNP: {NOT_AVAILABLE}" not in body
    # report.json numbers side by side
    assert f"{lnp['sops_dense']:,}" in body and f"{rnd['sops_pruned']:,}" in body
    assert "loihi2 (estimate)" in body
    assert "SOP term (J)" in body          # the target profile's energy terms (LNP run)
    assert "mean rate (Hz)" in body and "spikes/step" not in body


def test_report_numbers_come_from_the_runs(run_dirs):
    _, lnp, rnd = run_dirs
    # Same unpruned network and input: identical dense baseline SOPs; pruning lowers SOPs.
    assert lnp["sops_dense"] == rnd["sops_dense"] > 0
    assert 0 < lnp["sops_pruned"] < lnp["sops_dense"]
    assert lnp["sop_ratio"] == pytest.approx(lnp["sops_dense"] / lnp["sops_pruned"])
    assert lnp["neurons_after"] < lnp["neurons_before"]


def test_markdown_twin_and_pngs(report_out):
    out, _ = report_out
    md = (out / "report.md").read_text()
    images = [line[line.rindex("](") + 2:-1] for line in md.splitlines() if line.startswith("![")]
    assert len(images) == 8
    for name in images:
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    for line in md.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            assert all(cells), line
    assert NOT_AVAILABLE in md and "https://" not in md


def test_same_runs_same_bytes(run_dirs, tmp_path):
    root, _, _ = run_dirs
    write_report(root / "random", tmp_path / "a")
    write_report(root / "random", tmp_path / "b")
    assert (tmp_path / "a" / "report.html").read_bytes() == \
        (tmp_path / "b" / "report.html").read_bytes()


def test_refuses_to_overwrite_without_force(tmp_path):
    run = bare_run(tmp_path / "bare")
    out = tmp_path / "out"
    write_report(run, out)
    with pytest.raises(FileExistsError):
        write_report(run, out)
    keep = out / "mine.txt"
    keep.write_text("user file")
    write_report(run, out, force=True)
    assert keep.read_text() == "user file"


def test_duplicate_labels_are_told_apart(tmp_path):
    a = bare_run(tmp_path / "a", "same")
    b = bare_run(tmp_path / "b", "same")
    write_report([a, b], tmp_path / "out")
    text = (tmp_path / "out" / "report.html").read_text()
    assert "same (a)" in text and "same (b)" in text


def test_bad_run_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        write_report(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="report.json"):
        write_report(tmp_path / "empty", tmp_path / "out")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "report.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        write_report(bad, tmp_path / "out")
    with pytest.raises(ValueError, match="run_dirs"):
        write_report([], tmp_path / "out")


def test_minimal_run_reports_everything_missing(tmp_path):
    run = bare_run(tmp_path / "bare")
    np.savez(run / "run.npz", spikes=np.array([1, 2, 3]))   # wrong shape: reported, not fatal
    assert load_run(run).problems
    write_report(run, tmp_path / "out")
    text = (tmp_path / "out" / "report.html").read_text()
    parser = _Collector()
    parser.feed(text)
    assert not parser.images
    assert all(parser.cells)
    for what in ("Energy per profile", "SOP ratio", "Pruning history", "Lyapunov spectra",
                 "Spike raster", "Time-constant distributions"):
        assert f"{what} of bare: {NOT_AVAILABLE}" in text
    assert "spikes should be 2-D" in text


def test_pickled_arrays_are_refused(tmp_path):
    run = tmp_path / "pickled"
    run.mkdir()
    (run / "report.json").write_text(json.dumps({"label": "p"}))
    np.savez(run / "run.npz", spikes=np.array([[{"a": 1}]], dtype=object))
    data = load_run(run)
    assert "spikes" not in data.arrays and data.problems


# ------------------------------------------------- task against energy, activity, budgets
def _variant(src: Path, dst: Path, drop: tuple = (), **changes) -> Path:
    """A copy of run folder ``src`` whose report.json has ``changes`` applied and the
    keys ``drop`` removed."""
    dst.mkdir()
    report = json.loads((src / "report.json").read_text())
    report.update(changes)
    for key in drop:
        report.pop(key, None)
    (dst / "report.json").write_text(json.dumps(report, allow_nan=False))
    return dst


def _task(pruned: float, unpruned: float = 0.4, persistence: float = 0.9) -> dict:
    return {"name": "lorenz63", "metric": "nrmse", "horizon": 1, "readout": "ridge",
            "unpruned": unpruned, "pruned": pruned, "persistence": persistence,
            "n_train": 400, "n_test": 100}


@pytest.fixture(scope="module")
def task_runs(run_dirs, tmp_path_factory):
    """Four runs with task and activity keys, as lnp-deploy writes them now, and one
    older run without them."""
    root, _, _ = run_dirs
    base = tmp_path_factory.mktemp("task")
    specs = [("Unpruned", 2.0e-5, 0.40), ("AP", 1.4e-5, 0.43), ("LNP", 1.2e-5, 0.41),
             ("Random", 1.1e-5, 0.55)]
    runs = [_variant(root / "lnp", base / label.lower(), label=label, energy_joules=energy,
                     task=_task(nrmse), spikes_after=1000 + 37 * i,
                     activity={"fraction_firing_before": 0.95, "fraction_firing_after": 0.61,
                               "rate_hz_before": 49.5, "rate_hz_after": 7.875},
                     baseline_budget={"kind": "neurons", "target": 368,
                                      "rule": "prune to LNP's count",
                                      "stopped": "budget reached"}
                     if label == "AP" else None)
            for i, (label, energy, nrmse) in enumerate(specs)]
    # An unversioned report.json of an earlier release: no task, activity or record keys.
    runs.append(_variant(root / "random", base / "old", label="Old run", spikes_after=4885,
                         drop=("task", "activity", "record_version", "parity_reference",
                               "deployed")))
    return runs, specs


def test_task_against_energy_one_point_per_run(task_runs, tmp_path):
    from lnp_neuro.report.figures import _task_points
    runs, specs = task_runs
    points = _task_points([load_run(r) for r in runs])
    assert [(r.label, r.report["energy_joules"], t["pruned"]) for _, r, t in points] == specs
    write_report(runs, tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "task_vs_energy.png").read_bytes().startswith(b"\x89PNG")
    html_text = (out / "report.html").read_text()
    parser = _Collector()
    parser.feed(html_text)
    # The old run is skipped with a note saying why, not a failure.
    assert "Old run: skipped in this plot: report.json has no task" in html_text
    # The task table carries every run's numbers; the summary its activity and budget.
    for cell in ("0.43", "0.55", "0.9", "ridge", "7.875", "0.61",
                 "neurons = 368 (budget reached)"):
        assert cell in parser.cells, cell
    md = (out / "report.md").read_text()
    assert "AP budget (neurons): prune to LNP's count." in md
    # Every run's firing beside the others', from its own counts (the old run has no
    # activity key but still gets a rate).
    from lnp_neuro.report.render import _fmt
    for run in runs:
        rep = json.loads((run / "report.json").read_text())
        dt = rep["dt"] if "dt" in rep else rep["energy"]["dt"]
        rate = rep["spikes_after"] / (rep["neurons_after"] * rep["steps"] * dt)
        assert _fmt(rate) in parser.cells
    assert "![Task NRMSE against energy, one point per run](task_vs_energy.png)" in md


def test_malformed_task_is_named_and_skipped(run_dirs, tmp_path):
    root, _, _ = run_dirs
    bad = _variant(root / "lnp", tmp_path / "bad", label="Bad", task=dict(_task(0.4),
                                                                          pruned="low"))
    other = _variant(root / "lnp", tmp_path / "acc", label="Acc",
                     task=dict(_task(0.4), metric="accuracy"))
    write_report([bad, other], tmp_path / "out")
    text = (tmp_path / "out" / "report.html").read_text()
    assert "Bad: skipped in this plot: report.json field task.pruned must be a number" in text
    assert "Acc: skipped in this plot: task.metric is &#x27;accuracy&#x27;" in text
    assert not (tmp_path / "out" / "task_vs_energy.png").exists()


def test_history_curves_are_distinct_and_coincident_ones_say_so(run_dirs, tmp_path,
                                                                monkeypatch):
    """Random copies LNP's counts: its curve lies on LNP's. Every run still gets its own
    colour, marker, line style and marker size, and the legend names the coincidence."""
    import lnp_neuro.report.figures as report_module
    root, _, _ = run_dirs
    history = json.loads((root / "lnp" / "report.json").read_text())["history"]
    counts = [{k: h[k] for k in ("iteration", "neurons", "synapses")} for h in history]
    ap_rows = [dict(c, neurons=c["neurons"] - 5 * c["iteration"]) for c in counts]
    lnp = _variant(root / "lnp", tmp_path / "lnp", label="LNP")
    rnd = _variant(root / "lnp", tmp_path / "rnd", label="Random", history=counts)
    ap = _variant(root / "lnp", tmp_path / "ap", label="AP", history=ap_rows)
    figures = []
    monkeypatch.setattr(report_module, "_png", lambda fig: figures.append(fig) or b"")
    report_module._history_figure([load_run(p) for p in (ap, lnp, rnd)],
                                  [("neurons", "neurons")], "h.png", "history")
    (ax,) = figures[0].axes
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["AP", "LNP", "Random (= LNP)"]
    for attr in ("get_marker", "get_linestyle", "get_color"):
        values = [getattr(line, attr)() for line in lines]
        assert len(set(values)) == 3, attr
    # Hollow markers; a curve on top of an earlier one is drawn smaller and thinner, so
    # it shows inside it.
    assert all(line.get_markerfacecolor() == "none" for line in lines)
    np.testing.assert_array_equal(lines[1].get_ydata(), lines[2].get_ydata())
    assert lines[1].get_markersize() > lines[2].get_markersize()
    assert lines[1].get_linewidth() > lines[2].get_linewidth()


def test_run_record_refuses_a_drifted_report(run_dirs, tmp_path):
    """report.json is read through the typed run record: a field of the wrong type (the
    hand-written ``parity: {"spikes_equal": true}`` this fixture used to carry) or a
    missing field is refused naming the file and the field; a record reads back as
    written."""
    root, lnp, _ = run_dirs
    drifted = _variant(root / "lnp", tmp_path / "drift", parity={"spikes_equal": True})
    with pytest.raises(ValueError, match=r"drift.report.json: run record field 'parity' "
                                         r"must be an integer, got an object"):
        load_run(drifted)
    missing = _variant(root / "lnp", tmp_path / "missing", drop=("parity_reference",))
    with pytest.raises(ValueError, match="missing field.s. parity_reference"):
        load_run(missing)
    record = RunRecord.read(root / "lnp" / "report.json")
    assert record.json_object() == lnp
    assert load_run(root / "lnp").record.parity_reference == "numpy"
    with pytest.raises(ValueError, match="parity reference must be another engine"):
        RunRecord.from_dict(dict(lnp, parity_reference="native"), "x.json")
