"""The report.json numbers of every run side by side, grouped (network, activity,
stability, task, energy, run): the long tables below the headline of
:mod:`lnp_neuro.report.render`.

Reason for the groups: forty rows in one table hide what belongs together; each group is
its own table with the group's name in its first header cell, in the order a reader
asks (what was deployed, what it did, whether it stayed stable, how well it worked, what
it cost, how the run went).
"""

from __future__ import annotations

from typing import Any, Sequence

from .base import _MISSING_CELL, RunData, _fmt, _number, _positive_float, _Section

__all__ = ["summary_section", "run_dt"]

# (group, [(report.json key, row title)]); a dotted key "a.b" reads report["a"]["b"].
_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("network", [("neurons_before", "neurons before"), ("neurons_after", "neurons after"),
                 ("synapses_before", "synapses before"), ("synapses_after", "synapses after"),
                 ("cores_used", "cores used")]),
    ("activity", [("spikes_before", "spikes, unpruned"), ("spikes_after", "spikes, pruned"),
                  ("activity.fraction_firing_before", "fraction of neurons firing, unpruned"),
                  ("activity.fraction_firing_after", "fraction of neurons firing, pruned"),
                  ("activity.rate_hz_before", "firing rate, unpruned (Hz)"),
                  ("activity.rate_hz_after", "firing rate, pruned (Hz)")]),
    ("stability", [("lambda_max_before", "lambda_max before (1/s)"),
                   ("lambda_max_after", "lambda_max after (1/s)")]),
    ("task", [("task.name", "task"),
              ("task.metric", "task metric (memory_capacity: higher is better; nrmse: lower)"),
              ("task.unpruned", "task error, unpruned"),
              ("task.pruned", "task error, pruned"),
              ("task.persistence", "task error, persistence forecast"),
              ("task.readout", "task readout (deployed: a population on the chip)"),
              ("task.baseline_mean", "task error, predicting the training targets' mean"),
              ("task.deployed_readout.unpruned", "task error, on-chip readout, unpruned"),
              ("task.deployed_readout.pruned", "task error, on-chip readout, pruned"),
              ("task.offchip_readout.unpruned", "task error, off-chip readout, unpruned"),
              ("task.offchip_readout.pruned", "task error, off-chip readout, pruned"),
              ("task.references.no_recurrence",
               "task score, unpruned without recurrent synapses"),
              ("task.pruned_no_recurrence", "task score, pruned without recurrent synapses"),
              ("task.references.input_code",
               "task error, a readout of the coded input alone (no network)"),
              ("task.closed_loop.unpruned.lyapunov_times",
               "closed-loop VPT, unpruned (Lyapunov times)"),
              ("task.closed_loop.pruned.lyapunov_times",
               "closed-loop VPT, pruned (Lyapunov times)"),
              ("task.closed_loop.esn.lyapunov_times", "closed-loop VPT, ESN (Lyapunov times)"),
              ("task.closed_loop.persistence.lyapunov_times",
               "closed-loop VPT, persistence (Lyapunov times)")]),
    ("energy", [("sops_dense", "SOPs, dense unpruned"), ("sops_pruned", "SOPs, pruned (AND-mask)"),
                ("sop_ratio", "SOP ratio"), ("energy_joules", "energy on target profile (J)"),
                ("neurobench.synaptic_operations.effective_acs",
                 "NeuroBench synaptic operations (effective ACs)"),
                ("neurobench.activation_sparsity", "NeuroBench activation sparsity"),
                ("neurobench.connection_sparsity", "NeuroBench connection sparsity"),
                ("neurobench.footprint_bytes",
                 "NeuroBench footprint of the PyTorch twin (bytes)")]),
    ("run", [("label", "label"), ("target", "target"), ("backend", "back end"),
             ("mode", "mode"), ("profile", "hardware profile"), ("steps", "time steps"),
             ("parity", "parity (spike mismatches)"),
             ("parity_reference", "parity compared with engine"),
             ("seconds", "wall time (s)")]),
]
#: Groups whose nested rows are shown only when some run has the group's object.
_OPTIONAL = {"activity": "activity", "task": "task", "neurobench": "neurobench"}


