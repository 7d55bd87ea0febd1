"""Time series for the prediction tasks (design section 4): container, splits, loaders.

* :class:`TimeSeriesDataset` holds train / validation / test arrays ``[T, D]`` and the
  long-term standard deviation per dimension that normalises the NRMSE.
* :func:`read_csv_columns` / :func:`load_csv_series` read a user's own series (the paper's
  Google-stock and wind-speed files cannot be downloaded here) with errors that name the
  file, the column and the offending rows.
* :func:`load_packaged_series` reads REAL measured series that ship inside the
  ``statsmodels`` wheel (sunspots, Mauna Loa CO2, El Nino sea-surface temperature), so
  tests and examples need no download. Only the CSV files are read, with the same parser
  as user files (statsmodels' own loaders would pull in pandas).
* :func:`prediction_window` cuts the paper's prediction protocol (section 4, "trained
  using 500 timesteps ... used to predict the following 100 timesteps").
"""

from __future__ import annotations

import csv
import importlib.util
import math
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = [
    "TimeSeriesDataset",
    "PredictionWindow",
    "prediction_window",
    "prediction_windows",
    "closed_loop_forecast",
    "split_series",
    "read_csv_columns",
    "check_csv_path",
    "load_csv_series",
    "load_packaged_series",
    "PACKAGED_SERIES",
]

#: Largest magnitude of a CSV value: the squares of the series stay finite.
MAX_CSV_MAGNITUDE = 1e100
_MISSING_TOKENS = frozenset({"", "nan", "na", "n/a", "null", "none", "-"})


def _as_series(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a [T, D] array (or [T]), got {arr.ndim} dimensions")
    if not np.all(np.isfinite(arr)):
        rows = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))
        raise ValueError(f"{name} has non-finite values at row(s) {_list_rows(rows)}")
    return arr


def _list_rows(rows: Sequence[int], limit: int = 10) -> str:
    rows = [int(r) for r in rows]
    text = ", ".join(str(r) for r in rows[:limit])
    return text + (f", ... ({len(rows)} in all)" if len(rows) > limit else "")


@dataclass(eq=False)
class TimeSeriesDataset:
    """A multivariate series split in time into train / validation / test.

    Parameters
    ----------
    name : str
        What the series is (``"lorenz63"``, ``"co2"``, a file name, ...).
    train, val, test : array [T_split, D]
        Consecutive, non-overlapping pieces of one series (``val`` may have 0 rows).
    dt : float
        Sample spacing, in the series' own time unit (``metadata["time_unit"]``).
    long_term_std : array [D]
        ``sigma_d``, the long-term standard deviation of dimension ``d`` that normalises
        ``NRMSE = sqrt(mean_d ((y_hat_d - y_d) / sigma_d)^2)`` (Vlachas et al. 2020).
        Loaders compute it over every retained sample (train + val + test): for a chaotic
        attractor it is a property of the invariant measure, not of one split.
    columns : tuple of str
        Name of each dimension.
    metadata : dict
        Provenance: generator parameters and seed, source file, citation.
    """

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    dt: float
    long_term_std: np.ndarray
    columns: tuple = ()
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        self.train = _as_series(self.train, "train")
        self.val = np.asarray(self.val, dtype=np.float64)
        if self.val.size == 0:
            self.val = np.zeros((0, self.train.shape[1]))
        self.val = _as_series(self.val, "val")
        self.test = _as_series(self.test, "test")
        d = self.train.shape[1]
        for split in ("val", "test"):
            if getattr(self, split).shape[1] != d:
                raise ValueError(f"{split} has {getattr(self, split).shape[1]} dimensions, "
                                 f"train has {d}")
        if len(self.train) < 1 or len(self.test) < 1:
            raise ValueError("train and test must each hold at least one sample")
        try:
            self.dt = float(self.dt)
        except (TypeError, ValueError):
            raise ValueError(f"dt must be a number, got {self.dt!r}") from None
        if not (math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive sample spacing, got {self.dt}")
        self.long_term_std = np.asarray(self.long_term_std, dtype=np.float64).reshape(-1)
        if self.long_term_std.shape != (d,):
            raise ValueError(f"long_term_std must have one value per dimension ({d}), "
                             f"got shape {self.long_term_std.shape}")
        if not np.all(np.isfinite(self.long_term_std)) or np.any(self.long_term_std <= 0):
            raise ValueError("long_term_std must be positive and finite in every dimension "
                             f"(a constant dimension cannot normalise an error), got "
                             f"{self.long_term_std}")
        if isinstance(self.columns, str):
            self.columns = (self.columns,)
        self.columns = tuple(str(c) for c in self.columns) or tuple(f"x{i}" for i in range(d))
        if len(self.columns) != d:
            raise ValueError(f"columns must name each of the {d} dimensions, got {self.columns}")
        if not isinstance(self.metadata, dict):
            raise ValueError(f"metadata must be a dict, got {type(self.metadata).__name__}")

    @property
    def n_dims(self) -> int:
        return self.train.shape[1]

    @property
    def series(self) -> np.ndarray:
        """The whole retained series, train then val then test."""
        return np.concatenate([self.train, self.val, self.test])

    def split_sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.val), len(self.test)

    def __repr__(self) -> str:
        n_tr, n_va, n_te = self.split_sizes()
        return (f"TimeSeriesDataset({self.name!r}, dims={self.columns}, "
                f"train/val/test={n_tr}/{n_va}/{n_te}, dt={self.dt:g})")


