"""Hardware profiles: shipped files, published values, and the schema check."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from lnp_neuro.hardware.profiles import (ENERGY_TERMS, HardwareProfile, ProfileError,
                                         list_profiles, load_profile, sources_markdown,
                                         validate_profile)

REQUIRED = {"loihi", "loihi2", "truenorth", "spinnaker", "spinnaker2", "cpu-mac"}


def test_required_profiles_ship():
    assert REQUIRED <= set(list_profiles())


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_number_has_unit_and_source(name):
    profile = load_profile(name)
    assert isinstance(profile, HardwareProfile) and profile.name == name
    assert profile.quantities(), name
    for key, q in profile.quantities().items():
        assert q.unit and q.source.strip(), (name, key)
        assert q.si > 0
        if q.estimate:
            assert q.reasoning.strip(), (name, key)
    if profile.kind == "neuromorphic":
        cap = profile.capacity()
        assert cap["neurons_per_core"] >= 1 and cap["synapses_per_core"] >= 1
        assert cap["cores_per_chip"] >= 1


def test_published_values_in_si():
    """Spot checks against the publications (converted to joules / counts)."""
    loihi = load_profile("loihi")
    assert loihi.energy_per_sop.si == pytest.approx(23.6e-12)       # Davies 2018, Table 1
    assert loihi.energy_per_neuron_update.si == pytest.approx(52e-12)
    assert loihi.capacity()["neurons_per_core"] == 1024
    assert loihi.capacity()["cores_per_chip"] == 128
    # 128 KiB of synaptic memory at 8 bits per weight
    assert loihi.synapse_capacity_per_core == 128 * 1024 * 8 // 8
    tn = load_profile("truenorth")
    assert tn.energy_per_sop.si == pytest.approx(26e-12)            # Merolla 2014
    assert tn.capacity() | {} == {"neurons_per_core": 256, "synapses_per_core": 65536,
                                  "cores_per_chip": 4096, "max_fan_in": 256,
                                  "max_fan_out": 256, "weight_bits": None}
    # 1,048,576 neurons and 268 M synapses per chip, as published
    assert 256 * 4096 == 1_048_576 and 65536 * 4096 == 268_435_456
    spin = load_profile("spinnaker")
    assert spin.energy_per_sop.si == pytest.approx(43e-9)           # Sharp 2012
    mac = load_profile("cpu-mac")
    assert mac.energy_per_mac.si == pytest.approx(4.6e-12)          # Horowitz 2014
    assert mac.energy_per_sop.si == pytest.approx(0.9e-12)
    # Loihi 2 per-operation energies are not published: they must say so.
    assert load_profile("loihi2").energy_per_sop.estimate
    assert not loihi.energy_per_sop.estimate


def test_cores_needed_lower_bound():
    loihi = load_profile("loihi")
    assert loihi.cores_needed(1024, 10) == 1
    assert loihi.cores_needed(1025, 10) == 2
    assert loihi.cores_needed(10, 131072 * 3 + 1) == 4
    assert load_profile("cpu-mac").cores_needed(10, 10) is None


def test_load_by_path_and_package_resource(tmp_path):
    entry = importlib.resources.files("lnp_neuro.hardware_profiles") / "loihi.toml"
    copy = tmp_path / "loihi.toml"
    copy.write_text(entry.read_text())
    assert load_profile(copy) == load_profile("loihi")
    assert load_profile(str(copy)).energy_per_sop.si == pytest.approx(23.6e-12)


def test_unknown_name_lists_shipped():
    with pytest.raises(FileNotFoundError, match="loihi2"):
        load_profile("no-such-chip")


GOOD = '''
name = "chip"
title = "A chip"
kind = "neuromorphic"
description = "test"
energy_per_sop = {value = 1.5, unit = "pJ", source = "paper, table 1"}
neurons_per_core = {value = 100, unit = "neurons", source = "paper"}
synapses_per_core = {value = 1000, unit = "synapses", source = "paper"}
cores_per_chip = {value = 4, unit = "cores", source = "paper"}
'''


def write(tmp_path: Path, text: str, name: str = "chip") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_good_custom_profile(tmp_path):
    p = load_profile(write(tmp_path, GOOD))
    assert p.energy_per_sop.si == pytest.approx(1.5e-12)
    assert p.cores_needed(250, 10) == 3


@pytest.mark.parametrize("old, new, field, message", [
    ('energy_per_sop = {value = 1.5, unit = "pJ", source = "paper, table 1"}',
     "energy_per_sop = 1.5", "energy_per_sop", "without a unit"),
    ('energy_per_sop = {value = 1.5, unit = "pJ", source = "paper, table 1"}',
     'energy_per_sop = {value = 1.5, source = "paper"}', "energy_per_sop", "no unit"),
    ('energy_per_sop = {value = 1.5, unit = "pJ", source = "paper, table 1"}',
     'energy_per_sop = {value = 1.5, unit = "eV", source = "paper"}', "energy_per_sop", "unit"),
    ('energy_per_sop = {value = 1.5, unit = "pJ", source = "paper, table 1"}',
     'energy_per_sop = {value = 1.5, unit = "pJ"}', "energy_per_sop", "no source"),
    ('energy_per_sop = {value = 1.5, unit = "pJ", source = "paper, table 1"}',
     '', "energy_per_sop", "missing"),
    ('cores_per_chip = {value = 4, unit = "cores", source = "paper"}',
     '', "cores_per_chip", "missing"),
    ('synapses_per_core = {value = 1000, unit = "synapses", source = "paper"}',
     '', "synaptic_memory_bits_per_core", "missing"),
    ('cores_per_chip = {value = 4, unit = "cores", source = "paper"}',
     'cores_per_chip = {value = 4, unit = "cores", source = "x", estimate = true}',
     "cores_per_chip", "reasoning"),
    ('cores_per_chip = {value = 4, unit = "cores", source = "paper"}',
     'cores_per_chip = {value = 4.5, unit = "cores", source = "paper"}',
     "cores_per_chip", "whole number"),
    ('cores_per_chip = {value = 4, unit = "cores", source = "paper"}',
     'cores_per_chip = {value = -4, unit = "cores", source = "paper"}',
     "cores_per_chip", "positive"),
    ('name = "chip"', 'name = "other"', "name", "must match"),
    ('description = "test"', 'description = "test"\nenergy_per_sops = 3', "energy_per_sops",
     "not a profile field"),
    ('description = "test"\n', '', "description", "missing"),
    ('kind = "neuromorphic"', 'kind = "analog"', "kind", "must be one of"),
])
def test_schema_rejections_name_file_and_field(tmp_path, old, new, field, message):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    text = str(info.value)
    assert str(path) in text and f"'{field}'" in text and message in text, text


def test_reference_profile_needs_mac_energy():
    data = {"name": "ref", "title": "t", "kind": "reference", "description": "d",
            "energy_per_sop": {"value": 1, "unit": "pJ", "source": "s"}}
    with pytest.raises(ProfileError, match="'energy_per_mac'"):
        validate_profile(data, "ref.toml")
    data["energy_per_mac"] = {"value": 2, "unit": "pJ", "source": "s"}
    assert validate_profile(data, "ref.toml").energy_per_mac.si == pytest.approx(2e-12)


def test_memory_units_convert_to_synapses():
    data = {"name": "m", "title": "t", "kind": "neuromorphic", "description": "d",
            "energy_per_sop": {"value": 1, "unit": "pJ", "source": "s"},
            "neurons_per_core": {"value": 10, "unit": "neurons", "source": "s"},
            "cores_per_chip": {"value": 1, "unit": "cores", "source": "s"},
            "synaptic_memory_bits_per_core": {"value": 2, "unit": "KiB", "source": "s"},
            "weight_bits": {"value": 4, "unit": "bits", "source": "s"}}
    assert validate_profile(data).synapse_capacity_per_core == 2 * 1024 * 8 // 4


def test_not_toml_is_reported(tmp_path):
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(write(tmp_path, "name = = 3"))


def test_readme_lists_every_source():
    readme = (importlib.resources.files("lnp_neuro.hardware_profiles") / "README.md").read_text()
    assert sources_markdown() in readme, \
        "hardware_profiles/README.md is stale: regenerate with python -m lnp_neuro.hardware.profiles"


# ------------------------------------------------------------ energy terms and memory

@pytest.mark.parametrize("name", sorted(REQUIRED | {"cpu-mac-int8"}))
def test_every_profile_accounts_for_every_term(name):
    """Each term is priced by the profile's numbers or stated (included / not modelled)."""
    profile = load_profile(name)
    stated = {t.term for t in profile.terms}
    for term in ENERGY_TERMS:
        statement = profile.term_statement(term)
        if statement is not None:
            # the shipped profiles say why, explicitly (no default "no figure" statement)
            assert term in stated, (name, term)
            assert statement.status in ("included", "not modelled") and statement.reason


