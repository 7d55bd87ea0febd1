"""examples/notebook_example.py runs (its reduced size) and uses the public API only."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import lnp_neuro

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "notebook_example.py"


def test_example_uses_only_the_public_api():
    tree = ast.parse(EXAMPLE.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("lnp_neuro"), ast.unparse(node)
        if isinstance(node, ast.Import):
            assert all(a.name == "lnp_neuro" or not a.name.startswith("lnp_neuro")
                       for a in node.names), ast.unparse(node)
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "lnp_neuro"}
    assert used and used <= set(lnp_neuro.__all__), used - set(lnp_neuro.__all__)


def test_example_quick_run(tmp_path):
    out = tmp_path / "nb"
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cmp = out / "comparison"
    runs = sorted(p.name for p in cmp.iterdir() if p.is_dir())
    assert runs == ["0-lnp", "1-random"]
    for name in runs:
        report = json.loads((cmp / name / "report.json").read_text())
        assert report["options"]["out"] == str(cmp / name)
        assert report["options"]["network"] == str(out / "hrsnn.npz")
        assert report["task"]["metric"] == "nrmse"
    md = (cmp / "report.md").read_text()
    assert "Runs: LNP (0-lnp), Random (1-random)" in md and "## Headline" in md
    assert (out / "accuracy_vs_energy.png").read_bytes().startswith(b"\x89PNG")
    assert "fewer synaptic operations" in proc.stdout