def split_series(values, split, *, name: str = "series", dt: float = 1.0,
                 columns: Sequence[str] = (), metadata: dict | None = None
                 ) -> TimeSeriesDataset:
    """Split ``values [T, D]`` in time into a :class:`TimeSeriesDataset`.

    ``split`` is ``(n_train, n_val, n_test)``: three ints are sample counts taken from
    the start; three floats are fractions of ``T`` (sum <= 1; counts are floored, and
    with fractions summing to 1 the test split takes the remainder). ``long_term_std``
    is the standard deviation over the samples kept in the three splits.
    """
    arr = _as_series(values, name)
    if not isinstance(split, (tuple, list)) or len(split) != 3:
        raise ValueError(f"split must be (n_train, n_val, n_test), got {split!r}")
    if all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in split):
        counts = [int(s) for s in split]
        if min(counts) < 0:
            raise ValueError(f"split counts must be non-negative, got {split}")
    else:
        try:
            fracs = [float(s) for s in split]
        except (TypeError, ValueError):
            raise ValueError(f"split must hold three ints or three fractions, got {split!r}"
                             ) from None
        if min(fracs) < 0 or sum(fracs) > 1 + 1e-9:
            raise ValueError(f"split fractions must be >= 0 and sum to <= 1, got {split}")
        counts = [int(math.floor(f * len(arr) + 1e-9)) for f in fracs]
        if abs(sum(fracs) - 1) <= 1e-9:
            counts[2] = len(arr) - counts[0] - counts[1]
    if sum(counts) > len(arr):
        raise ValueError(f"{name}: split {tuple(counts)} needs {sum(counts)} samples, "
                         f"the series has {len(arr)}")
    if counts[0] < 1 or counts[2] < 1:
        raise ValueError(f"{name}: split {tuple(counts)} leaves an empty train or test set")
    kept = arr[:sum(counts)]
    std = kept.std(axis=0)
    a, b = counts[0], counts[0] + counts[1]
    return TimeSeriesDataset(name=name, train=kept[:a], val=kept[a:b], test=kept[b:],
                             dt=dt, long_term_std=std,
                             columns=(columns,) if isinstance(columns, str) else tuple(columns),
                             metadata=dict(metadata or {}))


