"""lnp-deploy end to end: every target, the report contract, determinism, bad inputs."""

import json
from html.parser import HTMLParser

import nir
import numpy as np
import pytest

from lnp_neuro.deploy.cli import main
from lnp_neuro.engines.simulator import simulate
from lnp_neuro.model import flatten, to_network
from lnp_neuro.model.build import hrsnn
from lnp_neuro.nir import read_graph
from lnp_neuro.nir.reservoir_files import read_nir, write_nir
from lnp_neuro.report.record import RunRecord

REQUIRED_KEYS = {"target", "backend", "mode", "steps", "neurons_before", "neurons_after",
                 "synapses_before", "synapses_after", "sops_dense", "sops_pruned", "sop_ratio",
                 "energy_joules", "cores_used", "parity", "seconds"}
# --task-samples 300: the one-step forecast is scored on 300 samples (6000 steps), enough
# for the split (100 washout, 139 train, 60 test) and fast.
SMALL = ["--neurons", "60", "--steps", "60", "--iterations", "1", "--task-samples", "300",
         "--quiet"]


def deploy(tmp_path, name, *args):
    out = tmp_path / name
    code = main(["--out", str(out), *SMALL, *args])
    return code, out


def load_report(out):
    return json.loads((out / "report.json").read_text())


#: The independent engine each target's engine is compared with (lnp_neuro.engines.base).
PARITY_REFERENCE = {"cpu": "numpy", "loihi-sim": "native", "lava-float": "native",
                    "norse": "native"}


@pytest.mark.parametrize("target", ["cpu", "loihi-sim", "lava-float", "norse"])
def test_every_target_writes_the_full_report(tmp_path, target):
    code, out = deploy(tmp_path, target, "--target", target)
    assert code == 0
    assert {p.name for p in out.iterdir()} >= {"network.nir", "run.npz", "report.json",
                                               "report.html", "report.md"}
    report = load_report(out)
    assert REQUIRED_KEYS <= set(report)
    RunRecord.from_dict(report, "report.json")  # the typed record deploy wrote
    assert report["target"] == target and report["steps"] == 60
    assert report["neurons_after"] <= report["neurons_before"] == 60
    assert report["synapses_after"] < report["synapses_before"]
    assert report["cores_used"] >= 1 and report["energy_joules"] > 0
    assert report["parity_reference"] == PARITY_REFERENCE[target] != report["backend"]
    with np.load(out / "run.npz", allow_pickle=False) as run:
        spikes, inputs, ids = run["spikes"], run["input_spikes"], run["neuron_ids"]
    # Lorenz-63: x, y, z as ON/OFF pairs, 8 staggered copies each (the default --copies).
    # The deployed graph is the reservoir, compacted (one raster column per deployed
    # neuron), and its readout population (x, y, z), which does not spike.
    n_after, n_out = report["neurons_after"], 3
    assert spikes.shape == (60, n_after + n_out) and inputs.shape == (60, 48)
    assert spikes.dtype == bool and inputs.any() and not spikes[:, n_after:].any()
    graph = read_graph(out / "network.nir")
    assert list(graph.populations) == ["reservoir", "readout"]
    assert graph.outputs == ["readout"] and graph.populations["readout"].kind == "li"
    deployed = flatten(graph).network
    reservoir = to_network(graph.subgraph(["reservoir"]))
    assert reservoir.n_total_neurons == reservoir.n_active_neurons == n_after
    assert reservoir.n_active_synapses == report["synapses_after"]
    assert ids.shape == (n_after + n_out,) and np.all(np.diff(ids) > 0)
    assert ids[:n_after].max() < 60
    assert report["spikes_after"] == int(spikes.sum())
    if report["backend"] in ("native", "lava"):
        # Native and Lava targets agree spike for spike with their reference engine, and
        # the deployed file reproduces the raster that was run.
        assert report["parity"] == 0
        mode = "fixed" if report["mode"] == "fixed" else "float"
        np.testing.assert_array_equal(simulate(deployed, inputs, mode=mode).spikes, spikes)
    else:
        # norse integrates in float32 (docs: discretisation differences); spike counts
        # still agree closely with the native float simulation.
        ref = simulate(deployed, inputs, mode="float").spikes
        assert report["parity"] == int(np.count_nonzero(ref != spikes))
        counts, ref_counts = spikes.sum(0), ref.sum(0)
        if ref_counts.std() > 0:
            assert np.corrcoef(counts, ref_counts)[0, 1] > 0.9


