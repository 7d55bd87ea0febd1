"""The headline of a deployment report: what pruning bought and what it cost, first.

One paragraph (a sentence per run) and a small table with a row per run: the SOP ratio
(paper Sec. 4 / Suppl. A.5: dense SOPs of the unpruned network over AND-mask SOPs of the
pruned one, same input), the energy of the run on the target's hardware profile (and of
one inference, for a ``--data`` run), the task score before -> after pruning beside the
references the run has (persistence and the echo-state network for a forecast; chance
and the source framework's own accuracy for a classifier; the NRMSE of predicting the
training targets' mean for a regression data set; the network without its
recurrent projections when the task records it), the fraction of deployed neurons that
fire, and the parity against the independent engine. Below the table, the caveats that
change the reading: energy terms the profile does not model (the total is then a lower
bound, design section 5), weights a fixed-point quantisation flushed to 0, warnings of
the import, spike mismatches.

Reason: the long tables below hold every number, but a reader has to assemble the
answer from forty rows; the headline says it in one place, from the same report.json.
"""

from __future__ import annotations

from typing import Any, Sequence

from .base import RunData, _number, _Section

__all__ = ["headline_section", "headline_sentence", "run_caveats", "HEADLINE_TITLE"]

HEADLINE_TITLE = "Headline"

_NRMSE_REFERENCES = (("persistence", "persistence"), ("esn", "ESN"),
                     ("no_recurrence", "no recurrence"), ("input_code", "input code alone"),
                     ("baseline_mean", "predicting the mean"))
#: References a task records at its top level rather than under ``references``.
_TOP_LEVEL_REFERENCES = ("persistence", "baseline_mean")


def _g(value: Any, digits: int = 3) -> str:
    """A number in ``digits`` significant figures, ``n/a`` when missing."""
    number = _number(value)
    return "n/a" if number is None else f"{number:.{digits}g}"


def _joules(value: Any) -> str:
    number = _number(value)
    return "n/a" if number is None else f"{number:.3g} J"


def _percent(value: Any) -> str:
    number = _number(value)
    return "n/a" if number is None else f"{100 * number:.0f} %"


def _reference_value(value: Any, metric: str) -> float | None:
    """A reference's score: a number, or the first number of a reference record
    (``value``, the metric's name, ``pruned``)."""
    if isinstance(value, dict):
        for key in ("value", metric, "pruned"):
            if _number(value.get(key)) is not None:
                return _number(value[key])
        return None
    return _number(value)


def _task_of(report: dict) -> dict | None:
    task = report.get("task")
    if not isinstance(task, dict) or _number(task.get("pruned")) is None:
        return None
    return task


def _references(task: dict) -> list[tuple[str, float]]:
    """``(name, score)`` of each reference the task holds, in a fixed order."""
    refs = task.get("references") if isinstance(task.get("references"), dict) else {}
    metric = str(task.get("metric"))
    out: list[tuple[str, float]] = []
    if metric == "accuracy":
        candidates = [("chance", task.get("chance")),
                      ("source framework", task.get("reference_accuracy")),
                      ("no recurrence", refs.get("no_recurrence"))]
    else:
        candidates = [(title, refs.get(key, task.get(key) if key in _TOP_LEVEL_REFERENCES
                                        else None))
                      for key, title in _NRMSE_REFERENCES]
    for title, value in candidates:
        number = _reference_value(value, metric)
        if number is not None:
            out.append((title, number))
    return out


def _task_name(task: dict) -> str:
    if task.get("metric") == "accuracy":
        return "accuracy (higher better)"
    return f"{task.get('name', 'task')} NRMSE (lower better)"


def _per_inference(report: dict) -> float | None:
    per = report.get("energy_per_inference_joules")
    if not isinstance(per, dict):
        return None
    return _number(per.get(report.get("profile")))


def headline_sentence(report: dict, label: str) -> str:
    """One sentence saying what pruning bought and cost in one run (the table beside it
    holds the references, activity and parity)."""
    per_inference = _per_inference(report)
    energy = (f"{_joules(report.get('energy_joules'))} for the run"
              + ("" if per_inference is None else f", {_joules(per_inference)} per inference"))
    task = _task_of(report)
    if task is None:
        score = "no task score (Poisson drive)"
    else:
        metric = task.get("metric")
        kind = ("accuracy" if metric == "accuracy" else
                "memory capacity (higher is better)" if metric == "memory_capacity" else
                "regression NRMSE (lower is better)" if task.get("name") == "regression" else
                f"{task.get('name', 'task')} NRMSE")
        score = (f"{kind} {_g(task.get('unpruned'))} -> {_g(task.get('pruned'))}"
                 f"{_recurrence_clause(task)}{_other_readout_clause(task)}")
    return (f"{label} on {report.get('target', 'n/a')} ({report.get('profile', 'n/a')} "
            f"profile): {report.get('neurons_before', 'n/a')} -> "
            f"{report.get('neurons_after', 'n/a')} neurons, {_g(report.get('sop_ratio'))}x "
            f"fewer synaptic operations, {energy}; {score}.")


