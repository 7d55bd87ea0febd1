"""lnp_neuro.engines.lava.compat: Lava 0.10.0 imports and runs on Python 3.11, files untouched."""

import base64
import hashlib
import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from lnp_neuro.engines.lava import compat as lava_compat
from lnp_neuro.engines.lava.compat import (LavaCompatError, ensure_lava,
                                           patch_multiprocessing_source, patch_var_model_source)


def _installed(rel_path: str) -> Path:
    dist = importlib.metadata.distribution("lava-nc")
    return Path(dist.locate_file(rel_path))


def _record_hash(rel_path: str) -> str:
    dist = importlib.metadata.distribution("lava-nc")
    for f in dist.files:
        if str(f) == rel_path:
            return f.hash.value
    raise AssertionError(f"{rel_path} not in lava-nc RECORD")


def _sha256_b64(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


VAR_MODEL = "lava/magma/compiler/var_model.py"
MP_MODULE = "lava/magma/runtime/message_infrastructure/multiprocessing.py"


def test_lava_imports_and_encoders_get_default_factories():
    assert ensure_lava() == "0.10.0"
    from lava.magma.compiler import var_model
    a, b = var_model.CoreEncoder(), var_model.CoreEncoder()
    assert a.x == var_model.ByteEncoder(0, 0, 0)
    assert a.x is not b.x  # one ByteEncoder per instance, not a shared default
    assert var_model.AxonEncoder().hi is not var_model.AxonEncoder().hi
    assert var_model.ChipEncoder().z == var_model.ByteEncoder()


def test_installed_files_are_unchanged():
    ensure_lava()
    import lava.magma.compiler.var_model  # noqa: F401  (patched in memory only)
    for rel in (VAR_MODEL, MP_MODULE):
        assert _sha256_b64(_installed(rel)) == _record_hash(rel)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the defect exists only on 3.11+")
def test_unpatched_var_model_fails_on_this_python_and_patch_fixes_exactly_8_fields():
    source = _installed(VAR_MODEL).read_text()
    ensure_lava()
    import lava.magma.compiler.var_model as vm

    # The released source really fails here (this is why the module exists) ...
    namespace = dict(vm.__dict__)
    with pytest.raises(ValueError, match="mutable default"):
        exec(compile(source, "var_model.py", "exec"), namespace)
    # ... and the rewrite touches exactly the eight encoder fields.
    _, rewritten = patch_var_model_source(source)
    assert sorted(rewritten) == sorted(["CoreEncoder.x", "CoreEncoder.y", "CoreEncoder.p",
                                        "ChipEncoder.x", "ChipEncoder.y", "ChipEncoder.z",
                                        "AxonEncoder.hi", "AxonEncoder.lo"])


def test_patch_refuses_an_unexpected_source():
    source = _installed(VAR_MODEL).read_text()
    changed = source.replace("    lo: ByteEncoder = ByteEncoder()\n", "    lo: int = 0\n")
    assert changed != source
    with pytest.raises(LavaCompatError, match="AxonEncoder.lo"):
        patch_var_model_source(changed)
    mp_source = _installed(MP_MODULE).read_text()
    patch_multiprocessing_source(mp_source)
    with pytest.raises(LavaCompatError, match="set_start_method"):
        patch_multiprocessing_source(mp_source.replace("mp.set_start_method('fork')", "pass"))


def test_unknown_lava_version_is_a_loud_error(monkeypatch):
    monkeypatch.setattr(lava_compat, "lava_version", lambda: "0.9.0")
    with pytest.raises(LavaCompatError, match=r"lava-nc 0\.9\.0.*Python 3\.\d+"):
        ensure_lava()


def test_python_310_needs_no_dataclass_patch():
    assert lava_compat.PATCHED_MODULE not in lava_compat._required_patches((3, 10))
    assert lava_compat.PATCHED_MODULE in lava_compat._required_patches((3, 11))
    assert lava_compat.PATCHED_MP_MODULE in lava_compat._required_patches((3, 10))


def _run_fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])


def test_lava_imports_after_a_tqdm_bar_and_refuses_spawn():
    # A tqdm bar fixes the default multiprocessing context; released Lava then fails at
    # import with "context has already been set".
    ok = _run_fresh("""
        from tqdm import tqdm
        tqdm(total=1, disable=True).close()
        from lnp_neuro.engines.lava.compat import ensure_lava
        ensure_lava()
        import multiprocessing as mp
        from lava.proc.lif.process import LIF
        from lava.magma.core.run_configs import Loihi2SimCfg
        print(mp.get_start_method())
    """)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "fork"
    spawn = _run_fresh("""
        import multiprocessing as mp
        mp.set_start_method("spawn")
        from lnp_neuro.engines.lava.compat import ensure_lava
        ensure_lava()
        from lava.proc.lif.process import LIF
    """)
    assert spawn.returncode != 0
    assert "LavaCompatError" in spawn.stderr and "'spawn'" in spawn.stderr


def _two_neuron_chain(tag: str):
    """Neuron 0 integrates a bias and fires every 3rd step; it drives neuron 1 through a
    Sparse synapse strong enough to fire it, with du = dv = 'full decay' so that neuron 1
    is a pure relay. Expected (analytic): s0 at t = 2, 5, 8, ...; s1 one step later."""
    ensure_lava()
    from lava.proc.lif.process import LIF
    from lava.proc.sparse.process import Sparse
    if tag == "floating_pt":
        driver = LIF(shape=(1,), du=0.0, dv=0.0, bias_mant=1.0, vth=2.5)
        relay = LIF(shape=(1,), du=1.0, dv=1.0, bias_mant=0.0, vth=5.0)
        syn = Sparse(weights=sp.csr_matrix(np.array([[10.0]])))
    else:
        # Integers: bias 64 per step against an effective threshold 2 << 6 = 128; the
        # relay's current decays completely (du + 1 = 4096) and its input 10 << 6 = 640
        # exceeds 5 << 6 = 320.
        driver = LIF(shape=(1,), du=0, dv=0, bias_mant=64, bias_exp=0, vth=2)
        relay = LIF(shape=(1,), du=4095, dv=4095, bias_mant=0, vth=5)
        syn = Sparse(weights=sp.csr_matrix(np.array([[10]])), weight_exp=0)
    driver.s_out.connect(syn.s_in)
    syn.a_out.connect(relay.a_in)
    return driver, relay


@pytest.mark.parametrize("tag", ["floating_pt", "fixed_pt"])
def test_lif_sparse_network_runs_under_loihi2simcfg(tag):
    driver, relay = _two_neuron_chain(tag)
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.monitor.process import Monitor
    steps = 12
    mon0, mon1 = Monitor(), Monitor()
    mon0.probe(driver.s_out, steps)
    mon1.probe(relay.s_out, steps)
    try:
        relay.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag=tag))
        s0 = np.asarray(mon0.get_data()[driver.name]["s_out"]).ravel()
        s1 = np.asarray(mon1.get_data()[relay.name]["s_out"]).ravel()
    finally:
        relay.stop()
    expected0 = np.zeros(steps)
    expected0[2::3] = 1
    expected1 = np.zeros(steps)
    expected1[3::3] = 1
    np.testing.assert_array_equal(s0, expected0)
    np.testing.assert_array_equal(s1, expected1)
