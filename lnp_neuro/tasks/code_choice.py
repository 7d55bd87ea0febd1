"""The code of a user's series, chosen on its own training data (issue 28, item 5).

A CSV series comes with no code settings anyone tuned for it. :func:`choose_code` picks
the scaling, the steps each sample is held for and the code (level only, or level and
change, :data:`.forecast.CODES`) that give the lowest one-step NRMSE of the input code's
own floor (:func:`.forecast.input_code_nrmse`: the network's trace-and-ridge readout
applied to the input spike trains, no network) on a validation part of the training
samples:

1. The deploy's split (:class:`.forecast.ForecastSplit`: washout, 70 % train, 30 % test)
   is cut first; only the samples its training targets reach are kept
   (:func:`training_part`). The test samples are never read, so the choice cannot depend
   on them.
2. That part is split again the same way: the scaling and the readout are fitted on its
   first 70 %, the NRMSE is taken on the rest (the validation part).
3. Every candidate keeps the drive's channel count (``channels``, 48 by default: the
   three-dimensional default drive's): ``copies = channels / (2 D)`` for the level code,
   half as many for the level-and-change code, whose change channels double the coded
   dimensions.

The floor is the criterion because it costs no network run, so a default deploy can
afford to try every candidate, and because what a code carries to a linear readout is
what the network's neurons start from (docs/results.md compares the two).
The choice is the lowest validation NRMSE, the candidates tried in order of cost (fewest
steps first), so an exact tie goes to the cheaper code. A setting the user gives is
kept and only the others are chosen. Each candidate's score and input spikes per sample
(what its input synaptic operations scale with) are returned for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._util.validation import check_int
from .encoding import SERIES_SCALINGS
from .forecast import CODES, ForecastSplit, check_scorable, encode_series, input_code_nrmse

__all__ = ["CodeChoice", "choose_code", "training_part", "code_copies", "STEP_CHOICES",
           "CODE_CHANNELS"]

#: Steps per sample tried when the user gives none.
STEP_CHOICES = (10, 20, 40)
#: Input channels of a chosen code: the three-dimensional default drive's (8 copies of
#: three ON/OFF pairs), so a CSV's network is as wide at its input as the default one.
CODE_CHANNELS = 48
_CODE_KEYS = ("scaling", "steps_per_sample", "copies", "code")


def training_part(series) -> np.ndarray:
    """The samples the deploy's split trains on: the series up to the target of its last
    training sample (``y[: train[-1] + 2]``); the test samples are left out."""
    y = np.asarray(series, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    split = ForecastSplit(y.shape[0])
    return y[: int(split.train[-1]) + 2]


def code_copies(n_dims: int, code: str, channels: int = CODE_CHANNELS) -> int:
    """Copies per ON/OFF channel that keep ``channels`` inputs: ``channels / (2 D)`` for
    the level code, half for the level-and-change code (at least one)."""
    coded = check_int(n_dims, "n_dims") * (2 if code == "delta" else 1)
    return max(1, check_int(channels, "channels") // (2 * coded))


@dataclass(eq=False)
class CodeChoice:
    """The chosen code (``scaling``, ``steps_per_sample``, ``copies``, ``code``), which of
    them were chosen (``chosen``; the rest the user gave), the validation split and every
    candidate's score."""

    scaling: str
    steps_per_sample: int
    copies: int
    code: str
    chosen: tuple
    validation: dict
    candidates: list = field(default_factory=list)

    def settings(self) -> dict:
        return {k: getattr(self, k) for k in _CODE_KEYS}

    def as_dict(self) -> dict:
        return {"chosen": list(self.chosen), **self.settings(),
                "criterion": "lowest one-step NRMSE of the input code's own floor (trace "
                             "and ridge readout of the input spike trains, no network) on "
                             "a validation part of the training samples",
                "validation": dict(self.validation), "candidates": list(self.candidates)}


def _validation_split(n: int) -> ForecastSplit:
    """The deploy's split of the training part, with a shorter washout when the part is
    too short for 100 (a CSV cut by --task-samples near the deploy's minimum)."""
    washout = 100
    while washout > 0 and n < ForecastSplit.min_samples(washout):
        washout //= 2
    return ForecastSplit(n, washout=washout)


def choose_code(series, *, given: dict | None = None, dt: float = 1e-3,
                max_rate: float = 200.0, channels: int = CODE_CHANNELS,
                steps=STEP_CHOICES, scalings=SERIES_SCALINGS, codes=CODES) -> CodeChoice:
    """Choose the code of ``series [n, D]`` on its training samples (module docstring).

    ``given``: settings the user fixed (``scaling``, ``steps_per_sample``, ``copies``,
    ``code``; None or absent: choose it). Deterministic: the code is deterministic
    (staggered error diffusion) and the readout a closed-form ridge."""
    given = {k: v for k, v in (given or {}).items() if v is not None}
    unknown = sorted(set(given) - set(_CODE_KEYS))
    if unknown:
        raise ValueError(f"given settings must be among {', '.join(_CODE_KEYS)}, got "
                         f"{', '.join(unknown)}")
    part = training_part(series)
    try:
        check_scorable(part)
    except ValueError:
        raise ValueError(f"the series is constant (or nearly) over the {part.shape[0]} "
                         f"training samples the code is chosen on: no code can be chosen "
                         f"(or a readout fitted) there; give --scaling, --steps-per-sample, "
                         f"--copies and --code, or use a series that varies before its "
                         f"test samples") from None
    split = _validation_split(part.shape[0])
    fit = int(split.train[-1]) + 2          # the scaling sees the fit samples only
    d = part.shape[1]
    step_list = [given["steps_per_sample"]] if "steps_per_sample" in given else sorted(steps)
    scaling_list = [given["scaling"]] if "scaling" in given else list(scalings)
    code_list = [given["code"]] if "code" in given else list(codes)
    candidates, best = [], None
    for k in step_list:
        for code in code_list:
            copies = given.get("copies", code_copies(d, code, channels))
            for scaling in scaling_list:
                encoded = encode_series(part, 2 * d * (2 if code == "delta" else 1) * copies,
                                        dt=dt, steps_per_sample=k, max_rate=max_rate,
                                        fit_samples=fit, scaling=scaling, code=code)
                floor = input_code_nrmse(encoded, split, dt)
                row = {"code": code, "scaling": scaling, "steps_per_sample": int(k),
                       "copies": int(copies), "channels": floor["channels"],
                       "nrmse": floor["nrmse"], "trace_tau": floor["trace_tau"],
                       "input_spikes_per_sample": float(np.count_nonzero(encoded.spikes)
                                                        / part.shape[0])}
                candidates.append(row)
                if best is None or row["nrmse"] < best["nrmse"]:
                    best = row
    return CodeChoice(scaling=best["scaling"], steps_per_sample=best["steps_per_sample"],
                      copies=best["copies"], code=best["code"],
                      chosen=tuple(k for k in _CODE_KEYS if k not in given),
                      validation={"samples": int(part.shape[0]), "washout": int(split.washout),
                                  "n_fit": int(split.train.size),
                                  "n_validation": int(split.test.size)},
                      candidates=candidates)
