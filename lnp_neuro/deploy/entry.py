"""The command line's deployment and comparison, for ``lnp-deploy`` and the one-call API
(:mod:`lnp_neuro.api`), with bad input as one exception type.

Reason: the CLI and the API are two faces of one path; both call these functions, which
turn what the CLI exits 2 for into :class:`DeployInputError` and leave the rest.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Sequence

from .._util.output_folder import OutputFolder
from ..engines.base import TargetUnavailable
from ..report.fields import check_report_fields
from ..report.record import RunRecord
from ..report.render import load_run, write_report
from .flags import options_from_args
from .options import DeployOptions
from .run import DeployOutcome, deploy_outcome

__all__ = ["DeployInputError", "deploy_parsed", "compare_folders"]


class DeployInputError(ValueError):
    """Bad input to a deployment or a comparison: what ``lnp-deploy`` exits 2 for (a bad
    option value, a missing or corrupt file, an output folder that exists)."""


def deploy_parsed(args: argparse.Namespace, log: Callable[..., None],
                  progress: bool) -> tuple[DeployOutcome, DeployOptions]:
    """The deployment of parsed ``lnp-deploy`` flags (the command line's and
    :func:`lnp_neuro.api.run_deployment`'s one path) and its options. Bad input raises
    :class:`DeployInputError`; a target that cannot run here, ``TargetUnavailable``."""
    try:
        options = options_from_args(args, progress)
        outcome = deploy_outcome(options, log)
    except (TargetUnavailable, DeployInputError):
        raise
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        raise DeployInputError(str(exc)) from exc
    RunRecord.from_dict(outcome.report, "report.json")   # what was written reads back
    return outcome, options


def compare_folders(folders: Sequence[Path], out: Path, force: bool,
                    shown_as: Sequence[Path] | None = None) -> list[Path]:
    """``lnp-deploy report``: check each run folder's report.json, then write the
    comparison into ``out`` as a transaction; the report names the runs (``shown_as``:
    where each ends up, default ``folders``) relative to ``out``. Bad input raises
    :class:`DeployInputError`."""
    # The run folders' own files are inputs: --force into one of them must not replace
    # or remove them.
    inputs = [run / name for run in folders for name in ("report.json", "run.npz",
                                                          "analysis.npz")]
    try:
        for run in folders:
            check_report_fields(load_run(run).report, run / "report.json")
        with OutputFolder(out, force=force, expected=("report.html", "report.md"),
                          protect=inputs) as staging:
            paths = write_report(folders, staging, force=True,
                                 shown_as=list(shown_as or folders), location=out)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        raise DeployInputError(str(exc)) from exc
    return [out / p.name for p in paths]
