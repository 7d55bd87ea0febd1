"""NIR files of a :class:`~lnp_neuro.model.Graph`: read and write.

Reading reuses :func:`lnp_neuro.nir.reservoir_files.read_nir_graph` (nir's type check, with a fallback
and a warning for files that fail it), writing goes through
:func:`lnp_neuro._util.io.atomic_write`, so a failed write never leaves a partial file.
Errors and warnings of the conversion name the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import nir

from .._util.io import atomic_write
from ..model import Graph
from .export import graph_to_nir
from .import_graph import graph_from_nir
from .reservoir_files import _check_nir_path, read_nir_graph

__all__ = ["read_graph", "write_graph"]


def write_graph(graph: Graph, path: str | Path, overwrite: bool = False, *,
                portable: bool = False) -> Path:
    """Write ``graph`` as NIR (:func:`graph_to_nir`) to ``path`` (HDF5, ``.nir``), atomically.

    Refuses to replace an existing file unless ``overwrite`` is True. ``portable``: the
    form without Delay for snnTorch and norse (:mod:`lnp_neuro.nir.portable`).
    """
    path = Path(path)
    _check_nir_path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    nir_graph = graph_to_nir(graph, portable=portable)
    with atomic_write(path) as tmp:
        nir.write(tmp, nir_graph)
    return path


def read_graph(path: str | Path, *, dt: float | None = None, source: str = "nir",
               reset_mechanism: str | None = None, reset_delay: bool | None = None) -> Graph:
    """Read a NIR file (written by :func:`write_graph` or another tool) as a Graph;
    ``dt``, ``source``, ``reset_mechanism`` and ``reset_delay`` as in
    :func:`graph_from_nir`.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for
    one that is not a readable NIR graph or does not map (:func:`graph_from_nir`).
    """
    path = Path(path)
    nir_graph = read_nir_graph(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            graph = graph_from_nir(nir_graph, dt=dt, source=source,
                                   reset_mechanism=reset_mechanism, reset_delay=reset_delay)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    for w in caught:
        warnings.warn(f"{path}: {w.message}", w.category, stacklevel=2)
    return graph