def test_loihi_routing_numbers_from_table_1():
    loihi = load_profile("loihi")
    assert loihi.energy_per_spike_message.si == pytest.approx(1.7e-12)   # within tile
    assert loihi.energy_per_hop_ew.si == pytest.approx(3.0e-12)
    assert loihi.energy_per_hop_ns.si == pytest.approx(4.0e-12)
    assert loihi.energy_per_spike.si == pytest.approx(29e-12)           # 81 - 52 pJ
    assert loihi.mesh() == (4, 8, 4) and loihi.mesh_tiles_x.estimate
    assert loihi.term_statement("static").status == "not modelled"
    assert loihi.term_statement("memory").status == "included"
    assert loihi.term_statement("routing") is None
    tn = load_profile("truenorth")
    assert {tn.term_statement(t).status for t in ENERGY_TERMS if t != "synaptic"} == {"included"}


def test_cpu_memory_hierarchy_from_horowitz():
    mac = load_profile("cpu-mac")
    levels = [(lv.name, lv.energy_per_access.si, None if lv.capacity is None else lv.capacity.si)
              for lv in mac.memory_levels]
    assert levels == [("8 KB cache", pytest.approx(10e-12), 8 * 1024 * 8),
                      ("32 KB cache", pytest.approx(20e-12), 32 * 1024 * 8),
                      ("1 MB cache", pytest.approx(100e-12), 1024 ** 2 * 8),
                      ("DRAM", pytest.approx(1.3e-9), None)]
    assert mac.memory_level_for(8 * 1024 * 8).name == "8 KB cache"       # fits exactly
    assert mac.memory_level_for(8 * 1024 * 8 + 1).name == "32 KB cache"
    assert mac.memory_level_for(1e12).name == "DRAM"
    assert mac.term_statement("memory") is None
    assert mac.term_statement("static").status == "not modelled"
    assert mac.energy_per_neuron_update.si == pytest.approx(2 * 3.7e-12 + 4 * 0.9e-12)


