"""The wheel carries every sub-package and the data folders, and they work installed."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _declared_packages() -> set[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_every_source_package_is_declared():
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "lnp_neuro").rglob("__init__.py")}
    declared = _declared_packages()
    assert found - declared == set(), "sub-packages missing from pyproject.toml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(ROOT)], check=True)
    (path,) = out.glob("lnp_neuro-*.whl")
    return path


def test_wheel_contains_data_and_packages(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in (("targets", "lnp_neuro/targets"),
                            ("hardware_profiles", "lnp_neuro/hardware_profiles")):
        for data in (ROOT / folder).glob("*.toml"):
            assert f"{package}/{data.name}" in names
    for pkg in _declared_packages():
        assert pkg.replace(".", "/") + "/__init__.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_wheel_finds_its_data(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(wheel)], check=True)
    code = ("import lnp_neuro, sys; from lnp_neuro.deploy.targets import list_targets; "
            "from lnp_neuro.hardware.profiles import list_profiles; "
            "assert lnp_neuro.__file__.startswith(sys.argv[1]), lnp_neuro.__file__; "
            "print(len(list_targets()), len(list_profiles()))")
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code, str(target)], check=True, env=env,
                         capture_output=True, text=True, cwd=tmp_path).stdout.split()
    assert int(out[0]) == len(list((ROOT / "targets").glob("*.toml")))
    assert int(out[1]) == len(list((ROOT / "hardware_profiles").glob("*.toml")))
