"""The deployment job behind ``lnp-deploy``: network -> pruning -> target run -> report.

Steps (each logged, long ones with a progress bar):

1. resolve the target (``targets/``) and its hardware profile; refuse early when the target
   cannot run here or the output folder exists and ``force`` is not set;
2. load the network (``.nir`` through :mod:`lnp_neuro.nir.reservoir_files`, ``.npz``) or build one
   (HRSNN / CHRSNN, design section 1);
3. build the drive: rate-encoded Lorenz-63 (design section 4, the on/off channel pair per
   dimension) or Poisson spikes;
4. prune: LNP (task-agnostic), AP (activity pruning on the drive, budget ``ap_budget``:
   the paper's rule, LNP's neuron count or LNP's SOPs), random (the starting network
   rewired as an Erdos-Renyi graph with the counts LNP reaches, or, with
   ``random_budget="sops"``, thinned at random until its SOPs on the drive reach LNP's),
   or none; one
   implementation of each baseline (:mod:`lnp_neuro.prune.baselines`);
5. compact the pruned network to its active neurons and synapses and write it as
   ``network.nir`` (the original neuron ids in its metadata); read that file back: the
   graph read from it is the hand-over, and every engine runs it
   (:class:`lnp_neuro.engines.base.DeployedNetwork`);
6. run the unpruned network on the native simulator (the SOP baseline, same input) and
   the deployed graph on the target's engine and on an independent reference engine
   (:mod:`lnp_neuro.engines.base`: numba against numpy, Lava and norse against native), and
   count the spike mismatches (``parity``, ``parity_reference``);
7. place the deployed network on cores (:mod:`lnp_neuro.hardware.mapping`) and price the run on
   every hardware profile (:mod:`lnp_neuro.hardware.energy`);
8. write ``run.npz``, ``analysis.npz``, ``report.json`` (a
   :class:`lnp_neuro.report.record.RunRecord`), ``report.html`` and ``report.md``.

Modules, in the order of the flow: :mod:`~lnp_neuro.deploy.flags` (the command line's
parser, which :func:`lnp_neuro.run_deployment` shares), :mod:`~lnp_neuro.deploy.options`
(the options it makes, checked),
:mod:`~lnp_neuro.deploy.inputs` (steps 2-3), :mod:`~lnp_neuro.deploy.pruning` (4),
:mod:`~lnp_neuro.deploy.handover` (5), :mod:`~lnp_neuro.deploy.measure` (stability,
activity, task) and :mod:`~lnp_neuro.deploy.run` (the stages in order).
"""

from .handover import hand_over, hand_over_graph, population_summary
from .inputs import (build_network, check_build_size, load_network, load_series, make_input,
                     series_inputs)
from .measure import DEFAULT_SPECTRUM, VPT_HORIZON, activity, score_task, stability
from .options import RANDOM_BUDGETS, SERIES_CODE_DEFAULTS, DeployOptions
from .pruning import activity_prune_on_input, drive_targets, prune_network
from .run import OUTPUT_FILES, run_deploy

__all__ = ["DeployOptions", "run_deploy", "DEFAULT_SPECTRUM", "OUTPUT_FILES",
           "check_build_size", "RANDOM_BUDGETS", "SERIES_CODE_DEFAULTS", "VPT_HORIZON",
           "load_network", "build_network", "load_series", "series_inputs", "make_input",
           "prune_network", "activity_prune_on_input", "drive_targets", "hand_over",
           "hand_over_graph", "population_summary", "activity", "score_task", "stability"]
