"""Issue: no file outside the output folder is ever touched, no user folder is deleted.

Each test reproduces one case measured on the code before the fix (a symbolic link planted
where the tool creates, truncates or removes a file; a user's folder beside or inside
--out; a hostile manifest; --out on another file system; a lock that is a pipe or a
folder; a path too long) and checks that the files outside the run, and the earlier
run's files, are exactly as before, with a one-line error where the input is bad.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import lnp_neuro
from lnp_neuro._util.output_folder import MANIFEST_NAME, STAGING_MARKER, OutputFolder
from lnp_neuro.deploy import OUTPUT_FILES, cli
from lnp_neuro.deploy.run import PORTABLE_FILE

ROOT = Path(lnp_neuro.__file__).resolve().parents[1]
SMALL = ["--target", "cpu", "--neurons", "60", "--steps", "60", "--iterations", "1",
         "--quiet"]
SECRET = b"my thesis, chapter 3\n"


def _victims(tmp_path: Path) -> tuple[Path, Path]:
    """A file and a folder outside every path the tool writes, to point links at."""
    home = tmp_path / "home"
    home.mkdir()
    victim = home / "thesis.txt"
    victim.write_bytes(SECRET)
    folder = home / "thesis"
    folder.mkdir()
    (folder / "thesis.tex").write_bytes(SECRET)
    return victim, folder


def _intact(victim: Path, folder: Path) -> None:
    assert victim.read_bytes() == SECRET
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]
    assert (folder / "thesis.tex").read_bytes() == SECRET


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry below ``folder``: file contents, link targets, folders."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = (f"-> {os.readlink(p)}" if p.is_symlink() else "<dir>" if p.is_dir()
                    else p.read_bytes())
    return out


def _one_line_error(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """One finished run (LNP: it has a pruning history plot), copied by each test."""
    out = tmp_path_factory.mktemp("finished") / "run"
    assert cli.main([*SMALL, "--out", str(out)]) == 0
    return out


@pytest.fixture
def earlier_run(finished_run):
    """``earlier_run(out)``: a copy of the finished run at ``out``; returns its snapshot."""
    def copy(out: Path) -> dict:
        shutil.copytree(finished_run, out)
        return _snapshot(out)
    return copy


# ------------------------------------------------------------------------ the lock
@pytest.mark.parametrize("command", ["deploy", "report"])
def test_lock_symlink_is_not_followed(tmp_path, capsys, command, earlier_run):
    victim, folder = _victims(tmp_path)
    args = [*SMALL]
    if command == "report":
        run = tmp_path / "run"
        earlier_run(run)
        args = ["report", str(run)]
    capsys.readouterr()
    (tmp_path / ".out.lock").symlink_to(victim)
    assert cli.main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert str(tmp_path / ".out.lock") in err and "symbolic link" in err
    _intact(victim, folder)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["fifo", "folder", "foreign file", "hard link"])
def test_lock_that_is_no_lock_file_is_named(tmp_path, capsys, kind):
    lock = tmp_path / ".out.lock"
    victim = tmp_path / "pid-like.txt"
    if kind == "hard link":  # holds a number, like a lock, but is someone's file too
        victim.write_bytes(b"12345\n")
        os.link(victim, lock)
    elif kind == "fifo":
        os.mkfifo(lock)
    elif kind == "folder":
        lock.mkdir()
        (lock / "keep.txt").write_bytes(SECRET)
    else:
        lock.write_bytes(SECRET)
    assert cli.main([*SMALL, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert f"the lock {lock}" in err
    if kind == "folder":
        assert (lock / "keep.txt").read_bytes() == SECRET
    elif kind == "foreign file":
        assert lock.read_bytes() == SECRET
    elif kind == "hard link":
        assert victim.read_bytes() == b"12345\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_report_lock_that_is_no_lock_file_is_named(tmp_path, capsys, kind, finished_run):
    lock = tmp_path / ".out.lock"
    if kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.mkdir()
        (lock / "keep.txt").write_bytes(SECRET)
    capsys.readouterr()
    assert cli.main(["report", str(finished_run), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert f"the lock {lock}" in err
    assert kind == "fifo" or (lock / "keep.txt").read_bytes() == SECRET
    assert not (tmp_path / "out").exists()


def test_stale_lock_and_staging_of_a_killed_run_are_taken_over(tmp_path):
    out = tmp_path / "out"
    killed = OutputFolder(out)
    staging = killed.open()
    (staging / "half.txt").write_text("half")
    os.close(killed._lock_fd)  # the process dies: its lock file and staging folder stay
    killed._lock_fd = None
    assert (tmp_path / ".out.lock").read_text().strip() == str(os.getpid())
    assert cli.main([*SMALL, "--out", str(out)]) == 0
    assert not staging.exists()  # it held our marker naming it
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")) == []


# ------------------------------------------------------------ folders beside --out
def test_users_folder_that_looks_like_a_staging_folder_is_kept(tmp_path):
    victim, folder = _victims(tmp_path)
    backup = tmp_path / ".out.partial-backup"
    backup.mkdir()
    (backup / "thesis.tex").write_bytes(SECRET)
    # a marker copied from elsewhere does not make it ours: it must name this folder
    (backup / STAGING_MARKER).write_text("lnp_neuro staging folder .out.partial-other\n")
    (tmp_path / ".out.partial-link").symlink_to(folder)
    assert cli.main([*SMALL, "--out", str(tmp_path / "out")]) == 0
    assert (backup / "thesis.tex").read_bytes() == SECRET
    assert (tmp_path / ".out.partial-link").is_symlink()
    _intact(victim, folder)


# ------------------------------------------------------------------------- --force
def test_force_never_removes_a_folder_named_in_the_manifest(tmp_path, capsys, earlier_run):
    out = tmp_path / "out"
    earlier_run(out)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    (out / "userdata").mkdir()
    (out / "userdata" / "thesis.tex").write_bytes(SECRET)
    manifest["files"].append("userdata")
    (out / MANIFEST_NAME).write_text(json.dumps(manifest))
    assert cli.main([*SMALL, "--prune", "none", "--out", str(out), "--force"]) == 0
    assert (out / "userdata" / "thesis.tex").read_bytes() == SECRET


def test_force_refuses_a_users_folder_where_an_output_file_goes(tmp_path, capsys, earlier_run):
    out = tmp_path / "out"
    earlier_run(out)
    (out / "report.html").unlink()
    (out / "report.html").mkdir()
    (out / "report.html" / "notes.txt").write_bytes(SECRET)
    before = _snapshot(out)
    capsys.readouterr()
    assert cli.main([*SMALL, "--prune", "none", "--out", str(out), "--force"]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert str(out / "report.html") in err and "folder" in err
    assert _snapshot(out) == before


@pytest.mark.parametrize("bad", ["nul", "long", "dotdot", "absolute", "not a list", "deep"])
def test_bad_manifest_is_refused_before_anything_is_removed(tmp_path, capsys, bad, earlier_run):
    out = tmp_path / "out"
    earlier_run(out)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    entry = {"nul": "old\0plot.png", "long": "x" * 300 + ".png", "dotdot": "../home",
             "absolute": str(tmp_path / "home"), "not a list": None, "deep": None}[bad]
    manifest["files"] = "report.md" if bad == "not a list" else [*manifest["files"], entry]
    (out / MANIFEST_NAME).write_text("[" * 5000 + "]" * 5000 if bad == "deep"  # was a
                                     else json.dumps(manifest))           # RecursionError
    before = _snapshot(out)
    capsys.readouterr()
    assert cli.main([*SMALL, "--prune", "none", "--out", str(out), "--force"]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert MANIFEST_NAME in err and "not a readable manifest" in err
    assert _snapshot(out) == before


def test_force_merges_folders_file_by_file(tmp_path):
    """A run that writes folders (lnp-experiment): --force replaces the files it wrote in
    them, removes its stale ones, keeps a user's file and the folder itself."""
    out = tmp_path / "exp"
    with OutputFolder(out) as staging:
        (staging / "runs").mkdir()
        (staging / "runs" / "a.json").write_text("1")
        (staging / "runs" / "b.json").write_text("1")
        (staging / "old").mkdir()
        (staging / "old" / "x.json").write_text("1")
    assert json.loads((out / MANIFEST_NAME).read_text()) == {
        "files": ["old/x.json", "runs/a.json", "runs/b.json"], "dirs": ["old", "runs"]}
    (out / "runs" / "mine.txt").write_bytes(SECRET)
    with OutputFolder(out, force=True, expected=("runs",)) as staging:
        (staging / "runs").mkdir()
        (staging / "runs" / "a.json").write_text("2")
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["a.json", "mine.txt"]
    assert (out / "runs" / "a.json").read_text() == "2"
    assert (out / "runs" / "mine.txt").read_bytes() == SECRET
    assert not (out / "old").exists()  # emptied by removing its files, then rmdir
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp"]


