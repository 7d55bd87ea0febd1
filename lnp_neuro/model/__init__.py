"""The core model: a graph of populations (design section 1).

:class:`Population` (neurons of one kind), :class:`Projection` (sparse synapses with a
delay), :class:`Graph` (inputs, populations, projections, outputs) and the flat layout the
engines run (:func:`flatten`). Today's reservoir is a graph with one recurrent population
(:func:`from_network`).
"""

from .flat import FlatLayout, flatten, from_network, to_network
from .graph import Graph
from .population import NEURON_KINDS, RESETS, Population
from .projection import Projection

__all__ = ["Population", "Projection", "Graph", "FlatLayout", "flatten", "from_network",
           "to_network", "NEURON_KINDS", "RESETS"]
