"""The shared parameter checks: value first, name second, messages that name the parameter."""

import numpy as np
import pytest

from lnp_neuro._util.validation import (NoProgress, check_float, check_fraction, check_int,
                                        check_nonnegative, check_positive, make_rng,
                                        progress_bar)


def test_check_int_accepts_integers_and_refuses_bools_and_floats():
    assert check_int(np.int64(3), "n") == 3 and type(check_int(np.int64(3), "n")) is int
    for bad, msg in ((True, "n must be an integer, got True"), (2.0, "n must be an integer"),
                     (0, "n must be an integer >= 1, got 0")):
        with pytest.raises(ValueError, match=msg):
            check_int(bad, "n")
    assert check_int(0, "n", minimum=0) == 0


def test_float_checks_name_the_parameter_and_their_bound():
    assert check_positive("2.5", "tau") == 2.5
    with pytest.raises(ValueError, match="tau must be a positive number, got 0"):
        check_positive(0, "tau")
    with pytest.raises(ValueError, match="tau must be finite"):
        check_positive(float("inf"), "tau")
    with pytest.raises(ValueError, match="sigma must be a non-negative number"):
        check_nonnegative(-1e-9, "sigma")
    assert check_nonnegative(0, "sigma") == 0.0
    with pytest.raises(ValueError, match="x must be > 1"):
        check_float(1, "x", minimum=1, strict=True)
    with pytest.raises(ValueError, match="x must be a number"):
        check_float(True, "x")


@pytest.mark.parametrize("kwargs, inside, outside", [
    ({}, (0.0, 0.5), (1.0, -0.1)),
    ({"allow_zero": False, "allow_one": True}, (1.0, 1e-9), (0.0, 1.1)),
])
def test_check_fraction_ends(kwargs, inside, outside):
    for v in inside:
        assert check_fraction(v, "p", **kwargs) == v
    for v in outside:
        with pytest.raises(ValueError, match="p must be in"):
            check_fraction(v, "p", **kwargs)


def test_make_rng_and_progress_bar():
    g = np.random.default_rng(1)
    assert make_rng(g) is g
    assert make_rng(5).random() == np.random.default_rng(5).random()
    with pytest.raises(ValueError, match="seed must be an integer"):
        make_rng(1.5)
    bar = progress_bar(10, False, "x")
    assert isinstance(bar, NoProgress)
    shown = progress_bar(10, True, "x")
    assert not isinstance(shown, NoProgress) and shown.total == 10 and not shown.disable
    shown.close()