# --------------------------------------------------------- links at every written path
@pytest.mark.parametrize("name, points_at", [
    *((name, kind) for name in (".out.lock", ".out.partial-planted", MANIFEST_NAME)
      for kind in ("file", "folder")),
    *((name, "file") for name in OUTPUT_FILES), ("history_size.png", "folder"),
    # plots this run writes again, or newly (the earlier run was pruned by LNP), and the
    # portable twin of network.nir
    ("energy_by_profile.png", "file"), ("raster_0-unpruned.png", "file"),
    (PORTABLE_FILE, "file")])
def test_planted_symlink_at_every_written_path(tmp_path, capsys, name, points_at, earlier_run):
    victim, folder = _victims(tmp_path)
    out = tmp_path / "out"
    earlier_run(out)
    where = tmp_path if name.startswith(".out.") else out
    link = where / name
    if os.path.lexists(link):
        link.unlink()
    link.symlink_to(victim if points_at == "file" else folder)
    before = _snapshot(out)
    capsys.readouterr()
    portable = ["--nir-portable"] if name == PORTABLE_FILE else []
    code = cli.main([*SMALL, "--prune", "none", *portable, "--out", str(out), "--force"])
    err = capsys.readouterr().err
    _intact(victim, folder)
    assert link.is_symlink() and os.readlink(link) == str(victim if points_at == "file"
                                                          else folder)
    if name in (".out.partial-planted", "history_size.png"):
        # not ours (a staging folder without our marker; a stale output that is a link,
        # not the file the earlier run wrote): left alone, the run goes on
        assert code == 0, err
    else:
        assert code == 2, err
        _one_line_error(err)
        assert _snapshot(out) == before  # the earlier run is untouched too


