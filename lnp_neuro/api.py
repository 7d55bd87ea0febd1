"""One call per deployment, for notebooks and scripts: :func:`run_deployment` and
:func:`compare`, the Python side of ``lnp-deploy`` and ``lnp-deploy report``.

``run_deployment(network=..., target=..., prune=..., **options)`` does what ``lnp-deploy``
does (it is what ``lnp-deploy`` runs: the command line parses its flags and calls
:func:`deploy_from_args`, as this function does), and returns a :class:`Deployment`: the
run record, the deployed graph, the rasters and the energy account, with
:meth:`Deployment.save` writing exactly the folder ``lnp-deploy --out DIR`` writes. Each
keyword is a flag of ``lnp-deploy`` (``neurons=60`` is ``--neurons 60``) and is checked by
the same parser, so a bad value is refused with the flag's own message; what the command
line exits 2 for raises :class:`DeployInputError` (a ``ValueError``), what it exits 3 for
raises :class:`TargetUnavailable`.

Reason: a notebook that re-implements the flow (build, prune, hand over through NIR,
run, price, score) gets other numbers than the command line; one code path cannot.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ._util.output_folder import MANIFEST_NAME, OutputFolder
from .deploy.entry import DeployInputError, compare_folders, deploy_parsed
from .deploy.flags import build_parser
from .deploy.run import OUTPUT_FILES, write_run_report
from .engines.base import DeployedNetwork, TargetUnavailable
from .model import Graph
from .model.network import SpikingNetwork
from .nir import write_graph
from .report.base import RunData
from .report.headline import HEADLINE_TITLE, headline_section
from .report.record import RunRecord
from .report.render import html_blocks, load_run

__all__ = ["run_deployment", "compare", "Deployment", "Comparison", "DeployInputError",
           "TargetUnavailable", "deploy_from_args", "compare_folders"]

#: Flags of the command line only (what to print), not options of a deployment.
_CLI_ONLY = ("list_targets", "quiet", "json", "help")


class _RaisingParser(argparse.ArgumentParser):
    """The ``lnp-deploy`` parser, raising :class:`DeployInputError` instead of exiting."""

    def error(self, message: str):
        raise DeployInputError(message)


def _flag_values(parser: argparse.ArgumentParser, options: dict[str, Any]) -> list[str]:
    """``options`` (keyword -> value) as ``lnp-deploy`` arguments, ``--name=value``."""
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    argv = []
    for name, value in options.items():
        action = actions.get(name)
        if action is None or name in _CLI_ONLY:
            raise DeployInputError(f"unknown option {name!r} (lnp-deploy has no "
                                   f"--{name.replace('_', '-')})")
        flag = action.option_strings[-1]
        if isinstance(action, argparse.BooleanOptionalAction):   # --x / --no-x / unset
            if value is not None and not isinstance(value, (bool, np.bool_)):
                raise DeployInputError(f"argument {action.option_strings[0]}: expected True, "
                                       f"False or None, got {value!r}")
            argv += [] if value is None else [action.option_strings[0 if value else 1]]
        elif action.nargs == 0:   # a switch (store_true): given or not
            if not isinstance(value, (bool, np.bool_)):
                raise DeployInputError(f"argument {flag}: expected True or False, got {value!r}")
            argv += [flag] if value else []
        elif value is not None:
            argv.append(f"{flag}={_flag_text(value)}")
    return argv


def _flag_text(value: Any) -> str:
    """A value as the command line would spell it (a float exactly, by its repr)."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return os.fspath(value) if isinstance(value, os.PathLike) else str(value)


def _in_memory_network(network: Any, folder: Path) -> Path:
    """An in-memory network written where the run can read it (``.npz`` for a
    :class:`SpikingNetwork`, ``.nir`` for a :class:`Graph`)."""
    if isinstance(network, SpikingNetwork):
        path = folder / "network-input.npz"
        network.save(path)
        return path
    if isinstance(network, Graph):
        path = folder / "network-input.nir"
        write_graph(network, path)
        return path
    raise DeployInputError(f"network must be a .nir/.npz path, a SpikingNetwork or a Graph, "
                           f"got {type(network).__name__}")


