"""``lnp-deploy --network GRAPH.nir --prune lnp``: LNP on the graph's recurrent
population(s), the pruned neurons left out of network.nir, parity 0."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from lnp_neuro.deploy.cli import build_parser, main

DATA = Path(__file__).resolve().parents[1] / "data" / "nir_paper"
BRAILLE = DATA / "braille_noDelay_bias_zero.nir"
STEPS = 200


def _deploy(out: Path, *extra: str) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the Braille biases' folding warning
        return main(["--target", "cpu", "--network", str(BRAILLE), "--dt", "1e-4",
                     "--input", "poisson", "--steps", str(STEPS), "--out", str(out),
                     "--quiet", *extra])


def test_lnp_prunes_the_recurrent_population_of_a_graph(tmp_path):
    out = tmp_path / "run"
    assert _deploy(out, "--prune", "lnp", "--iterations", "2") == 0
    report = json.loads((out / "report.json").read_text())
    assert report["parity"] == 0
    assert report["neurons_after"] <= report["neurons_before"]
    assert report["synapses_after"] < report["synapses_before"]
    assert report["deployed"]["neurons"] == report["neurons_after"]
    populations = report["deployed"]["populations"]
    assert [p["name"] for p in populations] == ["lif1.lif", "lif2"]
    assert {row["population"] for row in report["history"]} == {"lif1.lif"}
    run = np.load(out / "run.npz")
    for pop in populations:
        raster = run[pop["run_npz_key"]]
        assert raster.shape == (STEPS, pop["neurons"])
        np.testing.assert_array_equal(raster, run["spikes"][:, slice(*pop["columns"])])
    # The readout population is not pruned; its neuron ids follow the kept ones.
    lif2 = populations[1]
    assert lif2["neurons"] == 7
    ids = run["neuron_ids"]
    assert ids.shape == (report["neurons_after"],) and np.all(np.diff(ids) > 0)
    np.testing.assert_array_equal(ids[-7:], np.arange(38, 45))


def test_graph_pruning_flags_are_checked(tmp_path, capsys):
    assert _deploy(tmp_path / "a", "--prune", "ap") == 2
    assert "--prune ap is not implemented for a graph" in capsys.readouterr().err
    assert _deploy(tmp_path / "b", "--prune", "lnp", "--prune-populations", "lif2",
                   "--iterations", "1") == 2
    assert "'lif2' has no recurrent projection" in capsys.readouterr().err
    assert _deploy(tmp_path / "c", "--prune", "none", "--prune-populations", "lif1.lif") == 2
    assert "--prune-populations applies to --prune lnp only" in capsys.readouterr().err
    assert "--prune-populations" in build_parser().format_help()


def test_lnp_on_a_graph_without_recurrence_says_what_to_do(tmp_path, capsys):
    """A feed-forward graph has nothing LNP prunes: one line naming the file, exit 2."""
    from conftest import chain_graph
    from lnp_neuro.nir import write_graph
    path = tmp_path / "chain.nir"
    write_graph(chain_graph(), path)
    code = main(["--target", "cpu", "--network", str(path), "--prune", "lnp", "--input",
                 "poisson", "--steps", "30", "--quiet", "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{path} has no recurrent population" in err and "--prune none" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
