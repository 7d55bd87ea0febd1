"""NIR graphs of any number of populations as :class:`~lnp_neuro.model.Graph` (read / write).

:func:`graph_from_nir` converts a NIR graph node by node (one converter per node kind),
:func:`graph_to_nir` writes a graph back losslessly, :func:`read_graph` /
:func:`write_graph` do the same for files. The one-population reservoir format of
:mod:`lnp_neuro.nir.reservoir_files` is unchanged beside it.
"""

from .export import GRAPH_FORMAT_VERSION, graph_to_nir
from .files import read_graph, write_graph
from .import_graph import IMPORT_METADATA_KEY, graph_from_nir

__all__ = ["graph_from_nir", "graph_to_nir", "read_graph", "write_graph",
           "GRAPH_FORMAT_VERSION", "IMPORT_METADATA_KEY"]
