"""Lava processes of our own (import only after :func:`lnp_neuro.lava_compat.ensure_lava`).

They live in their own sub-package because Lava's compiler, to find the process models of
a process, executes every module in the directory of the process's module
(``lava.magma.compiler.compiler_graphs.ProcGroupDiGraphs._find_proc_models``): here that
directory holds nothing else.
"""
