"""Experiment runner: the paper's comparison grid (Table 2 and the noise-robustness table).

A grid is the product {unpruned, AP, LNP, random} x {HRSNN, CHRSNN} x {BP, STDP} x tasks x
seeds. Every run is independent and deterministic (its seeds derive from the grid seed and
the run's coordinates), produces one JSON row, and can execute in a local process pool or
on a Dask cluster. ``lnp-experiment --out DIR`` writes ``DIR/summary.json`` (all rows),
``DIR/runs/<run>.json`` (each row as it completes), ``DIR/table2.md`` (mean +- std of SOPs,
NRMSE and VPT per pruning / model / training, shaped like the paper's Table 2),
``DIR/noise.md`` (NRMSE at input SNR 50..10 dB, the paper's noise table) and
``DIR/config.json``.

One run (:func:`run_one`), for a prediction task (Lorenz-63, Rossler; design section 4):

1. Data: the task's series with the run seed; one protocol window of the training split
   (``n_train`` = 500 samples to fit, the next ``n_predict`` = 100 to predict,
   :func:`lnp_neuro.tasks.prediction_windows`).
2. Encoding: the series code of ``lnp-deploy``
   (:func:`lnp_neuro.tasks.forecast.encode_series`): each dimension scaled by
   ``series_scaling`` (z-score by default, fitted on the 500 training samples) onto an
   ON/OFF channel pair, then the deterministic staggered population code of
   :mod:`lnp_neuro.tasks.encoding` with ``input_copies`` phase-staggered copies of each
   channel: each sample is held for ``steps_per_sample`` SNN steps and coded on its own
   (error diffusion restarted at every sample), so a closed-loop forecast can encode its
   own predictions exactly as the training data were encoded. One channel resolves
   ``steps_per_sample * max_rate * dt`` intensity levels per sample (4 with the
   defaults); M staggered copies resolve M times more.
3. Network: :func:`lnp_neuro.model.build.build_network` (HRSNN or CHRSNN) with the run seed
   (the same network for every pruning method of one seed, so comparisons are paired),
   then pruning (:mod:`.pruning`): ``unpruned``; ``lnp``
   (:func:`lnp_neuro.prune.pipeline.lnp`, task-agnostic); ``random`` (the start network
   rewired as an Erdos-Renyi graph with the LNP result's neuron and synapse counts,
   :func:`lnp_neuro.prune.baselines.random_network_like`); ``ap`` (activity pruning, Rust
   et al. 1997, :func:`lnp_neuro.prune.baselines.activity_prune_on_task`, the
   implementation ``lnp-deploy`` uses: driven by the task's training input, a ridge
   readout refitted after every round). Runs of one grid share pruning results through a
   :class:`PruneCache` that :func:`run_grid` passes to each of them.
4. Training: ``bp`` (:class:`~lnp_neuro.training.bp.SurrogateGradientBP`: recurrent,
   input and readout weights) or ``stdp`` (:class:`~lnp_neuro.training.stdp.STDPTrainer`:
   STDP on the recurrent layer, then the readout). The 500 training samples are cut into
   windows of ``washout + window`` samples (targets only after the washout); the readout
   predicts the next sample at the last SNN step of every sample, on standardised targets.
5. Evaluation, after a warm-up on the last ``warmup`` training samples:
   ``nrmse``: open-loop (teacher-forced) one-step-ahead NRMSE over the 100 test samples;
   ``vpt``: valid prediction time (Vlachas et al. 2020, epsilon 0.1) of the CLOSED-LOOP
   forecast (predictions fed back as input), in samples (``vpt_lyapunov``: in Lyapunov
   times where the exponent is known; ``vpt_eps05``: the same at epsilon 0.5);
   ``nrmse_closed_loop`` of that forecast;
   ``nrmse_snr``: open-loop NRMSE when Gaussian noise of the given SNR (dB, relative to
   each dimension's variance over the training samples) is added to the test input;
   ``sops``: synaptic operations of the recurrent layer during the open-loop test
   presentation, AND-mask model (:func:`lnp_neuro.hardware.energy.count_sops`).

For the image task (``digits``, scikit-learn's 8x8 digits) rows carry ``accuracy`` on the
held-out images instead of NRMSE/VPT; images are presented as Poisson spike trains
(``image_t_input`` then ``image_t_silence``) and classified from the time-averaged readout
features.

The defaults are ``lnp-deploy``'s network, code and LNP schedule (N = 1000, 4 LNP
iterations) with few training epochs, below the paper's 5000-neuron, 100-iteration
setting; ``docs/results.md`` states what was run.

Modules: :mod:`.config` (axes, :class:`RunSpec`, :class:`ExperimentConfig`, :func:`grid`,
seeds), :mod:`.protocol` (data, encoding, training, evaluation), :mod:`.pruning` (step 3
and :class:`PruneCache`), :mod:`.runner` (:func:`run_one`, :func:`run_grid` and its
executors), :mod:`.tables` (summaries, Markdown tables, output files) and :mod:`.cli`
(``lnp-experiment``).
"""

from .cli import code_fingerprint, main
from .config import (MODELS, PREDICTION_TASKS, PRUNINGS, SNR_DB, TASKS, TRAININGS,
                     ExperimentConfig, RunSpec, grid)
from .protocol import population_rate_code
from .pruning import PruneCache
from .runner import run_grid, run_one
from .tables import format_noise_table, format_table2, summarize, write_outputs

__all__ = ["PRUNINGS", "MODELS", "TRAININGS", "TASKS", "PREDICTION_TASKS", "SNR_DB",
           "RunSpec", "ExperimentConfig", "PruneCache", "population_rate_code", "grid",
           "run_one", "run_grid", "summarize", "format_table2", "format_noise_table",
           "write_outputs", "code_fingerprint", "main"]
