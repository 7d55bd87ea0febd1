"""Differences between two lnp-deploy report.json files, ignoring run times.

    .venv/bin/python benchmarks/report_diff.py RUN_A/report.json RUN_B/report.json

Every value is compared exactly (floats bit for bit, via their JSON text) except the
keys named in ``--ignore`` (by default the run times: ``seconds``, ``timings_seconds``,
``history[i].step_seconds``) and ``options.out``. Prints one line per difference and
exits 1 if there is any, 0 otherwise: a speed-up of the deployment must leave
report.json unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

IGNORED = ("seconds", "timings_seconds", "step_seconds")
#: Paths not compared: where the run was written.
IGNORED_PATHS = ("options.out",)


def differences(a, b, ignore=IGNORED, path: str = "") -> list[str]:
    """Paths (``task.references.esn``) at which ``a`` and ``b`` differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key in ignore:
                continue
            where = f"{path}.{key}" if path else key
            if where in IGNORED_PATHS:
                continue
            if key not in a or key not in b:
                out.append(f"{where}: only in {'b' if key not in a else 'a'}")
            else:
                out.extend(differences(a[key], b[key], ignore, where))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items against {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b))
                for d in differences(x, y, ignore, f"{path}[{i}]")]
    # Floats compared through their shortest round-trip text: equal text, equal bits.
    if type(a) is not type(b) or json.dumps(a) != json.dumps(b):
        return [f"{path}: {json.dumps(a)} != {json.dumps(b)}"]
    return []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--ignore", nargs="*", default=list(IGNORED),
                    help="keys left out of the comparison, at any depth")
    args = ap.parse_args(argv)
    found = differences(json.loads(args.a.read_text()), json.loads(args.b.read_text()),
                        tuple(args.ignore))
    for line in found:
        print(line)
    print(f"{len(found)} difference(s)" if found else "identical (ignoring "
          f"{', '.join(args.ignore)})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
