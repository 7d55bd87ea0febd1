"""Porting a trained model (issue: port a trained model): a recurrent classifier trained
in snnTorch at test time on sklearn's digits (``examples/port_snntorch_digits.py``,
``QUICK`` size), deployed with snnTorch's default reset named on the command line.

- ``loihi-sim`` (``--source snntorch``: snnTorch's default reset): the deployed accuracy (Loihi fixed point) is within 2 points of
  snnTorch's own on the same scored samples; after ``--prune lnp`` the report gives the
  accuracy as-is and with the readout refitted, SOPs and energy per inference.
- ``lava-float``: Lava's float model reproduces snnTorch's accuracy exactly (its rasters
  are snnTorch's, tests/nir/test_graph_io.py) with the reset named by its flags, and
  without them (NIR's reset to zero) it does not: the rule is what makes the port
  faithful.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from lnp_neuro.deploy.cli import main

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("snntorch", "torch", "sklearn")),
    reason="snntorch, torch and scikit-learn are needed")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SNNTORCH_RESET = ["--reset-mechanism", "subtract", "--reset-delay"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The trained model's files and snnTorch's own accuracy."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        import port_snntorch_digits as recipe
    finally:
        sys.path.remove(str(EXAMPLES))
    folder = tmp_path_factory.mktemp("digits")
    record = recipe.write_files(folder, **recipe.QUICK)
    assert record["accuracy"] > 0.7, f"the quick model did not learn: {record}"
    return folder, record


def _deploy(folder: Path, out: str, *args) -> dict:
    code = main(["--network", str(folder / "model.nir"), "--data", str(folder / "data.npz"),
                 "--out", str(folder / out), "--quiet", *args])
    assert code == 0
    return json.loads((folder / out / "report.json").read_text())


def test_loihi_sim_accuracy_and_pruned_report(digits):
    folder, record = digits
    report = _deploy(folder, "loihi", "--target", "loihi-sim", "--prune", "lnp",
                     "--refit-readout", "--source", "snntorch")
    task = report["task"]
    print(f"snnTorch {record['accuracy']:.4f}, loihi-sim unpruned {task['unpruned']:.4f}, "
          f"LNP as-is {task['pruned']:.4f}, refitted {task['refitted']}")
    assert task["n_test"] == record["n_test"]
    assert abs(task["unpruned"] - record["accuracy"]) <= 0.02
    assert report["sop_ratio"] > 1
    refitted = task["refitted"]
    assert refitted["source_population"] == "lif1.lif"
    # The refit is scored on the held-out samples only: above chance, at most 1.
    assert task["chance"] < refitted["pruned"] <= 1 and task["chance"] < refitted["unpruned"]
    assert all(v > 0 for v in report["energy_per_inference_joules"].values())
    assert report["latency_per_inference_seconds"] > 0


def test_lava_float_reproduces_snntorch_only_with_its_reset(digits):
    folder, record = digits
    faithful = _deploy(folder, "float", "--target", "lava-float", "--prune", "none",
                       *SNNTORCH_RESET)["task"]
    assert faithful["unpruned"] == pytest.approx(record["accuracy"], abs=1e-12)
    assert faithful["pruned"] == faithful["unpruned"]
    nir_rule = _deploy(folder, "float-nir", "--target", "cpu", "--prune", "none")["task"]
    print(f"snnTorch {record['accuracy']:.4f}; with its reset {faithful['unpruned']:.4f}, "
          f"with NIR's reset to zero {nir_rule['unpruned']:.4f} (fixed point)")
    assert nir_rule["unpruned"] < record["accuracy"] - 0.02


def test_reset_flags_need_a_nir_network(digits, capsys):
    folder, _ = digits
    code = main(["--target", "cpu", "--reset-mechanism", "subtract", "--out", str(folder / "x"),
                 "--quiet"])
    assert code == 2
    assert "--reset-mechanism" in capsys.readouterr().err
    code = main(["--target", "cpu", "--network", str(folder / "model.nir"), "--reset-delay",
                 "--out", str(folder / "y"), "--quiet"])
    assert code == 2
    assert "--reset-delay needs --reset-mechanism" in capsys.readouterr().err
    code = main(["--target", "cpu", "--network", str(folder / "model.nir"), "--refit-readout",
                 "--out", str(folder / "z"), "--quiet"])
    assert code == 2
    assert "--refit-readout applies with --data" in capsys.readouterr().err


def test_unrepresentable_reset_is_a_caveat_of_the_report(digits):
    """An RLeaky resetting to zero one step late cannot be expressed: the warning that
    names the population is kept in report.json and is among the caveats under the
    report's headline table (before the long table)."""
    folder, _ = digits
    with pytest.warns(UserWarning, match="drops the input"):
        report = _deploy(folder, "zero", "--target", "cpu", "--prune", "none",
                         "--source", "snntorch", "--reset-mechanism", "zero")
    assert report["options"]["reset_mechanism"] == "zero"
    assert len(report["import_warnings"]) == 1
    assert "'lif1.lif'" in report["import_warnings"][0]
    html = (folder / "zero" / "report.html").read_text()
    first_table_end = html.index("</table>")
    assert first_table_end < html.index("drops the input") < html.index("</table>",
                                                                        first_table_end + 1)


def test_an_explicit_no_reset_delay_is_recorded(digits):
    """report.json's options leave out what was not set, but keep an explicit False:
    --no-reset-delay overrides snnTorch's default and must say so."""
    folder, _ = digits
    options = _deploy(folder, "no-delay", "--target", "cpu", "--prune", "none",
                      "--source", "snntorch", "--no-reset-delay")["options"]
    assert options["source"] == "snntorch" and options["reset_delay"] is False
    assert "refit_readout" not in options and "reset_mechanism" not in options