@pytest.fixture(scope="module")
def finished_report(finished_run, tmp_path_factory) -> Path:
    """``lnp-deploy report`` of the finished run, in a folder of its own."""
    out = tmp_path_factory.mktemp("report") / "cmp"
    assert cli.main(["report", str(finished_run), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name", ["report.html", "report.md", "energy_by_profile.png",
                                  "history_size.png", MANIFEST_NAME])
def test_planted_symlink_where_the_report_command_writes(tmp_path, capsys, name,
                                                         finished_run, finished_report):
    victim, folder = _victims(tmp_path)
    out = tmp_path / "cmp"
    shutil.copytree(finished_report, out)
    (out / name).unlink()
    (out / name).symlink_to(victim)
    before = _snapshot(out)
    capsys.readouterr()
    assert cli.main(["report", str(finished_run), "--out", str(out), "--force"]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert str(out / name) in err and "symbolic link" in err
    _intact(victim, folder)
    assert _snapshot(out) == before


# ------------------------------------------------------------------ file systems, sizes
def _other_file_system(tmp_path: Path) -> Path:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK) or \
            shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no writable tmpfs on another file system (/dev/shm)")
    return shm


def test_out_symlink_to_another_file_system(tmp_path, capsys):
    shm = _other_file_system(tmp_path)
    real = shm / f"lnp-test-{uuid.uuid4().hex}"
    real.mkdir()
    try:
        out = tmp_path / "out"
        out.symlink_to(real)
        assert cli.main([*SMALL, "--out", str(out), "--force"]) == 0, capsys.readouterr()
        assert (real / "history_size.png").is_file()
        assert cli.main([*SMALL, "--prune", "none", "--out", str(out), "--force"]) == 0, \
            capsys.readouterr()
        assert not (real / "history_size.png").exists()  # the stale plot, replaced in place
        written = set(json.loads((real / MANIFEST_NAME).read_text())["files"])
        assert {p.name for p in real.iterdir()} == written | {MANIFEST_NAME}
        assert out.is_symlink()
        leftovers = [p.name for p in (*tmp_path.iterdir(), *shm.iterdir())
                     if p.name.startswith((".out.", f".{real.name}."))]
        assert leftovers == []
    finally:
        shutil.rmtree(real, ignore_errors=True)


def test_new_out_on_another_file_system_through_a_linked_parent(tmp_path):
    shm = _other_file_system(tmp_path)
    real = shm / f"lnp-test-{uuid.uuid4().hex}"
    real.mkdir()
    try:
        (tmp_path / "scratch").symlink_to(real)
        assert cli.main([*SMALL, "--out", str(tmp_path / "scratch" / "run")]) == 0
        assert (real / "run" / "report.json").is_file()
        assert sorted(p.name for p in real.iterdir()) == ["run"]
    finally:
        shutil.rmtree(real, ignore_errors=True)


@pytest.mark.parametrize("how", ["path", "name"])
def test_too_long_out_is_bad_input(tmp_path, how):
    out = (tmp_path / "/".join(["d" * 200] * 25) if how == "path"
           else tmp_path / ("n" * 250))
    res = subprocess.run([sys.executable, "-m", "lnp_neuro.deploy.cli", *SMALL, "--out",
                          str(out)], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 2, res.stderr
    _one_line_error(res.stderr)
    assert len(res.stderr) < 600 and "too long" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