# ------------------------------------------------------------------ prediction protocol
@dataclass(eq=False)
class PredictionWindow:
    """One window of the prediction protocol: fit on ``n_train`` steps, predict ``n_predict``.

    With ``lead`` = 1 the model maps ``x[t]`` to ``x[t+1]``::

        train_inputs  = x[s : s+n_train]            train_targets = x[s+1 : s+n_train+1]
        test_inputs   = x[s+n_train : s+n_train+n_predict]
        test_targets  = x[s+n_train+1 : s+n_train+n_predict+1]

    ``test_inputs[0] == train_targets[-1]``: an open-loop (teacher-forced) forecast feeds
    ``test_inputs``; a closed-loop (autonomous) forecast starts from ``test_inputs[0]``
    and feeds back its own predictions. ``start`` is the index of ``x[s]`` in the series.
    """

    train_inputs: np.ndarray
    train_targets: np.ndarray
    test_inputs: np.ndarray
    test_targets: np.ndarray
    start: int
    lead: int = 1

    def __post_init__(self) -> None:
        for name in ("train_inputs", "train_targets", "test_inputs", "test_targets"):
            setattr(self, name, _as_series(getattr(self, name), name))
        if self.train_inputs.shape != self.train_targets.shape:
            raise ValueError("train_inputs and train_targets must have the same shape")
        if self.test_inputs.shape != self.test_targets.shape:
            raise ValueError("test_inputs and test_targets must have the same shape")
        if self.lead < 1:
            raise ValueError(f"lead must be >= 1, got {self.lead}")

    @property
    def n_train(self) -> int:
        return len(self.train_inputs)

    @property
    def n_predict(self) -> int:
        return len(self.test_inputs)


