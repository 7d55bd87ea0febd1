"""The options of one deployment (the ``lnp-deploy`` flags), checked when made."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..hardware.mapping import STRATEGIES
from ..model.build import MODELS
from ..nir.source import RESET_MECHANISMS, SOURCES
from ..prune.baselines import AP_BUDGETS
from ..tasks.encoding import SERIES_SCALINGS
from ..tasks.forecast import CODES, ESN_MIN_UNITS
from ..tasks.memory import MEMORY_TASKS
from ..tasks.series import check_csv_path

__all__ = ["DeployOptions", "SERIES_CODE_DEFAULTS", "RANDOM_BUDGETS", "SERIES_INPUTS",
           "MEMORY_TASKS", "CHOSEN_CODE_SETTINGS", "CODE_CHOOSING_TASKS"]

SERIES_INPUTS = ("lorenz", "rossler")
# Series code defaults per input (a flag given overrides them). Rossler: its z spends most
# of the time near zero and bursts rarely, so the z-score code clips it (median scaling
# does not); and it is sampled more finely than Lorenz-63 per Lyapunov time, so a sample's
# change is smaller and needs a longer count to resolve (docs/results.md, "Rossler").
# The memory tasks (lnp_neuro.tasks.memory) drive one input dimension: 24 copies give the
# 48 channels of the three-dimensional default drive (lorenz-x's code is chosen, as a
# CSV's, with a built network: CODE_CHOOSING_TASKS; its 24 copies serve a --network
# graph and stand in until the choice); memory capacity and NARMA-10 draw
# their input uniformly, so the range code covers it without clipping (zscore's +- 3
# standard deviations would leave 42 % of each channel's range unused).
SERIES_CODE_DEFAULTS = {"rossler": {"scaling": "median", "steps_per_sample": 40},
                        "memory": {"scaling": "range", "copies": 24},
                        "narma10": {"scaling": "range", "copies": 24},
                        "lorenz-x": {"copies": 24}}
_CODE_DEFAULTS = {"scaling": "zscore", "steps_per_sample": 20, "copies": 8, "code": "level"}
#: The code settings a CSV input or ``lorenz-x`` chooses on its training samples when
#: they are not given (lnp_neuro.tasks.code_choice; a flag given is kept).
CHOSEN_CODE_SETTINGS = ("scaling", "steps_per_sample", "copies", "code")
#: The built-in inputs whose code is chosen as a CSV's is. choose_code judges a code by
#: the one-step forecast of the coded series itself, and x-only Lorenz's target is that
#: series' own future (x[t + h]). Memory capacity (past inputs) and NARMA-10 (the output
#: of a system the input drives) ask for something else, so that criterion would not
#: measure their task; they keep SERIES_CODE_DEFAULTS.
CODE_CHOOSING_TASKS = ("lorenz-x",)
#: What the random control copies of LNP's result (``--random-budget``).
RANDOM_BUDGETS = ("counts", "sops")


@dataclass
class DeployOptions:
    """Options of one deployment (the ``lnp-deploy`` flags)."""

    target: str = "loihi-sim"
    network: Path | None = None
    model: str = "hrsnn"
    neurons: int = 1000
    density: float = 0.1
    clusters: int = 4
    prune: str = "lnp"
    ap_budget: str = "paper"
    #: What the random control matches of LNP's result: its counts, or its SOPs.
    random_budget: str = "counts"
    iterations: int = 4
    target_density: float = 0.01
    input: str = "lorenz"
    rate: float = 0.05
    steps: int = 500
    #: None: the input's default (``SERIES_CODE_DEFAULTS``, else 8), or chosen
    #: (:attr:`code_to_choose`).
    copies: int | None = None
    #: None: the input's default (``SERIES_CODE_DEFAULTS``, else zscore), or
    #: chosen (:attr:`code_to_choose`).
    scaling: str | None = None
    #: None: the input's default (``SERIES_CODE_DEFAULTS``, else 20), or chosen
    #: (:attr:`code_to_choose`).
    steps_per_sample: int | None = None
    #: None: the input's default ("level"; a CSV or lorenz-x chooses between "level"
    #: and "delta").
    code: str | None = None
    task_samples: int = 3000
    vpt_starts: int = 5
    #: Samples ahead the readout predicts (``--input lorenz-x`` only).
    horizon: int = 1
    seed: int = 0
    out: Path = Path("lnp-out")
    force: bool = False
    progress: bool = True
    mapping: str = "partition"
    #: Time step (s) for a --network graph that stores none (NIR graphs of other tools).
    dt: float | None = None
    #: Populations ``--prune lnp`` prunes in a --network graph (None: the recurrent ones).
    prune_populations: tuple | None = None
    #: A labelled data set (.npz) that drives a --network graph and scores its output
    #: population (lnp_neuro.deploy.data); None: the --input drive.
    data: Path | None = None
    #: The source framework's own accuracy on the data, reported beside the measured one.
    reference_accuracy: float | None = None
    #: Also write ``network.portable.nir``, the deployed network without Delay nodes for
    #: snnTorch and norse (:mod:`lnp_neuro.nir.portable`); ``network.nir`` stays exact.
    nir_portable: bool = False
    #: The framework that wrote a --network NIR graph, for what the file does not say
    #: (lnp_neuro.nir.source): "nir", "snntorch" or "norse".
    source: str = "nir"
    #: How the source's spiking neurons reset ("zero" or "subtract"); None: the source's
    #: own default (NIR: the file's rule; snnTorch: subtract).
    reset_mechanism: str | None = None
    #: snnTorch's reset_delay (the reset acts one step after the spike); None: the
    #: source's default (snnTorch: True; otherwise False).
    reset_delay: bool | None = None
    #: With --data: also refit the readout on the training samples (lnp_neuro.deploy.refit).
    refit_readout: bool = False

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}; got {self.model!r}")
        if self.prune not in ("lnp", "ap", "random", "none"):
            raise ValueError(f"prune must be one of lnp, ap, random, none; got {self.prune!r}")
        if self.ap_budget not in AP_BUDGETS:
            raise ValueError(f"ap_budget must be one of {', '.join(AP_BUDGETS)}; got "
                             f"{self.ap_budget!r}")
        if self.random_budget not in RANDOM_BUDGETS:
            raise ValueError(f"random_budget must be one of {', '.join(RANDOM_BUDGETS)}; "
                             f"got {self.random_budget!r}")
        self.input = str(self.input)
        # What a CSV input or lorenz-x (with a built network) chooses on its own training
        # samples; the defaults below stand in until it does
        # (lnp_neuro.deploy.inputs.load_series). A --network graph keeps the defaults:
        # its input count is fixed, so the copies and the code cannot follow a choice.
        chooses = self.input.endswith(".csv") or self.input in CODE_CHOOSING_TASKS
        self._code_to_choose = tuple(
            n for n in CHOSEN_CODE_SETTINGS if getattr(self, n) is None
        ) if chooses and self.network is None else ()
        for name, value in {**_CODE_DEFAULTS,
                            **SERIES_CODE_DEFAULTS.get(self.input, {})}.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.code not in CODES:
            raise ValueError(f"code must be one of {', '.join(CODES)}; got {self.code!r}")
        if self.scaling not in SERIES_SCALINGS:
            raise ValueError(f"scaling must be one of {', '.join(SERIES_SCALINGS)}; got "
                             f"{self.scaling!r}")
        if self.input not in SERIES_INPUTS + MEMORY_TASKS + ("poisson",) \
                and not self.input.endswith(".csv"):
            raise ValueError(f"input must be one of {', '.join(SERIES_INPUTS + MEMORY_TASKS)}, "
                             f"'poisson' or a .csv file, got {self.input!r}")
        if self.input.endswith(".csv"):
            # Missing, a folder, a FIFO or a device: each said as what it is.
            check_csv_path(self.input)
        for name in ("neurons", "clusters", "iterations", "steps", "copies",
                     "steps_per_sample", "task_samples", "horizon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.vpt_starts, bool) or not isinstance(self.vpt_starts,
                                                               (int, np.integer)) \
                or self.vpt_starts < 0:
            raise ValueError(f"vpt_starts must be a non-negative integer, got "
                             f"{self.vpt_starts!r}")
        for name in ("density", "rate", "target_density"):
            value = float(getattr(self, name))
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if float(self.target_density) > float(self.density) and self.network is None:
            raise ValueError(f"target_density (--target-density {self.target_density}) is "
                             f"above the built network's density (--density "
                             f"{self.density}): pruning cannot add synapses")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or not 0 <= self.seed < 2 ** 63:
            raise ValueError(f"seed (--seed) must be a whole number in [0, 2**63), got "
                             f"{self.seed!r}")
        if self.horizon != 1 and self.input != "lorenz-x":
            raise ValueError(f"horizon (--horizon {self.horizon}) applies to --input lorenz-x "
                             f"only, not --input {self.input}")
        if self.network is None and self.neurons < 2:  # the builders' own minimum
            raise ValueError(f"neurons (--neurons {self.neurons}) must be at least 2: a "
                             f"recurrent network needs two neurons")
        if self.network is None and self.model == "chrsnn" and self.clusters > self.neurons:
            raise ValueError(f"clusters (--clusters {self.clusters}) must not exceed the "
                             f"neurons (--neurons {self.neurons}): a cluster needs a neuron")
        if self.network is None and self.input != "poisson" and self.neurons < ESN_MIN_UNITS:
            raise ValueError(f"neurons (--neurons {self.neurons}) must be at least "
                             f"{ESN_MIN_UNITS} for a task input: the echo-state reference "
                             f"has as many units (use --input poisson for no task)")
        if self.mapping not in STRATEGIES:
            raise ValueError(f"mapping must be one of {', '.join(STRATEGIES)}; got "
                             f"{self.mapping!r}")
        if self.prune_populations is not None:
            names = ([self.prune_populations] if isinstance(self.prune_populations, str)
                     else list(self.prune_populations))
            if not names or not all(isinstance(n, str) and n for n in names):
                raise ValueError(f"prune_populations (--prune-populations) must be population "
                                 f"names, got {self.prune_populations!r}")
            if self.prune != "lnp":
                raise ValueError("--prune-populations applies to --prune lnp only")
            self.prune_populations = tuple(names)
        self.out = Path(self.out)
        self.nir_portable = bool(self.nir_portable)
        if self.network is not None:
            self.network = Path(self.network)
        self._check_data()
        self._check_source_reset()
        if self.dt is not None:
            dt = float(self.dt)
            if not np.isfinite(dt) or dt <= 0:
                raise ValueError(f"dt (--dt) must be a positive number of seconds, got {self.dt!r}")
            if self.network is None or self.network.suffix != ".nir":
                raise ValueError("--dt applies only to a --network .nir graph (one that stores no dt)")
            self.dt = dt



    @property
    def code_to_choose(self) -> tuple:
        """The code settings (:data:`CHOSEN_CODE_SETTINGS`) left to the choice on the
        series' training samples: those a CSV or ``lorenz-x`` run with a built network was
        not given."""
        return getattr(self, "_code_to_choose", ())

    def code_chosen(self, settings: dict) -> None:
        """Take the chosen code settings (only those left to choose)."""
        for name in self.code_to_choose:
            setattr(self, name, settings[name])
        self._code_to_choose = ()

    def _check_source_reset(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"--source must be one of {', '.join(SOURCES)}, got "
                             f"{self.source!r}")
        if self.reset_delay is not None:
            self.reset_delay = bool(self.reset_delay)
        given = [flag for flag, value in (("--source", self.source != "nir"),
                                          ("--reset-mechanism", self.reset_mechanism),
                                          ("--reset-delay", self.reset_delay is not None))
                 if value]
        if not given:
            return
        if self.network is None or self.network.suffix != ".nir":
            raise ValueError(f"{given[0]} applies only to a --network .nir graph")
        if self.reset_mechanism is not None and self.reset_mechanism not in RESET_MECHANISMS:
            raise ValueError(f"--reset-mechanism must be one of "
                             f"{', '.join(RESET_MECHANISMS)}; got {self.reset_mechanism!r}")
        if self.reset_delay and self.reset_mechanism is None and self.source != "snntorch":
            raise ValueError("--reset-delay needs --reset-mechanism (or --source snntorch): "
                             "the file does not say how its neurons reset")

    def _check_data(self) -> None:
        """``--data`` needs a --network graph (a built reservoir has no output population);
        ``--reference-accuracy`` needs ``--data`` and is a fraction."""
        if self.data is not None:
            self.data = Path(self.data)
            if self.network is None:
                raise ValueError("--data applies to a --network .nir graph with an output "
                                 "population; a built reservoir has none")
        self.refit_readout = bool(self.refit_readout)
        if self.refit_readout and self.data is None:
            raise ValueError("--refit-readout applies with --data only (its 'train' samples)")
        if self.reference_accuracy is not None:
            value = float(self.reference_accuracy)
            if self.data is None:
                raise ValueError("--reference-accuracy applies with --data only")
            if not 0 <= value <= 1:
                raise ValueError(f"reference_accuracy (--reference-accuracy) must be in "
                                 f"[0, 1], got {self.reference_accuracy!r}")
            self.reference_accuracy = value
