"""The flags of ``lnp-deploy`` (its argument parser) and the deployment options they make.

One parser serves the command line and the Python API (:func:`lnp_neuro.run_deployment`
checks its keywords by parsing them as these flags), so both refuse a bad value with the
same message naming the flag.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..prune.baselines import AP_BUDGETS
from .options import RANDOM_BUDGETS, DeployOptions

__all__ = ["build_parser", "show_progress_bars", "options_from_args"]


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


def _target_flags(p: argparse.ArgumentParser, d: DeployOptions) -> None:
    g = p.add_argument_group("target and starting network")
    g.add_argument("--target", help="deployment target (see --list-targets) or a target .toml file")
    g.add_argument("--list-targets", action="store_true", help="list the targets and exit")
    g.add_argument("--mapping", choices=("first-fit", "partition"), default=d.mapping,
                   help="placement of neurons on cores: METIS graph partitioning of the spike "
                        "traffic (fewest spikes between cores) or first-fit in neuron order")
    g.add_argument("--network", type=Path, help="start from this network (.nir or .npz) "
                   "instead of building one")
    g.add_argument("--dt", type=_seconds, default=None, metavar="SECONDS",
                   help="time step of a --network .nir graph that stores none (graphs of "
                        "norse, of the NIR paper, with r = 1); default: the graph's own")
    g.add_argument("--model", choices=("hrsnn", "chrsnn"), default=d.model,
                   help="network to build when --network is not given")
    g.add_argument("--neurons", type=_positive_int, default=d.neurons, help="neurons to build")
    g.add_argument("--density", type=_probability, default=d.density,
                   help="recurrent synapse density of the built network (HRSNN)")
    g.add_argument("--clusters", type=_positive_int, default=d.clusters, help="CHRSNN clusters")
    g.add_argument("--seed", type=_nonnegative_int, default=d.seed,
                   help="seed of every random choice")


def _porting_flags(p: argparse.ArgumentParser, d: DeployOptions) -> None:
    g = p.add_argument_group("a trained model (--network GRAPH.nir)")
    g.add_argument("--source", choices=("nir", "snntorch", "norse"), default=d.source,
                   help="the framework that wrote the --network .nir file, for what NIR "
                        "does not record: snntorch = its default reset (by subtraction, one "
                        "step late); norse = its exporter's time constants (dt x the true "
                        "ones; dt from --dt, default 1e-3, its to_nir default)")
    g.add_argument("--reset-mechanism", choices=("zero", "subtract"), default=None,
                   help="how the --network graph's spiking neurons reset (snnTorch's "
                        "reset_mechanism); default: the --source's (nir: the file's rule, to "
                        "zero at the spike; snntorch: subtract)")
    g.add_argument("--reset-delay", action=argparse.BooleanOptionalAction, default=None,
                   help="the reset acts one step after the spike (snnTorch's reset_delay); "
                        "default: the --source's (snntorch: on). Exact with subtract; a "
                        "recurrent population resetting to zero late is warned about")
    g.add_argument("--data", type=Path, default=None, metavar="DATA.npz",
                   help="drive a --network graph with this labelled data set and score its "
                        "output population: 'inputs' [samples, steps, n_inputs] spikes, "
                        "'labels' [samples] class indices or 'targets' [samples, "
                        "n_outputs] regression targets, optional 'train' [samples] bool "
                        "(not scored); every scored sample runs from rest on the native "
                        "engine in the target's arithmetic (accuracy: argmax of the output "
                        "spike counts, or of a non-spiking output's last membrane "
                        "potential; targets: NRMSE of those values); the target run is the "
                        "samples back to back, cut at --steps; replaces --input")
    g.add_argument("--reference-accuracy", type=float, default=None, metavar="FRACTION",
                   help="the source framework's own accuracy on --data, reported beside "
                        "the measured one (classification 'labels' only)")
    g.add_argument("--refit-readout", action="store_true",
                   help="with --data: also report each network's score with its readout "
                        "refitted (ridge on the spike counts of the population feeding the "
                        "output) on the samples --data marks 'train'")
    g.add_argument("--nir-portable", action="store_true",
                   help="also write network.portable.nir: the deployed network without "
                        "Delay nodes, time constants in 0.1 ms steps, loadable by snnTorch "
                        "(import_from_nir) and norse (from_nir(g, dt=1e-4)); each population "
                        "spikes latency_steps earlier there (metadata lnp_neuro."
                        "portable_shift). network.nir stays the exact hand-over")


def _pruning_flags(p: argparse.ArgumentParser, d: DeployOptions) -> None:
    g = p.add_argument_group("pruning")
    g.add_argument("--prune", choices=("lnp", "ap", "random", "none"), default=d.prune,
                   help="pruning method")
    g.add_argument("--ap-budget", choices=AP_BUDGETS, default=d.ap_budget,
                   help="what ends AP (--prune ap): the paper's rule (--iterations rounds of "
                        "10 %%, stop when performance < 90 %% of the unpruned model's), LNP's "
                        "neuron count, or LNP's SOPs on the same drive (both run LNP first)")
    g.add_argument("--random-budget", choices=RANDOM_BUDGETS, default=d.random_budget,
                   help="what the random control (--prune random) copies of LNP's result: "
                        "its neuron and synapse counts, or its SOPs on the same drive (the "
                        "random graph with LNP's counts, thinned at random to LNP's SOPs)")
    g.add_argument("--prune-populations", type=_names, default=None, metavar="NAME[,NAME...]",
                   help="populations of a --network graph that --prune lnp prunes, "
                        "task-agnostically (default: every population with a recurrent "
                        "projection); feed-forward projections and the readout are kept, "
                        "pruned neurons are left out of network.nir")
    g.add_argument("--iterations", type=_positive_int, default=d.iterations,
                   help="pruning iterations (LNP steps I-IV repeated; AP rounds)")
    g.add_argument("--target-density", type=_probability, default=d.target_density,
                   help="synapse density LNP reaches after --iterations iterations")


def _task_flags(p: argparse.ArgumentParser, d: DeployOptions) -> None:
    g = p.add_argument_group("drive and task")
    g.add_argument("--input", default=d.input,
                   metavar="lorenz|rossler|memory|narma10|lorenz-x|poisson|FILE.csv",
                   help="drive and task: rate-encoded Lorenz-63 or Rossler, a CSV series of "
                        "your own (one column per dimension, header row), a task that needs "
                        "memory (memory: Jaeger's memory capacity, higher is better; narma10: "
                        "NARMA-10; lorenz-x: Lorenz-63 observed through x only, --horizon "
                        "samples ahead, its code chosen as a CSV's), or Poisson spikes at "
                        "--rate (no task score)")
    g.add_argument("--horizon", type=_positive_int, default=d.horizon,
                   help="samples ahead the readout predicts, --input lorenz-x only (default 1; "
                        "10 for the long-horizon variant)")
    g.add_argument("--copies", type=_positive_int, default=argparse.SUPPRESS,
                   help="phase-staggered copies of each ON/OFF input channel (resolution; "
                        "default: 24 for memory and narma10, whose one input dimension then "
                        "has the 48 channels of the 3-D series; for a CSV or lorenz-x, 48 "
                        "channels in all; else 8)")
    g.add_argument("--scaling", choices=("zscore", "median", "range"), default=argparse.SUPPRESS,
                   help="how a series dimension maps onto its ON/OFF pair: zscore (mean +- 3 "
                        "std, clipped beyond), median (each side of the median scaled to its "
                        "training extreme: skewed series such as Rossler), range (training "
                        "range about its midpoint) (default: median for rossler; range for "
                        "memory and narma10, whose inputs are uniform; for a CSV or "
                        "lorenz-x, chosen on its training samples; else zscore)")
    g.add_argument("--steps-per-sample", type=_positive_int, default=argparse.SUPPRESS,
                   help="time steps each sample of the series is held for (default: 40 for "
                        "rossler, whose samples change less; for a CSV or lorenz-x, 10, 20 "
                        "or 40 chosen on its training samples; else 20)")
    g.add_argument("--code", choices=("level", "delta"), default=argparse.SUPPRESS,
                   help="what the input channels code: level (each dimension's value) or "
                        "delta (its value and, on channels of their own, its change since "
                        "the previous sample; half the copies each, same channels) "
                        "(default: level; for a CSV or lorenz-x, chosen on its training "
                        "samples). A CSV or lorenz-x with a built network chooses every "
                        "code setting not given (--scaling, --steps-per-sample, --copies, "
                        "--code) by the lowest validation NRMSE of a readout of the coded "
                        "input alone, on the training samples only; report.json "
                        "input.code_choice lists the candidates")
    g.add_argument("--task-samples", type=_positive_int, default=d.task_samples,
                   help="samples of the series used to score the one-step forecast "
                        "(native engine, target arithmetic)")
    g.add_argument("--vpt-starts", type=_nonnegative_int, default=d.vpt_starts,
                   help="closed-loop forecasts scored for their valid prediction time, from "
                        "this many test samples (0: none)")
    g.add_argument("--rate", type=_probability, default=d.rate,
                   help="spike probability per step of each input channel for --input poisson")
    g.add_argument("--steps", type=_positive_int, default=d.steps, help="time steps to run")


def _output_flags(p: argparse.ArgumentParser, d: DeployOptions) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--out", type=Path, default=Path(d.out), help="output folder")
    g.add_argument("--force", action="store_true",
                   help="write into an existing non-empty output folder")
    g.add_argument("--quiet", action="store_true",
                   help="no progress output (progress bars are shown only on a terminal)")
    g.add_argument("--json", action="store_true", help="print report.json to stdout")


def build_parser(parser_class: type = argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``lnp-deploy`` parser (``parser_class``: one that raises instead of exiting, for
    the API)."""
    d = DeployOptions()
    p = parser_class(
        prog="lnp-deploy",
        description="Prune a recurrent SNN with Lyapunov Noise Pruning (or a baseline), run it "
                    "on a neuromorphic target and write an energy-comparison report. "
                    "`lnp-deploy report RUN_DIR...` compares finished runs.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for add in (_target_flags, _porting_flags, _pruning_flags, _task_flags, _output_flags):
        add(p, d)
    return p


def options_from_args(args: argparse.Namespace, progress: bool) -> DeployOptions:
    """The :class:`DeployOptions` of parsed ``lnp-deploy`` flags."""
    return DeployOptions(
        target=args.target, network=args.network, model=args.model, neurons=args.neurons,
        density=args.density, clusters=args.clusters, prune=args.prune,
        ap_budget=args.ap_budget, random_budget=args.random_budget,
        iterations=args.iterations, target_density=args.target_density,
        input=args.input, rate=args.rate, steps=args.steps,
        copies=getattr(args, "copies", None), horizon=args.horizon,
        scaling=getattr(args, "scaling", None),
        steps_per_sample=getattr(args, "steps_per_sample", None),
        code=getattr(args, "code", None),
        task_samples=args.task_samples, vpt_starts=args.vpt_starts, seed=args.seed,
        out=args.out, force=args.force, progress=progress, mapping=args.mapping,
        dt=args.dt, prune_populations=args.prune_populations, data=args.data,
        reference_accuracy=args.reference_accuracy, nir_portable=args.nir_portable,
        source=args.source, reset_mechanism=args.reset_mechanism,
        reset_delay=args.reset_delay, refit_readout=args.refit_readout)