def prediction_window(series, n_train: int = 500, n_predict: int = 100, start: int = 0,
                      lead: int = 1) -> PredictionWindow:
    """The paper's protocol (section 4): train on ``n_train`` = 500 steps of ``series``
    from ``start``, then predict the following ``n_predict`` = 100 steps, ``lead`` ahead.
    """
    arr = _as_series(series, "series")
    for name, value, low in (("n_train", n_train, 1), ("n_predict", n_predict, 1),
                             ("start", start, 0), ("lead", lead, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    need = start + n_train + n_predict + lead
    if need > len(arr):
        raise ValueError(f"a window starting at {start} with n_train={n_train}, "
                         f"n_predict={n_predict}, lead={lead} needs {need} samples; the "
                         f"series has {len(arr)}")
    s, m = start, start + n_train
    return PredictionWindow(
        train_inputs=arr[s:m], train_targets=arr[s + lead:m + lead],
        test_inputs=arr[m:m + n_predict], test_targets=arr[m + lead:m + n_predict + lead],
        start=int(start), lead=int(lead))


def prediction_windows(series, n_windows: int, n_train: int = 500, n_predict: int = 100,
                       lead: int = 1, seed=None) -> list[PredictionWindow]:
    """``n_windows`` protocol windows at distinct start indices drawn with ``seed``
    (``np.random.default_rng``), sorted; for averaging a metric over a series."""
    arr = _as_series(series, "series")
    if not isinstance(n_windows, (int, np.integer)) or n_windows < 1:
        raise ValueError(f"n_windows must be a positive integer, got {n_windows!r}")
    n_starts = len(arr) - (n_train + n_predict + lead) + 1
    if n_starts < n_windows:
        raise ValueError(f"the series has room for {max(n_starts, 0)} distinct windows of "
                         f"{n_train}+{n_predict}+{lead} samples, {n_windows} were asked for")
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.choice(n_starts, size=n_windows, replace=False))
    return [prediction_window(arr, n_train, n_predict, int(s), lead) for s in starts]


def closed_loop_forecast(predict_next, first_input, n_predict: int) -> np.ndarray:
    """Autonomous forecast ``[n_predict, D]``: ``y[0] = predict_next(first_input)``,
    ``y[k] = predict_next(y[k-1])``. ``predict_next`` maps one state ``[D]`` to the next
    (a stateful model keeps its own state between calls); ``first_input`` is
    ``PredictionWindow.test_inputs[0]``, so ``y`` lines up with ``test_targets``.
    A non-finite prediction stops the loop; the rest of the forecast is NaN."""
    if not callable(predict_next):
        raise ValueError(f"predict_next must be callable, got {type(predict_next).__name__}")
    if not isinstance(n_predict, (int, np.integer)) or isinstance(n_predict, bool) \
            or n_predict < 1:
        raise ValueError(f"n_predict must be a positive integer, got {n_predict!r}")
    x = np.asarray(first_input, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(x)):
        raise ValueError("first_input must be finite")
    out = np.full((int(n_predict), x.size), np.nan)
    for k in range(int(n_predict)):
        x = np.asarray(predict_next(x), dtype=np.float64).reshape(-1)
        if x.size != out.shape[1]:
            raise ValueError(f"predict_next returned {x.size} values, expected {out.shape[1]}")
        if not np.all(np.isfinite(x)):
            break
        out[k] = x
    return out


# ------------------------------------------------------------------------ CSV files
def read_csv_columns(path, columns: Sequence[str] | None = None, *, delimiter: str = ",",
                     min_rows: int = 2, missing: str = "error"
                     ) -> tuple[np.ndarray, tuple[str, ...]]:
    """Read named numeric columns of a CSV file with a header row.

    Parameters
    ----------
    path : path of the file.
    columns : names of the columns to read, in this order; None reads every column.
    delimiter : field separator.
    min_rows : fewest data rows accepted.
    missing : ``"error"`` (default) refuses empty / NaN / NA cells and lists their rows;
        ``"interpolate"`` fills interior gaps linearly in row order (a gap at either end
        is still an error: there is nothing to interpolate from).

    Returns ``(values [n_rows, n_columns] float64, column names)``. Row numbers in error
    messages are line numbers of the file (the header is line 1).
    """
    path = Path(path)
    _check_csv_options(path, delimiter, min_rows, missing)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = _csv_header(reader, path)
            columns, idx = _select_columns(path, header, columns)
            rows, line_numbers, gaps = _csv_rows(reader, path, header, columns, idx)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (a byte 0x{exc.object[exc.start]:02x}); "
                         f"save the CSV as UTF-8") from None
    if len(rows) < min_rows:
        raise ValueError(f"{path}: {len(rows)} data row(s); at least {min_rows} are needed")
    data = np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))
    if any(gaps.values()):
        _fill_gaps(path, data, columns, gaps, line_numbers, missing)
    return data, tuple(columns)


def _check_csv_options(path: Path, delimiter, min_rows, missing) -> None:
    """Refuse bad options of :func:`read_csv_columns` and a path that is not a file."""
    if missing not in ("error", "interpolate"):
        raise ValueError(f"missing must be 'error' or 'interpolate', got {missing!r}")
    if not isinstance(min_rows, (int, np.integer)) or min_rows < 1:
        raise ValueError(f"min_rows must be a positive integer, got {min_rows!r}")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be one character, got {delimiter!r}")
    check_csv_path(path)


