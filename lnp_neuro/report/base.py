"""What the deployment report's modules share (:mod:`lnp_neuro.report.render`,
:mod:`lnp_neuro.report.energy_sections`, :mod:`lnp_neuro.report.figures`): the run folder as read
(:class:`RunData`), table-cell formatting, the section and figure containers, the
matplotlib canvas and PNG encoding, the task check, per-run plot styles and constants.

It imports none of the three, so all three import it and the dependencies point one way
(``report`` -> ``report_energy`` / ``report_figures`` -> ``report_base``). Its public
names stay importable from :mod:`lnp_neuro.report.render`.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RunData", "NOT_AVAILABLE"]

NOT_AVAILABLE = "not available in this run"
_MISSING_CELL = "n/a"
_MAX_RASTER_NEURONS = 200
_MAX_RASTER_STEPS = 1000

_TASK_REQUIRED = {"name": str, "metric": str, "unpruned": float, "pruned": float,
                  "persistence": float}

# One style per run (cycled), so no two runs share colour, marker and line style, and a
# hollow marker drawn larger for earlier runs stays visible around a later identical one.
_COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
            "tab:pink", "tab:olive"]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
_LINESTYLES = ["-", "--", "-.", ":"]


@dataclass
class RunData:
    """One run directory, read without unpickling.

    ``arrays`` holds ``input_spikes`` / ``spikes`` from run.npz and the analysis.npz keys
    that were present; ``problems`` lists what could not be read (shown in the report).
    """

    path: Path
    report: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    record: Any = None
    #: Where the run ends up (its final folder), when it is read from elsewhere (a
    #: staging folder); None: ``path`` itself.
    shown: Path | None = None

    @property
    def place(self) -> Path:
        """The run's folder as the report names it: where the run ends up."""
        return self.path if self.shown is None else self.shown

    @property
    def label(self) -> str:
        label = self.report.get("label")
        return str(label) if label not in (None, "") else self.place.name

    @property
    def plot_label(self) -> str:
        """The label as plot text: plain (never mathtext), one line, bounded."""
        return _plain(self.label)


# ------------------------------------------------------------------ formatting
def _fmt(value: Any) -> str:
    """A table cell: never empty."""
    if value is None:
        return _MISSING_CELL
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.3e}"
        return f"{value:.4g}"
    if isinstance(value, dict):
        if not value:
            return _MISSING_CELL
        return "; ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value) if value else _MISSING_CELL
    text = str(value).strip()
    return text if text else _MISSING_CELL


_MAX_SLUG = 40
_MAX_PLOT_TEXT = 80


def _slug(text: str) -> str:
    """A file-name part from a label: ASCII letters, digits and '-', at most 40 + 9
    characters (a long label is cut and keeps a hash of the whole, so two long labels
    sharing a start still get two files; the file system's 255-byte limit is far)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    if len(slug) > _MAX_SLUG:
        digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:8]
        slug = f"{slug[:_MAX_SLUG].rstrip('-')}-{digest}"
    return slug or "run"


def _plain(text: Any, limit: int = _MAX_PLOT_TEXT) -> str:
    """``text`` for matplotlib: control characters as spaces, ``$`` escaped so a label is
    never parsed as mathtext (an unknown ``\\command`` would stop the report), and cut
    to ``limit`` characters (a 100 000-character label would take minutes to lay out)."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", str(text))
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text.replace("$", r"\$")


@dataclass
class _Figure:
    name: str        # file name of the PNG
    title: str
    png: bytes


@dataclass
class _Section:
    """One report section: paragraphs, tables (header, rows) and figures, in order."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def text(self, value: str) -> None:
        self.blocks.append(("text", value))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", (header, rows)))

    def figure(self, fig: _Figure) -> None:
        self.blocks.append(("figure", fig))

    def unavailable(self, what: str) -> None:
        self.blocks.append(("text", f"{what}: {NOT_AVAILABLE}."))


# ------------------------------------------------------------------- plotting
def _new_figure(width: float = 7.0, height: float = 3.6):
    # Lazy: matplotlib (slow to import) is loaded only when a report draws a figure.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=90)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # Fixed margins instead of tight_layout, which draws every figure twice. No
    # timestamp/software metadata: the same runs give the same bytes.
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.2, top=0.86, wspace=0.32)
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _positive_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value > 0 else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _task_of(run: RunData) -> tuple[dict | None, str | None]:
    """``(task, None)`` when the run's ``task`` can be plotted, else ``(None, why not)``."""
    task = run.report.get("task")
    if task is None:
        return None, "report.json has no task (a run written before task scoring existed)"
    if not isinstance(task, dict):
        return None, f"report.json field task must be an object, got {type(task).__name__}"
    if task.get("metric") in ("memory_capacity", "accuracy"):
        return None, f"task.metric is {task['metric']!r}; this plot compares NRMSE only"
    for key, kind in _TASK_REQUIRED.items():
        value = task.get(key)
        if kind is str and not (isinstance(value, str) and value):
            return None, f"report.json field task.{key} must be non-empty text, got {value!r}"
        if kind is float and (_number(value) is None or value < 0):
            return None, f"report.json field task.{key} must be a number >= 0, got {value!r}"
    if task["metric"] != "nrmse":
        return None, f"task.metric is {task['metric']!r}; this plot compares NRMSE only"
    if _positive_float(run.report.get("energy_joules")) is None:
        return None, "report.json has no positive energy_joules"
    return task, None
