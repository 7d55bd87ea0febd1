"""The ``lnp-experiment`` console script: flags -> :class:`ExperimentConfig` and a grid ->
:func:`run_grid` -> the output folder (:func:`write_outputs`), written as a transaction."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

from .._util.bounded_json import loads_bounded
from .._util.io import atomic_write
from ..deploy.cli import _positive_int, show_progress_bars  # shared by both console scripts
from .config import MODELS, PRUNINGS, TASKS, TRAININGS, ExperimentConfig, grid
from .runner import run_grid
from .tables import format_noise_table, format_table2, write_outputs

__all__ = ["main", "code_fingerprint"]

#: What a run of lnp-experiment writes into --out (an earlier run's files, for --force).
OUTPUT_ENTRIES = ("runs", "cache", "summary.json", "summary_groups.json", "table2.md",
                  "noise.md", "config.json")


def code_fingerprint() -> str:
    """SHA-256 over the package's .py files (path + content): provenance of a run even in
    an uncommitted checkout. Recorded at the start and the end of a grid; if they differ,
    the code changed while the grid ran and the rows may mix versions."""
    import hashlib
    root = Path(__file__).resolve().parent.parent  # lnp_neuro/, not only this package
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _csv(kind: str, allowed: Sequence[str] | None):
    def parse(text: str):
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"{kind}: give at least one value")
        if allowed is not None:
            bad = [t for t in items if t not in allowed]
            if bad:
                raise argparse.ArgumentTypeError(
                    f"{kind}: unknown {', '.join(bad)} (choose from {', '.join(allowed)})")
        return items
    return parse


def _check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Refuse a Dask scheduler address that does not accept connections (before any work)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"--scheduler {address!r}: not a host:port address ({exc})") from None
    if parts.scheme not in ("tcp", "tls") or not host or port is None:
        raise ValueError(f"--scheduler {address!r}: expected tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise ValueError(f"--scheduler {address!r}: cannot connect "
                         f"({exc.strerror or type(exc).__name__})") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lnp-experiment",
        description="Run the pruning x model x training x task x seed grid (paper Table 2 "
                    "and noise table) and write DIR/summary.json, table2.md, noise.md.")
    p.add_argument("--out", required=True, help="output folder (must be empty unless --force)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out")
    p.add_argument("--prunings", type=_csv("prunings", PRUNINGS), default=list(PRUNINGS))
    p.add_argument("--models", type=_csv("models", MODELS), default=list(MODELS))
    p.add_argument("--trainings", type=_csv("trainings", TRAININGS), default=list(TRAININGS))
    p.add_argument("--tasks", type=_csv("tasks", TASKS), default=["lorenz63"])
    p.add_argument("--seeds", type=_csv("seeds", None), default=["0", "1", "2"],
                   help="comma-separated non-negative integers")
    p.add_argument("--neurons", type=int, default=None, help="recurrent neurons N")
    p.add_argument("--config", default=None,
                   help="JSON file of ExperimentConfig settings (overridden by --neurons)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                   help="one ExperimentConfig setting, e.g. --set bp_epochs=4")
    p.add_argument("--workers", type=_positive_int, default=2,
                   help="parallel runs (local cores)")
    p.add_argument("--serial", action="store_true", help="run in this process")
    p.add_argument("--dask", action="store_true", help="run on Dask (local cluster by default)")
    p.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler (implies --dask)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (they are shown only when stderr is a terminal)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lnp-experiment`` console script; returns the exit status.

    Exit status: 0 when every run succeeded, 1 when some run failed (its row says why),
    2 for bad input (flags, ``--config``, ``--scheduler``, ``--out``), 130 / 143 when
    stopped by SIGINT / SIGTERM. The output folder is a transaction
    (:class:`lnp_neuro._util.io.OutputFolder`): it appears only when the grid completed.
    """
    from .._util.interrupts import Interrupted, exit_code, exit_within, signals_raise
    try:
        with signals_raise():
            return _main(argv)
    except KeyboardInterrupt as exc:
        import signal
        name = signal.Signals(exc.signum if isinstance(exc, Interrupted)
                              else signal.SIGINT).name
        print(f"lnp-experiment: interrupted by {name}; nothing was written", file=sys.stderr)
        if argv is None:  # the console script, not a caller's process: see exit_within
            exit_within(exit_code(exc))
        return exit_code(exc)


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    from .._util.output_folder import OutputFolder
    try:
        seeds = [int(s) for s in args.seeds]
        if any(s < 0 for s in seeds):
            raise ValueError
    except ValueError:
        print(f"lnp-experiment: --seeds must be non-negative integers, got {args.seeds}",
              file=sys.stderr)
        return 2
    settings: dict = {}
    try:
        if args.config:
            try:
                text = Path(args.config).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"--config {args.config}: not a readable JSON file "
                                 f"({exc})") from None
            # Bounded (nesting, numbers, strings): deep nesting was a RecursionError.
            loaded = loads_bounded(text, f"--config {args.config}")
            if not isinstance(loaded, dict):
                raise ValueError(f"--config {args.config}: must hold a JSON object of "
                                 f"ExperimentConfig settings, got {type(loaded).__name__}")
            settings.update(loaded)
        for item in args.set:
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--set expects NAME=JSON, got {item!r}")
            settings[name.strip()] = loads_bounded(value, f"--set {name.strip()[:40]}")
        if args.neurons is not None:
            settings["n_neurons"] = args.neurons
        cfg = ExperimentConfig.from_dict(settings)
        specs = grid(args.prunings, args.models, args.trainings, args.tasks, seeds)
        if args.scheduler:
            _check_scheduler(args.scheduler)
        folder = OutputFolder(args.out, force=args.force, expected=OUTPUT_ENTRIES)
        out_dir = folder.open()
    except (ValueError, TypeError, FileExistsError, FileNotFoundError) as exc:
        print(f"lnp-experiment: {exc}", file=sys.stderr)
        return 2
    try:
        status = _run_and_write(args, argv, cfg, specs, out_dir)
    except BaseException:
        folder.abort()
        raise
    folder.commit()
    print(f"results in {args.out}", file=sys.stderr)
    return status


