"""Make lava-nc 0.10.0 importable on Python 3.11 without editing the installed files.

Lava fails at import for two reasons (docs/interop.md, "Lava"), both fixed in memory:

- three dataclasses of ``lava/magma/compiler/var_model.py`` give their ``ByteEncoder``
  fields an *instance* as default, which Python 3.11 rejects. :func:`ensure_lava` installs
  a meta-path finder that intercepts the import of that one module, parses its source,
  turns exactly those eight fields into ``field(default_factory=ByteEncoder)`` and executes
  the result as the module. Nothing on disk changes and no bytecode is written; every other
  Lava module loads normally. The only difference is that each encoder gets its own
  ``ByteEncoder`` instead of sharing one, which is what the authors meant.
- ``lava/magma/runtime/message_infrastructure/multiprocessing.py`` sets the 'fork' start
  method at import, which fails whenever the default multiprocessing context was already
  set. That one call is replaced by :func:`_lava_set_fork_start_method`, which sets 'fork'
  when nothing is set yet, accepts 'fork' when already set, and raises a clear error for
  any other start method. This patch is applied on every Python version, because the
  defect is not version bound.

Every module of this project that imports Lava calls :func:`ensure_lava` first::

    from lnp_neuro.engines.lava.compat import ensure_lava
    ensure_lava()
    from lava.proc.lif.process import LIF

Lava's CPU runtime starts its process models with ``fork``, so the children inherit the
patched module.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.abc
import importlib.machinery
import importlib.metadata
import multiprocessing
import sys
import tokenize
from typing import Sequence

__all__ = ["ensure_lava", "lava_version", "patch_var_model_source",
           "patch_multiprocessing_source", "LavaCompatError", "KNOWN_LAVA_VERSIONS",
           "PATCHED_MODULE", "PATCHED_MP_MODULE"]

#: lava-nc versions whose var_model.py this module knows how to fix.
KNOWN_LAVA_VERSIONS: tuple[str, ...] = ("0.10.0",)
#: The one module that is rewritten at import time.
PATCHED_MODULE = "lava.magma.compiler.var_model"
#: Lava's message infrastructure module whose set_start_method call is made tolerant.
PATCHED_MP_MODULE = "lava.magma.runtime.message_infrastructure.multiprocessing"
_ENCODER_FIELDS = {"CoreEncoder": ("x", "y", "p"),
                   "ChipEncoder": ("x", "y", "z"),
                   "AxonEncoder": ("hi", "lo")}
# Name under which dataclasses.field is injected into the patched module's namespace;
# deliberately unlikely to collide with anything Lava defines.
_FIELD_ALIAS = "_lnp_neuro_compat_field"
_FORK_ALIAS = "_lnp_neuro_compat_set_fork"


class LavaCompatError(ImportError):
    """Lava is missing, of an unknown version, or its source is not the one expected."""


def _python_version() -> tuple[int, int]:
    return sys.version_info[:2]


def lava_version() -> str:
    """Installed lava-nc version (from the distribution metadata, without importing)."""
    try:
        return importlib.metadata.version("lava-nc")
    except importlib.metadata.PackageNotFoundError:
        raise LavaCompatError(
            "lava-nc is not installed; install lava-nc==0.10.0 into the project venv "
            "(.venv/bin/pip install lava-nc==0.10.0)") from None


class _DefaultFactoryRewriter(ast.NodeTransformer):
    """Rewrite ``name: ByteEncoder = ByteEncoder()`` to a default factory, in the 3 classes."""

    def __init__(self) -> None:
        self.rewritten: list[str] = []
        self._class: str | None = None

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        if node.name not in _ENCODER_FIELDS:
            return node
        self._class = node.name
        self.generic_visit(node)
        self._class = None
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AnnAssign:
        value = node.value
        if (self._class is not None and isinstance(node.target, ast.Name)
                and isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                and not value.args and not value.keywords):
            factory = ast.Name(id=value.func.id, ctx=ast.Load())
            node.value = ast.Call(
                func=ast.Name(id=_FIELD_ALIAS, ctx=ast.Load()), args=[],
                keywords=[ast.keyword(arg="default_factory", value=factory)])
            ast.copy_location(node.value, value)
            ast.fix_missing_locations(node.value)
            self.rewritten.append(f"{self._class}.{node.target.id}")
        return node


def patch_var_model_source(source: str, filename: str = "<var_model>"):
    """Compile ``source`` with the encoder defaults turned into default factories.

    Returns ``(code, rewritten)`` where ``rewritten`` lists ``Class.field`` names. The
    compiled code expects ``dataclasses.field`` under the name ``_lnp_neuro_compat_field``
    in its globals. Raises :class:`LavaCompatError` unless exactly the eight known fields
    (CoreEncoder x/y/p, ChipEncoder x/y/z, AxonEncoder hi/lo) were rewritten, so a changed
    Lava source is reported instead of half patched. Line numbers are preserved.
    """
    tree = ast.parse(source, filename=filename)
    rewriter = _DefaultFactoryRewriter()
    tree = rewriter.visit(tree)
    expected = sorted(f"{c}.{f}" for c, fields in _ENCODER_FIELDS.items() for f in fields)
    if sorted(rewriter.rewritten) != expected:
        raise LavaCompatError(
            f"{filename}: expected to rewrite the instance defaults {expected}, found "
            f"{sorted(rewriter.rewritten)}; this Lava source is not the one lnp_neuro.engines.lava.compat "
            f"knows (lava-nc {', '.join(KNOWN_LAVA_VERSIONS)})")
    code = compile(tree, filename, "exec", dont_inherit=True)
    return code, rewriter.rewritten


def _lava_set_fork_start_method(method: str = "fork") -> None:
    """What Lava's ``mp.set_start_method('fork')`` means, without its spurious error."""
    current = multiprocessing.get_start_method(allow_none=True)
    if current is None:
        multiprocessing.set_start_method(method)
    elif current != method:
        raise LavaCompatError(
            f"Lava's CPU runtime needs the multiprocessing start method {method!r}, but this "
            f"program already set {current!r}; import Lava (lnp_neuro.engines.lava.compat.ensure_lava "
            f"and a lava module) before choosing another start method")


