"""Tests of the experiment runner (lnp_neuro.experiments): a tiny end-to-end grid."""

import json
import pickle

import numpy as np
import pytest

from lnp_neuro.experiments import (ExperimentConfig, PruneCache, RunSpec, format_noise_table,
                                   format_table2, grid, main, population_rate_code, run_grid,
                                   run_one, summarize)

TINY = dict(n_neurons=40, n_train=60, n_predict=20, window=20, washout=5, warmup=10,
            steps_per_sample=5, input_copies=4, bp_epochs=1, readout_epochs=3, patience=2,
            lnp_iter=1, ap_iter=1, image_train=20, image_test=10,
            image_t_input=0.01, image_t_silence=0.0, snr_db=(40, 10))


@pytest.fixture(scope="module")
def tiny_rows():
    cfg = ExperimentConfig(**TINY)
    specs = grid(prunings=("unpruned", "ap", "lnp", "random"), models=("hrsnn",),
                 trainings=("bp", "stdp"), tasks=("lorenz63",), seeds=(0,))
    specs += [RunSpec("unpruned", "chrsnn", "stdp", "lorenz63", 0),
              RunSpec("lnp", "hrsnn", "bp", "digits", 0)]
    return specs, run_grid(specs, cfg, executor="serial", progress=False), cfg


def test_population_rate_code_is_the_staggered_code_one_sample_a_row():
    from lnp_neuro.tasks import staggered_population_spikes
    inten = np.random.default_rng(0).random((30, 3))
    k, p_max, m = 10, 0.5, 8
    spikes = population_rate_code(inten, k, p_max, m)
    assert spikes.shape == (30, k, 3 * m) and spikes.dtype == bool
    np.testing.assert_array_equal(spikes.reshape(30 * k, 3 * m),
                                  staggered_population_spikes(inten, 500.0, 1e-3, k, m))
    with pytest.raises(ValueError, match="intensities"):
        population_rate_code(inten + 1, k, p_max, m)


def test_tiny_grid_rows_are_sane(tiny_rows):
    specs, rows, cfg = tiny_rows
    assert [r["key"] for r in rows] == [s.key for s in specs]
    for r in rows:
        assert r["error"] is None, (r["key"], r.get("traceback"))
        for name in ("pruning", "model", "training", "task", "seed", "neurons", "synapses",
                     "sops", "nrmse", "vpt", "accuracy"):
            assert name in r
        assert 0 < r["neurons"] <= r["neurons_before"] == cfg.n_neurons
        assert 0 < r["synapses"] <= r["synapses_before"]
        assert r["sops"] > 0 and r["sops"] <= r["sops_dense"]
        if r["task"] == "digits":
            assert 0.0 <= r["accuracy"] <= 1.0 and r["nrmse"] is None
        else:
            assert np.isfinite(r["nrmse"]) and 0 < r["nrmse"] < 10
            assert 0 <= r["vpt"] <= cfg.n_predict
            assert set(r["nrmse_snr"]) == {"40", "10"}
            assert r["accuracy"] is None
    by = {r["key"]: r for r in rows}
    lnp_row = by["lorenz63-hrsnn-lnp-bp-s0"]
    assert lnp_row["synapses"] < lnp_row["synapses_before"]  # LNP pruned something
    rnd = by["lorenz63-hrsnn-random-bp-s0"]
    # the random baseline has the LNP network's neuron and synapse counts
    assert (rnd["neurons"], rnd["synapses"]) == (lnp_row["neurons"], lnp_row["synapses"])
    for training in ("bp", "stdp"):
        ap = by[f"lorenz63-hrsnn-ap-{training}-s0"]
        hist = ap["prune_history"]
        # ap_iter = 1: the unpruned model, then one round masking ap_fraction of the neurons
        assert [h["iteration"] for h in hist] == [0, 1]
        assert hist[0]["neurons"] == ap["neurons_before"]
        assert hist[1]["neurons"] == ap["neurons_before"] - round(cfg.ap_fraction * cfg.n_neurons)
        # the row trains and scores the network AP kept: its last accepted model, pruned here
        kept = [h for h in hist if h["accepted"]][-1]
        assert (ap["neurons"], ap["synapses"]) == (kept["neurons"], kept["synapses"])
        assert ap["neurons"] < ap["neurons_before"]


def _without_timings(row: dict) -> dict:
    """The row without its wall-clock fields (the LNP history has one per iteration)."""
    out = {k: v for k, v in row.items() if k not in ("seconds", "prune_seconds", "train_seconds")}
    if "prune_history" in out:
        out["prune_history"] = [{k: v for k, v in h.items() if k != "seconds"}
                                for h in out["prune_history"]]
    return out


def test_run_one_is_deterministic(tiny_rows):
    """Two runs of one spec, each pruning its own network (run_one without a cache shares
    nothing), give the same row; so does the grid, which shared its LNP result."""
    _, rows, cfg = tiny_rows
    spec = RunSpec("lnp", "hrsnn", "stdp", "lorenz63", 0)
    first, again = run_one(spec, cfg), run_one(spec, cfg)
    assert first["error"] is None, first.get("traceback")
    assert _without_timings(again) == _without_timings(first)
    in_grid = next(r for r in rows if r["key"] == spec.key)
    assert _without_timings(in_grid) == _without_timings(first)


