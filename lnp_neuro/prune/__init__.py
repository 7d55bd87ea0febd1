"""Lyapunov Noise Pruning (Chakraborty et al., ICLR 2024) and its baselines.

Step I   noise pruning of synapses ........ :mod:`.noise`, :mod:`.covariance`, :mod:`.lyapunov_matrix`
Step II  node pruning by betweenness ...... :mod:`.betweenness`
Step III eigenvector delocalisation ....... :mod:`.delocalize`
Step IV  timescale optimisation (BO) ...... :mod:`.timescales`
Pipeline (steps I-IV, ablations) .......... :mod:`.pipeline`
Per population of a graph ................. :mod:`.graph`
Baselines (activity pruning, random) ..... :mod:`.baselines`

See ``docs/algorithm.md`` for the map from every function to the paper.
"""

from .baselines import (AP_BUDGETS, APBudget, activity_prune, activity_prune_on_task,
                        drive_sops, keeps_performance, random_network_like)
from .betweenness import (BetweennessPruneInfo, betweenness_centrality, betweenness_prune,
                          lowest_quantile, network_betweenness)
from .covariance import (CovarianceEstimate, UnstableNetworkError, covariance_at_edges,
                         spectral_abscissa, stationary_covariance)
from .delocalize import (DelocalizeInfo, delocalize, inverse_participation_ratio,
                         local_degree_variance, mean_ipr)
from .lyapunov_matrix import lyapunov_matrix, neighbourhood_harmonic_mean
from .noise import (NoisePruneInfo, UnstableNetworkWarning, keep_probability, noise_prune,
                    noise_scores, random_prune, rho_for_density, rho_for_keep_count)
from .graph import lnp_graph
from .pipeline import STEPS, delocalize_network, lnp, noise_prune_network
from .timescales import lyapunov_objective, optimize_timescales, wasserstein_gamma

__all__ = [
    "AP_BUDGETS", "APBudget", "activity_prune", "activity_prune_on_task", "drive_sops",
    "keeps_performance", "random_network_like",
    "BetweennessPruneInfo", "betweenness_centrality", "betweenness_prune", "lowest_quantile",
    "network_betweenness",
    "CovarianceEstimate", "UnstableNetworkError", "covariance_at_edges", "spectral_abscissa",
    "stationary_covariance",
    "DelocalizeInfo", "delocalize", "inverse_participation_ratio", "local_degree_variance",
    "mean_ipr",
    "lyapunov_matrix", "neighbourhood_harmonic_mean",
    "NoisePruneInfo", "UnstableNetworkWarning", "keep_probability", "noise_prune",
    "noise_scores",
    "random_prune", "rho_for_density", "rho_for_keep_count",
    "STEPS", "delocalize_network", "lnp", "lnp_graph", "noise_prune_network",
    "lyapunov_objective", "optimize_timescales", "wasserstein_gamma",
]
