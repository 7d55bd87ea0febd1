"""Rate codes: scaling, ON/OFF channels, Poisson statistics, exact deterministic counts."""

import numpy as np
import pytest

from lnp_neuro.tasks import (ImageEncoder, RateEncoder, SignalScaling, channel_intensities,
                             combine_channels, decode_rates, deterministic_spikes,
                             poisson_spikes, spike_counts)


def test_scaling_fits_training_statistics():
    train = np.array([[0.0, -4.0], [5.0, 2.0], [10.0, 0.0]])
    mm = SignalScaling.fit(train, "minmax")
    np.testing.assert_allclose(mm.transform(train), [[0, 0], [0.5, 1], [1, 4 / 6]])
    assert not mm.signed
    np.testing.assert_allclose(mm.transform([[20.0, -10.0]]), [[1.0, 0.0]])   # saturates
    np.testing.assert_allclose(mm.inverse_transform(mm.transform(train)), train)
    ma = SignalScaling.fit(train, "maxabs")
    np.testing.assert_allclose(ma.transform(train)[:, 1], [-1.0, 0.5, 0.0])
    assert ma.signed
    zs = SignalScaling.fit(train, "zscore", n_std=2.0)
    np.testing.assert_allclose(zs.center, train.mean(axis=0))
    np.testing.assert_allclose(zs.scale, 2 * train.std(axis=0))
    # "range": the training range onto [-1, 1] around its midpoint; a heavy tail (the
    # 100 below) reaches +1 instead of being clipped at 3 standard deviations.
    tail = np.array([0.0, 1.0, 0.0, 2.0, 100.0] + [0.0, 1.0] * 15)[:, None]
    rg = SignalScaling.fit(tail, "range")
    assert rg.signed and rg.center[0] == 50.0 and rg.scale[0] == 50.0
    np.testing.assert_allclose(rg.transform(tail)[[0, 4], 0], [-1.0, 1.0])
    assert SignalScaling.fit(tail, "zscore").transform(tail)[4, 0] == 1.0          # clipped
    assert SignalScaling.fit(tail, "zscore").inverse_transform([[1.0]])[0, 0] < 100
    const = SignalScaling.fit(np.ones((5, 1)), "minmax")
    assert const.scale[0] == 1.0
    with pytest.raises(ValueError, match="method"):
        SignalScaling.fit(train, "log")
    with pytest.raises(ValueError, match="dimensions"):
        mm.transform(np.zeros((2, 3)))


