"""``lnp-deploy``: build or load a network, prune it, run it on a target, report the energy.

Usage::

    lnp-deploy --target loihi-sim                 # built-in default, writes ./lnp-out/
    lnp-deploy --target cpu --model chrsnn --neurons 2000 --prune lnp --out run1
    lnp-deploy --target lava-float --network pruned.nir --prune none
    lnp-deploy --target cpu --network classifier.nir --prune lnp --prune-populations lif1
    lnp-deploy --target loihi-sim --network classifier.nir --data data.npz --prune none
    lnp-deploy --list-targets
    lnp-deploy report RUN_DIR [RUN_DIR ...] --out comparison/

Exit status: 0 on success, 2 for bad input (unknown target, bad file, output folder that
exists, is busy or is not writable, a run too large for the memory), 3 when the target
cannot run on this machine, 130 / 143 when stopped by SIGINT / SIGTERM (nothing written,
no child process left), 1 for anything unexpected (a full disk: nothing left behind).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings
from pathlib import Path

# _positive_int: lnp-experiment's flags import it from here (one parser type for both).
from .flags import _positive_int, build_parser, show_progress_bars  # noqa: F401

__all__ = ["main", "build_parser", "summary_text"]


def _report_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lnp-deploy report",
                                description="Compare finished lnp-deploy runs in one report.")
    p.add_argument("runs", nargs="+", type=Path, help="run folders written by lnp-deploy")
    p.add_argument("--out", type=Path, default=Path("lnp-report"), help="output folder")
    p.add_argument("--force", action="store_true", help="write into an existing non-empty folder")
    args = p.parse_args(argv)
    from .entry import DeployInputError, compare_folders

    try:
        paths = compare_folders(args.runs, args.out, args.force)
    except DeployInputError as exc:
        print(f"lnp-deploy report: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lnp-deploy report: error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .._util.interrupts import Interrupted, exit_code, exit_within, signals_raise

    console = argv is None  # the console script (not a caller's process)
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = "lnp-deploy report" if argv[:1] == ["report"] else "lnp-deploy"
    if console:   # a caller's process keeps its own warning display (and pytest.warns)
        warnings.showwarning = _one_line_warning(prog)
    try:
        with signals_raise():
            code = _report_main(argv[1:]) if argv[:1] == ["report"] else _deploy_main(argv)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
            return code
    except BrokenPipeError:
        # The reader of stdout went away (`lnp-deploy --json | head -1`): whatever was
        # written (the run folder) stays; nothing more to say, and no traceback.
        _silence_stdout()
        return 0
    except KeyboardInterrupt as exc:  # Interrupted (SIGINT / SIGTERM) or a plain Ctrl-C
        name = signal.Signals(exc.signum if isinstance(exc, Interrupted) else signal.SIGINT).name
        print(f"{prog}: interrupted by {name}; nothing was written", file=sys.stderr)
        if console:
            exit_within(exit_code(exc))
        return exit_code(exc)


def _one_line_warning(prog: str):
    """A ``warnings.showwarning`` that prints ``prog: warning: message`` on one line,
    without the source line and path of the code that warned (a user reads the message,
    not our file names)."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {message}", file=sys.stderr if file is None else file)
    return show


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so Python's flush at exit does not fail on the closed
    pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout replaced by an object without a descriptor
        pass


def _deploy_main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .entry import DeployInputError, deploy_parsed
    from .targets import TargetUnavailable, list_targets

    if args.list_targets:
        for t in list_targets():
            status = t.availability()
            mark = "available" if status is None else "unavailable"
            print(f"{t.name:12s} {t.backend:10s} {t.mode:6s} profile={t.profile:10s} "
                  f"[{mark}] {t.description}")
        return 0
    if not args.target:
        parser.error("--target is required (see --list-targets)")

    log = (lambda *a: None) if (args.quiet or args.json) else \
        (lambda *a: print(*a, file=sys.stderr, flush=True))
    try:
        outcome, _ = deploy_parsed(args, log, show_progress_bars(args.quiet or args.json))
    except TargetUnavailable as exc:
        print(f"lnp-deploy: error: {exc}", file=sys.stderr)
        return 3
    except DeployInputError as exc:
        print(f"lnp-deploy: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("lnp-deploy: error: out of memory; lower --neurons or --steps",
              file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a folder removed under the run, ...
        print(f"lnp-deploy: error: {exc}; nothing was written to {args.out}",
              file=sys.stderr)
        return 1
    report = outcome.report
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False))
    elif not args.quiet:
        print(summary_text(report))
        twin = ", network.portable.nir" if args.nir_portable else ""
        print(f"wrote {args.out}/ (report.html, report.md, report.json, run.npz, "
              f"network.nir{twin})")
    return 0


def _mapping_line(mapping) -> list[str]:
    """``mapping ...`` line of the summary (none when the target has no core mapping)."""
    if not isinstance(mapping, dict) or mapping.get("inter_core_spikes") is None:
        return []
    hops = mapping.get("hop_count")
    return [f"mapping    {mapping.get('strategy')}: {mapping['inter_core_spikes']} inter-core "
            f"spike message(s)" + ("" if hops is None else f", {hops} mesh hop(s)")]


