"""Deployment target files: schema, availability, lookup."""

import pytest

from lnp_neuro.targets_registry import TargetUnavailable, list_targets, load_target


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