def _recurrence_clause(task: dict) -> str:
    """What the recurrence contributes to the unpruned score: its ratio to the
    no-recurrence control (``task.references.no_recurrence``), in the metric's direction."""
    control = _number((task.get("references") or {}).get("no_recurrence")) \
        if isinstance(task.get("references"), dict) else None
    value = _number(task.get("unpruned"))
    if control is None or value is None or min(control, value) <= 0:
        return ""
    higher = task.get("metric") in ("accuracy", "memory_capacity")
    ratio = value / control if higher else control / value
    return (f" (without its recurrent synapses {_g(control)}: the recurrence "
            f"{'improves' if ratio >= 1 else 'worsens'} it x{_g(max(ratio, 1 / ratio))})")


def _other_readout_clause(task: dict) -> str:
    """The readout the figures are not from, when scored: the off-chip float readout
    beside a readout deployed on the chip (``task.offchip_readout``), or the on-chip
    population beside an off-chip readout (``task.deployed_readout``)."""
    deployed = task.get("readout") == "deployed"
    other = task.get("offchip_readout" if deployed else "deployed_readout")
    if not isinstance(other, dict) or _number(other.get("unpruned")) is None:
        return ""
    figures = f"{_g(other.get('unpruned'))} -> {_g(other.get('pruned'))}"
    return (f"; read out on the chip (off-chip float readout {figures})" if deployed
            else f"; read out on the chip {figures}")


def _lower_bound_terms(report: dict) -> list[str]:
    profiles = (report.get("energy") or {}).get("profiles") if isinstance(
        report.get("energy"), dict) else None
    entry = profiles.get(report.get("profile")) if isinstance(profiles, dict) else None
    status = entry.get("term_status") if isinstance(entry, dict) else None
    if not isinstance(status, dict):
        return []
    return [term for term, state in status.items() if state == "not modelled"]


def _flushed(report: dict) -> int:
    quant = report.get("quantisation")
    if not isinstance(quant, dict):
        return 0
    return sum(int(quant[k]) for k in ("weights_flushed", "input_weights_flushed")
               if _number(quant.get(k)) is not None)


def _import_warnings(report: dict) -> list[str]:
    """``import_warnings`` of the run record: what reading its --network warned about."""
    value = report.get("import_warnings")
    return [str(w) for w in value] if isinstance(value, list) else []


def run_caveats(report: dict) -> list[str]:
    """The caveats of one run that change how its headline reads (module docstring)."""
    caveats = []
    terms = _lower_bound_terms(report)
    if terms:
        caveats.append(f"the energy on {report.get('profile')} is a lower bound: "
                       f"{', '.join(terms)} not modelled")
    flushed = _flushed(report)
    if flushed:
        caveats.append(f"the fixed-point quantisation flushed {flushed} weight(s) to 0")
    caveats += [f"import: {w}" for w in _import_warnings(report)]
    parity = _number(report.get("parity"))
    if parity:
        caveats.append(f"{int(parity)} spike mismatch(es) between the target and the "
                       f"{report.get('parity_reference', 'reference')} engine")
    if _task_of(report) is None:
        caveats.append("no task: the energy is not weighed against any accuracy")
    return caveats


def _row(run: RunData, with_inference: bool) -> list[str]:
    report = run.report
    task = _task_of(report)
    activity = report.get("activity") if isinstance(report.get("activity"), dict) else {}
    cells = [run.label, f"{report.get('target', 'n/a')} ({report.get('profile', 'n/a')})",
             f"{_g(report.get('sop_ratio'))}x", _joules(report.get("energy_joules"))]
    if with_inference:
        cells.append(_joules(_per_inference(report)))
    if task is None:
        cells += ["none (Poisson drive)", "n/a", "n/a"]
    else:
        refs = "; ".join(f"{name} {_g(v)}" for name, v in _references(task))
        cells += [_task_name(task), f"{_g(task.get('unpruned'))} -> {_g(task.get('pruned'))}",
                  refs or "n/a"]
    cells += [f"{_percent(activity.get('fraction_firing_before'))} -> "
              f"{_percent(activity.get('fraction_firing_after'))}",
              f"{report.get('parity', 'n/a')} vs {report.get('parity_reference', 'n/a')}"]
    return [c if c else "n/a" for c in cells]


def headline_section(runs: Sequence[RunData]) -> _Section:
    """The report's first section: the paragraph, the table and the caveats."""
    section = _Section(HEADLINE_TITLE)
    section.text(" ".join(headline_sentence(r.report, r.label) for r in runs))
    with_inference = any(_per_inference(r.report) is not None for r in runs)
    header = ["run", "target (profile)", "SOP ratio", "energy, run"]
    if with_inference:
        header.append("energy per inference")
    header += ["task", "unpruned -> deployed", "references", "neurons firing", "parity"]
    section.table(header, [_row(r, with_inference) for r in runs])
    # Runs with the same caveats share one line (four runs on one profile: one line).
    grouped: dict[tuple[str, ...], list[str]] = {}
    for run in runs:
        caveats = tuple(run_caveats(run.report))
        if caveats:
            grouped.setdefault(caveats, []).append(run.label)
    for caveats, labels in grouped.items():
        section.text(f"Caveats, {', '.join(labels)}: " + "; ".join(caveats) + ".")
    return section