def test_prune_cache_computes_once_per_key_and_shares_through_its_folder(tmp_path):
    from lnp_neuro.model.build import hrsnn
    cfg = ExperimentConfig(**TINY)
    net = hrsnn(20, 0.2, seed=0, n_inputs=4)
    calls = []

    def compute():
        calls.append(1)
        return net.copy(neuron_active=np.arange(20) >= 2), [{"iteration": 0, "x": np.int64(3)}]

    cache = PruneCache(tmp_path / "cache")
    first = cache.get("lnp", net, "hrsnn", 0, cfg, compute)
    assert cache.get("lnp", net, "hrsnn", 0, cfg, compute) is first and len(calls) == 1
    cache.get("lnp", net, "hrsnn", 1, cfg, compute)            # another seed, another key
    assert len(calls) == 2
    # A worker process gets the folder, not the results: it loads them from disk.
    worker = pickle.loads(pickle.dumps(cache))
    pruned, history = worker.get("lnp", net, "hrsnn", 0, cfg, compute)
    assert len(calls) == 2 and history == [{"iteration": 0, "x": 3}] == first[1]
    np.testing.assert_array_equal(pruned.neuron_active, first[0].neuron_active)
    # Without a folder, a fresh cache knows nothing: it computes.
    PruneCache().get("lnp", net, "hrsnn", 0, cfg, compute)
    assert len(calls) == 3


def test_summary_tables(tiny_rows):
    _, rows, _ = tiny_rows
    summary = summarize(rows)
    assert not summary["errors"]
    g = next(x for x in summary["groups"] if x["pruning"] == "lnp" and x["task"] == "lorenz63"
             and x["training"] == "bp")
    assert g["runs"] == 1 and g["nrmse"]["std"] == 0.0
    unp = next(r for r in rows if r["key"] == "lorenz63-hrsnn-unpruned-bp-s0")
    lnp_row = next(r for r in rows if r["key"] == "lorenz63-hrsnn-lnp-bp-s0")
    assert g["sop_ratio"]["mean"] == pytest.approx(unp["sops"] / lnp_row["sops"])
    table = format_table2(summary)
    assert "LNP Pruned" in table and "AP Pruned" in table and "accuracy" in table
    noise = format_noise_table(summary)
    assert "| 40 | 10 |" in noise


def test_failed_run_is_reported_not_hidden():
    cfg = ExperimentConfig(**{**TINY, "lnp_kwargs": {"no_such_option": 1}})
    row = run_one(RunSpec("lnp", "hrsnn", "stdp", "lorenz63", 0), cfg)
    assert row["error"] is not None and "no_such_option" in row["error"]
    assert summarize([row])["errors"][0]["key"] == row["key"]


def test_rows_say_why_a_number_is_missing():
    from lnp_neuro._util.io import strict_json_record
    row = strict_json_record({"nrmse": float("nan"), "vpt": np.int64(3),
                              "nrmse_snr": {"10": float("inf")}})
    assert json.dumps(row, allow_nan=False)
    assert (row["nrmse"], row["vpt"], row["nrmse_snr"]) == (None, 3, {"10": None})
    assert set(row["null_reasons"]) == {"nrmse", "nrmse_snr.10"}
    assert "null_reasons" not in strict_json_record({"nrmse": 0.5})


def test_config_and_spec_validation():
    with pytest.raises(ValueError, match="n_neurons"):
        ExperimentConfig(n_neurons=0)
    with pytest.raises(ValueError, match="window"):
        ExperimentConfig(n_train=10, window=20)
    with pytest.raises(ValueError, match="unknown experiment setting"):
        ExperimentConfig.from_dict({"neurons": 3})
    with pytest.raises(ValueError, match="pruning"):
        RunSpec("magic", "hrsnn", "bp", "lorenz63", 0)
    with pytest.raises(ValueError, match="workers"):
        run_grid([], workers=0)


def test_cli_process_pool_writes_outputs(tmp_path):
    out = tmp_path / "grid"
    argv = ["--out", str(out), "--prunings", "unpruned,lnp", "--models", "hrsnn",
            "--trainings", "stdp", "--seeds", "0", "--workers", "2", "--no-progress",
            "--config", str(_write_config(tmp_path))]
    assert main(argv) == 0
    rows = json.loads((out / "summary.json").read_text())
    assert {r["pruning"] for r in rows} == {"unpruned", "lnp"}
    assert all(r["error"] is None for r in rows)
    assert (out / "table2.md").read_text().count("Pruned") >= 1
    assert "NRMSE at input SNR" in (out / "noise.md").read_text()
    assert len(list((out / "runs").glob("*.json"))) == 2
    # a non-empty output folder is refused without --force
    assert main(argv) == 2


def _write_config(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({**TINY, "snr_db": list(TINY["snr_db"])}))
    return path


def test_grid_defaults_are_the_deploy_defaults():
    """A grid row and an lnp-deploy of the same seed start from the same network and code."""
    import inspect

    from lnp_neuro.deploy import DeployOptions
    from lnp_neuro.model.build import chrsnn
    cfg, dep = ExperimentConfig(), DeployOptions()
    assert (cfg.n_neurons, cfg.density, cfg.n_clusters) == (dep.neurons, dep.density,
                                                             dep.clusters)
    assert (cfg.steps_per_sample, cfg.input_copies, cfg.series_scaling) == (
        dep.steps_per_sample, dep.copies, dep.scaling)
    assert cfg.lnp_iter == dep.iterations
    assert cfg.lnp_kwargs == {"target_density": dep.target_density}
    defaults = {k: p.default for k, p in inspect.signature(chrsnn).parameters.items()}
    assert (cfg.intra_density, cfg.inter_density, cfg.input_scale) == (
        defaults["intra_density"], defaults["inter_density"], defaults["input_scale"])
    from lnp_neuro.tasks.forecast import encode_series
    assert cfg.max_rate == inspect.signature(encode_series).parameters["max_rate"].default
    with pytest.raises(ValueError, match="series_scaling"):
        ExperimentConfig(series_scaling="minmax")
