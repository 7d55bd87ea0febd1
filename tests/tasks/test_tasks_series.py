"""Series container, splits, prediction protocol, CSV loader and packaged real series."""

import numpy as np
import pytest

from lnp_neuro.tasks import (PredictionWindow, TimeSeriesDataset, load_csv_series,
                             load_packaged_series, prediction_window, prediction_windows,
                             read_csv_columns, split_series)


# --------------------------------------------------------------------------- splits
def test_split_counts_and_fractions():
    x = np.arange(100.0)[:, None] * np.array([1.0, -2.0])
    ds = split_series(x, (60, 20, 20), name="ramp")
    assert ds.split_sizes() == (60, 20, 20)
    np.testing.assert_array_equal(ds.val[0], x[60])
    np.testing.assert_allclose(ds.long_term_std, x.std(axis=0))
    ds = split_series(x, (0.7, 0.15, 0.15))
    assert ds.split_sizes() == (70, 15, 15)
    ds = split_series(x, (50, 0, 10))            # unused tail, empty validation
    assert ds.split_sizes() == (50, 0, 10)
    np.testing.assert_allclose(ds.long_term_std, x[:60].std(axis=0))
    with pytest.raises(ValueError, match="needs 101 samples"):
        split_series(x, (60, 21, 20))
    with pytest.raises(ValueError, match="empty train or test"):
        split_series(x, (0, 50, 50))
    with pytest.raises(ValueError, match="sum to <= 1"):
        split_series(x, (0.8, 0.2, 0.2))


def test_dataset_validation():
    with pytest.raises(ValueError, match="long_term_std"):
        TimeSeriesDataset("a", np.zeros((3, 2)), np.zeros((0, 2)), np.zeros((3, 2)), 1.0,
                          [1.0, 0.0])
    with pytest.raises(ValueError, match="dimensions"):
        TimeSeriesDataset("a", np.zeros((3, 2)), np.zeros((0, 2)), np.zeros((3, 1)), 1.0,
                          [1.0, 1.0])
    with pytest.raises(ValueError, match="non-finite"):
        TimeSeriesDataset("a", [[np.nan]], [], [[1.0]], 1.0, [1.0])
    with pytest.raises(ValueError, match="dt"):
        TimeSeriesDataset("a", [[0.0]], [], [[1.0]], 0.0, [1.0])


# ---------------------------------------------------------------- prediction protocol
def test_prediction_window_indices():
    s = np.arange(1000.0)
    w = prediction_window(s, start=10)
    assert isinstance(w, PredictionWindow)
    assert (w.n_train, w.n_predict) == (500, 100)
    np.testing.assert_array_equal(w.train_inputs[:, 0], np.arange(10, 510))
    np.testing.assert_array_equal(w.train_targets[:, 0], np.arange(11, 511))
    np.testing.assert_array_equal(w.test_inputs[:, 0], np.arange(510, 610))
    np.testing.assert_array_equal(w.test_targets[:, 0], np.arange(511, 611))
    assert w.test_inputs[0, 0] == w.train_targets[-1, 0]
    w5 = prediction_window(s, n_train=20, n_predict=5, lead=5)
    np.testing.assert_array_equal(w5.test_targets[:, 0], w5.test_inputs[:, 0] + 5)
    with pytest.raises(ValueError, match="needs 601 samples"):
        prediction_window(np.arange(600.0))
    with pytest.raises(ValueError, match="n_train"):
        prediction_window(s, n_train=0)


def test_prediction_windows_seeded_and_distinct():
    s = np.arange(2000.0)
    a = prediction_windows(s, 5, seed=4)
    b = prediction_windows(s, 5, seed=4)
    assert [w.start for w in a] == [w.start for w in b]
    assert len({w.start for w in a}) == 5
    assert all(w.test_targets[-1, 0] <= 1999 for w in a)
    with pytest.raises(ValueError, match="room for 2 distinct windows"):
        prediction_windows(np.arange(602.0), 3)


# ------------------------------------------------------------------------ CSV loader
def _write(path, text):
    path.write_text(text)
    return path


def test_csv_reads_named_columns_in_order(tmp_path):
    f = _write(tmp_path / "wind.csv", "time,speed,direction\n0,1.5,180\n1,2.5,190\n2,3.0,200\n")
    values, cols = read_csv_columns(f, ["direction", "speed"])
    assert cols == ("direction", "speed")
    np.testing.assert_array_equal(values, [[180, 1.5], [190, 2.5], [200, 3.0]])
    values, cols = read_csv_columns(f)
    assert cols == ("time", "speed", "direction") and values.shape == (3, 3)
    ds = load_csv_series(f, ["speed"], split=(1, 1, 1))
    assert ds.name == "wind" and ds.columns == ("speed",)
    assert ds.metadata["source"] == str(f)


