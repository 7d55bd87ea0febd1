"""The code of a user's series chosen on its training samples (lnp_neuro.tasks.code_choice),
the change channels of the code and the input code's own floor."""

import numpy as np
import pytest

from lnp_neuro.tasks.code_choice import choose_code, code_copies, training_part
from lnp_neuro.tasks.encoding import RateEncoder
from lnp_neuro.tasks.forecast import ForecastSplit, encode_series, input_code_nrmse

# A short, cheap candidate set: the full one takes about 2 s on 3000 samples.
_FAST = dict(steps=(4, 8), scalings=("zscore", "range"))


def _smooth(n=400, seed=0):
    t = np.arange(n) * 0.07
    rng = np.random.default_rng(seed)
    return (np.sin(t) + 0.5 * np.sin(2.3 * t + 1.0) + 0.01 * rng.standard_normal(n))[:, None]


def test_the_choice_reads_the_training_samples_only():
    y = _smooth()
    part = training_part(y)
    split = ForecastSplit(len(y))
    assert len(part) == split.train[-1] + 2 and len(part) <= split.test[0] + 1
    changed = y.copy()
    changed[len(part):] = 50.0 * np.cos(np.arange(len(y) - len(part)))[:, None]
    a, b = choose_code(y, **_FAST), choose_code(changed, **_FAST)
    assert a.settings() == b.settings() and a.candidates == b.candidates


def test_the_choice_is_deterministic_and_reported():
    y = _smooth()
    a, b = choose_code(y, **_FAST), choose_code(y, **_FAST)
    assert a.as_dict() == b.as_dict()
    best = min(a.candidates, key=lambda r: r["nrmse"])
    assert a.settings() == {k: best[k] for k in ("scaling", "steps_per_sample", "copies",
                                                 "code")}
    assert len(a.candidates) == 2 * 2 * 2 and all(np.isfinite(r["nrmse"]) for r in a.candidates)
    assert {r["channels"] for r in a.candidates} == {48}
    assert a.as_dict()["chosen"] == ["scaling", "steps_per_sample", "copies", "code"]


def test_settings_the_user_gives_are_kept():
    y = _smooth()
    c = choose_code(y, given={"scaling": "median", "code": "level", "copies": 3}, **_FAST)
    assert (c.scaling, c.code, c.copies) == ("median", "level", 3)
    assert c.chosen == ("steps_per_sample",)
    assert {(r["scaling"], r["code"], r["copies"]) for r in c.candidates} == \
        {("median", "level", 3)}
    with pytest.raises(ValueError, match="given settings"):
        choose_code(y, given={"rate": 3})


def test_copies_keep_the_channel_count():
    assert code_copies(1, "level") == 24 and code_copies(1, "delta") == 12
    assert code_copies(3, "level") == 8 and code_copies(3, "delta") == 4
    assert code_copies(30, "delta") == 1


def test_change_channels_code_the_change_and_restart_from_the_previous_sample():
    y = _smooth(60)
    enc = RateEncoder(max_rate=200.0, dt=1e-3, steps_per_sample=5, method="staggered",
                      scaling="zscore", copies=2, increments=True).fit(y)
    assert enc.n_channels == 2 * 2 * 2
    whole = enc.transform(y)
    # One sample at a time, each with the one before: the same spikes (the closed loop).
    pieces = [enc.transform(y[:1])] + [enc.transform(y[i:i + 1], previous=y[i - 1])
                                       for i in range(1, len(y))]
    assert np.array_equal(whole, np.vstack(pieces))
    # The level is decoded from the level channels, the change from its own.
    assert np.max(np.abs(enc.inverse_transform(whole) - y)) < 0.2 * np.ptp(y)
    with pytest.raises(ValueError, match="previous has 2 dimensions"):
        enc.transform(y[:2], previous=[0.0, 1.0])


def test_encode_series_refuses_a_channel_count_the_code_cannot_split():
    y = _smooth(200)
    assert encode_series(y, 8, code="delta").code == "delta"
    with pytest.raises(ValueError, match="2 x 2 coded dimensions"):
        encode_series(y, 6, code="delta")
    with pytest.raises(ValueError, match="code must be one of"):
        encode_series(y, 8, code="thermometer")


def test_input_code_floor_is_finite_and_finer_codes_lower_it():
    y = _smooth(600)
    split = ForecastSplit(len(y))
    coarse = input_code_nrmse(encode_series(y, 2, steps_per_sample=5), split, 1e-3)
    fine = input_code_nrmse(encode_series(y, 48, steps_per_sample=20, code="delta"),
                            split, 1e-3)
    assert np.isfinite(coarse["nrmse"]) and np.isfinite(fine["nrmse"])
    assert fine["nrmse"] < coarse["nrmse"] and fine["channels"] == 48


def test_a_series_constant_over_its_training_samples_is_refused_by_name():
    y = np.concatenate([np.ones(330), np.sin(np.arange(70))])
    with pytest.raises(ValueError, match="constant .* over the 310 training"):
        choose_code(y, **_FAST)
