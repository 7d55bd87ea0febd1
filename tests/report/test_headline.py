"""The report's headline (lnp_neuro.report.headline) and the paths reports name."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser

import pytest

from lnp_neuro.deploy.cli import main
from lnp_neuro.report.headline import headline_sentence, run_caveats
from lnp_neuro.report.render import write_report


def _report(label, **extra):
    """A report.json as lnp-deploy writes it, reduced to what the headline reads."""
    report = {
        "label": label, "target": "loihi-sim", "backend": "lava", "mode": "fixed",
        "profile": "loihi2", "steps": 500, "dt": 1e-3, "neurons_before": 1000,
        "neurons_after": 640, "synapses_before": 100_000, "synapses_after": 9_000,
        "sops_dense": 2.0e6, "sops_pruned": 1.6e5, "sop_ratio": 12.5,
        "energy_joules": 4.0e-5, "energy_by_profile": {"loihi2": 4.0e-5}, "parity": 0,
        "parity_reference": "native",
        "activity": {"fraction_firing_before": 0.9, "fraction_firing_after": 0.45},
        "task": {"name": "lorenz", "metric": "nrmse", "unpruned": 0.12, "pruned": 0.15,
                 "persistence": 0.3,
                 "references": {"persistence": 0.3, "linear": 0.05, "esn": 0.09}},
        "energy": {"profiles": {"loihi2": {"energy_joules": 4.0e-5, "term_status": {
            "synaptic": "modelled", "routing": "modelled", "memory": "included",
            "static": "not modelled"}}}},
    }
    report.update(extra)
    return report


def _run(folder, report):
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(report))
    return folder


class _Page(HTMLParser):
    """The order of headings, tables and figures, and the visible text."""

    def __init__(self):
        super().__init__()
        self.order, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "table", "figure", "p", "tr"):
            self.order.append(tag)

    def handle_data(self, data):
        self.text.append(data)
        if self.order and self.order[-1] == "h2" and data.strip():
            self.order[-1] = f"h2:{data.strip()}"


def test_headline_comes_first_with_accuracy_and_energy_of_every_run(tmp_path):
    labels = ["Unpruned", "AP", "LNP", "Random"]
    runs = [_run(tmp_path / name, _report(name, sop_ratio=1.0 + i, energy_joules=(i + 1) * 1e-5))
            for i, name in enumerate(labels)]
    write_report(runs, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    page = _Page()
    page.feed(html)
    headings = [t for t in page.order if t.startswith("h2")]
    assert headings[0] == "h2:Headline" and headings[1] == "h2:Runs side by side"
    first_figure = page.order.index("figure") if "figure" in page.order else len(page.order)
    assert page.order.index("h2:Runs side by side") < first_figure
    headline = html[html.index("<h2>Headline</h2>"):html.index("<h2>Runs side by side</h2>")]
    for i, name in enumerate(labels):
        assert f"<td>{name}</td>" in headline
        assert f"{(i + 1) * 1e-5:.3g} J" in headline            # energy of the run
        assert "0.12 -&gt; 0.15" in headline                  # task before -> after
    assert "persistence 0.3; ESN 0.09" in headline
    assert "static not modelled" in headline                  # the lower-bound caveat


def _first_screen_height(html: str) -> float:
    """The height (px) of everything up to the end of the headline, laid out at the
    report's CSS (max-width 1100 px, 16 px sans-serif: about 140 characters a line of
    text, 22 px a line; a table row as tall as its widest-wrapping cell, with cells
    sharing the width in proportion to their text) plus the block margins. A model of
    the browser's layout, conservative on line width, not a browser."""
    head = html[:html.index("<h2>Runs side by side</h2>")]
    height = 60 + 40   # h1 and the h2 with their margins
    for para in re.findall(r"<p>(.*?)</p>", head, re.S):
        text = re.sub(r"<[^>]+>", "", para)
        height += 22 * -(-len(text) // 140) + 16
    for table in re.findall(r"<table>(.*?)</table>", head, re.S):
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
            cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", row)]
            total = sum(len(c) + 2 for c in cells)
            # each cell gets width in proportion to its text, 1100 px ~ 150 chars at 0.9em
            lines = max(-(-(len(c) + 2) // max(1, int(150 * (len(c) + 2) / total)))
                        for c in cells)
            height += 20 * lines + 8
        height += 24
    return height


def test_first_screen_holds_the_headline_of_four_runs(tmp_path):
    runs = [_run(tmp_path / name, _report(name, energy_per_inference_joules={"loihi2": 2e-7},
                                          quantisation={"weights_flushed": 3}))
            for name in ("Unpruned", "AP", "LNP", "Random")]
    write_report(runs, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "energy per inference" in html and "2e-07 J" in html
    assert _first_screen_height(html) < 900


def test_classifier_references_and_caveats():
    task = {"name": "data", "metric": "accuracy", "unpruned": 0.95, "pruned": 0.925,
            "chance": 0.5, "reference_accuracy": 0.93,
            "references": {"no_recurrence": 0.7}}
    report = _report("LNP", task=task, parity=3,
                     quantisation={"weights_flushed": 2, "input_weights_flushed": 1},
                     import_warnings=["node 'lif1': bias starts settled"])
    sentence = headline_sentence(report, "LNP")
    assert "accuracy 0.95 -> 0.925" in sentence and "12.5x" in sentence
    caveats = run_caveats(report)
    assert any("lower bound" in c and "static" in c for c in caveats)
    assert any("flushed 3 weight(s)" in c for c in caveats)
    assert any("bias starts settled" in c for c in caveats)
    assert any("3 spike mismatch(es)" in c for c in caveats)
    assert run_caveats(_report("clean", energy={})) == []
    assert any("no task" in c for c in run_caveats(_report("poisson", task=None)))


def test_classifier_row_names_its_references(tmp_path):
    task = {"name": "data", "metric": "accuracy", "unpruned": 0.95, "pruned": 0.925,
            "chance": 0.5, "reference_accuracy": 0.93, "references": {"no_recurrence": 0.7}}
    write_report(_run(tmp_path / "run", _report("LNP", task=task)), tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| LNP | loihi-sim"))
    assert "0.95 -> 0.925" in row
    assert "chance 0.5; source framework 0.93; no recurrence 0.7" in row


# ------------------------------------------------------------------ true paths
SMALL = ["--target", "cpu", "--neurons", "60", "--steps", "60", "--iterations", "1",
         "--task-samples", "300", "--vpt-starts", "0", "--quiet"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("paths")
    for prune in ("lnp", "none"):
        assert main([*SMALL, "--prune", prune, "--out", str(root / "runs" / prune)]) == 0
    return root


def test_no_report_names_a_staging_folder(two_runs, tmp_path, monkeypatch):
    root = two_runs
    cmp = root / "runs" / "comparison"
    assert main(["report", str(root / "runs" / "lnp"), str(root / "runs" / "none"),
                 "--out", str(cmp)]) == 0
    for folder in (root / "runs" / "lnp", root / "runs" / "none", cmp):
        for name in ("report.html", "report.md", "report.json"):
            if folder == cmp and name == "report.json":
                continue   # a comparison has no run record
            text = (folder / name).read_text()
            assert ".partial-" not in text and ".lnp-staging" not in text, folder / name
    own = (root / "runs" / "lnp" / "report.md").read_text()
    assert "Runs: LNP (this folder)" in own
    md = (cmp / "report.md").read_text()
    assert "Runs: LNP (../lnp), Unpruned (../none)" in md
    html = (cmp / "report.html").read_text()
    assert 'href="../lnp/report.html"' in html and 'href="../none/report.html"' in html
    # Run from another working folder with relative paths: the same report.
    rel = tmp_path / "rel"
    monkeypatch.chdir(root / "runs")
    assert main(["report", "lnp", "none", "--out", str(rel)]) == 0
    rel_md = (rel / "report.md").read_text()
    assert ".partial-" not in rel_md
    assert f"LNP ({os.path.relpath(root / 'runs' / 'lnp', rel)})" in rel_md


def test_sentence_says_what_the_recurrence_contributes():
    task = {"name": "lorenz", "metric": "nrmse", "unpruned": 0.03, "pruned": 0.031,
            "references": {"no_recurrence": 0.036},
            "deployed_readout": {"unpruned": 0.035, "pruned": 0.033}}
    sentence = headline_sentence(_report("LNP", task=task), "LNP")
    assert "without its recurrent synapses 0.036: the recurrence improves it x1.2" in sentence
    assert "read out on the chip 0.035 -> 0.033" in sentence
    memory = {"name": "memory", "metric": "memory_capacity", "unpruned": 1.0,
              "pruned": 0.9, "references": {"no_recurrence": 2.0}}
    sentence = headline_sentence(_report("LNP", task=memory), "LNP")
    assert "memory capacity (higher is better) 1 -> 0.9" in sentence
    assert "the recurrence worsens it x2" in sentence