def run_dt(report: dict[str, Any]) -> float | None:
    """The step length: report.json's ``dt``, else the one inside its energy account."""
    dt = _positive_float(report.get("dt"))
    if dt is None and isinstance(report.get("energy"), dict):
        dt = _positive_float(report["energy"].get("dt"))
    return dt


def _value(report: dict, key: str) -> Any:
    """``report[k1][k2]...`` for ``key = "k1.k2..."``; None where a level is missing."""
    value: Any = report
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _shown(key: str, runs: Sequence[RunData]) -> bool:
    """A nested row shows when some run has its top-level object (activity, task,
    neurobench); a top-level row always shows."""
    head = key.split(".")[0]
    return head not in _OPTIONAL or "." not in key or any(
        isinstance(r.report.get(head), dict) for r in runs)


def _mean_rate_after(report: dict) -> float | None:
    """``spikes_after / (neurons_after * steps * dt)``: the pruned network's mean firing
    rate (Hz) from report.json's counts, for runs with or without an ``activity`` key."""
    spikes, neurons = _number(report.get("spikes_after")), _positive_float(
        report.get("neurons_after"))
    steps, dt = _positive_float(report.get("steps")), run_dt(report)
    if spikes is None or None in (neurons, steps, dt):
        return None
    return spikes / (neurons * steps * dt)


def _budget_cell(budget: Any) -> str:
    """``kind = target (stopped)`` of a report's baseline_budget, or n/a."""
    if not isinstance(budget, dict):
        return _MISSING_CELL
    target = budget.get("target")
    text = _fmt(budget.get("kind"))
    if target is not None:
        text += f" = {_fmt(target)}"
    if budget.get("stopped"):
        text += f" ({_fmt(budget['stopped'])})"
    return text


def _group_rows(group: str, fields, runs: Sequence[RunData]) -> list[list[str]]:
    rows = [[title] + [_fmt(_value(r.report, key)) for r in runs]
            for key, title in fields if _shown(key, runs)]
    if group == "activity":
        rows.append(["spikes per active neuron per second, pruned"]
                    + [_fmt(_mean_rate_after(r.report)) for r in runs])
    if group == "run":
        rows.append(["baseline budget"] + [_budget_cell(r.report.get("baseline_budget"))
                                           for r in runs])
    return rows


def summary_section(runs: Sequence[RunData], labels: list[str]) -> _Section:
    """"Runs side by side": the report.json numbers by group, budgets, the SOP model and
    read problems."""
    summary = _Section("Runs side by side")
    for group, fields in _GROUPS:
        rows = _group_rows(group, fields, runs)
        if rows:
            summary.table([group] + labels, rows)
    for r in runs:
        budget = r.report.get("baseline_budget")
        if isinstance(budget, dict) and isinstance(budget.get("rule"), str):
            summary.text(f"{r.label} budget ({budget.get('kind', 'n/a')}): {budget['rule']}"
                         + (f"; {budget['performance']}" if isinstance(
                             budget.get("performance"), str) else "") + ".")
    summary.text("SOPs follow the paper's energy model (Chakraborty et al., ICLR 2024, Sec. 4 "
                 "and Suppl. A.5): dense SOPs = sum_i s_i f_i over the unpruned network, pruned "
                 "SOPs count only synapses whose presynaptic neuron, synapse and postsynaptic "
                 "neuron are all active (Shi et al., ICLR 2024); SOP ratio = dense unpruned / "
                 "pruned, on the same input.")
    for run in runs:
        if run.problems:
            summary.text(f"{run.label}: could not read " + "; ".join(run.problems) + ".")
    return summary
