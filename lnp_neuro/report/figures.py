"""Figures of the deployment report (:mod:`lnp_neuro.report.render`): LNP history per
iteration, task error against energy, Lyapunov spectrum, spike raster and membrane time
constants. Each returns a :class:`lnp_neuro.report.base._Figure` (PNG bytes), or None
when the run lacks what the figure needs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import (_COLOURS, _LINESTYLES, _MARKERS, _MAX_RASTER_NEURONS, _MAX_RASTER_STEPS,
                   NOT_AVAILABLE, RunData, _Figure, _fmt, _new_figure, _number, _plain, _png,
                   _task_of)


def _history_series(run: RunData, key: str) -> tuple[np.ndarray, np.ndarray] | None:
    history = run.report.get("history")
    if not isinstance(history, list):
        return None
    xs, ys = [], []
    for pos, entry in enumerate(history):
        if not isinstance(entry, dict):
            continue
        y = _number(entry.get(key))
        if y is None:
            continue
        x = _number(entry.get("iteration"))
        xs.append(pos if x is None else x)
        ys.append(y)
    if not ys:
        return None
    return np.asarray(xs), np.asarray(ys)


def _run_style(i: int, overlaps: int = 0) -> dict:
    """matplotlib keywords of run ``i``: its own colour, hollow marker and line style.
    A curve lying on ``overlaps`` curves drawn before it, or they on it (:func:`_lies_on`),
    gets smaller markers and a thinner line, so it shows inside the earlier ones instead
    of covering them (two hollow markers of different shape and size read as two runs)."""
    return {"color": _COLOURS[i % len(_COLOURS)], "marker": _MARKERS[i % len(_MARKERS)],
            "linestyle": _LINESTYLES[i % len(_LINESTYLES)],
            "markersize": max(3.0, 8.0 - 2.5 * overlaps), "markerfacecolor": "none",
            "markeredgewidth": 1.3, "linewidth": max(0.8, 2.2 - 0.6 * overlaps),
            "zorder": 2 + i}


def _same_series(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return a[0].shape == b[0].shape and bool(np.all(a[0] == b[0]) and np.all(a[1] == b[1]))


def _lies_on(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether at least half of curve ``a``'s points are points of ``b`` (a shared start
    alone, which every pruning history has, does not count)."""
    points = list(zip(a[0].tolist(), a[1].tolist()))
    shared = set(points) & set(zip(b[0].tolist(), b[1].tolist()))
    return 2 * sum(p in shared for p in points) >= len(points) > 1


def _history_figure(runs: Sequence[RunData], keys: Sequence[tuple[str, str]], name: str,
                    title: str) -> _Figure | None:
    series = {key: [(run, _history_series(run, key)) for run in runs] for key, _ in keys}
    if all(s is None for items in series.values() for _, s in items):
        return None
    from matplotlib.ticker import MaxNLocator  # lazy: matplotlib only when a plot is drawn
    fig = _new_figure(4.2 * len(keys), 3.6)
    for i, (key, label) in enumerate(keys):
        ax = fig.add_subplot(1, len(keys), i + 1)
        drawn: list[tuple[str, tuple[np.ndarray, np.ndarray]]] = []
        for j, (run, s) in enumerate(series[key]):
            if s is None:
                continue
            # Say so when a curve lies exactly on an earlier one (e.g. Random copies LNP's
            # counts): the reader then knows the ring markers are two runs, not one.
            same = [other for other, t in drawn if _same_series(s, t)]
            legend = run.plot_label + (f" (= {', '.join(same)})" if same else "")
            overlaps = sum(_lies_on(s, t) or _lies_on(t, s) for _, t in drawn)
            ax.plot(s[0], s[1], label=legend, **_run_style(j, overlaps))
            drawn.append((run.plot_label, s))
        if drawn:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, NOT_AVAILABLE, ha="center", va="center", transform=ax.transAxes)
        if key == "lambda_max" and drawn:
            ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("pruning iteration")
        ax.set_ylabel(label)
    fig.suptitle(title)
    return _Figure(name, title, _png(fig))


def _reference_lines(ax, values: list[tuple[str, float]], style: dict, what: str) -> None:
    """One horizontal line per distinct reference value, labelled with its runs."""
    groups: dict[float, list[str]] = {}
    for label, value in values:
        groups.setdefault(float(value), []).append(label)
    for value, labels in groups.items():
        which = "all runs" if len(groups) == 1 else ", ".join(labels)
        ax.axhline(value, label=_plain(f"{what} ({which})", 200), **style)


def _task_points(runs: Sequence[RunData]) -> list[tuple[int, RunData, dict]]:
    """``(index, run, task)`` of the runs the task plot shows (:func:`_task_of`)."""
    return [(i, r, t) for i, r in enumerate(runs) for t in [_task_of(r)[0]] if t is not None]


