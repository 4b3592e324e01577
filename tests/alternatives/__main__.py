"""Run each exercise's tests against every correct alternative, several times.

    python -m tests.alternatives [--runs R] [--json FILE] [NAME ...]

Each run uses fresh random hypothesis examples (profile `dev`, not derandomised), the way
a student's `pytest exercises` does. Prints one line per alternative and run, then
"N alternatives accepted over R runs"; exits 1 if any test rejected any of them.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from tests.mutation import ROOT, all_mutants, run

ALTERNATIVES_DIR = ROOT / "tests" / "alternatives"


def all_alternatives() -> list[str]:
    return all_mutants(ALTERNATIVES_DIR)


def run_alternatives(names: list[str], runs: int, workers: int) -> dict[str, list[dict]]:
    """Outcomes per alternative, one per run."""
    outcomes: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(runs):
        results = run(
            names, workers, package="tests.alternatives", profile="dev", first_failure=False
        )
        for name, result in results.items():
            outcomes[name].append(result)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="alternatives to run (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="runs per alternative (default 3)")
    parser.add_argument("--json", type=Path, help="write the outcomes to this file")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    outcomes = run_alternatives(args.names or all_alternatives(), args.runs, args.workers)
    rejected = []
    for name, results in sorted(outcomes.items()):
        bad = [r for r in results if r["exit_code"] != 0]
        if bad:
            rejected.append(name)
            failed = sorted({test.split("::")[-1] for r in bad for test in r["failed"]})
            print(f"REJECTED  {name:<42} in {len(bad)} of {len(results)} runs: {failed}")
            print(bad[0]["output_tail"])
        else:
            print(f"accepted  {name:<42} in {len(results)} of {len(results)} runs")
    if args.json:
        args.json.write_text(json.dumps(outcomes, indent=2))
    accepted = len(outcomes) - len(rejected)
    print(f"{accepted} of {len(outcomes)} alternatives accepted over {args.runs} runs")
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
