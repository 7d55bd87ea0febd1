"""What a grid's rows add up to: per-group statistics (:func:`summarize`), the paper's
Table 2 and noise table in Markdown, and the files ``lnp-experiment`` writes
(:func:`write_outputs`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._util.io import atomic_write, strict_json
from .config import PREDICTION_TASKS, PRUNINGS, ExperimentConfig

__all__ = ["summarize", "format_table2", "format_noise_table", "write_outputs"]


def _mean_std(values: list) -> dict | None:
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    if not vals:
        return None
    return {"mean": float(np.mean(vals)), "std": float(np.std(vals)), "n": len(vals)}


def _with_sop_ratio(rows: list[dict]) -> list[dict]:
    """Add ``sop_ratio`` = SOPs of the unpruned run of the same model, training, task and
    seed / SOPs of this run (design section 5), where both exist."""
    base = {(r["model"], r["training"], r["task"], r["seed"]): r.get("sops")
            for r in rows if r["pruning"] == "unpruned" and r.get("error") is None}
    out = []
    for r in rows:
        r = dict(r)
        b = base.get((r["model"], r["training"], r["task"], r["seed"]))
        r["sop_ratio"] = (b / r["sops"]) if (b is not None and r.get("sops")) else None
        out.append(r)
    return out


def summarize(rows: list[dict]) -> dict:
    """Group rows by (task, pruning, model, training): mean/std of the metrics."""
    rows = _with_sop_ratio(rows)
    groups: dict = {}
    for r in rows:
        if r.get("error") is not None:
            continue
        groups.setdefault((r["task"], r["pruning"], r["model"], r["training"]), []).append(r)
    table = []
    for (task, pruning, model, training), rs in groups.items():
        entry = {"task": task, "pruning": pruning, "model": model, "training": training,
                 "runs": len(rs)}
        for metric in ("neurons", "synapses", "sops", "sop_ratio", "nrmse", "vpt",
                       "vpt_lyapunov", "vpt_eps05", "nrmse_closed_loop", "accuracy", "spike_rate"):
            entry[metric] = _mean_std([r.get(metric) for r in rs])
        snrs = sorted({k for r in rs for k in (r.get("nrmse_snr") or {})}, key=float,
                      reverse=True)
        entry["nrmse_snr"] = {k: _mean_std([(r.get("nrmse_snr") or {}).get(k) for r in rs])
                              for k in snrs}
        table.append(entry)
    order = {p: i for i, p in enumerate(PRUNINGS)}
    table.sort(key=lambda e: (e["task"], order[e["pruning"]], e["model"], e["training"]))
    errors = [{"key": r["key"], "error": r["error"]} for r in rows if r.get("error")]
    return {"groups": table, "errors": errors}


def _fmt(stat: dict | None, scale: float = 1.0, digits: int = 3) -> str:
    if stat is None:
        return "-"
    return f"{stat['mean'] * scale:.{digits}g} ± {stat['std'] * scale:.{digits}g}"


_PRUNING_LABEL = {"unpruned": "Unpruned", "ap": "AP Pruned", "lnp": "LNP Pruned",
                  "random": "Random (ER like LNP)"}


def format_table2(summary: dict) -> str:
    """Markdown table shaped like the paper's Table 2 (one block per task)."""
    lines = []
    tasks = sorted({g["task"] for g in summary["groups"]})
    for task in tasks:
        groups = [g for g in summary["groups"] if g["task"] == task]
        image = task not in PREDICTION_TASKS
        lines.append(f"### {task}\n")
        head = ("| Pruning | Model | Training | runs | neurons | synapses | SOPs (M) | "
                "SOP ratio | " + ("accuracy |" if image else
                                  "NRMSE (open loop) | VPT (samples) | VPT eps=0.5 | "
                                  "NRMSE (closed loop) |"))
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for g in groups:
            cells = [_PRUNING_LABEL[g["pruning"]], g["model"].upper(), g["training"].upper(),
                     str(g["runs"]), _fmt(g["neurons"], digits=4), _fmt(g["synapses"], digits=4),
                     _fmt(g["sops"], 1e-6), _fmt(g["sop_ratio"])]
            if image:
                cells.append(_fmt(g["accuracy"]))
            else:
                cells += [_fmt(g["nrmse"]), _fmt(g["vpt"]), _fmt(g["vpt_eps05"]),
                          _fmt(g["nrmse_closed_loop"])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if summary.get("errors"):
        lines.append(f"{len(summary['errors'])} run(s) failed: "
                     + ", ".join(e["key"] for e in summary["errors"]))
    return "\n".join(lines) + "\n"


def format_noise_table(summary: dict) -> str:
    """Markdown: open-loop NRMSE (mean ± std) against input SNR, per pruning/model/training."""
    lines = []
    for task in sorted({g["task"] for g in summary["groups"] if g["nrmse_snr"]}):
        groups = [g for g in summary["groups"] if g["task"] == task and g["nrmse_snr"]]
        snrs = sorted({k for g in groups for k in g["nrmse_snr"]}, key=float, reverse=True)
        lines.append(f"### {task}: NRMSE at input SNR (dB)\n")
        lines.append("| Pruning | Model | Training | " + " | ".join(snrs) + " |")
        lines.append("|" + "---|" * (3 + len(snrs)))
        for g in groups:
            lines.append("| " + " | ".join([_PRUNING_LABEL[g["pruning"]], g["model"].upper(),
                                            g["training"].upper()]
                                           + [_fmt(g["nrmse_snr"].get(s)) for s in snrs]) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_outputs(out_dir: str | Path, rows: list[dict], config: ExperimentConfig,
                  extra: dict | None = None) -> dict:
    """Write summary.json (the rows, with ``sop_ratio``), summary_groups.json
    (:func:`summarize`), table2.md, noise.md and config.json (``config`` and ``extra``)
    into ``out_dir``, each file atomically; returns the summary."""
    out_dir = Path(out_dir)
    summary = summarize(rows)
    files = {
        "summary.json": json.dumps(strict_json(_with_sop_ratio(rows)), indent=1,
                                   allow_nan=False),
        "summary_groups.json": json.dumps(strict_json(summary), indent=1, allow_nan=False),
        "table2.md": format_table2(summary),
        "noise.md": format_noise_table(summary),
        "config.json": json.dumps(strict_json({"config": config.to_dict(), **(extra or {})}),
                                  indent=1, allow_nan=False),
    }
    for name, text in files.items():
        with atomic_write(out_dir / name) as tmp:
            tmp.write_text(text)
    return summary
