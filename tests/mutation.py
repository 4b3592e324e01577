"""Run each exercise's tests against each deliberately wrong implementation in tests/mutants.

    python -m tests.mutation [--json FILE] [NAME ...]

A mutant is killed when at least one test of its exercise fails. Torch takes seconds to
import, so this process imports it once and forks a child per mutant; each child runs
pytest with the mutant in place of the exercise (`--kata-override`) and stops at the
first failure. Prints one line per mutant and exits 1 if any survives.
"""

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest
import torch  # noqa: F401  (imported once, before forking)
import torchvision.transforms  # noqa: F401

from kata.exercises import all_exercises

ROOT = Path(__file__).resolve().parent.parent
MUTANTS_DIR = ROOT / "tests" / "mutants"


def all_mutants(directory: Path = MUTANTS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("[a-z]*_*.py"))


def exercise_of(mutant: str) -> str:
    """The exercise a mutant belongs to: its name starts with the exercise's name and `_`."""
    for exercise in all_exercises():
        if mutant.startswith(exercise.name + "_"):
            return exercise.name
    raise ValueError(f"mutant {mutant!r} does not start with an exercise's name")


def _child(mutant: str, log: Path, package: str, profile: str, first_failure: bool) -> None:
    """Run in a forked child: pytest against one module, output to `log`, never returns."""
    code = 3
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ["HYPOTHESIS_PROFILE"] = profile
        torch.set_num_threads(1)  # children run side by side, one per core
        exercise = exercise_of(mutant)
        code = pytest.main(
            [
                str(ROOT / "tests" / "exercises" / f"test_{exercise}.py"),
                "--impl=solutions",
                f"--kata-override={exercise}={package}.{mutant}",
                *(["-x"] if first_failure else []),
                "-q",
                "-rf",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(ROOT),
            ]
        )
    finally:
        sys.stdout.flush()
        os._exit(int(code))


def run(
    mutants: list[str],
    workers: int,
    package: str = "tests.mutants",
    profile: str = "mutants",
    first_failure: bool = True,
) -> dict[str, dict]:
    """Outcome per module: exit code and the tests that failed (for a mutant: killed it).

    Mutants run derandomised and stop at the first failure; correct alternatives
    (`package="tests.alternatives"`) run every test with random examples, as a student does.
    """
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        pending, running = list(mutants), {}
        while pending or running:
            while pending and len(running) < workers:
                mutant = pending.pop(0)
                log = Path(tmp) / f"{mutant}.log"
                pid = os.fork()
                if pid == 0:
                    _child(mutant, log, package, profile, first_failure)
                running[pid] = (mutant, log)
            pid, status = os.wait()
            mutant, log = running.pop(pid)
            output = log.read_text(errors="replace")
            failed = re.findall(r"^FAILED (\S+)", output, re.MULTILINE)
            results[mutant] = {
                "exit_code": os.waitstatus_to_exitcode(status),
                "killed_by": failed[0] if failed else None,
                "failed": failed,
                "output_tail": output[-2000:],
            }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--json", type=Path, help="write the outcomes to this file")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    results = run(args.names or all_mutants(), args.workers)
    survivors = []
    for mutant, result in sorted(results.items()):
        if result["exit_code"] == 1 and result["killed_by"]:
            print(f"killed    {mutant:<42} by {result['killed_by'].split('::')[-1]}")
        else:
            survivors.append(mutant)
            state = "SURVIVED" if result["exit_code"] == 0 else f"ERROR({result['exit_code']})"
            print(f"{state:<9} {mutant}\n{result['output_tail']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(f"{len(results) - len(survivors)} of {len(results)} wrong implementations rejected")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