def _per_inference_text(report: dict) -> str:
    """Energy and latency of one inference on the target's profile (--data runs)."""
    energy = (report.get("energy_per_inference_joules") or {}).get(report["profile"])
    latency = report.get("latency_per_inference_seconds")
    return (f"{'n/a' if energy is None else f'{energy:.3g} J'} and "
            f"{'n/a' if latency is None else f'{latency * 1e3:.3g} ms'} per inference")


def _control_text(task: dict) -> str:
    """The unpruned network's no-recurrence control, when the task has it."""
    refs = task.get("references") or {}
    control, floor = refs.get("no_recurrence"), refs.get("input_code")
    return (("" if control is None else f"; unpruned without recurrent synapses {control:.3g}")
            + ("" if floor is None else f"; input code alone {floor:.3g}"))


def _other_readout_text(task: dict) -> str:
    """The readout the task's figures are not from: the off-chip ridge beside a deployed
    readout population (task.offchip_readout), or the on-chip population's figures beside
    an off-chip readout (task.deployed_readout), when present."""
    other = task.get("offchip_readout") or task.get("deployed_readout") or {}
    if "unpruned" not in other:
        return ""
    what = ("off-chip float64 ridge readout" if "offchip_readout" in task
            else "on-chip readout (li population, target arithmetic)")
    return (f"\n           {what}: {other['unpruned']:.3g} unpruned -> "
            f"{other['pruned']:.3g} pruned")


def summary_text(report: dict) -> str:
    """The few numbers a user wants on screen after a deployment."""
    energy = report["energy_joules"]
    act = report["activity"]
    task = report.get("task")
    accuracy = ("accuracy   no task (Poisson drive)" if not task else
                f"accuracy   {task['unpruned']:.3g} unpruned -> {task['pruned']:.3g} deployed "
                f"({task['n_test']} samples, chance {task['chance']:.3g}, {task['engine']}); "
                f"{_per_inference_text(report)}"
                if task.get("metric") == "accuracy" else
                f"accuracy   regression NRMSE {task['unpruned']:.3g} unpruned -> "
                f"{task['pruned']:.3g} deployed (lower is better; {task['n_test']} samples, "
                f"predicting the mean {task['baseline_mean']:.3g}, {task['engine']}); "
                f"{_per_inference_text(report)}"
                if task.get("name") == "regression" else
                f"accuracy   memory capacity {task['unpruned']:.3g} unpruned -> "
                f"{task['pruned']:.3g} pruned (higher is better; {task['delays']} delays, "
                f"{task['readout']} readout){_control_text(task)}"
                if task.get("metric") == "memory_capacity" else
                f"accuracy   NRMSE {task['unpruned']:.3g} unpruned -> {task['pruned']:.3g} "
                f"pruned ({task['name']}, {task['readout']} readout; persistence "
                f"{task['persistence']:.3g}){_control_text(task)}"
                if "definition" in task else
                f"accuracy   one-step NRMSE {task['unpruned']:.3g} unpruned -> "
                f"{task['pruned']:.3g} pruned ({task['name']}, {task['readout']} readout; "
                f"persistence {task['persistence']:.3g}){_control_text(task)}"
                f"{_other_readout_text(task)}")
    closed = (task or {}).get("closed_loop")
    if closed:
        in_lyapunov = closed["unpruned"].get("lyapunov_times") is not None
        key, unit = (("lyapunov_times", "Lyapunov times") if in_lyapunov
                     else ("mean_steps", "samples"))
        accuracy += (f"\nvpt        closed-loop forecast valid for {closed['unpruned'][key]:.2f} "
                     f"unpruned -> {closed['pruned'][key]:.2f} pruned {unit} (ESN "
                     f"{closed['esn'][key]:.2f}; {len(closed['starts'])} starts)")
    lines = [
        f"target     {report['target']} ({report['backend']}, {report['mode']}), "
        f"{report['steps']} steps of {report['dt'] * 1e3:g} ms",
        f"neurons    {report['neurons_before']} -> {report['neurons_after']}",
        f"synapses   {report['synapses_before']} -> {report['synapses_after']}",
        f"SOPs       {report['sops_dense']} unpruned -> {report['sops_pruned']} pruned "
        f"(ratio {report['sop_ratio']:.2f}x)",
        f"energy     {energy:.3g} J on {report['profile']}, {report['cores_used']} core(s)",
        *_mapping_line(report.get("mapping")),
        f"lambda_max {report['lambda_max_before']:.3g} +- {report['lambda_max_stderr_before']:.2g}"
        f" -> {report['lambda_max_after']:.3g} +- {report['lambda_max_stderr_after']:.2g} /s "
        f"(linear rate dynamics at the operating point)",
        f"activity   {100 * act['fraction_firing_before']:.0f} % -> "
        f"{100 * act['fraction_firing_after']:.0f} % of neurons fire, "
        f"{act['rate_hz_before']:.3g} -> {act['rate_hz_after']:.3g} Hz",
        accuracy,
        f"parity     {report['parity']} spike mismatch(es) against the "
        f"{report.get('parity_reference', 'native')} engine, same graph and input",
        f"time       {report['seconds']:.1f} s",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