def check_csv_path(path) -> None:
    """Refuse a CSV path that is missing or not a regular file, saying which: a folder,
    a FIFO or a device (a symlink to /dev/zero would be read for ever) is no CSV file."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such CSV file") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the CSV file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise ValueError(f"{path}: is a folder, not a CSV file")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path}: is not a regular file (a FIFO, device or socket), not a "
                         f"CSV file")


def _csv_header(reader, path: Path) -> list[str]:
    """The header row, fields stripped; an empty or unreadable file is an error."""
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{path}: the file is empty (expected a header row)") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc})") from None
    return [h.strip() for h in header]


def _select_columns(path: Path, header: list[str], columns
                    ) -> tuple[list[str], list[int]]:
    """The requested column names (None: the whole header) and their header positions.

    Each must be in the header exactly once.
    """
    if columns is None:
        columns = header
    if isinstance(columns, str):
        columns = [columns]
    columns = [str(c) for c in columns]
    if not columns:
        raise ValueError(f"columns must name at least one column of {path}")
    absent = [c for c in columns if c not in header]
    if absent:
        raise ValueError(f"{path}: column(s) {', '.join(repr(c) for c in absent)} not found; "
                         f"the header has {', '.join(repr(h) for h in header)}")
    dup = sorted({h for h in header if header.count(h) > 1 and h in columns})
    if dup:
        raise ValueError(f"{path}: column name(s) {dup} appear more than once in the header")
    return columns, [header.index(c) for c in columns]


def _csv_rows(reader, path: Path, header: list[str], columns: list[str], idx: list[int]
              ) -> tuple[list[list[float]], list[int], dict[str, list[int]]]:
    """The data rows after the header: values, file line numbers, and per column its gaps.

    Blank lines are skipped; a row with the wrong field count or a CSV syntax error is an
    error naming the line.
    """
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    gaps: dict[str, list[int]] = {c: [] for c in columns}
    try:
        for record in reader:
            if not record or all(not f.strip() for f in record):
                continue  # blank line
            line = reader.line_num
            if len(record) != len(header):
                raise ValueError(f"{path}: line {line} has {len(record)} fields, the header "
                                 f"has {len(header)}")
            rows.append(_row_values(path, record, columns, idx, line, gaps))
            line_numbers.append(line)
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file near line {reader.line_num} "
                         f"({exc})") from None
    return rows, line_numbers, gaps


def _row_values(path: Path, record: list[str], columns: list[str], idx: list[int], line: int,
                gaps: dict[str, list[int]]) -> list[float]:
    """The selected cells of one row as floats: missing tokens and NaN become NaN (their
    line is added to ``gaps``); text that is no number and infinities are errors."""
    values = []
    for c, i in zip(columns, idx):
        text = record[i].strip()
        if text.lower() in _MISSING_TOKENS:
            gaps[c].append(line)
            values.append(math.nan)
            continue
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{path}: column {c!r}, line {line}: {text!r} is not a "
                             f"number") from None
        if math.isnan(value):
            gaps[c].append(line)
        elif math.isinf(value):
            raise ValueError(f"{path}: column {c!r}, line {line}: infinite value "
                             f"{text!r}")
        elif abs(value) > MAX_CSV_MAGNITUDE:
            # Beyond it the series' mean and spread overflow (1e308: "center must be
            # finite" deep inside the encoder, naming nothing).
            raise ValueError(f"{path}: column {c!r}, line {line}: {text[:30]!r} is beyond "
                             f"+-{MAX_CSV_MAGNITUDE:g}; rescale the column")
        values.append(value)
    return values


def _fill_gaps(path: Path, data: np.ndarray, columns: list[str], gaps: dict[str, list[int]],
               line_numbers: list[int], missing: str) -> None:
    """Refuse the gaps (``missing="error"``) or fill interior ones in place by linear
    interpolation in row order (``np.interp``); a gap at either end cannot be filled."""
    if missing == "error":
        parts = [f"column {c!r} at line(s) {_list_rows(r)}" for c, r in gaps.items() if r]
        raise ValueError(f"{path}: missing or NaN values in " + "; ".join(parts) +
                         " (pass missing='interpolate' to fill interior gaps)")
    lines = np.asarray(line_numbers)
    for j, c in enumerate(columns):
        bad = np.isnan(data[:, j])
        if not bad.any():
            continue
        if bad[0] or bad[-1]:
            where = lines[0] if bad[0] else lines[-1]
            raise ValueError(f"{path}: column {c!r} is missing at line {where}, at an end "
                             f"of the series, where it cannot be interpolated")
        pos = np.arange(len(data))
        data[bad, j] = np.interp(pos[bad], pos[~bad], data[~bad, j])


def load_csv_series(path, columns: Sequence[str] | None = None, *,
                    split=(0.6, 0.2, 0.2), dt: float = 1.0, delimiter: str = ",",
                    min_rows: int = 2, missing: str = "error", name: str | None = None
                    ) -> TimeSeriesDataset:
    """A user's CSV series as a :class:`TimeSeriesDataset` (see :func:`read_csv_columns`
    for the reading rules and :func:`split_series` for ``split``)."""
    path = Path(path)
    values, cols = read_csv_columns(path, columns, delimiter=delimiter, min_rows=min_rows,
                                    missing=missing)
    return split_series(values, split, name=name or path.stem, dt=dt, columns=cols,
                        metadata={"source": str(path), "missing": missing})


# --------------------------------------------------- real series shipped by statsmodels
#: name -> (folder of statsmodels.datasets, csv file, columns, sample spacing, unit, source)
PACKAGED_SERIES = {
    "sunspots": dict(
        file="sunspots/sunspots.csv", layout="long", columns=("SUNACTIVITY",), dt=1.0,
        time_unit="year", start="1700",
        source="Yearly sunspot numbers 1700-2008 (NOAA National Geophysical Data "
               "Center), as shipped in statsmodels.datasets.sunspots"),
    "co2": dict(
        file="co2/co2.csv", layout="long", columns=("co2",), dt=7.0, time_unit="day",
        start="1958-03-29",
        source="Weekly atmospheric CO2 (ppmv) at Mauna Loa 1958-2001, Keeling & Whorf "
               "(2004), as shipped in statsmodels.datasets.co2; missing weeks are "
               "interpolated linearly"),
    "elnino": dict(
        file="elnino/elnino.csv", layout="wide", columns=("sst",), dt=1.0,
        time_unit="month", start="1950-01",
        source="Monthly sea-surface temperature (deg C), Nino 1+2 region, 1950-2010 (NOAA "
               "ERSST.V3B), as shipped in statsmodels.datasets.elnino; year rows unrolled "
               "month by month"),
}


def _statsmodels_datasets_dir() -> Path:
    spec = importlib.util.find_spec("statsmodels")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the packaged real series ship inside statsmodels; install it with "
            "`pip install statsmodels`")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets"


def load_packaged_series(name: str = "elnino", *, split=(0.6, 0.2, 0.2)) -> TimeSeriesDataset:
    """A real measured series that ships inside the ``statsmodels`` wheel.

    ``name`` is one of :data:`PACKAGED_SERIES`: ``"sunspots"`` (309 yearly values),
    ``"co2"`` (2284 weekly values, 59 missing weeks interpolated) or ``"elnino"`` (732
    monthly values). ``co2`` and ``elnino`` are long enough for the 500 + 100 step
    prediction protocol. The CSV is read with :func:`read_csv_columns`; nothing is
    downloaded and statsmodels itself is not imported.
    """
    if name not in PACKAGED_SERIES:
        raise ValueError(f"name must be one of {sorted(PACKAGED_SERIES)}, got {name!r}")
    info = PACKAGED_SERIES[name]
    path = _statsmodels_datasets_dir() / info["file"]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the statsmodels installation lacks the {name} data")
    if info["layout"] == "long":
        values, cols = read_csv_columns(path, info["columns"], missing="interpolate")
    else:  # one row per year, one column per month
        months = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                  "NOV", "DEC")
        table, _ = read_csv_columns(path, months)
        values, cols = table.reshape(-1, 1), info["columns"]
    meta = {"source": info["source"], "file": str(path), "time_unit": info["time_unit"],
            "start": info["start"]}
    return split_series(values, split, name=name, dt=info["dt"], columns=cols, metadata=meta)