def _run_and_write(args, argv, cfg: ExperimentConfig, specs: list, out_dir: Path) -> int:
    executor = "dask" if (args.dask or args.scheduler) else (
        "serial" if args.serial else "process")
    runs_dir = out_dir / "runs"
    runs_dir.mkdir(exist_ok=True)

    def save_row(row: dict) -> None:
        with atomic_write(runs_dir / f"{row['key']}.json") as tmp:
            tmp.write_text(json.dumps(row, indent=1, allow_nan=False))
        status = "FAILED: " + row["error"] if row.get("error") else (
            f"neurons={row['neurons']} synapses={row['synapses']} sops={row['sops']} "
            f"nrmse={row['nrmse']} vpt={row['vpt']} accuracy={row['accuracy']}")
        print(f"[{row['seconds']:.0f}s] {row['key']}: {status}", file=sys.stderr, flush=True)

    fingerprint_start = code_fingerprint()
    t0 = time.perf_counter()
    rows = run_grid(specs, cfg, workers=args.workers, executor=executor,
                    scheduler=args.scheduler, cache_dir=out_dir / "cache", on_row=save_row,
                    progress=show_progress_bars(args.no_progress))
    wall = time.perf_counter() - t0
    fingerprint_end = code_fingerprint()
    if fingerprint_end != fingerprint_start:
        print("lnp-experiment: WARNING: the lnp_neuro sources changed while the grid ran; "
              "rows may come from different code versions", file=sys.stderr)
    summary = write_outputs(out_dir, rows, cfg, {
        "argv": list(sys.argv[1:] if argv is None else argv), "wall_seconds": wall,
        "executor": executor, "workers": args.workers, "runs": len(rows),
        "code_fingerprint_start": fingerprint_start, "code_fingerprint_end": fingerprint_end})
    print(format_table2(summary))
    print(format_noise_table(summary))
    print(f"{len(rows)} runs in {wall:.0f} s", file=sys.stderr)
    return 1 if summary["errors"] else 0
