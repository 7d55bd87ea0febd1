"""The default deployment's time, stage by stage (issue 26: ``lnp-deploy --target
loihi-sim`` in <= 20 s wall on 2 cores; ``make demo`` runs the same command).

    .venv/bin/python benchmarks/deploy_time.py                     # 3 runs, medians
    .venv/bin/python benchmarks/deploy_time.py --runs 5 --compare /path/to/other/checkout

Each run is ``python -m lnp_neuro.deploy.cli --target loihi-sim --out TMP --force`` in a
fresh process, as ``make demo`` runs it, after ``--warmup`` unrecorded runs (which fill
numba's compile cache). Printed per run and as the median over runs: the process's wall
time (imports and report writing included), its CPU time (user + system,
the Lava runtime's child processes included), report.json's ``seconds`` (the run itself)
and every stage of its ``timings_seconds``. With ``--compare`` the checkout at that path
(its package on PYTHONPATH) runs alternately with this one, so both see the same load.

On a machine shared with other jobs wall times stretch with the load: the machine line
(CPU model, cores, load average before and after) is printed with them, and CPU times
are the steadier figure. Every run's report.json must equal the first one's
(benchmarks/report_diff.py: every figure bit for bit, run times aside); the benchmark
exits with status 1 if one does not.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_model  # noqa: E402
from report_diff import differences  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
TARGET_S = 20.0


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def one_run(checkout: Path, out: Path) -> dict:
    """One default deployment of ``checkout`` into ``out``: its times and report."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lnp_neuro.deploy.cli", "--target", "loihi-sim",
                    "--out", str(out), "--force", "--quiet"], env=env, check=True,
                   cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads((out / "report.json").read_text())
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime)
            + (after.ru_stime - before.ru_stime), "seconds": report["seconds"],
            "stages": report["timings_seconds"], "report": report}


def table(label: str, runs: list[dict]) -> None:
    stages = list(runs[0]["stages"])
    median = {s: statistics.median(r["stages"].get(s, 0.0) for r in runs) for s in stages}
    print(f"\n{label}: median of {len(runs)} run(s)")
    walls = ", ".join(f"{r['wall']:.1f}" for r in runs)
    print(f"  process wall {statistics.median(r['wall'] for r in runs):6.2f} s   (runs: {walls})")
    print(f"  process CPU  {statistics.median(r['cpu'] for r in runs):6.2f} s")
    print(f"  report.json seconds {statistics.median(r['seconds'] for r in runs):6.2f} s")
    for stage in sorted(stages, key=lambda s: -median[s]):
        if median[stage] >= 0.05:
            print(f"    {stage:18s} {median[stage]:6.2f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1,
                    help="unrecorded runs of each checkout first (numba's compile cache)")
    ap.add_argument("--compare", type=Path, default=None,
                    help="another checkout, run alternately with this one")
    args = ap.parse_args(argv)
    checkouts = {"this checkout": HERE}
    if args.compare is not None:
        checkouts[f"--compare {args.compare}"] = args.compare.resolve()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, load average {load()}")
    runs = {label: [] for label in checkouts}
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.warmup):
            for label, checkout in checkouts.items():
                one_run(checkout, Path(tmp) / f"warmup{i}")
        for i in range(args.runs):
            for label, checkout in checkouts.items():
                r = one_run(checkout, Path(tmp) / f"run{i}-{len(runs[label])}")
                print(f"run {i + 1} {label}: wall {r['wall']:.2f} s, CPU {r['cpu']:.2f} s, "
                      f"report {r['seconds']:.2f} s (load {load()})", flush=True)
                first = (runs[label] or [r])[0]["report"]
                found = differences(first, r["report"])
                if found:
                    failed = True
                    print(f"  report.json differs from the first run: {found[:5]}")
                runs[label].append(r)
    for label, done in runs.items():
        table(label, done)
    if args.compare is not None:
        a, b = (list(runs.values())[i][0]["report"] for i in (0, 1))
        found = differences(a, b)
        print(f"\nreport.json of the two checkouts: "
              f"{'identical figures' if not found else f'{len(found)} difference(s)'}")
        for line in found[:20]:
            print(f"  {line}")
    wall = statistics.median(r["wall"] for r in runs["this checkout"])
    print(f"\ntarget: default deploy <= {TARGET_S:.0f} s wall on 2 cores: median "
          f"{wall:.1f} s at load {load()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
