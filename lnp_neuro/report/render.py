"""Comparison report of finished ``lnp-deploy`` runs: ``report.html`` and ``report.md``.

A run directory (written by ``lnp-deploy``) holds

- ``report.json`` (a :class:`~lnp_neuro.report.record.RunRecord` when it has
  ``record_version``; older unversioned files are read as they are): ``label``,
  ``target``, ``backend``, ``mode``, ``profile``, ``steps``, ``neurons_before/after``,
  ``synapses_before/after``, ``sops_dense``, ``sops_pruned``, ``sop_ratio``,
  ``energy_joules``, ``energy_by_profile`` ({profile: J}), ``cores_used``, ``parity``,
  ``parity_reference``, ``seconds``, ``history`` (per LNP iteration: ``iteration``,
  ``neurons``, ``synapses``, ``lambda_max``, ``mean_ipr``, ``seconds``), optional
  ``quantisation``,
  optional ``dt`` (seconds, for firing rates in Hz); optional ``baseline_budget`` (what a
  baseline was matched to: ``kind``, ``target``, ``rule``, and for AP ``stopped``);
  optional ``task`` (``name``, ``metric`` = "nrmse", ``horizon``, ``readout``,
  ``unpruned``, ``pruned``, ``persistence``, ``n_train``, ``n_test``: lower NRMSE is
  better) and ``activity`` (``fraction_firing_before/after``, ``rate_hz_before/after``);
- ``run.npz``: ``input_spikes`` [T, n_in], ``spikes`` [T, N] (N: the deployed, compacted
  network's neurons);
- ``analysis.npz`` (optional keys): ``lyapunov_before``, ``lyapunov_after`` (spectra, 1/s),
  ``tau_mem_before``, ``tau_mem_after`` (s).

:func:`write_report` renders, for one or more runs side by side: first the headline
(:mod:`lnp_neuro.report.headline`: a paragraph and a row per run with the SOP ratio, the
energy, the task score before -> after beside its references, the neurons firing, the
parity, then the caveats); the report.json numbers as tables grouped by network,
activity, stability, task, energy and run (:mod:`lnp_neuro.report.tables`); energy per hardware profile (bars), every energy term of every profile, the SOP
ratio (paper Sec. 4 / A.5) and the core mapping with its spike-traffic heat map (these in
:mod:`lnp_neuro.report.energy_sections`);
task error against energy, one point per run (a run without ``task`` is skipped with a
note); synapses and neurons against pruning iteration (paper Fig. 3a/b; every run has its
own colour, hollow marker and line style, a curve lying on earlier ones is drawn smaller
and thinner inside them, and one identical to an earlier one says so in the
legend); the Lyapunov spectrum
before and after pruning (paper Suppl. A.7); spike raster and firing-rate histogram; the
membrane time-constant distribution before and after (LNP step IV). A section whose data
a run does not have says "not available in this run" instead of staying blank.

Runs are named by the folder they end up in (``shown_as``), relative to the report's
own final folder (``location``): a deployment renders its report in a staging folder
that is renamed when the run is complete, and a report must not point at it.

``report.html`` is self-contained (inline CSS, PNG plots embedded as base64 data URIs, no
external fetches); ``report.md`` is its Markdown twin with the PNGs written beside it.
Plots use matplotlib's Agg canvas directly (no pyplot, no global backend switch).
The run data, cell formatting and figure helpers this module shares with
:mod:`lnp_neuro.report.energy_sections` and :mod:`lnp_neuro.report.figures` live in
:mod:`lnp_neuro.report.base` and are importable from here as well.
"""

from __future__ import annotations

import base64
import html
import os
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .._util.bounded_json import loads_bounded
from .._util.io import atomic_write, prepare_output_dir
# The pieces the report's modules share live in report_base (re-exported here, names
# unchanged), so report_energy / report_figures need not import this module.
from .base import (_COLOURS, _LINESTYLES, _MARKERS, _MAX_RASTER_NEURONS,  # noqa: F401
                   _MAX_RASTER_STEPS, _MISSING_CELL, _TASK_REQUIRED, NOT_AVAILABLE, RunData,
                   _Figure, _fmt, _new_figure, _number, _png, _positive_float, _Section, _slug,
                   _task_of)
