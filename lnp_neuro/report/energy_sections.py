"""Energy and core-mapping sections of the deployment report (:mod:`lnp_neuro.report.render`;
the pieces shared with it come from :mod:`lnp_neuro.report.base`).

- "Energy per hardware profile": the total of every profile per run (table and log-scale
  bars), then every energy term of every profile (design section 5: synaptic, neuron
  update, routing, memory, static) with the arithmetic-only lower bound beside the total;
  a term a profile does not price reads "included" or "not modelled", and the reasons are
  listed under the table. Then the SOP ratio (paper Sec. 4 / A.5).
- "Core mapping and spike traffic": per run, the placement strategy, cores, inter-core
  spike messages and mesh hops of the target profile (:mod:`lnp_neuro.hardware.mapping`), and the
  core-to-core spike traffic as a heat map.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..hardware.profiles import list_profiles, load_profile
from .base import (_MISSING_CELL, RunData, _Figure, _fmt, _new_figure, _plain, _png,
                   _positive_float,
                   _Section, _slug)

__all__ = ["energy_sections"]

_TERMS = (("synaptic", "SOP term (J)"), ("neuron_update", "neuron-update term (J)"),
          ("routing", "routing term (J)"), ("memory", "memory term (J)"),
          ("static", "static term (J)"))
# report.json files written before the five terms (terms: sop, neuron_update, spike, static).
_LEGACY_TERMS = {"synaptic": "sop"}


def _profile_estimates() -> dict[str, bool]:
    """Which shipped profiles carry estimated numbers (marked in the energy table)."""
    flags = {}
    for name in list_profiles():
        try:
            flags[name] = load_profile(name).has_estimates()
        except (ValueError, OSError):
            continue
    return flags


def _profile_names(runs: Sequence[RunData]) -> list[str]:
    names: list[str] = []
    for run in runs:
        for name in (run.report.get("energy_by_profile") or {}):
            if name not in names:
                names.append(name)
    return names


def _energy_figure(runs: Sequence[RunData]) -> _Figure | None:
    profiles = _profile_names(runs)
    if not profiles:
        return None
    fig = _new_figure(max(6.0, 0.9 * len(profiles) * max(1, len(runs)) + 2), 3.8)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / len(runs)
    x = np.arange(len(profiles))
    any_bar = False
    for i, run in enumerate(runs):
        energies = run.report.get("energy_by_profile") or {}
        values = [_positive_float(energies.get(p)) for p in profiles]
        heights = [v if v is not None else 0.0 for v in values]
        if any(v is not None for v in values):
            any_bar = True
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, heights, width, label=run.plot_label)
    if not any_bar:
        return None
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([_plain(p) for p in profiles], rotation=20, ha="right")
    ax.set_ylabel("energy of the run (J)")
    ax.set_title("Energy per hardware profile")
    ax.legend(fontsize=8)
    return _Figure("energy_by_profile.png", "Energy per hardware profile (log scale)", _png(fig))


def _sop_figure(runs: Sequence[RunData]) -> _Figure | None:
    ratios = [_positive_float(r.report.get("sop_ratio")) for r in runs]
    if all(v is None for v in ratios):
        return None
    fig = _new_figure(max(4.0, 1.2 * len(runs) + 2), 3.2)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(runs))
    ax.bar(x, [v or 0.0 for v in ratios], 0.6, color="tab:green")
    for xi, v in zip(x, ratios):
        ax.annotate(_fmt(v) if v is not None else _MISSING_CELL, (xi, v or 0.0),
                    ha="center", va="bottom", fontsize=8)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x)
    ax.set_xticklabels([r.plot_label for r in runs], rotation=15, ha="right")
    ax.set_ylabel("SOP ratio (unpruned dense / pruned)")
    ax.set_title("SOP ratio (higher = fewer synaptic operations)")
    return _Figure("sop_ratio.png", "SOP ratio per run", _png(fig))


def _term_cell(entry: dict, term: str) -> str:
    """A term's joules, or why there are none ("included" / "not modelled")."""
    terms = entry.get("terms") if isinstance(entry.get("terms"), dict) else {}
    status = (entry.get("term_status") or {}).get(term) if isinstance(
        entry.get("term_status"), dict) else None
    value = terms.get(term, terms.get(_LEGACY_TERMS.get(term, term)))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _fmt(value)
    if status in ("included", "not modelled"):
        return status
    return _MISSING_CELL