def test_on_off_channel_pairs():
    u = np.array([[0.5, -0.25], [-1.0, 0.0]])
    c = channel_intensities(u, signed=True)
    np.testing.assert_array_equal(c, [[0.5, 0.0, 0.0, 0.25], [0.0, 1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(combine_channels(c, signed=True), u)
    assert np.all((c[:, 0::2] == 0) | (c[:, 1::2] == 0))   # never both of a pair
    with pytest.raises(ValueError, match="must lie in"):
        channel_intensities(u, signed=False)


def test_poisson_rates_and_variance_match_bernoulli_process():
    rates = np.array([0.0, 0.25, 0.5, 1.0])        # intensities
    T, max_rate, dt = 40000, 200.0, 1e-3
    spikes = poisson_spikes(np.tile(rates, (T, 1)), max_rate, dt, seed=5)
    assert spikes.dtype == bool and spikes.shape == (T, 4)
    p = rates * max_rate * dt
    counts = spikes.sum(axis=0)
    sd = np.sqrt(T * p * (1 - p))
    assert counts[0] == 0
    assert np.all(np.abs(counts[1:] - T * p[1:]) < 5 * sd[1:])
    # Counts in windows of k steps have the binomial variance k p (1 - p).
    k = 50
    window = spike_counts(spikes, k)[:, 3]
    assert abs(window.var() / (k * p[3] * (1 - p[3])) - 1) < 0.15
    np.testing.assert_allclose(decode_rates(spikes, dt, T)[0], counts / (T * dt))
    again = poisson_spikes(np.tile(rates, (T, 1)), max_rate, dt, seed=5)
    np.testing.assert_array_equal(spikes, again)
    assert not np.array_equal(spikes, poisson_spikes(np.tile(rates, (T, 1)), max_rate, dt, 6))


def test_deterministic_counts_are_exact():
    spikes = deterministic_spikes(np.full((100, 1), 0.5), 200.0, 1e-3)      # p = 0.1
    assert spikes.sum() == 10
    np.testing.assert_array_equal(np.diff(np.flatnonzero(spikes[:, 0])), 10)  # regular
    rng = np.random.default_rng(2)
    intensity = rng.random((500, 6))
    spikes = deterministic_spikes(intensity, 400.0, 1e-3)
    intended = np.cumsum(intensity * 0.4, axis=0)
    prefix = np.cumsum(spikes, axis=0)
    assert np.all(np.abs(prefix - intended) <= 0.5 + 1e-9)
    # Integer intended counts are hit exactly.
    ones = deterministic_spikes(np.full((1000, 3), [0.1, 0.3, 0.7]), 100.0, 1e-3)
    np.testing.assert_array_equal(ones.sum(axis=0), [10, 30, 70])


def test_rate_encoder_round_trip_and_shapes():
    t = np.linspace(0, 6, 50)
    x = np.column_stack([np.sin(t), 3 + np.cos(t)])
    enc = RateEncoder(max_rate=500.0, steps_per_sample=40, method="deterministic",
                      scaling="maxabs")
    spikes = enc.fit_transform(x)
    assert spikes.shape == (50 * 40, 4) and spikes.dtype == bool and enc.n_channels == 4
    decoded = enc.inverse_transform(spikes)
    # One spike of a 40-step window at 500 Hz is 1/20 of the scaled range; error
    # diffusion keeps every window within one spike of its intended count.
    quantum = enc.scaling_.scale / (500.0 * 1e-3 * 40)
    assert np.all(np.abs(decoded - x) <= quantum + 1e-9)
    assert np.abs(decoded - x).mean() < 0.6 * quantum.max()
    pois = RateEncoder(max_rate=500.0, steps_per_sample=400, seed=1).fit(x)
    decoded = pois.inverse_transform(pois.transform(x))
    span = x.max(axis=0) - x.min(axis=0)
    assert np.all(np.abs(decoded - x) < 0.2 * span)
    np.testing.assert_array_equal(pois.transform(x), pois.transform(x))
    assert not np.array_equal(pois.transform(x), pois.transform(x, seed=2))


def test_rate_encoder_validation():
    with pytest.raises(ValueError, match="max_rate"):
        RateEncoder(max_rate=2000.0, dt=1e-3).fit(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="method"):
        RateEncoder(method="burst").fit(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="steps_per_sample"):
        RateEncoder(steps_per_sample=0).fit(np.zeros((3, 1)))
    with pytest.raises(RuntimeError, match="not fitted"):
        RateEncoder().transform(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="non-finite"):
        RateEncoder().fit(np.array([[np.nan]]))


def test_image_encoder_presentation_and_rates():
    intensities = np.array([[0.0, 0.2, 0.5, 1.0], [1.0, 0.7, 0.3, 0.1]])
    enc = ImageEncoder(max_rate=100.0, method="deterministic")
    spikes = enc.transform(intensities)
    assert spikes.shape == (2, 200, 4) and enc.steps_per_image == 200
    assert not spikes[:, 100:].any()                          # 100 ms of silence
    # 100 ms at 100 Hz * intensity: exactly 10 * intensity spikes per image.
    np.testing.assert_array_equal(spikes.sum(axis=1), [[0, 2, 5, 10], [10, 7, 3, 1]])
    pois = ImageEncoder(max_rate=100.0, seed=3)
    many = pois.transform(np.repeat(intensities[:1], 400, axis=0))
    assert not many[:, 100:].any()
    mean_counts = many.sum(axis=1).mean(axis=0)
    expected = 10 * intensities[0]
    sd = np.sqrt(100 * 0.1 * intensities[0] * (1 - 0.1 * intensities[0]) / 400)
    assert np.all(np.abs(mean_counts - expected) <= 5 * sd + 1e-12)
    np.testing.assert_array_equal(pois.transform(intensities), pois.transform(intensities))
    assert pois.flatten(spikes).shape == (400, 4)
    with pytest.raises(ValueError, match="t_input"):
        ImageEncoder(t_input=0.0105).transform(intensities)
    with pytest.raises(ValueError, match="intensities"):
        enc.transform(intensities * 2)


def test_image_encoder_blocks_do_not_change_the_draws(monkeypatch):
    from lnp_neuro.tasks import encoding

    x = np.random.default_rng(0).random((7, 30))
    whole = ImageEncoder(seed=11).transform(x)
    monkeypatch.setattr(encoding, "_SCRATCH_VALUES", 2 * 100 * 30)   # blocks of 2 images
    np.testing.assert_array_equal(ImageEncoder(seed=11).transform(x), whole)
    det = ImageEncoder(method="deterministic")
    np.testing.assert_array_equal(det.transform(x), ImageEncoder(method="deterministic")
                                  .transform(x[:3]).tolist() + det.transform(x[3:]).tolist())


def test_staggered_population_code_counts():
    from lnp_neuro.tasks import staggered_population_spikes

    rng = np.random.default_rng(4)
    x = rng.random((30, 2))
    M, K, p_max = 8, 10, 0.5
    spikes = staggered_population_spikes(x, 500.0, 1e-3, K, copies=M)
    assert spikes.shape == (30 * K, 2 * M)
    per_copy = spikes.reshape(30, K, 2, M).sum(axis=1)           # [sample, channel, copy]
    expected = np.floor(K * p_max * x[:, :, None] + (np.arange(M) + 0.5) / M)
    np.testing.assert_array_equal(per_copy, expected)
    population = per_copy.sum(axis=2)
    assert np.all(np.abs(population - M * K * p_max * x) <= 0.5 + 1e-9)
    # Coded sample by sample: the same value always gives the same spikes.
    same = staggered_population_spikes(np.array([[0.37], [0.9], [0.37]]), 500.0, 1e-3, K, M)
    np.testing.assert_array_equal(same[:K], same[2 * K:])
    # One copy is the per-sample restart of the error-diffusion code.
    one = staggered_population_spikes(x, 500.0, 1e-3, K, copies=1)
    for i in range(3):
        np.testing.assert_array_equal(
            one[i * K:(i + 1) * K], deterministic_spikes(np.tile(x[i], (K, 1)), 500.0, 1e-3))


def test_rate_encoder_copies_refine_the_code():
    t = np.linspace(0, 6, 40)
    x = np.column_stack([np.sin(t), np.cos(t)])
    quantum = None
    for method, bound in (("deterministic", 1.0), ("staggered", 0.5 / 8)):
        enc = RateEncoder(max_rate=500.0, steps_per_sample=10, method=method, copies=8).fit(x)
        spikes = enc.transform(x)
        assert spikes.shape == (400, 16) and enc.n_channels == 16
        quantum = enc.scaling_.scale / (500.0 * 1e-3 * 10)
        assert np.all(np.abs(enc.inverse_transform(spikes) - x) <= bound * quantum + 1e-9)
    one = RateEncoder(max_rate=500.0, steps_per_sample=10, method="deterministic").fit(x)
    np.testing.assert_array_equal(
        one.transform(x), deterministic_spikes(np.repeat(one.intensities(x), 10, axis=0),
                                               500.0, 1e-3))
    pois = RateEncoder(max_rate=500.0, steps_per_sample=10, copies=3, seed=0).fit(x)
    s = pois.transform(x)
    assert s.shape == (400, 6)
    assert not np.array_equal(s[:, 0], s[:, 1])           # independent copies
    with pytest.raises(ValueError, match="copies"):
        RateEncoder(copies=0).fit(x)