def test_deployed_graph_holds_only_active_neurons_and_synapses(tmp_path):
    """Compaction: a network with pruned neurons and synapses, deployed with --prune none,
    becomes a graph of its active part only; the original ids are in the graph's metadata
    and run.npz, and the compacted raster is the masked network's raster on those ids."""
    from lnp_neuro.nir.reservoir_files import graph_neuron_ids, read_nir_graph
    net = hrsnn(50, 0.2, seed=4, n_inputs=6)
    rng = np.random.default_rng(4)
    active = rng.random(50) > 0.3
    net = net.copy(neuron_active=active, synapse_active=rng.random(net.weights.nnz) > 0.4)
    write_nir(net, tmp_path / "masked.nir")
    code = main(["--target", "cpu", "--network", str(tmp_path / "masked.nir"), "--prune",
                 "none", "--input", "poisson", "--rate", "0.2", "--steps", "80", "--quiet",
                 "--out", str(tmp_path / "run")])
    assert code == 0
    out = tmp_path / "run"
    report = load_report(out)
    kept = np.flatnonzero(active)
    deployed = read_nir(out / "network.nir")
    assert deployed.n_total_neurons == report["neurons_after"] == kept.size
    assert deployed.neuron_active.all() and deployed.synapse_active.all()
    assert deployed.weights.nnz == deployed.n_active_synapses == net.n_active_synapses
    np.testing.assert_array_equal(graph_neuron_ids(read_nir_graph(out / "network.nir")), kept)
    np.testing.assert_array_equal(deployed.weights.toarray(),
                                  net.effective_weights().toarray()[np.ix_(kept, kept)])
    with np.load(out / "run.npz", allow_pickle=False) as run:
        spikes, inputs = run["spikes"], run["input_spikes"]
        np.testing.assert_array_equal(run["neuron_ids"], kept)
    assert spikes.shape == (80, kept.size) and spikes.any()
    masked = simulate(net, inputs, mode="fixed").spikes
    assert not masked[:, ~active].any()
    np.testing.assert_array_equal(spikes, masked[:, kept])


def test_prune_none_deploys_the_whole_network(tmp_path):
    code, out = deploy(tmp_path, "whole", "--target", "cpu", "--prune", "none")
    assert code == 0
    report = load_report(out)
    assert report["neurons_after"] == report["neurons_before"] == 60
    graph = read_graph(out / "network.nir")
    assert graph.populations["reservoir"].n == 60 and graph.populations["readout"].n == 3
    with np.load(out / "run.npz", allow_pickle=False) as run:
        assert run["spikes"].shape == (60, 63)
        np.testing.assert_array_equal(run["neuron_ids"], np.arange(63))


