"""Paired comparisons of an ``lnp-experiment`` grid: LNP against AP, random and unpruned.

    .venv/bin/python benchmarks/grid_pairs.py RESULTS_DIR        # the folder lnp-experiment wrote

For every (task, model, training, seed) the grid ran, the open-loop NRMSE and SOPs of
each pruning, next to persistence (``y_hat[t+1] = y[t]``) on the same protocol window
(the run's seed picks the series and the window, as in ``lnp-experiment``). Then, paired
over those coordinates, the ratio baseline / LNP of NRMSE and of SOPs and a one-sided
Wilcoxon signed-rank test (scipy) of "LNP's NRMSE is lower". A ratio above 1 favours LNP.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def load_rows(folder: Path) -> list[dict]:
    summary = folder / "summary.json"
    if summary.is_file():
        rows = json.loads(summary.read_text())
    else:   # a grid still running or stopped: its rows so far
        rows = [json.loads(p.read_text()) for p in sorted((folder / "runs").glob("*.json"))]
    return [r for r in rows if r.get("error") is None and r.get("nrmse") is not None]


def persistence(task: str, seed: int, cfg) -> float:
    """Persistence NRMSE on the protocol window the grid's run of ``(task, seed)`` used."""
    from lnp_neuro.experiments.protocol import PredictionData
    from lnp_neuro.tasks.metrics import nrmse
    data = PredictionData(task, seed, cfg)
    return float(nrmse(data.window.test_inputs, data.window.test_targets, data.sigma))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="output folder of lnp-experiment")
    args = ap.parse_args(argv)
    if not args.folder.is_dir():
        print(f"grid_pairs: {args.folder}: no such folder", file=sys.stderr)
        return 2
    rows = load_rows(args.folder)
    if not rows:
        print(f"grid_pairs: {args.folder}: no finished prediction runs", file=sys.stderr)
        return 2
    from lnp_neuro.experiments.config import ExperimentConfig
    cfg_path = args.folder / "config.json"
    cfg = (ExperimentConfig.from_dict(json.loads(cfg_path.read_text())["config"])
           if cfg_path.is_file() else ExperimentConfig())
    by = {}
    for r in rows:
        by.setdefault((r["task"], r["model"], r["training"], r["seed"]), {})[r["pruning"]] = r
    prunings = ("unpruned", "ap", "lnp", "random")
    print("| task | model | training | seed | persistence | "
          + " | ".join(f"{p} NRMSE (SOPs M)" for p in prunings) + " |")
    print("|---" * (5 + len(prunings)) + "|")
    windows = {}   # one persistence per (task, seed): the models and trainings share it
    for key in sorted(by):
        task, model, training, seed = key
        if (task, seed) not in windows:
            windows[task, seed] = persistence(task, seed, cfg)
        cells = []
        for p in prunings:
            r = by[key].get(p)
            cells.append("-" if r is None else f"{r['nrmse']:.3f} ({r['sops'] / 1e6:.2f})")
        print(f"| {task} | {model} | {training} | {seed} | "
              f"{windows[task, seed]:.3f} | " + " | ".join(cells) + " |")

    from scipy.stats import wilcoxon
    print()
    for base in ("ap", "random", "unpruned"):
        pairs = [(v[base], v["lnp"]) for v in by.values() if base in v and "lnp" in v]
        if not pairs:
            continue
        err = np.array([b["nrmse"] / lnp["nrmse"] for b, lnp in pairs])
        sops = np.array([b["sops"] / lnp["sops"] for b, lnp in pairs])
        line = (f"{base:8s} / LNP over {len(pairs)} pairs: NRMSE ratio median {np.median(err):.2f} "
                f"(range {err.min():.2f}-{err.max():.2f}, LNP lower in {int(np.sum(err > 1))}), "
                f"SOP ratio median {np.median(sops):.2f} (range {sops.min():.2f}-{sops.max():.2f})")
        if len(pairs) >= 5:
            test = wilcoxon([b["nrmse"] for b, _ in pairs], [lnp["nrmse"] for _, lnp in pairs],
                            alternative="greater")
            line += f"; one-sided Wilcoxon p = {test.pvalue:.3g}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