def _term_rows(runs: Sequence[RunData]) -> tuple[list[list[str]], dict[tuple[str, str], str]]:
    """One row per run and profile; the notes of the terms, once per profile and term."""
    rows: list[list[str]] = []
    notes: dict[tuple[str, str], str] = {}
    for run in runs:
        account = run.report.get("energy")
        profiles = account.get("profiles") if isinstance(account, dict) else None
        if not isinstance(profiles, dict):
            continue
        target = run.report.get("profile")
        for name, entry in profiles.items():
            if not isinstance(entry, dict):
                continue
            label = name + (" (target)" if name == target else "")
            rows.append([run.label, label] + [_term_cell(entry, t) for t, _ in _TERMS]
                        + [_fmt(entry.get("arithmetic_joules")),
                           _fmt(entry.get("energy_joules"))])
            term_notes = entry.get("term_notes")
            for term, note in (term_notes if isinstance(term_notes, dict) else {}).items():
                if isinstance(note, str) and note.strip():
                    notes.setdefault((name, term), note.strip())
    return rows, notes


def _energy_section(runs: Sequence[RunData]) -> _Section:
    labels = [r.label for r in runs]
    energy = _Section("Energy per hardware profile")
    profiles = _profile_names(runs)
    if profiles:
        estimates = _profile_estimates()
        energy.table(["profile"] + [f"{l} (J)" for l in labels],
                     [[p + (" (estimate)" if estimates.get(p) else "")]
                      + [_fmt((r.report.get("energy_by_profile") or {}).get(p)) for r in runs]
                      for p in profiles])
        energy.text("Energy per profile from lnp_neuro.hardware.energy.energy_report; each profile's "
                    "numbers and their published sources are listed in hardware_profiles/"
                    "README.md. Profiles marked (estimate) contain numbers that are not "
                    "published and were estimated.")
        fig = _energy_figure(runs)
        if fig is not None:
            energy.figure(fig)
    for r in runs:
        if not r.report.get("energy_by_profile"):
            energy.unavailable(f"Energy per profile of {r.label}")
    rows, notes = _term_rows(runs)
    if rows:
        energy.table(["run", "profile"] + [title for _, title in _TERMS]
                     + ["arithmetic only (J)", "total (J)"], rows)
        energy.text("Every term of every profile (design section 5): SOP = E_sop x SOPs; "
                    "neuron update = E_update x active neurons x steps + E_spike x spikes; "
                    "routing = per-message energy x spike messages + per-hop energies x mesh "
                    "hops of the placement; memory = accesses x the energy of the memory "
                    "level that holds the working set (von-Neumann profiles); static = static "
                    "power x chips x duration. 'arithmetic only' is SOP + neuron update, the "
                    "lower bound most comparisons quote; the total adds routing, memory and "
                    "static. 'included' means the profile's published figure already contains "
                    "the term; 'not modelled' means the chip has the cost but no published "
                    "figure is entered, so the total is a lower bound.")
        for (name, term), note in sorted(notes.items()):
            energy.text(f"{name}, {term.replace('_', ' ')}: {note}")
    fig = _sop_figure(runs)
    if fig is not None:
        energy.figure(fig)
    for r in runs:
        if _positive_float(r.report.get("sop_ratio")) is None:
            energy.unavailable(f"SOP ratio of {r.label}")
    _projection_table(energy, runs)
    return energy


def _projection_table(section: _Section, runs: Sequence[RunData]) -> None:
    """SOPs per projection (report.json ``energy.projections``, written by deployments
    since the per-projection accounting; older reports have none and get no table)."""
    rows = []
    for r in runs:
        projections = (r.report.get("energy") or {}).get("projections") or []
        total = sum(p.get("sops") or 0 for p in projections)
        for p in projections:
            sops = p.get("sops")
            share = None if sops is None or not total else sops / total
            rows.append([r.label, p.get("name"), p.get("kind"),
                         f"{p.get('source')} -> {p.get('target')}", _fmt(p.get("synapses")),
                         _fmt(sops), _fmt(share)])
    if not rows:
        return
    section.table(["run", "projection", "kind", "source -> target", "synapses", "SOPs",
                   "share of SOPs"], rows)
    section.text("SOPs per projection (lnp_neuro.hardware.projections): the AND-mask SOPs of "
                 "each projection's block of the weights; the projections from populations "
                 "sum to the run's AND-mask SOPs (sops_pruned), those from inputs to the "
                 "input SOPs, and all of them to the SOPs the synaptic energy term prices.")


def _traffic_of(run: RunData) -> np.ndarray | None:
    mapping = run.report.get("mapping")
    traffic = mapping.get("core_traffic") if isinstance(mapping, dict) else None
    if not isinstance(traffic, list) or not traffic:
        return None
    try:
        arr = np.asarray(traffic, dtype=float)
    except (TypeError, ValueError):
        return None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or not np.all(np.isfinite(arr)):
        return None
    return arr