from .energy_sections import energy_sections
from .figures import (_history_figure, _raster_figure, _spectrum_figure, _task_figure,
                      _tau_figure)
from .headline import headline_section
from .record import RunRecord
from .tables import run_dt, summary_section

__all__ = ["RunData", "load_run", "write_report", "NOT_AVAILABLE"]

def _load_npz(path: Path, keys: dict[str, int], problems: list[str]) -> dict[str, np.ndarray]:
    """Read ``keys`` (name -> required ndim) from ``path``; a bad key is a problem, not a crash."""
    out: dict[str, np.ndarray] = {}
    if not path.exists():
        return out
    try:
        with np.load(path, allow_pickle=False) as z:
            for key, ndim in keys.items():
                if key not in z.files:
                    continue
                try:
                    arr = np.asarray(z[key])
                except ValueError as exc:  # object arrays need pickles: refused
                    problems.append(f"{path.name}: {key} unreadable ({exc})")
                    continue
                if arr.ndim != ndim:
                    problems.append(f"{path.name}: {key} should be {ndim}-D, got shape {arr.shape}")
                    continue
                if arr.dtype.kind not in "biuf":
                    problems.append(f"{path.name}: {key} is not numeric (dtype {arr.dtype})")
                    continue
                out[key] = arr
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        problems.append(f"{path.name}: not a readable .npz file ({exc})")
    return out