def test_csv_errors_name_file_column_and_rows(tmp_path):
    f = _write(tmp_path / "s.csv", "a,b\n1,2\n3,\n5,nan\n7,8\n")
    with pytest.raises(ValueError, match="'c' not found") as err:
        read_csv_columns(f, ["a", "c"])
    assert str(f) in str(err.value) and "'a', 'b'" in str(err.value)
    with pytest.raises(ValueError, match=r"column 'b' at line\(s\) 3, 4") as err:
        read_csv_columns(f, ["b"])
    assert str(f) in str(err.value)
    values, _ = read_csv_columns(f, ["a"])      # column a is complete
    np.testing.assert_array_equal(values[:, 0], [1, 3, 5, 7])

    bad = _write(tmp_path / "bad.csv", "a,b\n1,2\n3,x7\n")
    with pytest.raises(ValueError, match=r"column 'b', line 3: 'x7' is not a number") as err:
        read_csv_columns(bad)
    assert str(bad) in str(err.value)

    short = _write(tmp_path / "short.csv", "a\n1\n2\n")
    with pytest.raises(ValueError, match="2 data row\\(s\\); at least 10"):
        read_csv_columns(short, min_rows=10)

    ragged = _write(tmp_path / "ragged.csv", "a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="line 3 has 1 fields"):
        read_csv_columns(ragged)

    empty = _write(tmp_path / "empty.csv", "")
    with pytest.raises(ValueError, match="empty"):
        read_csv_columns(empty)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_csv_columns(tmp_path / "nope.csv")
    inf = _write(tmp_path / "inf.csv", "a\n1\ninf\n")
    with pytest.raises(ValueError, match="infinite"):
        read_csv_columns(inf)
    with pytest.raises(ValueError, match="missing"):
        read_csv_columns(f, missing="drop")


def test_csv_interpolates_interior_gaps_only(tmp_path):
    f = _write(tmp_path / "gaps.csv", "t,v\n0,1\n1,\n2,\n3,7\n")
    values, _ = read_csv_columns(f, ["v"], missing="interpolate")
    np.testing.assert_allclose(values[:, 0], [1, 3, 5, 7])
    edge = _write(tmp_path / "edge.csv", "v\n1\n2\n\n")
    values, _ = read_csv_columns(edge, missing="interpolate")   # a blank line is no row
    np.testing.assert_array_equal(values[:, 0], [1, 2])
    edge = _write(tmp_path / "edge2.csv", "v,w\n1,1\n2,1\nNA,1\n")
    with pytest.raises(ValueError, match="line 4, at an end"):
        read_csv_columns(edge, missing="interpolate")


# ------------------------------------------------------------- packaged real series
def test_elnino_is_the_real_monthly_series():
    ds = load_packaged_series("elnino")
    x = ds.series[:, 0]
    assert x.shape == (732,)                      # 61 years x 12 months
    assert x[0] == pytest.approx(23.11)           # January 1950, first value of the file
    assert x[1] == pytest.approx(24.20)
    assert 18 < x.min() and x.max() < 30          # sea-surface temperatures in deg C
    # A strong annual cycle: autocorrelation at lag 12 far above that at lag 6.
    z = x - x.mean()

    def autocorrelation(lag):
        return np.dot(z[:-lag], z[lag:]) / np.dot(z, z)

    assert autocorrelation(12) > 0.5 > autocorrelation(6)
    assert ds.metadata["time_unit"] == "month"


def test_co2_and_sunspots_are_real_and_long_enough():
    co2 = load_packaged_series("co2")
    x = co2.series[:, 0]
    assert x.shape == (2284,)
    assert x[0] == pytest.approx(316.1)
    # 1958-05-10 is missing in the file: filled halfway between 05-03 and 05-17.
    assert x[6] == pytest.approx(0.5 * (x[5] + x[7]))
    assert x[-1] == pytest.approx(371.5)
    prediction_window(x, start=1000)              # long enough for the 500 + 100 protocol
    sun = load_packaged_series("sunspots", split=(200, 50, 59))
    assert sun.series[0, 0] == 5.0 and sun.series.shape == (309, 1)
    with pytest.raises(ValueError, match="name must be one of"):
        load_packaged_series("google")


def test_closed_loop_forecast_feeds_back_its_predictions():
    from lnp_neuro.tasks import closed_loop_forecast

    out = closed_loop_forecast(lambda x: 2 * x, [1.0, -1.0], 4)
    np.testing.assert_array_equal(out, [[2, -2], [4, -4], [8, -8], [16, -16]])
    calls = []

    def diverging(x):
        calls.append(1)
        return x * np.inf

    out = closed_loop_forecast(diverging, [1.0], 5)
    assert np.isnan(out).all() and len(calls) == 1
    with pytest.raises(ValueError, match="returned 2 values"):
        closed_loop_forecast(lambda x: np.zeros(2), [1.0], 3)
    with pytest.raises(ValueError, match="n_predict"):
        closed_loop_forecast(lambda x: x, [1.0], 0)
