"""report.json's per-projection and per-population fields (:mod:`lnp_neuro.hardware.projections`)
through ``lnp-deploy``: the NIR paper's Braille graph and a small pruned reservoir."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from lnp_neuro.deploy.cli import main

BRAILLE = (Path(__file__).resolve().parents[1] / "data" / "nir_paper"
           / "braille_noDelay_bias_zero.nir")
SMALL = ["--neurons", "60", "--steps", "60", "--iterations", "1", "--task-samples", "300",
         "--quiet"]


def _check_sums(report: dict) -> list[dict]:
    energy = report["energy"]
    rows = energy["projections"]
    inner = [r for r in rows if r["kind"] != "input"]
    assert sum(r["sops"] for r in inner) == energy["sops_and_mask"] == report["sops_pruned"]
    assert sum(r["sops"] for r in rows if r["kind"] == "input") == energy["sops_input"]
    assert sum(r["sops"] for r in rows) == \
        report["neurobench"]["synaptic_operations"]["effective_acs"]
    # synapses_after counts what pruning acts on: a readout population's synapses
    # (the forecast's readout on the chip) are in the SOPs, not in that count.
    assert sum(r["synapses"] for r in inner if r["kind"] != "readout") == \
        report["synapses_after"]
    return rows


def _check_populations(report: dict) -> None:
    pops = report["deployed"]["populations"]
    assert sum(p["neurons"] for p in pops) == report["deployed"]["neurons"]
    if report["cores_used"] is not None:
        used = set()
        for pop in pops:
            assert sum(pop["neurons_on_cores"]) == pop["neurons_active"]
            used.update(pop["cores"])
        assert len(used) == report["cores_used"]


def test_graph_deploy_reports_projections_and_cores(tmp_path):
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the Braille biases' folding warning
        code = main(["--target", "cpu", "--network", str(BRAILLE), "--dt", "1e-4",
                     "--prune", "none", "--input", "poisson", "--rate", "0.3", "--steps",
                     "40", "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    rows = _check_sums(report)
    assert [(r["name"], r["kind"]) for r in rows] == [
        ("fc1", "input"), ("lif1.w_rec", "recurrent"), ("fc2", "feed-forward")]
    assert sum(r["sops"] for r in rows) > 0
    _check_populations(report)
    markdown = (out / "report.md").read_text()
    assert "| Unpruned | lif1.w_rec | recurrent | lif1.lif -> lif1.lif |" in markdown
    assert "share of SOPs" in markdown
    if report["mode"] == "fixed":
        assert "weight exponents" in markdown
        quant = report["quantisation"]["projections"]
        assert [q["name"] for q in quant] == [r["name"] for r in rows]
        assert sum(q["weights_flushed"] for q in quant if q["kind"] != "input") == \
            report["quantisation"]["weights_flushed"]


def test_reservoir_deploy_reports_its_projections_and_readout(tmp_path):
    out = tmp_path / "run"
    assert main(["--out", str(out), *SMALL, "--target", "cpu"]) == 0
    report = json.loads((out / "report.json").read_text())
    rows = _check_sums(report)
    assert [(r["name"], r["kind"]) for r in rows] == [
        ("input->reservoir", "input"), ("reservoir->reservoir", "recurrent"),
        ("reservoir->readout", "readout")]
    assert rows[2]["sops"] == 3 * report["spikes_after"]   # every deployed neuron feeds x, y, z
    _check_populations(report)
    reservoir, readout = report["deployed"]["populations"]
    assert reservoir["name"] == "reservoir" and reservoir["neurons"] == report["neurons_after"]
    assert readout["name"] == "readout" and readout["kind"] == "li" and readout["neurons"] == 3
    run = np.load(out / "run.npz")
    for pop in (reservoir, readout):
        assert run[pop["run_npz_key"]].shape[1] == pop["neurons"]