def _task_figure(runs: Sequence[RunData]) -> _Figure | None:
    points = _task_points(runs)
    if not points:
        return None
    fig = _new_figure(7.0, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    energies = [float(r.report["energy_joules"]) for _, r, _ in points]
    for i, run, task in points:
        earlier = sum(1 for j, r, t in points if j < i and t["pruned"] == task["pruned"]
                      and r.report["energy_joules"] == run.report["energy_joules"])
        style = {k: v for k, v in _run_style(i, earlier).items()
                 if k not in ("linestyle", "linewidth")}
        ax.plot([float(run.report["energy_joules"])], [float(task["pruned"])], linestyle="none",
                label=f"{run.plot_label}: {_fmt(float(task['pruned']))}", **style)
    _reference_lines(ax, [(r.label, t["unpruned"]) for _, r, t in points],
                     {"color": "0.35", "linestyle": ":", "linewidth": 1.2},
                     "unpruned network")
    _reference_lines(ax, [(r.label, t["persistence"]) for _, r, t in points],
                     {"color": "0.6", "linestyle": "--", "linewidth": 1.2},
                     "persistence forecast")
    if max(energies) > 20 * min(energies):
        ax.set_xscale("log")
    names = sorted({t["name"] for _, _, t in points})
    ax.set_xlabel("energy of the run on its target profile (J)")
    ax.set_ylabel("NRMSE (lower is better)")
    ax.set_title(_plain(f"Task error against energy ({', '.join(names)})", 120))
    ax.legend(fontsize=7)
    return _Figure("task_vs_energy.png", "Task NRMSE against energy, one point per run",
                   _png(fig))


def _spectrum_figure(run: RunData, slug: str) -> _Figure | None:
    before = run.arrays.get("lyapunov_before")
    after = run.arrays.get("lyapunov_after")
    if before is None and after is None:
        return None
    fig = _new_figure(6.0, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    for arr, label, style in ((before, "before pruning", "o-"), (after, "after pruning", "s-")):
        if arr is not None and arr.size:
            ax.plot(np.arange(1, arr.size + 1), np.sort(arr)[::-1], style, ms=3, label=label)
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("exponent index")
    ax.set_ylabel("exponent at the operating point (1/s)")
    ax.set_title(f"Lyapunov spectrum — {run.plot_label}")
    ax.legend(fontsize=8)
    return _Figure(f"lyapunov_{slug}.png", f"Lyapunov spectrum before/after ({run.label})",
                   _png(fig))


def _raster_figure(run: RunData, slug: str, dt: float | None) -> tuple[_Figure, dict] | None:
    spikes = run.arrays.get("spikes")
    if spikes is None or spikes.size == 0:
        return None
    spikes = spikes != 0
    n_steps, n_neurons = spikes.shape
    counts = spikes.sum(axis=0)
    rates = counts / (n_steps * dt) if dt else counts / n_steps
    rate_unit = "Hz" if dt else "spikes/step"
    # Plot a bounded window so a 5000 x 100000 raster stays a small PNG.
    shown_neurons = np.linspace(0, n_neurons - 1, min(n_neurons, _MAX_RASTER_NEURONS)).astype(int)
    shown_steps = min(n_steps, _MAX_RASTER_STEPS)
    window = spikes[:shown_steps][:, shown_neurons]
    t_idx, n_idx = np.nonzero(window)
    fig = _new_figure(9.0, 3.4)
    ax = fig.add_subplot(1, 2, 1)
    ax.scatter(t_idx * (dt * 1e3 if dt else 1.0), n_idx, s=1.0, c="k", marker="|", lw=0.5)
    ax.set_xlabel("time (ms)" if dt else "time step")
    ax.set_ylabel("neuron (subsample)" if len(shown_neurons) < n_neurons else "neuron")
    ax.set_title(f"spike raster ({shown_steps} of {n_steps} steps, "
                 f"{len(shown_neurons)} of {n_neurons} neurons)", fontsize=9)
    ax2 = fig.add_subplot(1, 2, 2)
    ax2.hist(rates, bins=30, color="tab:blue")
    ax2.set_xlabel(f"firing rate ({rate_unit})")
    ax2.set_ylabel("neurons")
    ax2.set_title("firing-rate histogram", fontsize=9)
    stats = {"neurons": n_neurons, "steps": n_steps, "spikes": int(counts.sum()),
             "silent neurons": int(np.count_nonzero(counts == 0)),
             f"mean rate ({rate_unit})": float(rates.mean()) if n_neurons else 0.0}
    return (_Figure(f"raster_{slug}.png", f"Spike raster and firing rates ({run.label})",
                    _png(fig)), stats)


def _tau_figure(run: RunData, slug: str) -> _Figure | None:
    before = run.arrays.get("tau_mem_before")
    after = run.arrays.get("tau_mem_after")
    if before is None and after is None:
        return None
    fig = _new_figure(6.0, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    data = [a * 1e3 for a in (before, after) if a is not None and a.size]
    if not data:
        return None
    bins = np.histogram_bin_edges(np.concatenate(data), bins=30)
    for arr, label in ((before, "before pruning"), (after, "after pruning")):
        if arr is not None and arr.size:
            ax.hist(arr * 1e3, bins=bins, alpha=0.55, label=label)
    ax.set_xlabel("membrane time constant (ms)")
    ax.set_ylabel("neurons")
    ax.set_title(f"Time-constant distribution — {run.plot_label}")
    ax.legend(fontsize=8)
    return _Figure(f"tau_{slug}.png", f"Membrane time constants before/after ({run.label})",
                   _png(fig))