class _ForkCallRewriter(ast.NodeTransformer):
    def __init__(self) -> None:
        self.rewritten = 0

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "set_start_method"
                and isinstance(func.value, ast.Name) and func.value.id == "mp"
                and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == "fork" and not node.keywords):
            node.func = ast.copy_location(ast.Name(id=_FORK_ALIAS, ctx=ast.Load()), func)
            self.rewritten += 1
        return node


def patch_multiprocessing_source(source: str, filename: str = "<multiprocessing>"):
    """Compile Lava's multiprocessing module with its ``mp.set_start_method('fork')`` call
    routed to :func:`_lava_set_fork_start_method` (expected in the globals under
    ``_lnp_neuro_compat_set_fork``). Raises :class:`LavaCompatError` unless exactly one
    such call was found. Returns ``(code, n_rewritten)``.
    """
    tree = ast.parse(source, filename=filename)
    rewriter = _ForkCallRewriter()
    tree = ast.fix_missing_locations(rewriter.visit(tree))
    if rewriter.rewritten != 1:
        raise LavaCompatError(
            f"{filename}: expected one mp.set_start_method('fork') call, found "
            f"{rewriter.rewritten}; this Lava source is not the one lnp_neuro.engines.lava.compat "
            f"knows (lava-nc {', '.join(KNOWN_LAVA_VERSIONS)})")
    return compile(tree, filename, "exec", dont_inherit=True), rewriter.rewritten


def _exec_var_model(code_source: str, origin: str, namespace: dict) -> None:
    code, _ = patch_var_model_source(code_source, origin)
    namespace[_FIELD_ALIAS] = dataclasses.field
    exec(code, namespace)


def _exec_multiprocessing(code_source: str, origin: str, namespace: dict) -> None:
    code, _ = patch_multiprocessing_source(code_source, origin)
    namespace[_FORK_ALIAS] = _lava_set_fork_start_method
    exec(code, namespace)


class _PatchedSourceLoader(importlib.abc.Loader):
    """Executes a module from its patched source; never writes bytecode."""

    def __init__(self, origin: str, execute) -> None:
        self.origin = origin
        self._execute = execute

    def create_module(self, spec):
        return None  # default module creation

    def exec_module(self, module) -> None:
        # tokenize.open honours a PEP 263 coding cookie, like the normal source loader.
        with tokenize.open(self.origin) as fh:
            source = fh.read()
        self._execute(source, self.origin, module.__dict__)


class _PatchedLavaFinder(importlib.abc.MetaPathFinder):
    """Finds the patched Lava modules with the normal path machinery, loads them patched."""

    def __init__(self, patches: dict) -> None:
        self.patches = dict(patches)

    def find_spec(self, fullname: str, path: Sequence[str] | None, target=None):
        execute = self.patches.get(fullname)
        if execute is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return None
        spec.loader = _PatchedSourceLoader(spec.origin, execute)
        return spec


def _required_patches(python_version: tuple[int, int]) -> dict:
    """Module name -> patching executor needed on ``python_version``."""
    patches = {PATCHED_MP_MODULE: _exec_multiprocessing}
    if tuple(python_version) >= (3, 11):
        patches[PATCHED_MODULE] = _exec_var_model
    return patches


def _finder_installed() -> bool:
    return any(isinstance(f, _PatchedLavaFinder) for f in sys.meta_path)


def ensure_lava() -> str | None:
    """Make ``import lava`` work in this interpreter; call before importing Lava.

    - Checks that the installed lava-nc is a known version (else raises
      :class:`LavaCompatError` naming it and the Python version).
    - Python >= 3.11: installs, once, the import hook that loads
      ``lava.magma.compiler.var_model`` with default factories. On 3.10 that module is
      left alone (it imports as released).
    - Every version: the same hook makes Lava's ``set_start_method('fork')`` tolerant of
      an already chosen 'fork' start method (module docstring).

    Returns the Lava version. Idempotent and cheap; safe to call from every Lava-using
    module. Modules already imported are not touched.
    """
    version = lava_version()
    if version not in KNOWN_LAVA_VERSIONS:
        py = ".".join(map(str, _python_version()))
        raise LavaCompatError(
            f"lava-nc {version} is installed, but lnp_neuro.engines.lava.compat only knows how to run "
            f"lava-nc {', '.join(KNOWN_LAVA_VERSIONS)} (here on Python {py}); install "
            f"lava-nc==0.10.0 or extend lnp_neuro.engines.lava.compat for {version}")
    if _finder_installed():
        return version
    patches = {name: fn for name, fn in _required_patches(_python_version()).items()
               if name not in sys.modules}
    if patches:
        sys.meta_path.insert(0, _PatchedLavaFinder(patches))
    return version
