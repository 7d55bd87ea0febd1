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
from pathlib import Path

__all__ = ["main", "build_parser", "summary_text"]


def _whole_number(minimum: int):
    """An argparse type: a whole number >= ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got "
                                             f"{value}")
        return value
    return parse


_positive_int = _whole_number(1)
_nonnegative_int = _whole_number(0)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time step in seconds, got {text!r}") \
            from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive time step in seconds, got "
                                         f"{value}")
    return value


def _names(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated names, none empty."""
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected NAME[,NAME...], got {text!r}")
    return names


def show_progress_bars(silenced: bool) -> bool:
    """Progress bars on stderr when it is a terminal and they were not switched off; in a
    log file or a pipe the bars' carriage returns would only add noise (the log lines
    still say what each long step is)."""
    return not silenced and sys.stderr.isatty()


def build_parser() -> argparse.ArgumentParser:
    from ..prune.baselines import AP_BUDGETS
    from . import RANDOM_BUDGETS, DeployOptions

    d = DeployOptions()
    p = argparse.ArgumentParser(
        prog="lnp-deploy",
        description="Prune a recurrent SNN with Lyapunov Noise Pruning (or a baseline), run it "
                    "on a neuromorphic target and write an energy-comparison report. "
                    "`lnp-deploy report RUN_DIR...` compares finished runs.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--target", help="deployment target (see --list-targets) or a target .toml file")
    p.add_argument("--list-targets", action="store_true", help="list the targets and exit")
    p.add_argument("--network", type=Path, help="start from this network (.nir or .npz) "
                   "instead of building one")
    p.add_argument("--dt", type=_seconds, default=None, metavar="SECONDS",
                   help="time step of a --network .nir graph that stores none (graphs of "
                        "norse, of the NIR paper, with r = 1); default: the graph's own")
    p.add_argument("--nir-portable", action="store_true",
                   help="also write network.portable.nir: the deployed network without "
                        "Delay nodes, time constants in 0.1 ms steps, loadable by snnTorch "
                        "(import_from_nir) and norse (from_nir(g, dt=1e-4)); each population "
                        "spikes latency_steps earlier there (metadata lnp_neuro."
                        "portable_shift). network.nir stays the exact hand-over")
    p.add_argument("--model", choices=("hrsnn", "chrsnn"), default=d.model,
                   help="network to build when --network is not given")
    p.add_argument("--neurons", type=_positive_int, default=d.neurons, help="neurons to build")
    p.add_argument("--density", type=_probability, default=d.density,
                   help="recurrent synapse density of the built network (HRSNN)")
    p.add_argument("--clusters", type=_positive_int, default=d.clusters, help="CHRSNN clusters")
    p.add_argument("--prune", choices=("lnp", "ap", "random", "none"), default=d.prune,
                   help="pruning method")
    p.add_argument("--ap-budget", choices=AP_BUDGETS, default=d.ap_budget,
                   help="what ends AP (--prune ap): the paper's rule (--iterations rounds of "
                        "10 %%, stop when performance < 90 %% of the unpruned model's), LNP's "
                        "neuron count, or LNP's SOPs on the same drive (both run LNP first)")
    p.add_argument("--random-budget", choices=RANDOM_BUDGETS, default=d.random_budget,
                   help="what the random control (--prune random) copies of LNP's result: "
                        "its neuron and synapse counts, or its SOPs on the same drive (the "
                        "random graph with LNP's counts, thinned at random to LNP's SOPs)")
    p.add_argument("--prune-populations", type=_names, default=None, metavar="NAME[,NAME...]",
                   help="populations of a --network graph that --prune lnp prunes, "
                        "task-agnostically (default: every population with a recurrent "
                        "projection); feed-forward projections and the readout are kept, "
                        "pruned neurons are left out of network.nir")
    p.add_argument("--data", type=Path, default=None, metavar="DATA.npz",
                   help="drive a --network graph with this labelled data set and score its "
                        "output population: 'inputs' [samples, steps, n_inputs] spikes, "
                        "'labels' [samples] class indices, optional 'train' [samples] bool "
                        "(not scored); every scored sample runs from rest on the native "
                        "engine in the target's arithmetic (accuracy: argmax of the output "
                        "spike counts, or of a non-spiking output's last membrane "
                        "potential); the target run is the samples back to back, cut at "
                        "--steps; replaces --input")
    p.add_argument("--reference-accuracy", type=float, default=None, metavar="FRACTION",
                   help="the source framework's own accuracy on --data, reported beside "
                        "the measured one")
    p.add_argument("--iterations", type=_positive_int, default=d.iterations,
                   help="pruning iterations (LNP steps I-IV repeated; AP rounds)")
    p.add_argument("--target-density", type=_probability, default=d.target_density,
                   help="synapse density LNP reaches after --iterations iterations")
    p.add_argument("--input", default=d.input,
                   metavar="lorenz|rossler|memory|narma10|lorenz-x|poisson|FILE.csv",
                   help="drive and task: rate-encoded Lorenz-63 or Rossler, a CSV series of "
                        "your own (one column per dimension, header row), a task that needs "
                        "memory (memory: Jaeger's memory capacity, higher is better; narma10: "
                        "NARMA-10; lorenz-x: Lorenz-63 observed through x only, --horizon "
                        "samples ahead), or Poisson spikes at --rate (no task score)")
    p.add_argument("--horizon", type=_positive_int, default=d.horizon,
                   help="samples ahead the readout predicts, --input lorenz-x only (default 1; "
                        "10 for the long-horizon variant)")
    p.add_argument("--copies", type=_positive_int, default=argparse.SUPPRESS,
                   help="phase-staggered copies of each ON/OFF input channel (resolution; "
                        "default: 24 for memory, narma10 and lorenz-x, whose one input "
                        "dimension then has the 48 channels of the 3-D series, else 8)")
    p.add_argument("--scaling", choices=("zscore", "median", "range"), default=argparse.SUPPRESS,
                   help="how a series dimension maps onto its ON/OFF pair: zscore (mean +- 3 "
                        "std, clipped beyond), median (each side of the median scaled to its "
                        "training extreme: skewed series such as Rossler), range (training "
                        "range about its midpoint) (default: median for rossler, else zscore)")
    p.add_argument("--steps-per-sample", type=_positive_int, default=argparse.SUPPRESS,
                   help="time steps each sample of the series is held for (default: 40 for "
                        "rossler, whose samples change less, else 20)")
    p.add_argument("--task-samples", type=_positive_int, default=d.task_samples,
                   help="samples of the series used to score the one-step forecast "
                        "(native engine, target arithmetic)")
    p.add_argument("--vpt-starts", type=_nonnegative_int, default=d.vpt_starts,
                   help="closed-loop forecasts scored for their valid prediction time, from "
                        "this many test samples (0: none)")
    p.add_argument("--rate", type=_probability, default=d.rate,
                   help="spike probability per step of each input channel for --input poisson")
    p.add_argument("--steps", type=_positive_int, default=d.steps, help="time steps to run")
    p.add_argument("--seed", type=_nonnegative_int, default=d.seed,
                   help="seed of every random choice")
    p.add_argument("--mapping", choices=("first-fit", "partition"), default=d.mapping,
                   help="placement of neurons on cores: METIS graph partitioning of the spike "
                        "traffic (fewest spikes between cores) or first-fit in neuron order")
    p.add_argument("--out", type=Path, default=Path(d.out), help="output folder")
    p.add_argument("--force", action="store_true",
                   help="write into an existing non-empty output folder")
    p.add_argument("--quiet", action="store_true",
                   help="no progress output (progress bars are shown only on a terminal)")
    p.add_argument("--json", action="store_true", help="print report.json to stdout")
    return p


