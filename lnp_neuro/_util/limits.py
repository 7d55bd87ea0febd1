"""Sizes checked before anything is allocated: memory estimates of a run, file size limits.

An absurd request (``--neurons 2000000000``, ``--steps 100000000000``, a file whose few
bytes claim 10^8 neurons) must be refused with a message naming the flag or file and the
estimate, not discovered as a ``MemoryError`` (or the kernel's OOM killer) after minutes.

The estimate is a *lower bound*: it counts only arrays whose size follows from the
request alone and that a run holds at the same time --

- per neuron, the parameter vectors of the unpruned and the pruned network
  (``tau_mem``, ``tau_syn``, ``v_threshold``, ``bias``, ``du``, ``dv`` as float64; the
  excitatory / active masks as bool);
- per synapse, the CSR storage of both networks (a float64 weight and an int32 column
  index: 12 bytes each; the pruned network is counted at the size of the unpruned one,
  its upper bound);
- per step, the spike rasters (bool ``[steps, neurons]``) of the unpruned run, the
  target run and the native reference run, and the input drive (``[steps, inputs]``);
- for a series drive, the rate code's integer levels while it is made
  (:func:`lnp_neuro.tasks.encoding.staggered_population_spikes` evaluates
  ``(units * k + phase) >> 32``: two int64 arrays of ``[steps, inputs]`` at its peak,
  16 bytes per element; without it ``--copies 100000`` passed the check and ran out of
  memory in the encoder).

The working memory of the pruning algorithms (dense covariance for small networks, etc.)
comes on top, so a request under the bound may still be too large; a request over it
cannot fit. The bound is compared with ``MemAvailable`` (``/proc/meminfo``) and a cgroup
memory limit where one is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .validation import check_int

__all__ = ["MemoryEstimate", "available_memory", "deploy_memory_estimate",
           "check_memory", "format_bytes"]

_PER_NEURON = 6 * 8 + 2          # six float64 parameter vectors, two bool masks
_PER_SYNAPSE = 8 + 4             # CSR float64 weight + int32 column index
_INT32_MAX = 2 ** 31 - 1         # scipy CSR and the simulator index neurons with int32
_PER_CODE_LEVEL = 2 * 8          # two int64 level arrays at the encoder's peak


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} bytes" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class MemoryEstimate:
    """A lower bound of the memory a run needs, by part (bytes) and the flags behind each."""

    parts: dict[str, float] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in self.parts.items():
            if not (isinstance(value, (int, float)) and value >= 0):
                raise ValueError(f"parts[{name!r}] must be a non-negative number of bytes, "
                                 f"got {value!r}")

    @property
    def total(self) -> float:
        return float(sum(self.parts.values()))

    def describe(self) -> str:
        return ", ".join(f"{name} {format_bytes(b)}" for name, b in
                         sorted(self.parts.items(), key=lambda kv: -kv[1]) if b > 0)


def available_memory() -> int | None:
    """Bytes this process can still allocate: MemAvailable, capped by a cgroup v2 limit."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            room = max(int(limit) - used, 0)
            available = room if available is None else min(available, room)
    except (OSError, ValueError):
        pass
    return available


def deploy_memory_estimate(neurons: int, synapses: int, steps: int,
                           inputs: int, encoded: bool = False) -> MemoryEstimate:
    """Lower bound of one ``lnp-deploy`` run's memory (module docstring); ``encoded``:
    the drive is a rate-coded series (its encoder's levels count too)."""
    neurons, synapses, steps, inputs = (check_int(v, n, 0) for n, v in (
        ("neurons", neurons), ("synapses", synapses), ("steps", steps), ("inputs", inputs)))
    parts = {"neuron parameters (2 networks)": 2.0 * _PER_NEURON * neurons,
             "synapse matrices (2 networks)": 2.0 * _PER_SYNAPSE * synapses,
             "spike rasters (3 runs)": 3.0 * steps * neurons,
             "input drive": float(steps) * inputs}
    flags = {"neuron parameters (2 networks)": "neurons",
             "synapse matrices (2 networks)": "neurons / density",
             "spike rasters (3 runs)": "steps x neurons",
             "input drive": "steps"}
    if encoded:
        parts["rate-code levels (encoder)"] = _PER_CODE_LEVEL * float(steps) * inputs
        flags["rate-code levels (encoder)"] = "steps x input channels (--copies)"
    return MemoryEstimate(parts=parts, flags=flags)


def check_memory(estimate: MemoryEstimate, what: str, available: int | None = None,
                 neurons: int | None = None) -> None:
    """Raise ``ValueError`` naming ``what`` (the flags or file) when ``estimate`` cannot fit."""
    if neurons is not None and neurons > _INT32_MAX:
        raise ValueError(f"{what}: {neurons} neurons exceed the {_INT32_MAX} that 32-bit "
                         f"synapse indices can address")
    available = available_memory() if available is None else available
    if available is None or estimate.total <= available:
        return
    largest = max(estimate.parts, key=estimate.parts.get)
    raise ValueError(
        f"{what}: the run needs at least {format_bytes(estimate.total)} of memory "
        f"({estimate.describe()}) but {format_bytes(available)} is available; the largest "
        f"part, the {largest}, grows with {estimate.flags.get(largest, largest)}: lower it")
