"""Issue 11: interrupts, full disks, concurrent runs, absurd sizes, hostile files, environment.

Each test reproduces one case measured on the code before the fix (see the issue) and
checks the new behaviour. Subprocess tests run the real console entry points.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lnp_neuro
from lnp_neuro.deploy import cli

# The checkout whose lnp_neuro is under test (subprocesses must run the same code).
ROOT = Path(lnp_neuro.__file__).resolve().parents[1]
MANIFEST_NAME = ".lnp-manifest.json"
SMALL = ["--target", "cpu", "--neurons", "60", "--steps", "60", "--iterations", "1",
         "--quiet"]


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _deploy_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "lnp_neuro.deploy.cli", *args]


def _run(cmd, timeout=300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=kw.pop("env", _env()), **kw)


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


# --------------------------------------------------------------------------- signals
def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _start_lava_run(out: Path) -> subprocess.Popen:
    # stderr goes to a file, not a pipe: orphaned workers would hold a pipe open forever.
    with open(out.parent / "stderr.txt", "w") as err:
        proc = subprocess.Popen(
            _deploy_cmd("--target", "loihi-sim", "--neurons", "40", "--steps", "200000",
                        "--prune", "none", "--quiet", "--out", str(out)),
            env=_env(PYTHONFAULTHANDLER=1), stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True)
    deadline = time.monotonic() + 120
    # Lava's runtime forks one worker per process model (>= 5 for this graph).
    while len(_children(proc.pid)) < 5:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail("the Lava run did not start: "
                        + (out.parent / "stderr.txt").read_text())
        time.sleep(0.1)
    time.sleep(1.0)  # let the run get under way
    return proc


def _wait_group_empty(pgid: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # never leave anything behind, even when the test fails
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.lava
@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_lava_run_stops_cleanly(tmp_path, sig, code):
    pytest.importorskip("lava", exc_type=ImportError)
    out = tmp_path / "out"
    proc = _start_lava_run(out)
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGABRT)  # faulthandler: every thread's stack to stderr
        proc.wait()
        _wait_group_empty(proc.pid, 5)
        pytest.fail(f"no exit within 10 s of {sig.name}:\n"
                    + (tmp_path / "stderr.txt").read_text()[-6000:])
    left = _wait_group_empty(proc.pid, 10)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == code, stderr
    assert f"interrupted by {sig.name}" in stderr and "Traceback" not in stderr
    assert left == []
    assert not out.exists() and _leftovers(tmp_path, "out") == []


@pytest.mark.lava
@pytest.mark.slow
def test_lava_workers_die_with_a_sigkilled_parent(tmp_path):
    pytest.importorskip("lava", exc_type=ImportError)
    proc = _start_lava_run(tmp_path / "out")
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _wait_group_empty(proc.pid, 10) == [], f"orphaned workers of {workers}"


# ------------------------------------------------------------------ output folder
def _simulated_full_disk(monkeypatch):
    import lnp_neuro.deploy.run as deploy_run

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    # the first write after network.nir, run.npz, analysis.npz and report.json
    monkeypatch.setattr(deploy_run, "write_report", full)


def test_full_disk_leaves_nothing_that_claims_success(tmp_path, monkeypatch, capsys):
    _simulated_full_disk(monkeypatch)
    out = tmp_path / "out"
    assert cli.main([*SMALL, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert not out.exists() and _leftovers(tmp_path, "out") == []
    monkeypatch.undo()
    assert cli.main([*SMALL, "--out", str(out)]) == 0  # no --force needed afterwards
    assert (out / "report.html").is_file()


def test_full_disk_over_a_forced_earlier_run_keeps_it(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert cli.main([*SMALL, "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _simulated_full_disk(monkeypatch)
    assert cli.main([*SMALL, "--seed", "5", "--out", str(out), "--force"]) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/proc/mounts").exists(),
                    reason="mounting a tmpfs needs root")
def test_real_full_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mnt)],
                      capture_output=True).returncode:
        pytest.skip("tmpfs mount not permitted here")
    try:
        res = _run(_deploy_cmd(*SMALL, "--out", str(mnt / "out")))
        assert res.returncode == 1, res.stderr
        assert "No space left on device" in res.stderr and "Traceback" not in res.stderr
        assert sorted(p.name for p in mnt.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_two_runs_into_one_new_out(tmp_path):
    out = tmp_path / "out"
    procs = [subprocess.Popen(_deploy_cmd(*SMALL, "--seed", str(seed), "--out", str(out)),
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for seed in (1, 2)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "another run is writing" in loser and "Traceback" not in loser
    winner_seed = 1 if results[0][0] == 0 else 2
    report = json.loads((out / "report.json").read_text())
    assert report["options"]["seed"] == winner_seed
    assert _leftovers(tmp_path, "out") == []


def test_lock_is_released_and_refuses_while_held(tmp_path):
    from lnp_neuro._util.output_folder import OutputFolder
    out = tmp_path / "o"
    with OutputFolder(out) as staging:
        (staging / "a.txt").write_text("1")
        with pytest.raises(FileExistsError, match="another run is writing"):
            OutputFolder(out, force=True).open()
    assert (out / "a.txt").read_text() == "1"
    assert json.loads((out / MANIFEST_NAME).read_text())["files"] == ["a.txt"]
    with OutputFolder(out, force=True) as staging:
        (staging / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, "b.txt"]
    assert _leftovers(tmp_path, "o") == []


def test_input_network_inside_out_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "d"
    assert cli.main([*SMALL, "--out", str(out)]) == 0
    original = (out / "network.nir").read_bytes()
    code = cli.main(["--target", "cpu", "--network", str(out / "network.nir"), "--steps",
                     "60", "--prune", "none", "--quiet", "--out", str(out), "--force"])
    assert code == 2
    assert "network.nir" in capsys.readouterr().err
    assert (out / "network.nir").read_bytes() == original
    # a user's own file inside --out, under another name, is an input like any other
    mine = tmp_path / "e"
    mine.mkdir()
    (mine / "network.nir").write_bytes(original)
    code = cli.main(["--target", "cpu", "--network", str(mine / "network.nir"), "--steps",
                     "60", "--prune", "none", "--quiet", "--out", str(mine), "--force"])
    assert code == 2 and (mine / "network.nir").read_bytes() == original


def test_force_replaces_stale_plots_and_keeps_user_files(tmp_path):
    out = tmp_path / "d"
    assert cli.main([*SMALL, "--out", str(out)]) == 0
    assert (out / "history_size.png").exists()  # LNP has a pruning history
    (out / "notes.txt").write_text("mine")
    assert cli.main([*SMALL, "--prune", "none", "--out", str(out), "--force"]) == 0
    written = set(json.loads((out / MANIFEST_NAME).read_text())["files"])
    assert not (out / "history_size.png").exists()  # the earlier run's plot is gone
    assert {p.name for p in out.iterdir()} == written | {MANIFEST_NAME, "notes.txt"}
    assert (out / "notes.txt").read_text() == "mine"


def test_force_never_replaces_a_file_no_run_wrote(tmp_path, capsys):
    out = tmp_path / "d"
    out.mkdir()
    (out / "report.md").write_text("my own notes")
    assert cli.main([*SMALL, "--out", str(out), "--force"]) == 2
    assert "report.md" in capsys.readouterr().err
    assert (out / "report.md").read_text() == "my own notes"
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]


@pytest.mark.parametrize("where", ["under_a_file", "read_only"])
def test_unwritable_out_is_refused_before_any_computation(tmp_path, monkeypatch, capsys,
                                                          where):
    import lnp_neuro.deploy as deploy

    def no_compute(*args, **kwargs):
        raise AssertionError("computation started before the output check")
    monkeypatch.setattr(deploy.run, "build_network", no_compute)
    if where == "under_a_file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        if os.geteuid() == 0:  # root ignores permission bits: a read-only mount
            if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs",
                               str(ro)], capture_output=True).returncode:
                pytest.skip("cannot make a read-only folder as root here")
        else:
            ro.chmod(0o555)
        out = ro / "out"
    try:
        assert cli.main([*SMALL, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"--out {out}" in err and "Traceback" not in err
    finally:
        if where == "read_only" and os.geteuid() == 0:
            subprocess.run(["umount", str(tmp_path / "ro")], check=True)


# ------------------------------------------------------------------- sizes and files
@pytest.mark.parametrize("flags, named", [
    (["--neurons", "2000000000"], "--neurons 2000000000"),
    (["--steps", "100000000000"], "--steps 100000000000"),
])
def test_absurd_sizes_are_refused_up_front(tmp_path, flags, named):
    import resource

    def limit_memory():  # should the check be missing, fail instead of eating the machine
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    out = tmp_path / "out"
    t0 = time.monotonic()
    res = _run(_deploy_cmd("--target", "cpu", *flags, "--out", str(out)), timeout=120,
               preexec_fn=limit_memory)
    assert res.returncode == 2, res.stderr
    assert named in res.stderr and "needs at least" in res.stderr
    assert "Traceback" not in res.stderr
    assert time.monotonic() - t0 < 60 and not out.exists()


def test_copies_beyond_the_encoders_memory_are_refused_up_front(tmp_path):
    """The drive itself fits in a quarter of the memory, the rate code's int64 levels
    (16 bytes a drive element) do not: was a MemoryError (exit 1) in the encoder."""
    import resource

    from lnp_neuro._util.limits import available_memory

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    available = available_memory()
    if available is None:
        pytest.skip("available memory unknown")
    steps = 300 * 20    # --task-samples x --steps-per-sample
    copies = available // (4 * steps * 6)   # 6 channels a copy: ON/OFF x 3 dimensions
    out = tmp_path / "out"
    res = _run(_deploy_cmd("--target", "cpu", "--neurons", "20", "--task-samples", "300",
                           "--copies", str(copies), "--out", str(out)), timeout=120,
               preexec_fn=limit_memory)
    assert res.returncode == 2, res.stderr
    assert f"--copies {copies}" in res.stderr and "rate-code levels" in res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


def _saved_network(tmp_path) -> Path:
    from lnp_neuro.model.build import hrsnn
    path = tmp_path / "net.npz"
    hrsnn(20, 0.2, seed=0, n_inputs=6).save(path)
    return path


@pytest.mark.parametrize("change, message", [
    ({"w_indices": lambda a: np.where(a == a.max(), 10 ** 6, a)}, "w_indices"),
    ({"w_shape": lambda a: np.array([10 ** 8, 10 ** 8])}, "w_indptr"),
    ({"w_indptr": lambda a: a[::-1].copy()}, "w_indptr"),
])
def test_hostile_npz_networks_are_named(tmp_path, capsys, change, message):
    path = _saved_network(tmp_path)
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    for key, fn in change.items():
        data[key] = fn(data[key])
    bad = tmp_path / "bad.npz"
    np.savez_compressed(bad, **data)
    out = tmp_path / "out"
    assert cli.main(["--target", "cpu", "--network", str(bad), "--prune", "none",
                     "--steps", "20", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and message in err
    assert not out.exists()


def test_npz_unpacking_beyond_memory_is_refused_before_decompression(tmp_path, monkeypatch):
    import lnp_neuro._util.limits as limits
    from lnp_neuro.model.network import SpikingNetwork
    path = _saved_network(tmp_path)
    packed = sum(i.file_size for i in np.load(path).zip.infolist())
    monkeypatch.setattr(limits, "available_memory", lambda: packed - 1)
    with pytest.raises(ValueError, match="net.npz: its arrays unpack to"):
        SpikingNetwork.load(path)


# ----------------------------------------------------------------- other commands
def _finished_run(tmp_path) -> Path:
    run = tmp_path / "run"
    assert cli.main([*SMALL, "--out", str(run)]) == 0
    return run


def test_report_command_on_broken_runs(tmp_path, capsys):
    run = _finished_run(tmp_path)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for name in ("report.json", "analysis.npz"):
        (corrupt / name).write_bytes((run / name).read_bytes())
    (corrupt / "run.npz").write_bytes((run / "run.npz").read_bytes()[:200])
    assert cli.main(["report", str(corrupt), "--out", str(tmp_path / "r1")]) == 0
    assert "run.npz: not a readable .npz file" in (tmp_path / "r1" / "report.md").read_text()

    typed = tmp_path / "typed"
    typed.mkdir()
    report = json.loads((run / "report.json").read_text())
    report["energy_by_profile"] = [1, 2]
    (typed / "report.json").write_text(json.dumps(report))
    capsys.readouterr()
    assert cli.main(["report", str(typed), "--out", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err
    assert "energy_by_profile" in err and str(typed / "report.json") in err
    assert not (tmp_path / "r2").exists() and _leftovers(tmp_path, "r2") == []


def test_report_command_never_removes_its_inputs(tmp_path, capsys):
    run = _finished_run(tmp_path)
    before = sorted(p.name for p in run.iterdir())
    assert cli.main(["report", str(run), "--out", str(run), "--force"]) == 2
    assert sorted(p.name for p in run.iterdir()) == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("case", ["workers", "config_list", "scheduler", "config_deep",
                                  "set_deep"])
def test_experiment_bad_input(tmp_path, case):
    out = tmp_path / "exp"
    args = ["--out", str(out), "--prunings", "unpruned", "--models", "hrsnn",
            "--trainings", "stdp", "--seeds", "0", "--no-progress"]
    if case == "workers":
        args += ["--workers", "0"]
    elif case == "config_list":
        cfg = tmp_path / "cfg.json"
        cfg.write_text("[1, 2]")
        args += ["--config", str(cfg)]
    elif case == "config_deep":  # was a RecursionError traceback
        cfg = tmp_path / "cfg.json"
        cfg.write_text('{"n_neurons": ' + "[" * 5000 + "]" * 5000 + "}")
        args += ["--config", str(cfg)]
    elif case == "set_deep":
        args += ["--set", "n_neurons=" + "[" * 5000 + "]" * 5000]
    else:
        args += ["--scheduler", f"tcp://127.0.0.1:{_free_port()}"]
    res = _run([sys.executable, "-m", "lnp_neuro.experiments", *args], timeout=120)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert {"workers": "--workers", "config_list": "cfg.json", "config_deep": "cfg.json",
            "set_deep": "--set n_neurons", "scheduler": "--scheduler"}[case] in res.stderr
    assert len([line for line in res.stderr.splitlines()          # argparse: usage, then
                if line.startswith("lnp-experiment")]) == 1, res.stderr  # one error line
    assert not out.exists() and _leftovers(tmp_path, "exp") == []


# ------------------------------------------------------------------- environment
def _numbers(report: dict) -> dict:
    report = dict(report)
    for key in ("seconds", "timings_seconds", "options"):
        report.pop(key, None)
    for entry in report.get("history") or []:
        for key in ("seconds", "step_seconds"):
            entry.pop(key, None)
    return report


@pytest.mark.slow
def test_same_bits_whatever_the_thread_counts(tmp_path):
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}"
        env = _env(**{k: threads for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                            "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")})
        res = _run(_deploy_cmd("--target", "cpu", "--neurons", "200", "--steps", "100",
                               "--iterations", "1", "--quiet", "--out", str(out)), env=env)
        assert res.returncode == 0, res.stderr
        outs.append(out)
    a, b = outs
    assert (a / "network.nir").read_bytes() == (b / "network.nir").read_bytes()
    assert (a / "run.npz").read_bytes() == (b / "run.npz").read_bytes()
    assert (a / "analysis.npz").read_bytes() == (b / "analysis.npz").read_bytes()
    ra, rb = (json.loads((o / "report.json").read_text()) for o in outs)
    assert _numbers(ra) == _numbers(rb)


def test_network_nir_embeds_no_wall_clock(tmp_path):
    from lnp_neuro.model.build import hrsnn
    from lnp_neuro.nir.reservoir_files import read_nir, write_nir
    net = hrsnn(20, 0.2, seed=0, n_inputs=3)
    for i, seconds in enumerate((0.25, 7.5)):
        timed = net.copy(metadata={"lnp": {"seconds": [seconds], "n_iter": 1}})
        write_nir(timed, tmp_path / f"{i}.nir")
    assert (tmp_path / "0.nir").read_bytes() == (tmp_path / "1.nir").read_bytes()
    assert read_nir(tmp_path / "0.nir").metadata["lnp"] == {"n_iter": 1}


@pytest.mark.slow
def test_runs_without_a_writable_home(tmp_path):
    import shutil
    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "lnp_neuro", pkg / "lnp_neuro",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # A read-only install: numba cannot write __pycache__ beside the sources (a file of
    # that name works even for root), and HOME lies under a file.
    (pkg / "lnp_neuro" / "__pycache__").write_text("")
    (tmp_path / "homefile").write_text("")
    (tmp_path / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(tmp_path / "homefile" / "home"), TMPDIR=str(tmp_path / "tmp"),
               PYTHONPATH=str(pkg), PYTHONDONTWRITEBYTECODE="1")
    code = ("import numpy as np; from lnp_neuro.model.build import hrsnn; "
            "from lnp_neuro.engines.simulator import simulate; "
            "net = hrsnn(20, 0.2, seed=0, n_inputs=2); "
            "print(int(simulate(net, np.ones((30, 2), bool)).spikes.sum()))")
    # cwd: "-c" puts the working folder first on sys.path, which must not hold lnp_neuro
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "cannot cache function" not in res.stderr


def test_report_json_is_strict(tmp_path):
    # three neurons: the eigenvector IPR of the pruning history is 0/0 (NaN)
    out = tmp_path / "out"
    assert cli.main(["--target", "cpu", "--neurons", "3", "--iterations", "1", "--input",
                     "poisson", "--steps", "30", "--quiet", "--out", str(out)]) == 0

    def refuse(name):
        raise ValueError(f"non-strict JSON constant {name}")
    report = json.loads((out / "report.json").read_text(), parse_constant=refuse)
    for where, reason in report.get("null_reasons", {}).items():
        assert reason.startswith(("NaN", "+Infinity", "-Infinity")), where
    from lnp_neuro._util.io import strict_json
    reasons: dict = {}
    cleaned = strict_json({"a": [1.0, float("nan")], "b": {"c": float("-inf")},
                           "d": np.float32(2.5)}, reasons)
    assert cleaned == {"a": [1.0, None], "b": {"c": None}, "d": 2.5}
    assert set(reasons) == {"a[1]", "b.c"}


def test_output_files_follow_the_umask(tmp_path):
    out = tmp_path / "out"
    old = os.umask(0o027)
    try:
        assert cli.main([*SMALL, "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o750
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert set(modes.values()) == {0o640}, modes


# --------------------------------------------------------------------- CIFAR pickles
def test_unpickler_refuses_calling_ndarray():
    from lnp_neuro.tasks.images import UnsafePickleError, safe_unpickle

    # numpy.ndarray((2**30,), "u1"): REDUCE on the allowed global; 1 GB from 50 bytes
    stream = (b"\x80\x02cnumpy\nndarray\nJ\x00\x00\x00@\x85U\x02u1\x86R.")
    assert len(stream) < 64
    with pytest.raises(UnsafePickleError):
        safe_unpickle(stream)
    # real numpy arrays still load
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(safe_unpickle(pickle.dumps({"data": arr}, protocol=2))["data"], arr)


def test_unpickler_checks_shared_references_in_linear_time():
    from lnp_neuro.tasks.images import UnsafePickleError, safe_unpickle
    node: list = []
    for _ in range(24):  # each level references the one below twice: 2**24 paths
        node = [node, node]
    stream = pickle.dumps(node, protocol=2)
    t0 = time.perf_counter()
    with pytest.raises(UnsafePickleError, match="more than once"):
        safe_unpickle(stream)
    assert time.perf_counter() - t0 < 1.0
    loop: list = []
    loop.append(loop)
    with pytest.raises(UnsafePickleError):
        safe_unpickle(pickle.dumps(loop, protocol=2))


@pytest.mark.slow
def test_sigterm_stops_an_experiment_grid(tmp_path):
    out = tmp_path / "exp"
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lnp_neuro.experiments", "--out", str(out), "--prunings",
             "unpruned,lnp", "--models", "hrsnn", "--trainings", "stdp", "--seeds", "0,1",
             "--workers", "2", "--no-progress"],
            env=_env(), stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_children(proc.pid)) < 2:  # the pool's workers (and the resource tracker)
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail("the grid did not start: " + (tmp_path / "stderr.txt").read_text())
        time.sleep(0.1)
    time.sleep(3.0)
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_group_empty(proc.pid, 5)
        pytest.fail("no exit within 10 s of SIGTERM")
    left = _wait_group_empty(proc.pid, 10)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == 143, stderr
    assert "interrupted by SIGTERM" in stderr and "Traceback" not in stderr
    assert left == []
    assert not out.exists() and _leftovers(tmp_path, "exp") == []