def _report_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="lnp-deploy report",
                                description="Compare finished lnp-deploy runs in one report.")
    p.add_argument("runs", nargs="+", type=Path, help="run folders written by lnp-deploy")
    p.add_argument("--out", type=Path, default=Path("lnp-report"), help="output folder")
    p.add_argument("--force", action="store_true", help="write into an existing non-empty folder")
    args = p.parse_args(argv)
    from .._util.output_folder import OutputFolder
    from ..report.fields import check_report_fields
    from ..report.render import load_run, write_report

    # The run folders' own files are inputs: --force into one of them must not replace
    # or remove them.
    inputs = [run / name for run in args.runs for name in ("report.json", "run.npz",
                                                            "analysis.npz")]
    try:
        for run in args.runs:
            check_report_fields(load_run(run).report, run / "report.json")
        with OutputFolder(args.out, force=args.force, expected=("report.html", "report.md"),
                          protect=inputs) as staging:
            paths = write_report(args.runs, staging, force=True)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"lnp-deploy report: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lnp-deploy report: error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(args.out / path.name)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .._util.interrupts import Interrupted, exit_code, exit_within, signals_raise

    console = argv is None  # the console script (not a caller's process)
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = "lnp-deploy report" if argv[:1] == ["report"] else "lnp-deploy"
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

    from . import DeployOptions, run_deploy

    log = (lambda *a: None) if (args.quiet or args.json) else \
        (lambda *a: print(*a, file=sys.stderr, flush=True))
    try:
        options = DeployOptions(
            target=args.target, network=args.network, model=args.model, neurons=args.neurons,
            density=args.density, clusters=args.clusters, prune=args.prune,
            ap_budget=args.ap_budget, random_budget=args.random_budget,
            iterations=args.iterations, target_density=args.target_density,
            input=args.input, rate=args.rate, steps=args.steps,
            copies=getattr(args, "copies", None), horizon=args.horizon,
            scaling=getattr(args, "scaling", None),
            steps_per_sample=getattr(args, "steps_per_sample", None),
            task_samples=args.task_samples, vpt_starts=args.vpt_starts, seed=args.seed,
            out=args.out, force=args.force,
            progress=show_progress_bars(args.quiet or args.json), mapping=args.mapping,
            dt=args.dt, prune_populations=args.prune_populations, data=args.data,
            reference_accuracy=args.reference_accuracy, nir_portable=args.nir_portable)
        report = run_deploy(options, log=log)
    except TargetUnavailable as exc:
        print(f"lnp-deploy: error: {exc}", file=sys.stderr)
        return 3
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"lnp-deploy: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("lnp-deploy: error: out of memory; lower --neurons or --steps",
              file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a folder removed under the run, ...
        print(f"lnp-deploy: error: {exc}; nothing was written to {options.out}",
              file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False))
    elif not args.quiet:
        print(summary_text(report))
        twin = ", network.portable.nir" if options.nir_portable else ""
        print(f"wrote {options.out}/ (report.html, report.md, report.json, run.npz, "
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
    control = (task.get("references") or {}).get("no_recurrence")
    return "" if control is None else f"; unpruned without recurrent synapses {control:.3g}"


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
                f"persistence {task['persistence']:.3g})")
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
