"""Lava processes of our own (import only after :func:`lnp_neuro.engines.lava.compat.ensure_lava`).

They live in their own sub-package because Lava's compiler, to find the process models of
a process, executes every module in the directory of the process's module
(``lava.magma.compiler.compiler_graphs.ProcGroupDiGraphs._find_proc_models``): here that
directory holds only our processes (``spike_recorder``, ``lif_reset``), each module
importing only numpy and Lava.
"""