def load_run(run_dir: str | Path) -> RunData:
    """Read one run directory. ``report.json`` is required; the .npz files are optional."""
    path = Path(run_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such run folder")
    report_path = path / "report.json"
    if not report_path.is_file():
        raise FileNotFoundError(f"{path}: not an lnp-deploy run folder (no report.json)")
    try:
        text = report_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{report_path}: not valid JSON ({exc})") from None
    # Bounded: depth, number size and string length are refused naming the field.
    report = loads_bounded(text, str(report_path))
    if not isinstance(report, dict):
        raise ValueError(f"{report_path}: must hold a JSON object, got {type(report).__name__}")
    record = None
    if "record_version" in report:
        # A versioned run record: read through its typed structure (errors name the
        # file and the field), so what deploy writes and what is drawn cannot drift.
        record = RunRecord.from_dict(report, report_path)
        report = record.to_dict()
    problems: list[str] = []
    arrays = _load_npz(path / "run.npz", {"input_spikes": 2, "spikes": 2}, problems)
    arrays.update(_load_npz(path / "analysis.npz",
                            {"lyapunov_before": 1, "lyapunov_after": 1,
                             "tau_mem_before": 1, "tau_mem_after": 1}, problems))
    return RunData(path=path, report=report, arrays=arrays, problems=problems, record=record)


# ------------------------------------------------------------------ sections
_HISTORY_KEYS = ["iteration", "neurons", "synapses", "lambda_max", "mean_ipr", "performance",
                 "performance_ratio", "meets_rule", "accepted", "sops", "seconds"]


def _history_keys(entries: list) -> list[str]:
    """The columns of a history table: the known keys any entry has, in a fixed order
    (LNP rows carry lambda_max and mean_ipr, AP rows performance and acceptance)."""
    present = {k for e in entries if isinstance(e, dict) for k in e}
    keys = [k for k in _HISTORY_KEYS if k in present]
    return keys if keys and keys[0] == "iteration" else ["iteration"] + keys


def _build_sections(runs: Sequence[RunData]) -> list[_Section]:
    """The report's sections, in order: one stage per section (energy ones in report_energy)."""
    labels = [r.label for r in runs]
    sections: list[_Section] = [headline_section(runs), summary_section(runs, labels),
                                _quantisation_section(runs, labels)]
    # Energy terms per profile and the core mapping (lnp_neuro.report.energy_sections).
    sections.extend(energy_sections(runs))
    sections.append(_task_section(runs))
    sections.append(_history_section(runs))
    sections.append(_lyapunov_section(runs))
    sections.append(_activity_section(runs))
    sections.append(_tau_section(runs))
    return sections


def _quantisation_section(runs: Sequence[RunData], labels: list[str]) -> _Section:
    """"Quantisation": the union of the runs' quantisation keys, first-seen order."""
    quant = _Section("Quantisation")
    if any(isinstance(r.report.get("quantisation"), dict) and r.report["quantisation"]
           for r in runs):
        keys: list[str] = []
        for r in runs:
            for k in (r.report.get("quantisation") or {}):
                if k not in keys and k != "projections":   # its own table, below
                    keys.append(k)
        quant.table(["quantity"] + labels,
                    [[k] + [_fmt((r.report.get("quantisation") or {}).get(k)) for r in runs]
                     for k in keys])
        _quantisation_projections(quant, runs)
    for r in runs:
        if not (isinstance(r.report.get("quantisation"), dict) and r.report["quantisation"]):
            quant.unavailable(f"Quantisation report of {r.label}")
    return quant


def _quantisation_projections(quant: _Section, runs: Sequence[RunData]) -> None:
    """Weight bits per projection (``quantisation.projections``, when the run has them)."""
    rows = []
    for r in runs:
        for p in (r.report.get("quantisation") or {}).get("projections") or []:
            exps = (None if p.get("exponent_min") is None
                    else f"{p['exponent_min']} .. {p['exponent_max']}")
            rows.append([r.label, p.get("name"), p.get("kind"), _fmt(p.get("sign_mode")),
                         _fmt(p.get("mantissa_bits_used")), _fmt(exps),
                         _fmt(p.get("weights_flushed")), _fmt(p.get("weights_nonzero")),
                         _fmt(p.get("weight_rms_rel"))])
    if rows:
        quant.table(["run", "projection", "kind", "sign mode", "mantissa bits used",
                     "weight exponents", "weights flushed to 0", "nonzero weights",
                     "weight rms rel"], rows)
        quant.text("Per projection: the 8-bit weight mantissas and the row exponents "
                   "(lnp_neuro.engines.fixed_point) over the projection's block of the "
                   "weights (lnp_neuro.hardware.projections).")


def _task_section(runs: Sequence[RunData]) -> _Section:
    """"Task error against energy": pruned NRMSE vs energy, one point per run with a task."""
    task_section = _Section("Task error against energy")
    fig = _task_figure(runs)
    task_rows = []
    for r in runs:
        task, why = _task_of(r)
        if task is None:
            task_section.text(f"{r.label}: skipped in this plot: {why}.")
            continue
        task_rows.append([r.label] + [_fmt(task.get(k)) for k in
                                      ("name", "horizon", "readout", "n_train", "n_test",
                                       "unpruned", "pruned", "persistence")]
                         + [_fmt(r.report.get("energy_joules"))])
    if fig is not None:
        task_section.figure(fig)
        task_section.table(["run", "task", "horizon", "readout", "train samples",
                            "test samples", "NRMSE unpruned", "NRMSE pruned",
                            "NRMSE persistence", "energy (J)"], task_rows)
        task_section.text("One point per run: the pruned network's NRMSE on the task (lower "
                          "is better) against the run's energy on its target profile. "
                          "Dotted: the unpruned network's NRMSE; dashed: the persistence "
                          "forecast's (next value = current value), the error a network "
                          "must beat to have learnt anything.")
    for r in runs:
        line = _recurrence_line(r)
        if line:
            task_section.text(line)
    return task_section


def _recurrence_line(run: RunData) -> str | None:
    """What the recurrence contributes: the task score of the network over the score of
    the same network with its recurrent synapses removed (``task.references.
    no_recurrence``, ``task.pruned_no_recurrence``), in the metric's own direction."""
    task = run.report.get("task")
    if not isinstance(task, dict) or not isinstance(task.get("references"), dict):
        return None
    higher = task.get("higher_is_better") is True
    parts = []
    for label, control in (("unpruned", task["references"].get("no_recurrence")),
                           ("pruned", task.get("pruned_no_recurrence"))):
        value, control = _number(task.get(label)), _number(control)
        if value is None or control is None:
            continue
        ratio = (value / control if higher else control / value) if min(value, control) > 0 \
            else None
        verdict = "better" if ratio is None or ratio >= 1 else "worse"
        parts.append(f"{label} {_fmt(value)} against {_fmt(control)} without recurrent "
                     f"synapses (x{_fmt(ratio)} {verdict} with them)")
    if not parts:
        return None
    metric = ("memory capacity, higher is better" if higher
              else f"{task.get('metric')}, lower is better")
    return (f"{run.label}: what the recurrence contributes ({metric}; the control is the same "
            f"network, neurons and input projection with every recurrent synapse removed, "
            f"read out the same way): " + "; ".join(parts) + ".")


def _history_section(runs: Sequence[RunData]) -> _Section:
    """"Pruning history" (paper Fig. 3a/b): size and dynamics curves, one table per run."""
    history = _Section("Pruning history (paper Fig. 3a/b)")
    fig = _history_figure(runs, [("synapses", "synapses"), ("neurons", "neurons")],
                          "history_size.png", "Synapses and neurons against pruning iteration")
    if fig is not None:
        history.figure(fig)
    fig = _history_figure(runs, [("lambda_max", "lambda_max (1/s)"), ("mean_ipr", "mean IPR")],
                          "history_dynamics.png",
                          "Largest Lyapunov exponent and eigenvector IPR against iteration")
    if fig is not None:
        history.figure(fig)
    for r in runs:
        entries = r.report.get("history")
        if not isinstance(entries, list) or not entries:
            history.unavailable(f"Pruning history of {r.label}")
            continue
        keys = _history_keys(entries)
        history.table([f"{r.label}: " + keys[0]] + keys[1:],
                      [[_fmt(e.get(k)) if isinstance(e, dict) else _MISSING_CELL for k in keys]
                       for e in entries])
    return history


def _lyapunov_section(runs: Sequence[RunData]) -> _Section:
    """Lyapunov spectra before/after pruning (paper Suppl. A.7): plot, max and count per run."""
    lyap = _Section("Lyapunov spectrum before and after pruning (paper Suppl. A.7)")
    for i, r in enumerate(runs):
        fig = _spectrum_figure(r, f"{i}-{_slug(r.label)}")
        if fig is None:
            lyap.unavailable(f"Lyapunov spectra of {r.label}")
            continue
        lyap.figure(fig)
        rows = []
        for key in ("lyapunov_before", "lyapunov_after"):
            arr = r.arrays.get(key)
            rows.append([key.replace("lyapunov_", ""),
                         _fmt(float(arr.max())) if arr is not None and arr.size else _MISSING_CELL,
                         _fmt(int(arr.size)) if arr is not None else _MISSING_CELL])
        lyap.table([f"{r.label}: spectrum", "lambda_max (1/s)", "exponents"], rows)
    return lyap


def _activity_section(runs: Sequence[RunData]) -> _Section:
    """Spike raster and firing-rate histogram per run, with its activity numbers."""
    activity = _Section("Spike raster and firing rates")
    for i, r in enumerate(runs):
        dt = run_dt(r.report)
        out = _raster_figure(r, f"{i}-{_slug(r.label)}", dt)
        if out is None:
            activity.unavailable(f"Spike raster of {r.label}")
            continue
        fig, stats = out
        activity.figure(fig)
        activity.table([f"{r.label}: activity", "value"], [[k, _fmt(v)] for k, v in stats.items()])
        if dt is None:
            activity.text(f"{r.label}: report.json has no dt, so rates are per time step.")
    return activity


def _tau_section(runs: Sequence[RunData]) -> _Section:
    """Membrane time constants before/after (LNP step IV): histogram, mean/std in ms, count."""
    taus = _Section("Membrane time constants before and after (LNP step IV)")
    for i, r in enumerate(runs):
        fig = _tau_figure(r, f"{i}-{_slug(r.label)}")
        if fig is None:
            taus.unavailable(f"Time-constant distributions of {r.label}")
            continue
        taus.figure(fig)
        rows = []
        for key in ("tau_mem_before", "tau_mem_after"):
            arr = r.arrays.get(key)
            if arr is None or not arr.size:
                rows.append([key, _MISSING_CELL, _MISSING_CELL, _MISSING_CELL])
            else:
                rows.append([key, _fmt(float(arr.mean() * 1e3)), _fmt(float(arr.std() * 1e3)),
                             _fmt(int(arr.size))])
        taus.table([f"{r.label}: distribution", "mean (ms)", "std (ms)", "neurons"], rows)
    return taus


# ------------------------------------------------------------------ rendering
_CSS = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #eee; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; }
"""


def _relative_place(run: RunData, location: Path) -> str:
    """Where the run ends up, relative to the report's folder ``location`` when both are
    on one tree ("this folder" for a run's own report), else as given."""
    try:
        rel = os.path.relpath(os.path.abspath(run.place), os.path.abspath(location))
    except ValueError:  # another drive (Windows)
        return str(run.place)
    return "this folder" if rel == os.curdir else rel


def _html_run(run: RunData, location: Path) -> str:
    """A run in the "Runs:" line: its label and its folder, a link to its own report when
    the folder is another one."""
    esc, place = html.escape, _relative_place(run, location)
    if place == "this folder":
        return f"{esc(run.label)} (this folder)"
    href = place.replace(os.sep, "/") + "/report.html"
    return (f'{esc(run.label)} (<a href="{esc(href)}"><code>{esc(place)}</code></a>)'
            if not os.path.isabs(place) else f"{esc(run.label)} (<code>{esc(place)}</code>)")


def html_blocks(section: _Section) -> list[str]:
    """The HTML of one section's blocks (paragraphs, tables, figures)."""
    esc = html.escape
    parts = []
    for kind, value in section.blocks:
        if kind == "text":
            parts.append(f"<p>{esc(value)}</p>")
        elif kind == "table":
            header, rows = value
            parts.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header)
                         + "</tr></thead><tbody>")
            for row in rows:
                parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
            parts.append("</tbody></table>")
        else:
            data = base64.b64encode(value.png).decode("ascii")
            parts.append(f'<figure><img alt="{esc(value.title)}" '
                         f'src="data:image/png;base64,{data}">'
                         f"<figcaption>{esc(value.title)}</figcaption></figure>")
    return parts