@dataclass(eq=False)
class Deployment:
    """One deployment: what ``lnp-deploy`` wrote, as Python objects.

    Attributes
    ----------
    report : the ``report.json`` object (``record``: the same as a
        :class:`~lnp_neuro.report.record.RunRecord`).
    deployed : the deployed graph as every engine ran it (read back from ``network.nir``).
    spikes : ``[T, neurons]`` raster of the deployed graph on the target (with a forecast
        drive: the reservoir's ``neurons_after`` columns, then its readout population's).
    spikes_unpruned : ``[T, neurons]`` raster of the unpruned network (SOP baseline; with
        a forecast drive, with its own readout population).
    input_spikes : ``[T, n_inputs]`` the drive.
    path : the folder holding the run's files (``out``, or a private temporary folder
        until :meth:`save`).
    """

    report: dict = field(repr=False)
    deployed: DeployedNetwork = field(repr=False)
    spikes: np.ndarray = field(repr=False)
    spikes_unpruned: np.ndarray = field(repr=False)
    input_spikes: np.ndarray = field(repr=False)
    path: Path
    saved: bool = False
    _temporary: Any = field(default=None, repr=False)

    @property
    def record(self) -> RunRecord:
        """The run record (typed, validated)."""
        return RunRecord.from_dict(self.report, "report.json")

    @property
    def energy(self) -> dict:
        """The energy account: every term of every hardware profile, SOPs, routing."""
        return self.report["energy"]

    @property
    def label(self) -> str:
        return self.report["label"]

    def save(self, out: str | Path, force: bool = False) -> Path:
        """Write the run's folder to ``out``: the files ``lnp-deploy --out OUT`` writes,
        with ``report.json``'s ``options.out`` and the report naming ``out``."""
        return _save_run(self, Path(out), force)

    def _run_data(self) -> RunData:
        return RunData(path=self.path, report=self.report)

    def __repr__(self) -> str:
        return (f"Deployment({self.label!r} on {self.report.get('target')!r}, "
                f"path={str(self.path)!r}, saved={self.saved})")

    def _repr_html_(self) -> str:
        return _headline_html([self._run_data()])

    def __str__(self) -> str:
        return _headline_text([self._run_data()])


@dataclass(eq=False)
class Comparison:
    """A comparison of several runs (``lnp-deploy report``): the runs as read, and the
    report's folder and files once written (``path`` None until :meth:`save`)."""

    runs: list[RunData] = field(repr=False)
    path: Path | None
    files: list[Path] = field(repr=False)
    _sources: list = field(default_factory=list, repr=False)

    def save(self, out: str | Path, force: bool = False) -> Path:
        """Write the comparison report into ``out`` (:func:`compare` with ``out``)."""
        written = compare(self._sources, out, force)
        self.runs, self.path, self.files = written.runs, written.path, written.files
        return written.path

    def _repr_html_(self) -> str:
        return _headline_html(self.runs)

    def __str__(self) -> str:
        where = "" if self.path is None else f"\nreport: {self.path / 'report.html'}"
        return _headline_text(self.runs) + where


def _headline_html(runs: Sequence[RunData]) -> str:
    return (f"<div><h3>{HEADLINE_TITLE}</h3>" + "\n".join(html_blocks(headline_section(runs)))
            + "</div>")


def _headline_text(runs: Sequence[RunData]) -> str:
    """The headline as text: the paragraph, one line per run, the caveats."""
    section = headline_section(runs)
    lines: list[str] = []
    for kind, value in section.blocks:
        if kind == "text":
            lines.append(value)
        elif kind == "table":
            header, rows = value
            lines += ["; ".join(f"{h}: {c}" for h, c in zip(header, row)) for row in rows]
    return "\n".join(lines)


def run_deployment(network: str | Path | SpikingNetwork | Graph | None = None,
                   target: str = "loihi-sim", prune: str = "lnp", data: str | Path | None = None,
                   out: str | Path | None = None, *, force: bool = False,
                   log: Callable[..., None] | None = None, progress: bool = False,
                   **options: Any) -> Deployment:
    """Build or load a network, prune it, run it on ``target`` and price it: one
    ``lnp-deploy`` run (module docstring).

    ``network``: a ``.nir`` / ``.npz`` file, an in-memory :class:`SpikingNetwork` or
    :class:`Graph` (written to a temporary file first; ``options.network`` in the record
    names that file), or None to build one (``model``, ``neurons``, ...). ``out``: the
    folder to write (as ``--out``); None keeps the files in a private temporary folder
    until :meth:`Deployment.save`. ``log``: called with each progress line (None: quiet).
    Every other keyword is an ``lnp-deploy`` flag with ``_`` for ``-``.
    """
    # Removed with the result (or at exit) unless saved: TemporaryDirectory's finalizer.
    temporary = tempfile.TemporaryDirectory(prefix="lnp-run-")
    work = Path(temporary.name)
    try:
        if network is not None and not isinstance(network, (str, os.PathLike)):
            network = _in_memory_network(network, work)
        values = dict(options, target=target, prune=prune, network=network, data=data,
                      force=force, out=work / "run" if out is None else out)
        parser = build_parser(_RaisingParser)
        args = parser.parse_args(_flag_values(parser, values))
        result = deploy_from_args(args, log or (lambda *a: None), progress)
    except BaseException:
        temporary.cleanup()
        raise
    if out is None:
        result._temporary = temporary
        result.report["options"]["out"] = None
    else:
        temporary.cleanup()
        result.saved = True
    return result