def _traffic_figure(run: RunData, traffic: np.ndarray) -> _Figure:
    mapping = run.report["mapping"]
    n = traffic.shape[0]
    fig = _new_figure(5.2, 4.4)
    ax = fig.add_subplot(1, 1, 1)
    # log(1 + messages): a few heavy links must not hide the rest.
    image = ax.imshow(np.log10(1.0 + traffic), cmap="viridis", interpolation="nearest",
                      origin="upper")
    cbar = fig.colorbar(image, ax=ax)
    cbar.set_label("log10(1 + spike messages)")
    if n <= 16:
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        for (i, j), value in np.ndenumerate(traffic):
            ax.text(j, i, f"{int(value):,}", ha="center", va="center", fontsize=6,
                    color="white" if value < traffic.max() / 2 else "black")
    ax.set_xlabel("destination core")
    ax.set_ylabel("source core")
    ax.set_title(_plain(f"Spike traffic between cores ({mapping.get('strategy', 'n/a')}), "
                        f"{run.label}", 160),
                 fontsize=9)
    return _Figure(f"core_traffic_{_slug(run.label)}.png",
                   f"Spike messages between cores, {run.label} (diagonal: within a core)",
                   _png(fig))


def _latency(run: RunData) -> dict | None:
    """The target profile's spike latencies (energy.profiles[profile].routing.latency)."""
    account = run.report.get("energy")
    profiles = account.get("profiles") if isinstance(account, dict) else None
    entry = profiles.get(run.report.get("profile")) if isinstance(profiles, dict) else None
    routing = entry.get("routing") if isinstance(entry, dict) else None
    latency = routing.get("latency") if isinstance(routing, dict) else None
    if not isinstance(latency, dict) or not all(
            isinstance(latency.get(k), (int, float)) for k in ("mean_seconds", "max_seconds")):
        return None
    return latency


def _mapping_section(runs: Sequence[RunData]) -> _Section:
    section = _Section("Core mapping and spike traffic")
    keys = [("profile", "profile"), ("strategy", "placement"), ("cores_used", "cores used"),
            ("chips_used", "chips used"), ("spike_messages", "spike messages"),
            ("inter_core_spikes", "inter-core spike messages"), ("hop_count", "mesh hops"),
            ("hops_ew", "hops E-W"), ("hops_ns", "hops N-S"), ("chip_hops", "chip crossings")]
    mapped = [r for r in runs if isinstance(r.report.get("mapping"), dict)]
    if mapped:
        rows = [[title] + [_fmt(r.report["mapping"].get(key)) for r in mapped]
                for key, title in keys]
        latencies = [_latency(r) for r in mapped]
        rows += [["spike latency, mean (ns)"] + [_fmt(None if lat is None else
                                                      lat.get("mean_seconds", 0) * 1e9)
                                                 for lat in latencies],
                 ["spike latency, max (ns)"] + [_fmt(None if lat is None else
                                                     lat.get("max_seconds", 0) * 1e9)
                                                for lat in latencies]]
        section.table(["quantity"] + [r.label for r in mapped], rows)
        section.text("Placement of the deployed network on the target profile's cores "
                     "(lnp_neuro.hardware.mapping): 'partition' is METIS k-way partitioning of the "
                     "synapse graph weighted by the spikes each synapse carried, refined on the "
                     "spike-message count; 'first-fit' fills cores in neuron order. A spike is "
                     "one message per destination core (Loihi multicast); hops are router hops "
                     "on the chip's mesh, E-W then N-S (Davies et al., IEEE Micro 2018).")
    _population_cores_table(section, mapped)
    for r in runs:
        traffic = _traffic_of(r)
        if traffic is not None:
            section.figure(_traffic_figure(r, traffic))
        else:
            section.unavailable(f"Core traffic of {r.label}")
    return section


def _population_cores_table(section: _Section, runs: Sequence[RunData]) -> None:
    """Cores per population (report.json ``deployed.populations``, when placed)."""
    rows = []
    for r in runs:
        for pop in (r.report.get("deployed") or {}).get("populations") or []:
            if isinstance(pop, dict) and pop.get("cores") is not None:
                rows.append([r.label, _fmt(pop.get("name")), _fmt(pop.get("neurons_active")),
                             _fmt(pop.get("cores_used")), _fmt(pop.get("cores"))])
    if rows:
        section.table(["run", "population", "active neurons", "cores used", "cores"], rows)


def energy_sections(runs: Sequence[RunData]) -> list[_Section]:
    """The energy section and the core-mapping section of a report, in that order."""
    sections = [_energy_section(runs)]
    if any(isinstance(r.report.get("mapping"), dict) for r in runs):
        sections.append(_mapping_section(runs))
    return sections