def _render_html(title: str, runs: Sequence[RunData], sections: Sequence[_Section],
                 location: Path) -> str:
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{esc(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             f"<h1>{esc(title)}</h1>",
             "<p>Runs: " + ", ".join(_html_run(r, location) for r in runs) + "</p>"]
    for section in sections:
        parts.append(f"<h2>{esc(section.title)}</h2>")
        parts += html_blocks(section)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# Markdown's inline syntax: code, emphasis, links and images, tables, escapes; an
# underscore only where it can open or close emphasis (not inside a word: lnp_neuro).
_MD_SPECIAL = re.compile(r"[\\`*\[\]|~#]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# What opens a list, quote or heading when it starts a paragraph.
_MD_BULLET = re.compile(r"^([-+>])")
_MD_NUMBERED = re.compile(r"^(\d+)([.)])")


def _md_inline(text: str) -> str:
    """``text`` as one line of Markdown that shows what it says: ``&`` and ``<`` escaped (no
    HTML tag can open: ``<script>`` or ``<img onerror=...>`` stays text in a viewer) and
    Markdown's inline syntax backslash-escaped."""
    text = " ".join(str(text).split()).replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _md_text(text: str) -> str:
    """A paragraph: :func:`_md_inline`, and no list, quote or heading opened."""
    return _MD_NUMBERED.sub(r"\1\\\2", _MD_BULLET.sub(r"\\\1", _md_inline(text)))


def _md_cell(text: str) -> str:
    """A table cell: inline escapes only (a cell opens no block)."""
    return _md_inline(text)


def _render_markdown(title: str, runs: Sequence[RunData], sections: Sequence[_Section],
                     location: Path) -> str:
    lines = [f"# {_md_text(title)}", "",
             "Runs: " + ", ".join(f"{_md_text(r.label)} ({_md_text(_relative_place(r, location))})"
                                  for r in runs),
             ""]
    for section in sections:
        lines += [f"## {_md_text(section.title)}", ""]
        for kind, value in section.blocks:
            if kind == "text":
                lines += [_md_text(value), ""]
            elif kind == "table":
                header, rows = value
                lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
                lines.append("|" + "---|" * len(header))
                lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
                lines.append("")
            else:
                lines += [f"![{_md_text(value.title)}]({value.name})", ""]
    return "\n".join(lines)


def _write_text(path: Path, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _write_bytes(path: Path, data: bytes) -> None:
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


def write_report(run_dirs: str | Path | Iterable[str | Path], out_dir: str | Path,
                 force: bool = False, title: str = "lnp_neuro deployment report", *,
                 shown_as: Sequence[str | Path] | None = None,
                 location: str | Path | None = None) -> list[Path]:
    """Render ``report.html`` and ``report.md`` (+ PNGs) comparing one or more run folders.

    Parameters
    ----------
    run_dirs : a run folder or a sequence of them (written by ``lnp-deploy``).
    out_dir : output folder; an existing non-empty folder is refused unless ``force``
        (then files of the same name are replaced, atomically; nothing else is touched).
    force : allow writing into an existing non-empty folder.
    title : the report's heading.
    shown_as : where each run ends up, when it is read from elsewhere (a staging folder
        that is moved into place after the report is written); default: ``run_dirs``.
    location : where the report ends up (default ``out_dir``). The report names each run
        by its final folder, relative to ``location`` (a report never names a staging
        folder that no longer exists when it is read).

    Returns the written paths: ``[report.html, report.md, *pngs]``.
    """
    if isinstance(run_dirs, (str, Path)):
        run_dirs = [run_dirs]
    run_dirs = list(run_dirs)
    if not run_dirs:
        raise ValueError("run_dirs must name at least one run folder")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("title must be non-empty text")
    if not isinstance(force, (bool, np.bool_)):
        raise ValueError(f"force must be True or False, got {force!r}")
    if shown_as is not None and len(list(shown_as)) != len(run_dirs):
        raise ValueError(f"shown_as must name one folder per run ({len(run_dirs)}), got "
                         f"{len(list(shown_as))}")
    runs = [load_run(d) for d in run_dirs]
    for run, shown in zip(runs, shown_as or []):
        run.shown = Path(shown)
    location = Path(out_dir if location is None else location)
    # Two runs with the same label would be indistinguishable in tables and legends.
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.label] = seen.get(run.label, 0) + 1
    for run in runs:
        if seen[run.label] > 1:
            run.report = dict(run.report, label=f"{run.label} ({run.place.name})")
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        runs = [replace(r, report=dict(r.report, label=f"{r.label} #{i + 1}"))
                for i, r in enumerate(runs)]

    out = prepare_output_dir(out_dir, force=force)
    sections = _build_sections(runs)
    written: list[Path] = []
    html_path, md_path = out / "report.html", out / "report.md"
    _write_text(html_path, _render_html(title, runs, sections, location))
    _write_text(md_path, _render_markdown(title, runs, sections, location))
    written += [html_path, md_path]
    for section in sections:
        for kind, value in section.blocks:
            if kind == "figure":
                _write_bytes(out / value.name, value.png)
                written.append(out / value.name)
    return written