def deploy_from_args(args: argparse.Namespace, log: Callable[..., None],
                     progress: bool) -> Deployment:
    """The deployment of parsed ``lnp-deploy`` flags as a :class:`Deployment`
    (:func:`lnp_neuro.deploy.entry.deploy_parsed`, the command line's own path)."""
    outcome, options = deploy_parsed(args, log, progress)
    return Deployment(outcome.report, outcome.deployed,
                      outcome.spikes, outcome.spikes_unpruned, outcome.input_spikes,
                      Path(options.out))


def _save_run(run: Deployment, out: Path, force: bool) -> Path:
    """Copy the run's files to ``out`` (a transaction: :class:`OutputFolder`), then write
    its report.json with ``options.out`` = ``out`` and its report naming ``out``."""
    names = sorted(p.name for p in run.path.iterdir()
                   if p.is_file() and p.name != MANIFEST_NAME and not p.name.startswith("."))
    missing = set(OUTPUT_FILES) - set(names)
    if missing:
        raise DeployInputError(f"{run.path}: not a complete run folder (no "
                               f"{', '.join(sorted(missing))})")
    # report.json as written, key order kept (json preserves it), only options.out changed.
    report = json.loads((run.path / "report.json").read_text(encoding="utf-8"))
    report["options"]["out"] = str(out)
    text = json.dumps(report, indent=2, allow_nan=False)
    try:
        with OutputFolder(out, force=force, expected=names) as staging:
            for name in names:
                shutil.copyfile(run.path / name, staging / name)
            write_run_report(text, staging, out)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        raise DeployInputError(str(exc)) from exc
    run.report, run.path, run.saved = report, out, True
    run.deployed.source = str(out / "network.nir")
    if run._temporary is not None:
        run._temporary.cleanup()
        run._temporary = None
    return out


def compare(runs: Iterable[Deployment | str | Path], out: str | Path | None = None,
            force: bool = False) -> Comparison:
    """The comparison of ``runs`` (:class:`Deployment` results or run folders):
    ``lnp-deploy report RUN... --out OUT``.

    ``out`` None: nothing is written; the result shows the headline of every run
    (Jupyter, ``print``) and :meth:`Comparison.save` writes the report later. With
    ``out``, a :class:`Deployment` not saved yet is saved after the report into
    ``OUT/<place>-<label>`` (a run folder per run inside the report's folder), and the
    report names those folders.
    """
    runs = list(runs)
    if not runs:
        raise DeployInputError("compare needs at least one run")
    for i, run in enumerate(runs):
        if not isinstance(run, (Deployment, str, os.PathLike)):
            raise DeployInputError(f"runs[{i}] must be a Deployment or a run folder, got "
                                   f"{type(run).__name__}")
    if out is None:
        try:
            data = [r._run_data() if isinstance(r, Deployment) else load_run(r) for r in runs]
        except (FileNotFoundError, ValueError) as exc:
            raise DeployInputError(str(exc)) from exc
        return Comparison(data, None, [], runs)
    out = Path(out)
    folders, shown, unsaved = [], [], []
    for i, run in enumerate(runs):
        if isinstance(run, Deployment):
            final = run.path if run.saved else out / _folder_name(run.label, i)
            folders.append(run.path)
            shown.append(final)
            if not run.saved:
                unsaved.append((run, final))
        else:
            folders.append(Path(run))
            shown.append(Path(run))
    files = compare_folders(folders, out, force, shown)
    for run, final in unsaved:
        run.save(final, force=force)
    return Comparison([load_run(f) for f in shown], out, files, runs)


def _folder_name(label: str, index: int) -> str:
    """A run's folder name inside a comparison: its place in the list and its label."""
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in label.lower()).strip("-")
    return f"{index}-{slug or 'run'}"
