"""What the default deploy gives on a user's CSV of a smooth process (issue 28, item 5).

    .venv/bin/python benchmarks/csv_coding.py                       # 4 series, both codes
    .venv/bin/python benchmarks/csv_coding.py --series sines --codes chosen
    .venv/bin/python benchmarks/csv_coding.py --series lorenz-x --codes chosen --seeds 1,2
    .venv/bin/python benchmarks/csv_coding.py --series lorenz-x --codes chosen \
        --extra="--steps-per-sample 20"

Each series is written as a CSV of its own (one column per dimension, a header row) and
deployed with ``lnp-deploy --target cpu --input FILE.csv`` (N = 1000, LNP, 3000 samples;
the one-step forecast scored on the test samples, fixed-point native engine), once with
the code chosen on the training samples (``chosen``: no code flag, the default) and once
with the code a CSV had before (``old``: ``--code level --scaling zscore
--steps-per-sample 20 --copies 8``). Every figure is read from the report.json the run
writes, so it is what a user gets:

- NRMSE of the unpruned and the deployed (LNP-pruned) network, and each over persistence
  (the target: at most 0.7), as the report gives them: read out on the chip (the
  deployed graph's readout population, ``readout`` "deployed"), with the off-chip float
  readout's ratios beside them (``offchip_*``);
- the references on the same split: persistence, the input code alone (the network's
  readout of the input spike trains, no network), the unpruned network without recurrent
  synapses, the two-tap linear map and the echo-state network of the same size;
- the code (chosen or given) and the input spikes per sample it costs, and the input
  SOPs of the target run (``energy.sops_input``) and its energy per sample on the
  target's profile (``energy_joules`` x steps per sample / ``--steps``).

Series (all smooth, none tuned for):

- ``lorenz-x``: Lorenz-63 observed through x only (the paper's integration, dt 0.01,
  seed 0), one column: the case issue 28 measured by hand;
- ``sines``: 0.8 sin(2 pi t / 97) + 0.5 sin(2 pi t / 31.4 + 1) + 0.3 sin(2 pi t / 13.1)
  over t = 0..2999 samples, one column (incommensurate periods: never repeats exactly);
- ``mackey-glass``: Mackey-Glass, tau 17 (``reservoirpy.datasets.mackey_glass``, h 1,
  seed 0), one sample per unit time, one column;
- ``co2``: weekly Mauna Loa CO2 1958-2001 (2284 samples, shipped in statsmodels), a
  real measured series with a trend and a season.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

SERIES = ("lorenz-x", "sines", "mackey-glass", "co2")
OLD_CODE = ["--code", "level", "--scaling", "zscore", "--steps-per-sample", "20",
            "--copies", "8"]


def make_series(name: str, n: int = 3000) -> np.ndarray:
    """The series ``name`` as ``[n, 1]`` (module docstring)."""
    if name == "lorenz-x":
        from lnp_neuro.tasks.memory import lorenz_x_task
        return lorenz_x_task(n, seed=0).inputs
    if name == "sines":
        t = np.arange(n, dtype=np.float64)
        return (0.8 * np.sin(2 * np.pi * t / 97) + 0.5 * np.sin(2 * np.pi * t / 31.4 + 1)
                + 0.3 * np.sin(2 * np.pi * t / 13.1))[:, None]
    if name == "mackey-glass":
        from reservoirpy.datasets import mackey_glass
        return np.asarray(mackey_glass(n, seed=0), dtype=np.float64).reshape(n, 1)
    if name == "co2":
        from lnp_neuro.tasks.series import load_packaged_series
        return load_packaged_series("co2").series
    raise ValueError(f"series must be one of {', '.join(SERIES)}, got {name!r}")


def deploy(csv: Path, out: Path, extra: list[str]) -> dict:
    from lnp_neuro.deploy.cli import main
    code = main(["--target", "cpu", "--input", str(csv), "--out", str(out), "--force",
                 "--quiet", *extra])
    if code != 0:
        raise SystemExit(f"lnp-deploy exited {code} on {csv}")
    return json.loads((out / "report.json").read_text())


def row(name: str, label: str, r: dict) -> dict:
    task, inp = r["task"], r["input"]
    refs = task["references"]
    pers = task["persistence"]
    offchip = task.get("offchip_readout") or {}
    return {"series": name, "code": label, "readout": task["readout"],
            "offchip_unpruned/pers": (offchip["unpruned"] / pers if offchip else None),
            "offchip_pruned/pers": (offchip["pruned"] / pers if offchip else None),
            "setting": f"{inp['code']}/{inp['scaling']}/{inp['steps_per_sample']} steps/"
                       f"{inp['copies']} copies",
            "unpruned": task["unpruned"], "pruned": task["pruned"],
            "unpruned/pers": task["unpruned"] / pers, "pruned/pers": task["pruned"] / pers,
            "persistence": pers, "input_code": refs.get("input_code"),
            "no_recurrence": refs.get("no_recurrence"), "linear": refs.get("linear"),
            "esn": refs.get("esn"),
            "sops_input": (r.get("energy") or {}).get("sops_input"),
            "energy_per_sample": r["energy_joules"] * inp["steps_per_sample"] / r["steps"],
            "spikes_per_sample": None if "code_choice" not in inp else next(
                c["input_spikes_per_sample"] for c in inp["code_choice"]["candidates"]
                if all(c[k] == inp[k] for k in ("code", "scaling", "steps_per_sample")))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", default=",".join(SERIES))
    ap.add_argument("--codes", default="chosen,old", help="chosen, old or both")
    ap.add_argument("--seeds", default="0", help="network seeds (--seed; the series stay)")
    ap.add_argument("--extra", default="", help="more lnp-deploy flags, e.g. a code flag")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args(argv)
    rows = []
    cols = ("series", "seed", "code", "setting", "unpruned", "pruned", "unpruned/pers",
            "pruned/pers", "persistence", "input_code", "no_recurrence", "linear", "esn",
            "sops_input", "energy_per_sample")
    print(" | ".join(cols), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.series.split(","):
            csv = Path(tmp) / f"{name}.csv"
            np.savetxt(csv, make_series(name), delimiter=",", header="x", comments="",
                       fmt="%.10g")
            for seed, label in ((int(s), c) for s in args.seeds.split(",")
                                for c in args.codes.split(",")):
                extra = (OLD_CODE if label == "old" else []) + args.extra.split() + \
                    ["--seed", str(seed)]
                r = row(name, label, deploy(csv, Path(tmp) / f"{name}-{label}", extra))
                r["seed"] = seed
                rows.append(r)
                print(" | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])
                                 for c in cols), flush=True)
    met = [r for r in rows if r["code"] == "chosen"]
    for r in met:
        print(f"{r['series']} seed {r['seed']}: default deploy (chosen code) unpruned {r['unpruned/pers']:.2f}x "
              f"and deployed {r['pruned/pers']:.2f}x persistence: target <= 0.7x "
              f"{'met' if max(r['unpruned/pers'], r['pruned/pers']) <= 0.7 else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
