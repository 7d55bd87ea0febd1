"""Deployment target files: schema, availability, lookup, a user's own profile file."""

import importlib.resources
import json

import pytest

from lnp_neuro.deploy.cli import main
from lnp_neuro.deploy.targets import TargetUnavailable, list_targets, load_target


def test_builtin_targets():
    names = {t.name: t for t in list_targets()}
    assert {"loihi-sim", "lava-float", "cpu", "norse", "loihi2"} <= set(names)
    assert (names["loihi-sim"].backend, names["loihi-sim"].mode) == ("lava", "fixed")
    assert (names["lava-float"].backend, names["lava-float"].mode) == ("lava", "float")
    assert names["cpu"].backend == "native"
    for name in ("loihi-sim", "lava-float", "cpu", "norse"):
        assert names[name].availability() is None, name


def test_real_chip_refuses_clearly():
    target = load_target("loihi2")
    with pytest.raises(TargetUnavailable, match="lava-loihi.*--target loihi-sim"):
        target.require_available()


def test_unknown_target_lists_known_ones():
    with pytest.raises(ValueError, match="unknown target 'loihi9'; known targets: cpu, lava-float"):
        load_target("loihi9")


@pytest.mark.parametrize("body, message", [
    ('name = "mine"\ndescription = "d"\nbackend = "fpga"\nmode = "fixed"\nprofile = "loihi2"\n',
     "backend must be one of"),
    ('name = "mine"\ndescription = "d"\nbackend = "lava"\nprofile = "loihi2"\n',
     "missing field(s) mode"),
    ('name = "other"\ndescription = "d"\nbackend = "lava"\nmode = "fixed"\nprofile = "loihi2"\n',
     "must equal the file name 'mine'"),
    ('name = "mine"\ndescription = "d"\nbackend = "lava"\nmode = "fixed"\nprofile = "loihi2"\nspeed = 3\n',
     "unknown field(s) speed"),
    ('name = "mine" description', "not valid TOML"),
])
def test_user_target_file_validation(tmp_path, body, message):
    path = tmp_path / "mine.toml"
    path.write_text(body)
    with pytest.raises(ValueError) as err:
        load_target(str(path))
    assert message in str(err.value) and "mine.toml" in str(err.value)


def test_user_target_file_loads(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\ndescription = "d"\nbackend = "native"\nmode = "float"\nprofile = "loihi"\n')
    assert load_target(str(path)).profile == "loihi"


# ------------------------------------------------------- a user's own profile file

def smallcore_text() -> str:
    """Loihi's profile renamed 'smallcore', with 128 neurons per core."""
    text = (importlib.resources.files("lnp_neuro.hardware_profiles") / "loihi.toml").read_text()
    text = text.replace('name = "loihi"', 'name = "smallcore"', 1)
    start, stop = text.index("[neurons_per_core]"), text.index("[cores_per_chip]")
    return (text[:start] + '[neurons_per_core]\nvalue = 128\nunit = "neurons"\n'
            'source = "a user\'s own smaller core"\n\n' + text[stop:])


def user_target(tmp_path, profile: str, name: str = "mine") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndescription = "d"\nbackend = "native"\nmode = "fixed"\n'
                    f'profile = "{profile}"\n')
    return str(path)


def test_target_profile_may_be_a_file_relative_to_the_target(tmp_path):
    (tmp_path / "chips").mkdir()
    (tmp_path / "chips" / "smallcore.toml").write_text(smallcore_text())
    target = load_target(user_target(tmp_path, "chips/smallcore.toml"))
    assert target.profile == str((tmp_path / "chips" / "smallcore.toml").resolve())
    profile = target.hardware_profile()
    assert profile.name == "smallcore" and profile.capacity()["neurons_per_core"] == 128
    # an absolute path works as well, and a shipped name stays a name
    assert load_target(user_target(tmp_path, target.profile, "abs")).profile == target.profile
    assert load_target(user_target(tmp_path, "loihi", "named")).profile == "loihi"


@pytest.mark.parametrize("profile, written, message", [
    ("missing.toml", None, "field 'profile': no such profile file"),
    ("broken.toml", 'name = "broken"\ntitle = "t"\nkind = "neuromorphic"\ndescription = "d"\n',
     "field 'energy_per_sop' is missing"),
    ("smallcore", None, "field 'profile': unknown profile 'smallcore'; shipped profiles: cpu-mac"),
])
def test_target_profile_errors_name_target_file_and_field(tmp_path, profile, written, message):
    if written is not None:
        (tmp_path / profile).write_text(written)
    path = user_target(tmp_path, profile)
    with pytest.raises(ValueError) as err:
        load_target(path)
    text = str(err.value)
    assert path in text and "field 'profile'" in text and message in text, text


def test_cli_deploys_to_a_target_with_its_own_profile(tmp_path, capsys):
    """The run that used to end in KeyError: 'smallcore' (issue 10)."""
    (tmp_path / "smallcore.toml").write_text(smallcore_text())
    target = user_target(tmp_path, "smallcore.toml")
    out = tmp_path / "run"
    code = main(["--target", target, "--prune", "none", "--input", "poisson", "--neurons", "60",
                 "--steps", "40", "--out", str(out), "--quiet", "--mapping", "first-fit"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["profile"] == "smallcore"
    assert report["energy_joules"] == report["energy_by_profile"]["smallcore"] > 0
    assert {"loihi", "cpu-mac", "smallcore"} <= set(report["energy_by_profile"])
    assert report["mapping"]["strategy"] == "first-fit"
    assert report["mapping"]["inter_core_spikes"] >= 0 and report["mapping"]["hop_count"] >= 0
    assert report["options"]["mapping"] == "first-fit"
    terms = report["energy"]["profiles"]["smallcore"]["terms"]
    assert terms["routing"] > 0 and terms["static"] is None


def test_cli_refuses_a_missing_profile_file_without_traceback(tmp_path, capsys):
    target = user_target(tmp_path, "nowhere/smallcore.toml")
    code = main(["--target", target, "--prune", "none", "--input", "poisson", "--neurons", "20",
                 "--steps", "10", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "field 'profile': no such profile file" in err and target in err
    assert "Traceback" not in err


def test_cli_mapping_flag_is_checked(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--target", "cpu", "--mapping", "best"])
    assert info.value.code == 2
    assert "--mapping" in capsys.readouterr().err
