"""Defaults of the starting networks that code outside :mod:`lnp_neuro.model.build` needs.

:func:`lnp_neuro.model.build.chrsnn` takes its default wiring probabilities from here, and
:func:`lnp_neuro._util.limits.expected_synapses` reads the same numbers to estimate a CHRSNN's
synapse count before building it, without importing the models (which import the
network, which imports the limits: the dependency points one way, into this module).
"""

from __future__ import annotations

__all__ = ["CHRSNN_INTRA_DENSITY", "CHRSNN_INTER_DENSITY"]

#: Default probability of a synapse inside a CHRSNN cluster.
CHRSNN_INTRA_DENSITY = 0.2
#: Default probability of a synapse between two CHRSNN clusters.
CHRSNN_INTER_DENSITY = 0.01
