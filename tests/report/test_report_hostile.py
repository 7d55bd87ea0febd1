"""``lnp-deploy report`` on hostile report.json files: deep nesting, huge numbers, odd
types and labels are refused on one line naming the file and field (exit 2) or rendered
safely (plain-text plot labels, bounded file names, escaped Markdown)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from lnp_neuro.deploy import cli
from lnp_neuro.report.render import _md_text


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "run"
    assert cli.main(["--target", "cpu", "--neurons", "20", "--steps", "30", "--iterations",
                     "1", "--input", "poisson", "--quiet", "--out", str(out)]) == 0
    return out


def _variant(run_dir: Path, tmp_path: Path, edit=None, text=None) -> Path:
    dst = tmp_path / "variant"
    shutil.copytree(run_dir, dst)
    report = json.loads((dst / "report.json").read_text())
    if edit is not None:
        edit(report)
    (dst / "report.json").write_text(text(json.dumps(report)) if text else json.dumps(report))
    return dst


def _report(run: Path, out: Path, capsys) -> tuple[int, str]:
    code = cli.main(["report", str(run), "--out", str(out)])
    return code, capsys.readouterr().err.strip()


def _set(path: str, value):
    def edit(report):
        target = report
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[keys[-1] if isinstance(target, dict) else int(keys[-1])] = value
    return edit


BIG = "1" + "0" * 400


@pytest.mark.parametrize("case, edit, text, field", [
    ("deep", None, lambda t: t[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}", "x[0]"),
    ("deep-old", lambda r: r.pop("record_version"),
     lambda t: t[:-1] + ', "x": ' + "{\"a\": " * 3000 + "1" + "}" * 3000 + "}", "x.a"),
    ("steps", None, lambda t: t.replace('"steps": 30', f'"steps": {BIG}'), "steps"),
    ("digits", None, lambda t: t.replace('"steps": 30', '"steps": 1' + "0" * 5000),
     "steps"),
    ("energy", _set("energy_by_profile.loihi", 0), lambda t: t.replace(
        '"loihi": 0', f'"loihi": {BIG}'), "energy_by_profile.loihi"),
    ("traffic", _set("mapping.core_traffic", [[0]]), lambda t: t.replace(
        '"core_traffic": [[0]]', f'"core_traffic": [[{BIG}]]'), "mapping.core_traffic[0][0]"),
    ("history", _set("history.0.iteration", 0), lambda t: t.replace(
        '"iteration": 0', '"iteration": 1e308'), "history[0].iteration"),
    ("task", _set("task", {"unpruned": 0}), lambda t: t.replace(
        '"unpruned": 0', f'"unpruned": {BIG}'), "task.unpruned"),
    ("label", _set("label", "L" * 100_000), None, "label"),
    ("surrogate", _set("label", "x"), lambda t: t.replace('"label": "x"',
                                                          '"label": "a\\ud800"'), "label"),
])
def test_hostile_numbers_and_nesting_are_named(run_dir, tmp_path, capsys, case, edit, text,
                                               field):
    run = _variant(run_dir, tmp_path, edit, text)
    code, err = _report(run, tmp_path / "out", capsys)
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert str(run / "report.json") in err and field in err, err
    assert not (tmp_path / "out").exists()


def test_term_notes_of_the_wrong_type_are_ignored(run_dir, tmp_path, capsys):
    def edit(report):
        for entry in report["energy"]["profiles"].values():
            entry["term_notes"] = ["not", "an", "object"]
    code, err = _report(_variant(run_dir, tmp_path, edit), tmp_path / "out", capsys)
    assert code == 0, err


@pytest.mark.parametrize("label", ["$\\undefinedcommand{x}$", "L" * 300, "a\x00b\nc $x$"])
def test_labels_are_plain_text_and_file_names_bounded(run_dir, tmp_path, capsys, label):
    code, err = _report(_variant(run_dir, tmp_path, _set("label", label)), tmp_path / "out",
                        capsys)
    assert code == 0, err
    names = [p.name for p in (tmp_path / "out").iterdir()]
    assert names and all(len(n.encode()) <= 80 for n in names), names
    assert all(n.replace("-", "").replace("_", "").replace(".", "").isalnum()
               for n in names), names


def test_markdown_escapes_what_it_quotes(run_dir, tmp_path, capsys):
    hostile = {
        "label": "evil\n# heading <script>alert(1)</script>",
        "target": "<img src=x onerror=alert(1)>",
        "profile": "<iframe src=javascript:alert(1)>",
        "backend": "[click](javascript:alert(1))",
    }
    code, err = _report(_variant(run_dir, tmp_path, lambda r: r.update(hostile)),
                        tmp_path / "out", capsys)
    assert code == 0, err
    md = (tmp_path / "out" / "report.md").read_text()
    for raw in ("<script", "<img", "<iframe", "\n# heading"):
        assert raw not in md, raw
    assert not re.search(r"(?<!\\)\]\(javascript:", md)   # the link stays text: \](
    assert "&lt;script>" in md
    assert _md_text("1. x") == "1\\. x" and _md_text("- x") == "\\- x"
    assert _md_text("a|b") == "a\\|b"