def test_missing_term_defaults_to_not_modelled(tmp_path):
    p = load_profile(write(tmp_path, GOOD))
    statement = p.term_statement("static")
    assert statement.status == "not modelled" and "static_power" in statement.reason
    assert p.term_statement("synaptic") is None
    with pytest.raises(ValueError, match="unknown energy term"):
        p.term_statement("heat")


LEVELS = '''
memory_accesses_per_sop = {value = 3, unit = "accesses", source = "s"}
bytes_per_synapse = {value = 8, unit = "bytes", source = "s"}
[[memory_levels]]
name = "cache"
capacity = {value = 1, unit = "KiB", source = "s"}
energy_per_access = {value = 10, unit = "pJ", source = "s"}
[[memory_levels]]
name = "DRAM"
energy_per_access = {value = 1, unit = "nJ", source = "s"}
'''


def test_memory_levels_and_terms_load(tmp_path):
    text = GOOD + LEVELS + '[terms.static]\nstatus = "not modelled"\nreason = "no figure"\n'
    p = load_profile(write(tmp_path, text))
    assert [lv.name for lv in p.memory_levels] == ["cache", "DRAM"]
    assert p.memory_level_for(8 * 1024).name == "cache"
    assert p.term_statement("static").reason == "no figure"
    assert p.term_statement("memory") is None
    assert p.as_dict()["terms"] == {"static": {"status": "not modelled", "reason": "no figure"}}


@pytest.mark.parametrize("extra, field, message", [
    (LEVELS.replace('name = "DRAM"\n', 'name = "DRAM"\ncapacity = {value = 2, unit = "MiB", source = "s"}\n'),
     None, "last of [[memory_levels]] must have no capacity"),
    (LEVELS.replace('unit = "KiB"', 'unit = "pJ"'), "memory_levels[0].capacity", "has unit"),
    (LEVELS.replace('energy_per_access = {value = 1, unit = "nJ", source = "s"}', ''),
     "memory_levels[1].energy_per_access", "is missing"),
    ('memory_accesses_per_sop = {value = 3, unit = "accesses", source = "s"}\n', None,
     "needs [[memory_levels]]"),
    ('[terms.static]\nstatus = "zero"\nreason = "r"\n', "terms.static", "status must be one of"),
    ('[terms.heat]\nstatus = "included"\nreason = "r"\n', "terms.heat", "not an energy term"),
    ('[terms.static]\nstatus = "included"\n', "terms.static", "needs a reason"),
    ('[terms.synaptic]\nstatus = "included"\nreason = "r"\n', None,
     "prices it with energy_per_sop"),
    ('mesh_tiles_x = {value = 2, unit = "tiles", source = "s"}\n', None,
     "mesh_tiles_x and mesh_tiles_y go together"),
    ('mesh_tiles_x = {value = 1, unit = "tiles", source = "s"}\n'
     'mesh_tiles_y = {value = 1, unit = "tiles", source = "s"}\n', None, "cannot hold cores_per_chip 4"),
])
def test_term_and_memory_rejections_name_the_file(tmp_path, extra, field, message):
    # [terms] / [[memory_levels]] tables must come after the top-level keys
    path = write(tmp_path, GOOD + extra)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    text = str(info.value)
    assert str(path) in text and message in text, text
    if field is not None:
        assert f"'{field}'" in text, text