def _flip_one_spike(engine_name):
    """The registered engine ``engine_name`` with one spike of its raster flipped."""
    from lnp_neuro.engines.base import ENGINES, Engine
    honest = ENGINES[engine_name]

    def runner(deployed, x, mode, progress):
        spikes = honest.runner(deployed, x, mode, progress).copy()
        spikes[len(x) // 2, 0] ^= True
        return spikes
    return Engine(honest.name, honest.description, runner, honest.modes,
                  honest.parity_reference)


@pytest.mark.parametrize("target, broken", [("cpu", "numpy"), ("cpu", "native"),
                                            ("loihi-sim", "native")])
def test_parity_reports_an_injected_mismatch(tmp_path, monkeypatch, capsys, target, broken):
    """Parity compares two independent engines, so it can fail: one spike flipped in
    either the target's engine or its reference is reported as one mismatch, with the
    reference engine named."""
    from lnp_neuro.engines import base as engines
    monkeypatch.setitem(engines.ENGINES, broken, _flip_one_spike(broken))
    code = main(["--target", target, "--out", str(tmp_path / "run"),
                 *[a for a in SMALL if a != "--quiet"]])
    assert code == 0
    report = load_report(tmp_path / "run")
    assert report["parity"] == 1
    assert report["parity_reference"] == PARITY_REFERENCE[target]
    captured = capsys.readouterr()
    assert f"1 spike mismatch(es) between {target}" in captured.err
    assert f"parity     1 spike mismatch(es) against the {PARITY_REFERENCE[target]} engine" \
        in captured.out


def test_same_seed_same_outputs(tmp_path):
    _, a = deploy(tmp_path, "a", "--target", "cpu", "--seed", "3")
    _, b = deploy(tmp_path, "b", "--target", "cpu", "--seed", "3")
    _, c = deploy(tmp_path, "c", "--target", "cpu", "--seed", "4")
    with np.load(a / "run.npz") as ra, np.load(b / "run.npz") as rb, \
            np.load(c / "run.npz") as rc:
        np.testing.assert_array_equal(ra["spikes"], rb["spikes"])
        np.testing.assert_array_equal(ra["input_spikes"], rb["input_spikes"])
        assert not np.array_equal(ra["spikes"], rc["spikes"])
    ja, jb = load_report(a), load_report(b)
    for key in ("sops_dense", "sops_pruned", "energy_joules", "synapses_after", "history"):
        if key == "history":
            strip = [{k: v for k, v in h.items() if "seconds" not in k} for h in ja[key]]
            assert strip == [{k: v for k, v in h.items() if "seconds" not in k}
                             for h in jb[key]]
        else:
            assert ja[key] == jb[key]


def reservoir_sops(report):
    """The SOPs of the reservoir's recurrent synapses (energy.projections): what a baseline
    matched to LNP's SOPs is matched on."""
    rows = report["energy"]["projections"]
    assert [r["kind"] for r in rows] == ["input", "recurrent", "readout"]
    return rows[1]["sops"]


@pytest.fixture(scope="module")
def lnp_small(tmp_path_factory):
    out = tmp_path_factory.mktemp("lnp") / "run"
    assert main(["--out", str(out), *SMALL, "--target", "cpu"]) == 0
    return load_report(out)


@pytest.mark.parametrize("method", ["ap", "random", "none"])
def test_baseline_prunings(tmp_path, method, lnp_small):
    code, out = deploy(tmp_path, method, "--target", "cpu", "--prune", method)
    assert code == 0
    report = load_report(out)
    if method == "none":
        assert report["synapses_after"] == report["synapses_before"]
        assert report["sop_ratio"] == pytest.approx(1.0)
        assert report["baseline_budget"] is None
    elif method == "ap":
        assert report["neurons_after"] < report["neurons_before"]
        budget = report["baseline_budget"]
        assert budget["kind"] == "paper" and budget["stopped"] in ("n_iter", "performance")
        assert budget["min_performance_ratio"] == 0.9 and budget["rule"]
        assert report["history"][0]["iteration"] == 0
        assert all(h["performance"] >= 0 for h in report["history"])
    else:
        assert report["neurons_after"] == lnp_small["neurons_after"]
        assert report["synapses_after"] == lnp_small["synapses_after"]
        assert report["baseline_budget"]["target"] == {
            "neurons": lnp_small["neurons_after"], "synapses": lnp_small["synapses_after"]}
        # Random copies LNP's counts only, not its Lyapunov history.
        assert all(set(h) == {"iteration", "neurons", "synapses"} for h in report["history"])


@pytest.mark.parametrize("budget", ["neurons", "sops"])
def test_ap_budget_matched_to_lnp(tmp_path, budget, lnp_small):
    code, out = deploy(tmp_path, budget, "--target", "cpu", "--prune", "ap",
                       "--ap-budget", budget)
    assert code == 0
    report = load_report(out)
    assert report["options"]["ap_budget"] == budget
    assert report["baseline_budget"]["kind"] == budget
    if budget == "neurons":
        assert report["neurons_after"] == lnp_small["neurons_after"]
        assert report["baseline_budget"]["target"] == lnp_small["neurons_after"]
    else:
        # SOPs are counted in the target's arithmetic on the same drive, so the budget
        # is what the report measures (in the pruned reservoir: the readout population's
        # synapses, the same for every method, are not pruned).
        assert report["baseline_budget"]["target"] == reservoir_sops(lnp_small)
        assert reservoir_sops(report) <= reservoir_sops(lnp_small)
        assert reservoir_sops(report) == report["history"][-1]["sops"]
    assert "budget" in (out / "report.html").read_text()


def test_random_matched_to_lnp_sops(tmp_path, lnp_small):
    code, out = deploy(tmp_path, "random_sops", "--target", "cpu", "--prune", "random",
                       "--random-budget", "sops")
    assert code == 0
    report = load_report(out)
    budget = report["baseline_budget"]
    assert report["options"]["random_budget"] == "sops" and budget["kind"] == "lnp-sops"
    # The SOPs are those the report counts, on the same drive in the same arithmetic.
    assert budget["target"] == reservoir_sops(lnp_small)
    assert reservoir_sops(report) == budget["sops"] <= reservoir_sops(lnp_small)
    assert report["neurons_after"] == lnp_small["neurons_after"]
    assert report["synapses_after"] == budget["synapses"] <= lnp_small["synapses_after"]


@pytest.mark.parametrize("prune, flag, value", [("ap", "--ap-budget", "synapses"),
                                                 ("random", "--random-budget", "neurons")])
def test_bad_baseline_budget_is_a_usage_error(tmp_path, capsys, prune, flag, value):
    with pytest.raises(SystemExit) as exc:
        main(["--target", "cpu", "--prune", prune, flag, value, "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err


def test_deploying_a_nir_file_runs_that_network(tmp_path, capsys):
    net = hrsnn(40, 0.2, seed=5, n_inputs=6)
    path = tmp_path / "mine.nir"
    write_nir(net, path)
    code = main(["--target", "cpu", "--network", str(path), "--prune", "none",
                 "--steps", "50", "--out", str(tmp_path / "run"), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["neurons_before"] == 40 and printed["synapses_after"] == net.n_active_synapses
    # The deployed graph: the network and the task's readout population.
    back = to_network(read_graph(tmp_path / "run" / "network.nir").subgraph(["reservoir"]))
    np.testing.assert_array_equal(back.weights.toarray(), net.weights.toarray())
    np.testing.assert_array_equal(back.tau_mem, net.tau_mem)


def test_lava_parity_through_the_nir_path(tmp_path):
    """A network that went through a .nir file runs on Lava exactly as natively."""
    pytest.importorskip("lava")
    from lnp_neuro.engines.lava.backend import run_lava
    from lnp_neuro.prune.pipeline import lnp

    net, _ = lnp(hrsnn(50, 0.2, seed=2, n_inputs=4), n_iter=1, seed=0, progress=False,
                 ipr_k=None, bo_budget=2)
    write_nir(net, tmp_path / "p.nir")
    back = read_nir(tmp_path / "p.nir")
    inputs = np.random.default_rng(0).random((120, 4)) < 0.2
    for mode in ("fixed", "float"):
        native = simulate(back, inputs, mode=mode).spikes
        assert native.any()
        np.testing.assert_array_equal(run_lava(back, inputs, mode=mode), native)


# ------------------------------------------------------------------------ bad inputs
def test_existing_output_folder_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "keep"
    out.mkdir()
    (out / "precious.txt").write_text("user data")
    code = main(["--target", "cpu", "--out", str(out), *SMALL])
    assert code == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "--force" in err
    assert [p.name for p in out.iterdir()] == ["precious.txt"]
    code = main(["--target", "cpu", "--out", str(out), "--force", *SMALL])
    assert code == 0 and (out / "precious.txt").read_text() == "user data"
    assert (out / "report.json").exists()


def test_unknown_target_and_real_chip(tmp_path, capsys):
    assert main(["--target", "loihi9", "--out", str(tmp_path / "x"), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "loihi9" in err and "loihi-sim" in err
    from lnp_neuro.deploy.targets import load_target
    if load_target("loihi2").availability() is not None:
        assert main(["--target", "loihi2", "--out", str(tmp_path / "y"), *SMALL]) == 3
        assert "lava-loihi" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_bad_network_files_are_named(tmp_path, capsys):
    missing = tmp_path / "nothere.nir"
    assert main(["--target", "cpu", "--network", str(missing), "--out", str(tmp_path / "a"),
                 *SMALL]) == 2
    assert "nothere.nir" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.nir"
    corrupt.write_bytes(b"not an hdf5 file at all" * 20)
    assert main(["--target", "cpu", "--network", str(corrupt), "--out", str(tmp_path / "b"),
                 *SMALL]) == 2
    assert "corrupt.nir" in capsys.readouterr().err
    # A well-formed NIR graph (it reads fine) with a node our network model cannot hold.
    conv = nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0,
                      dilation=1, groups=1, bias=np.zeros(1))
    cuba = nir.CubaLIF(tau_syn=np.full(3, 5e-3), tau_mem=np.full(3, 1e-2), r=np.full(3, 10.0),
                       v_leak=np.zeros(3), v_threshold=np.ones(3), w_in=np.full(3, 5.0))
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([1, 4, 4])), "conv1": conv,
               "flat": nir.Flatten(input_type={"input": np.array([1, 3, 3])}, start_dim=0),
               "fc": nir.Linear(weight=np.ones((3, 9))), "lif": cuba,
               "output": nir.Output(output_type=np.array([3]))},
        edges=[("input", "conv1"), ("conv1", "flat"), ("flat", "fc"), ("fc", "lif"),
               ("lif", "output")])
    nir.write(tmp_path / "conv.nir", graph)
    assert main(["--target", "cpu", "--network", str(tmp_path / "conv.nir"),
                 "--out", str(tmp_path / "c"), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "conv1" in err and "Conv2d" in err
    wrong = tmp_path / "net.txt"
    wrong.write_text("x")
    assert main(["--target", "cpu", "--network", str(wrong), "--out", str(tmp_path / "d"),
                 *SMALL]) == 2
    assert ".nir or .npz" in capsys.readouterr().err
    for name in "abcd":
        assert not (tmp_path / name).exists()


def test_flags_are_validated(capsys):
    for argv in (["--target", "cpu", "--neurons", "0"], ["--target", "cpu", "--density", "2"],
                 ["--target", "cpu", "--prune", "magic"], ["--steps", "10"],
                 ["--target", "cpu", "--vpt-starts", "-1"],
                 ["--target", "cpu", "--scaling", "log"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--neurons" in err and "--density" in err and "--prune" in err and "--target" in err
    assert "--vpt-starts: expected a whole number >= 0" in err and "--scaling" in err


def test_list_targets(capsys):
    assert main(["--list-targets"]) == 0
    out = capsys.readouterr().out
    for name in ("loihi-sim", "lava-float", "cpu", "norse", "loihi2"):
        assert name in out


def test_cpu_parity_catches_a_numba_kernel_bug(tmp_path, monkeypatch):
    """The cpu target (numba kernels) is compared with the numpy reference engine, a
    separate implementation: a bug in the numba kernels (here: one spike flipped) shows
    as a mismatch. Comparing one simulate() call with an identical second one, as the
    cpu parity used to, reports 0 for this bug."""
    import lnp_neuro.engines.simulator as simulator
    honest = simulator._run_numba

    def buggy(net, x, *args):
        spikes, *rest = honest(net, x, *args)
        spikes = spikes.copy()
        spikes[len(x) // 2, 0] ^= True
        return (spikes, *rest)

    monkeypatch.setattr(simulator, "_run_numba", buggy)
    code, out = deploy(tmp_path, "bug", "--target", "cpu", "--input", "poisson")
    assert code == 0
    report = load_report(out)
    assert report["parity"] == 1 and report["parity_reference"] == "numpy"


class _Tables(HTMLParser):
    """The header cells and rows of every <table> of an HTML page."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_report_subcommand_compares_runs(tmp_path):
    """The comparison's summary table has one column per run, labelled by the run, with
    that run's own numbers (not just a title that always says LNP)."""
    _, a = deploy(tmp_path, "lnp", "--target", "cpu")
    _, b = deploy(tmp_path, "none", "--target", "cpu", "--prune", "none")
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    parser = _Tables()
    parser.feed((tmp_path / "cmp" / "report.html").read_text())
    headline, *groups = parser.tables
    assert [row[0] for row in headline[1:]] == ["LNP", "Unpruned"]   # a row per run
    # The long table, grouped: each group's table has a column per run.
    assert [g[0] for g in groups[:6]] == [[name, "LNP", "Unpruned"] for name in
                                          ("network", "activity", "stability", "task",
                                           "energy", "run")]
    rows = {row[0]: row[1:] for g in groups[:6] for row in g[1:]}
    ra, rb = load_report(a), load_report(b)
    assert rows["neurons after"] == [str(ra["neurons_after"]), str(rb["neurons_after"])]
    assert rows["synapses after"] == [str(ra["synapses_after"]), str(rb["synapses_after"])]
    assert ra["synapses_after"] < rb["synapses_after"]
    assert rows["parity compared with engine"] == ["numpy", "numpy"]
    assert main(["report", str(a), "--out", str(tmp_path / "cmp")]) == 2


def test_summary_is_printed(tmp_path, capsys):
    code = main(["--target", "cpu", "--out", str(tmp_path / "s"), "--neurons", "40",
                 "--steps", "40", "--iterations", "1"])
    assert code == 0
    out = capsys.readouterr().out
    report = load_report(tmp_path / "s")
    assert f"{report['synapses_before']} -> {report['synapses_after']}" in out
    assert "parity     0 spike mismatch(es) against the numpy engine" in out and "wrote" in out


# ------------------------------------------------------------ accuracy beside energy
def test_report_sets_accuracy_and_activity_beside_energy(tmp_path):
    code, out = deploy(tmp_path, "acc", "--target", "cpu")
    assert code == 0
    r = load_report(out)
    task = r["task"]
    assert task["name"] == "lorenz" and task["metric"] == "nrmse" and task["horizon"] == 1
    assert task["readout"] == "deployed" and task["n_train"] == 139 and task["n_test"] == 60
    for key in ("unpruned", "pruned", "persistence", "unpruned_paper_readout"):
        assert np.isfinite(task[key]) and task[key] > 0
    assert task["references"]["persistence"] == task["persistence"]
    # The readout is a population of the deployed graph (lnp_neuro.tasks.deployed_readout),
    # scored in the target's arithmetic, with its size and what the quantisation flushed;
    # the off-chip float readout is kept beside it.
    on_chip = task["deployed_readout"]
    assert on_chip["population"] == "readout" and len(on_chip["decode"]["mean"]) == 3
    for label in ("unpruned", "pruned"):
        details = on_chip["details"][label]
        assert details["neurons"] == 3 and details["synapses"] > 0
        assert 0 <= details["weights_flushed"] <= details["synapses"]
        assert np.isfinite(task["offchip_readout"][label])
    assert task["pruned_before_hand_over"] == task["pruned"]
    assert np.isfinite(task["offchip_readout"]["no_recurrence"])
    # Closed loop: 5 starts in the 60 test samples, each run at most the 59 samples left.
    closed = task["closed_loop"]
    assert closed["horizon"] == 59 and len(closed["starts"]) >= 2
    for who in ("unpruned", "pruned", "esn", "persistence"):
        run_vpt = closed[who]
        assert all(0 <= v <= 59 for v in run_vpt["steps"])
        assert run_vpt["lyapunov_times"] == pytest.approx(
            np.mean(run_vpt["steps"]) * 0.01 * 0.906)
    nb = r["neurobench"]
    assert 0 < nb["activation_sparsity"] < 1 and 0 < nb["connection_sparsity"] < 1
    assert nb["synaptic_operations"]["recurrent"] == r["sops_pruned"]   # readout included
    assert r["lambda_max_stderr_before"] >= 0 and r["lambda_max_stderr_after"] >= 0
    with np.load(out / "run.npz", allow_pickle=False) as run:
        spikes, spikes0 = run["spikes"], run["spikes_unpruned"]
        assert int(run["steps_per_sample"]) == 20
        assert run["series"].shape == (3, 3)          # 60 steps of 20 per sample, x y z
    # Activity is the reservoir's (the readout's columns, which never spike, come last).
    n = r["neurons_after"]
    act = r["activity"]
    assert act["fraction_firing_after"] == pytest.approx(spikes[:, :n].any(axis=0).mean())
    assert act["fraction_firing_before"] == pytest.approx(spikes0[:, :60].any(axis=0).mean())
    assert act["rate_hz_after"] == pytest.approx(spikes[:, :n].mean() / 1e-3)


def test_forecast_error_is_the_deployed_graphs_own_output(tmp_path):
    """task.pruned is what network.nir computes: its graph, run on the encoded series in
    fixed point with the membrane recorded, its readout population's membrane at the
    first step of each sample, decoded with task.deployed_readout.decode, scored on the
    test split (issue: the reservoir's readout on the chip)."""
    from lnp_neuro.deploy.inputs import load_series, make_input
    from lnp_neuro.deploy.options import DeployOptions
    from lnp_neuro.tasks.forecast import ForecastSplit
    from lnp_neuro.tasks.metrics import nrmse
    code, out = deploy(tmp_path, "own", "--target", "cpu")
    assert code == 0
    task = load_report(out)["task"]
    graph = read_graph(out / "network.nir")
    flat = flatten(graph).network
    options = DeployOptions(target="cpu", neurons=60, steps=60, iterations=1,
                            task_samples=300, out=tmp_path / "unused")
    _, encoded, _ = make_input(options, flat, *load_series(options))
    v = simulate(flat, encoded.spikes, mode="fixed", record_state=True).v
    k, series = encoded.steps_per_sample, encoded.series
    z = v[np.arange(1, series.shape[0]) * k, graph.populations["reservoir"].n:]
    decode = task["deployed_readout"]["decode"]
    predicted = np.asarray(decode["mean"]) + np.asarray(decode["std"]) * z
    split = ForecastSplit(series.shape[0])
    expected = nrmse(predicted[split.test], series[split.test + 1], series.std(axis=0))
    assert task["pruned"] == pytest.approx(expected, rel=1e-12)
    assert abs(task["offchip_readout"]["pruned"] - task["pruned"]) < 0.5 * task["pruned"]


def test_user_csv_series_drives_and_scores(tmp_path):
    t = np.arange(400) * 0.05
    csv = tmp_path / "series.csv"
    csv.write_text("a,b\n" + "\n".join(f"{np.sin(v):.6f},{np.cos(1.3 * v):.6f}" for v in t))
    code, out = deploy(tmp_path, "csv", "--target", "cpu", "--input", str(csv))
    assert code == 0
    r = load_report(out)
    assert r["task"]["name"] == "csv" and r["input"]["columns"] == ["a", "b"]
    # No code flag given: every code setting is chosen on the training samples, keeping
    # the 48 channels of the default drive, and the choice is reported.
    choice = r["input"]["code_choice"]
    assert choice["chosen"] == ["scaling", "steps_per_sample", "copies", "code"]
    assert {k: r["options"][k] for k in ("scaling", "steps_per_sample", "copies")} == \
        {k: choice[k] for k in ("scaling", "steps_per_sample", "copies")}
    assert r["input"]["code"] == choice["code"] and r["input"]["channels"] == 48
    assert min(c["nrmse"] for c in choice["candidates"]) == \
        next(c["nrmse"] for c in choice["candidates"]
             if all(c[k] == choice[k] for k in ("scaling", "steps_per_sample", "code")))
    with np.load(out / "run.npz", allow_pickle=False) as run:
        assert run["input_spikes"].shape == (60, 48)
    # A persistence forecast of a smooth series is good, and the readout is scored beside
    # a readout of the coded input alone.
    assert r["task"]["persistence"] < 0.2 and np.isfinite(r["task"]["pruned"])
    assert np.isfinite(r["task"]["references"]["input_code"])


def test_csv_constant_over_its_training_samples_exits_2_on_one_line(tmp_path, capsys):
    csv = tmp_path / "flat.csv"
    csv.write_text("x\n" + "\n".join(["1.0"] * 250 + [f"{np.sin(i):.6f}" for i in range(150)]))
    code, _ = deploy(tmp_path, "flat", "--target", "cpu", "--input", str(csv))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "flat.csv" in err and "training samples the code is chosen on" in err


def test_csv_code_flags_given_are_kept(tmp_path):
    t = np.arange(400) * 0.05
    csv = tmp_path / "series.csv"
    csv.write_text("a\n" + "\n".join(f"{np.sin(v):.6f}" for v in t))
    code, out = deploy(tmp_path, "csv", "--target", "cpu", "--input", str(csv),
                       "--scaling", "median", "--steps-per-sample", "10", "--copies", "3",
                       "--vpt-starts", "0")
    assert code == 0
    r = load_report(out)
    assert r["input"]["code_choice"]["chosen"] == ["code"]
    assert (r["input"]["scaling"], r["input"]["steps_per_sample"], r["input"]["copies"]) == \
        ("median", 10, 3)
    assert r["input"]["channels"] == 2 * 3 * (2 if r["input"]["code"] == "delta" else 1)
    code, out = deploy(tmp_path, "csv-all", "--target", "cpu", "--input", str(csv),
                       "--scaling", "zscore", "--steps-per-sample", "10", "--copies", "3",
                       "--code", "level", "--vpt-starts", "0")
    assert code == 0
    r = load_report(out)
    assert "code_choice" not in r["input"] and r["input"]["channels"] == 6


def test_bad_input_series_exits_2(tmp_path, capsys):
    code, _ = deploy(tmp_path, "nocsv", "--target", "cpu", "--input", str(tmp_path / "x.csv"))
    assert code == 2
    assert "x.csv" in capsys.readouterr().err
    code, _ = deploy(tmp_path, "badinput", "--target", "cpu", "--input", "sunspots")
    assert code == 2
    assert "sunspots" in capsys.readouterr().err


def test_engine_registry_names_every_target_backend():
    """Every target file names a registered engine; each engine's parity reference is
    another registered engine; bad names and modes are refused with clear errors."""
    from lnp_neuro.deploy.targets import BACKENDS, list_targets
    from lnp_neuro.engines.base import ENGINES, DeployedNetwork, Engine, get_engine
    for target in list_targets():
        engine = get_engine(target.backend)
        assert target.mode in engine.modes
        assert get_engine(engine.parity_reference).name != engine.name
    assert set(BACKENDS) <= set(ENGINES)
    with pytest.raises(ValueError, match="unknown engine 'fpga'; known engines: lava"):
        get_engine("fpga")
    with pytest.raises(ValueError, match="its own parity reference"):
        Engine("x", "d", lambda *a: None, parity_reference="x")
    net = hrsnn(10, seed=0, n_inputs=2)
    deployed = DeployedNetwork(graph=None, network=net, neuron_ids=np.arange(10))
    with pytest.raises(ValueError, match="runs in float mode, not 'fixed'"):
        get_engine("norse").run(deployed, np.zeros((5, 2), bool), "fixed")
    with pytest.raises(ValueError, match="one integer per neuron"):
        DeployedNetwork(graph=None, network=net, neuron_ids=np.arange(9))


def test_series_code_defaults_follow_the_input_and_yield_to_flags():
    from lnp_neuro.deploy import DeployOptions
    lorenz = DeployOptions(input="lorenz")
    assert (lorenz.scaling, lorenz.steps_per_sample) == ("zscore", 20)
    rossler = DeployOptions(input="rossler")
    assert (rossler.scaling, rossler.steps_per_sample) == ("median", 40)
    given = DeployOptions(input="rossler", scaling="range", steps_per_sample=10)
    assert (given.scaling, given.steps_per_sample) == ("range", 10)
    assert lorenz.code == "level" and lorenz.code_to_choose == ()
    with pytest.raises(ValueError, match="steps_per_sample"):
        DeployOptions(input="rossler", steps_per_sample=0)


def test_a_deployed_reservoir_deploys_again(tmp_path, capsys):
    """network.nir of a forecast deploy (the reservoir and its readout population) is a
    network lnp-deploy takes back: the reservoir is pruned and read out anew, the old
    readout left out; every pruning method works on it."""
    code, first = deploy(tmp_path, "first", "--target", "cpu")
    assert code == 0
    capsys.readouterr()
    code = main(["--target", "cpu", "--network", str(first / "network.nir"), "--prune", "ap",
                 "--steps", "60", "--task-samples", "300", "--out", str(tmp_path / "again")])
    assert code == 0
    assert "its readout population 'readout' is left out" in capsys.readouterr().err
    again = load_report(tmp_path / "again")
    assert again["neurons_before"] == load_report(first)["neurons_after"]
    assert again["task"]["readout"] == "deployed"
    graph = read_graph(tmp_path / "again" / "network.nir")
    assert list(graph.populations) == ["reservoir", "readout"]
