"""Multi-population norse runner (run_norse_populations) against an independent float64
stepper of the NIR graph (feed-forward edges in the same step, recurrent edges one step
later, zero state at t = 0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("norse")
import nir  # noqa: E402

from lnp_neuro.engines.norse.network import run_norse_populations  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "nir_paper"
BRAILLE = ["braille_noDelay_bias_zero.nir", "braille_noDelay_noBias_subtract.nir"]
DT = 1e-4


def f64(a):
    return np.asarray(a, dtype=np.float64)


def affine(node, x):
    out = f64(node.weight) @ x
    return out + f64(node.bias) if isinstance(node, nir.Affine) else out


def cuba_step(node, state, x, dt):
    """norse's CubaLIF discretisation with the leak target of I set to 0 (NIR):
    I += dt/tau_syn (-I + w_in x); v += dt/tau_mem (v_leak - v + r I); z = v > v_th,
    v <- 0 where z."""
    i, v = state
    i = i + dt / f64(node.tau_syn) * (-i + f64(node.w_in) * x)
    v = v + dt / f64(node.tau_mem) * (f64(node.v_leak) - v + f64(node.r) * i)
    z = v > f64(node.v_threshold)
    v = np.where(z, 0.0, v)
    return z, (i, v)


def braille_reference(g, x, dt):
    """input -> fc1 -> lif1.lif (+ lif1.w_rec of the previous step's spikes) -> fc2 ->
    lif2, float64; at t = 0 the recurrent edge delivers nothing."""
    nodes = g.nodes
    fc1, rec, lif1 = nodes["fc1"], nodes["lif1.w_rec"], nodes["lif1.lif"]
    fc2, lif2 = nodes["fc2"], nodes["lif2"]
    n1, n2 = f64(lif1.v_threshold).size, f64(lif2.v_threshold).size
    s1_state = (np.zeros(n1), np.zeros(n1))
    s2_state = (np.zeros(n2), np.zeros(n2))
    out1, out2 = [], []
    s1 = None
    for t in range(x.shape[0]):
        drive = affine(fc1, x[t].astype(np.float64))
        if s1 is not None:
            drive = drive + affine(rec, s1.astype(np.float64))
        s1, s1_state = cuba_step(lif1, s1_state, drive, dt)
        s2, s2_state = cuba_step(lif2, s2_state, affine(fc2, s1.astype(np.float64)), dt)
        out1.append(s1)
        out2.append(s2)
    return {"lif1.lif": np.array(out1), "lif2": np.array(out2)}


def braille_input(n_steps=100, seed=0):
    return np.random.default_rng(seed).random((n_steps, 12)) < 0.3


@pytest.mark.parametrize("fname", BRAILLE)
def test_braille_graph_matches_numpy_stepper(fname):
    """The NIR paper's Braille graphs (two CubaLIF populations, one recurrent): norse's
    float32 rasters must equal the float64 stepper's for 100 steps of Bernoulli(0.3)
    input; exact equality is required because no near-threshold flip occurs on these
    graphs and inputs, so any mismatch is a semantic difference, not rounding."""
    g = nir.read(DATA / fname)
    for seed in range(3):
        x = braille_input(seed=seed)
        got = run_norse_populations(g, x, dt=DT)
        ref = braille_reference(g, x, DT)
        assert set(got) == {"lif1.lif", "lif2"}
        for k in ref:
            assert got[k].dtype == bool and got[k].shape == ref[k].shape
            np.testing.assert_array_equal(got[k], ref[k], err_msg=f"{fname} {k} seed {seed}")
        assert ref["lif1.lif"].sum() > 0 and ref["lif2"].sum() > 0


def nested_braille(g):
    """The same graph as snnTorch writes it: lif1 a subgraph holding lif and w_rec."""
    nodes = dict(g.nodes)
    lif, rec = nodes.pop("lif1.lif"), nodes.pop("lif1.w_rec")
    n = f64(lif.v_threshold).size
    inner = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([n])}), "lif": lif,
               "w_rec": rec, "output": nir.Output(output_type={"output": np.array([n])})},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
        type_check=False)
    nodes["lif1"] = inner
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
             ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_nested_subgraph_runs_like_flat_graph():
    """A subgraph is inlined with '.'-joined names (nir_import._flatten_graph): keys and
    rasters equal those of the flat file."""
    g = nir.read(DATA / BRAILLE[0])
    x = braille_input(seed=4)
    flat = run_norse_populations(g, x, dt=DT)
    nested = run_norse_populations(nested_braille(g), x, dt=DT, populations=["lif1.lif"])
    assert list(nested) == ["lif1.lif"]
    np.testing.assert_array_equal(nested["lif1.lif"], flat["lif1.lif"])


def small_graph(with_delay: bool):
    """input -> [Delay] -> fc -> hidden (LIF) -> readout_w -> readout (LI)."""
    rng = np.random.default_rng(3)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "fc": nir.Affine(weight=rng.normal(0, 0.8, (4, 3)).astype(np.float32),
                         bias=np.full(4, 0.05, dtype=np.float32)),
        "hidden": nir.LIF(tau=np.full(4, 2e-3), r=np.ones(4), v_leak=np.zeros(4),
                          v_threshold=np.full(4, 0.1)),
        "readout_w": nir.Linear(weight=rng.normal(0, 1, (2, 4)).astype(np.float32)),
        "readout": nir.LI(tau=np.full(2, 5e-3), r=np.full(2, 3.0), v_leak=np.zeros(2)),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("fc", "hidden"), ("hidden", "readout_w"), ("readout_w", "readout"),
             ("readout", "output")]
    if with_delay:
        nodes["delay"] = nir.Delay(delay=np.full(3, DT))
        edges += [("input", "delay"), ("delay", "fc")]
    else:
        edges += [("input", "fc")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_delay_node_is_stripped():
    """norse drops nir.Delay; the runner rewires its edge, so the result equals the
    graph without the Delay (and the LI readout follows the float64 stepper)."""
    x = np.random.default_rng(5).random((80, 3)) < 0.4
    with_delay = run_norse_populations(small_graph(True), x, dt=DT)
    without = run_norse_populations(small_graph(False), x, dt=DT)
    assert set(with_delay) == set(without) == {"hidden", "readout"}
    np.testing.assert_array_equal(with_delay["hidden"], without["hidden"])
    np.testing.assert_array_equal(with_delay["readout"], without["readout"])
    assert with_delay["hidden"].dtype == bool and with_delay["readout"].dtype == np.float64
    assert with_delay["hidden"].any()

    g = small_graph(False)
    v_h, v_r, spikes, readout = np.zeros(4), np.zeros(2), [], []
    for t in range(x.shape[0]):
        hid = g.nodes["hidden"]
        v_h = v_h + DT / f64(hid.tau) * (-v_h + affine(g.nodes["fc"], x[t].astype(float)))
        z = v_h > f64(hid.v_threshold)
        v_h[z] = 0.0
        li = g.nodes["readout"]
        drive = affine(g.nodes["readout_w"], z.astype(float))
        v_r = v_r + DT / f64(li.tau) * (f64(li.v_leak) - v_r + f64(li.r) * drive)
        spikes.append(z)
        readout.append(v_r.copy())
    np.testing.assert_array_equal(without["hidden"], np.array(spikes))
    np.testing.assert_allclose(without["readout"], np.array(readout), rtol=1e-5, atol=1e-6)


def test_two_inputs_if_and_integrator():
    """Two Input nodes (a dict of inputs), an IF (r dt = 1) and an Integrator fed by
    both the IF and the second input in the same step."""
    a = nir.Input(input_type={"input": np.array([2])})
    b = nir.Input(input_type={"input": np.array([1])})
    w = np.array([[0.6, 0.3], [0.2, 0.9]], dtype=np.float32)
    nodes = {"a": a, "b": b, "wa": nir.Linear(weight=w),
             "spk": nir.IF(r=np.full(2, 1 / DT), v_threshold=np.ones(2),
                           v_reset=np.zeros(2)),
             "ws": nir.Linear(weight=np.array([[1.0, -0.5]], dtype=np.float32)),
             "wb": nir.Linear(weight=np.array([[2.0]], dtype=np.float32)),
             "acc": nir.I(r=np.full(1, 10.0))}
    edges = [("a", "wa"), ("wa", "spk"), ("spk", "ws"), ("ws", "acc"), ("b", "wb"),
             ("wb", "acc")]
    g = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    rng = np.random.default_rng(6)
    xa, xb = rng.random((60, 2)) < 0.5, rng.random((60, 1)) < 0.3
    got = run_norse_populations(g, {"a": xa, "b": xb}, dt=DT)
    v, acc, spikes, accs = np.zeros(2), np.zeros(1), [], []
    for t in range(60):
        v = v + w.astype(float) @ xa[t]
        z = v > 1.0
        v[z] = 0.0
        acc = acc + DT * 10.0 * (np.array([1.0, -0.5]) @ z + 2.0 * xb[t])
        spikes.append(z)
        accs.append(acc.copy())
    np.testing.assert_array_equal(got["spk"], np.array(spikes))
    np.testing.assert_allclose(got["acc"], np.array(accs), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="dict"):
        run_norse_populations(g, xa, dt=DT)


def test_lif_gain_is_folded_into_its_weights_or_refused_naming_the_node():
    g = small_graph(False)
    x = np.random.default_rng(3).random((40, 3)) < 0.5
    g.nodes["hidden"].r = np.full(4, 2.0)
    doubled = small_graph(False)   # the gain of 2 written into fc, the LIF's only input
    doubled.nodes["fc"].weight = np.asarray(doubled.nodes["fc"].weight) * 2.0
    doubled.nodes["fc"].bias = np.asarray(doubled.nodes["fc"].bias) * 2.0
    folded = run_norse_populations(g, x, dt=DT)
    np.testing.assert_array_equal(folded["hidden"],
                                  run_norse_populations(doubled, x, dt=DT)["hidden"])
    assert folded["hidden"].any()
    # An Input straight into the LIF has no weights to carry the gain: refused.
    direct = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([4])}),
                                 "hidden": g.nodes["hidden"],
                                 "out": nir.Output(output_type={"output": np.array([4])})},
                          edges=[("in", "hidden"), ("hidden", "out")], type_check=False)
    with pytest.raises(ValueError, match="'hidden'.*r != 1"):
        run_norse_populations(direct, np.zeros((5, 4), dtype=bool), dt=DT)
    out = run_norse_populations(g, np.zeros((5, 3), dtype=bool), dt=DT, as_imported=True)
    assert out["hidden"].shape == (5, 4)


def test_unknown_population_is_refused():
    g = nir.read(DATA / BRAILLE[0])
    with pytest.raises(ValueError, match="fc1"):
        run_norse_populations(g, braille_input(5), dt=DT, populations=["fc1"])


def test_feed_forward_edge_reached_late_still_delivers_in_the_same_step():
    """input -> w1 -> B and input -> w2 -> C -> w3 -> B: nirtorch's depth-first order
    would run B before w3 (delaying C's spikes to B by a step); the runner orders the
    feed-forward edges topologically, so B fires in the step C fires."""
    one = np.ones((1, 1), dtype=np.float32)
    spiking = dict(r=np.full(1, 1 / DT), v_threshold=np.full(1, 0.5), v_reset=np.zeros(1))
    nodes = {"input": nir.Input(input_type={"input": np.array([1])}),
             "w1": nir.Linear(weight=0 * one), "B": nir.IF(**spiking),
             "w2": nir.Linear(weight=one), "C": nir.IF(**spiking),
             "w3": nir.Linear(weight=one)}
    edges = [("input", "w1"), ("input", "w2"), ("w1", "B"), ("w2", "C"), ("C", "w3"),
             ("w3", "B")]
    g = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    x = np.random.default_rng(7).random((40, 1)) < 0.5
    got = run_norse_populations(g, x, dt=DT)
    np.testing.assert_array_equal(got["C"], x)
    np.testing.assert_array_equal(got["B"], x)
