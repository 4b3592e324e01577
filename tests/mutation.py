"""Run each exercise's tests against each deliberately wrong implementation in tests/mutants.

    python -m tests.mutation [--json FILE] [NAME ...]
    python -m tests.mutation --mutmut [--report FILE] [EXERCISE ...]

The second form runs mutmut (machine-made mutants of solutions/, `tox -e mutation`) in a
scratch copy of the repository and writes a report of the survivors.

A mutant is killed when at least one test of its exercise fails. Torch takes seconds to
import, so this process imports it once and forks a child per mutant; each child runs
pytest with the mutant in place of the exercise (`--kata-override`) and stops at the
first failure. Prints one line per mutant and exits 1 if any survives.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
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


MUTMUT_CONFIG = """[mutmut]
source_paths=solutions
also_copy=
    kata
    conftest.py
pytest_add_cli_args=
    --impl=solutions
    -p
    no:cacheprovider
pytest_add_cli_args_test_selection=tests/exercises
"""


def run_mutmut(exercises: list[str], workdir: Path, report: Path | None) -> int:
    """mutmut over solutions/ (or the given exercises' files) with the exercise tests.

    mutmut reads its settings from setup.cfg or pyproject.toml and writes mutants/ beside
    them; a scratch copy keeps both out of the repository. Returns 0 (survivors are
    reported, not failed: some are equivalent mutants).
    """
    shutil.rmtree(workdir, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "mutants")
    for name in ("solutions", "kata", "tests"):
        shutil.copytree(ROOT / name, workdir / name, ignore=ignore)
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy2(ROOT / name, workdir / name)
    config = MUTMUT_CONFIG
    if exercises:
        config += "only_mutate=\n" + "".join(f"    solutions/{e}.py\n" for e in exercises)
    (workdir / "setup.cfg").write_text(config)
    started = datetime.datetime.now(datetime.UTC)
    subprocess.run([*MUTMUT, "run"], cwd=workdir, env=MUTMUT_ENV, check=False)
    minutes = (datetime.datetime.now(datetime.UTC) - started).total_seconds() / 60
    return mutmut_report(workdir, exercises, report, f"{minutes:.0f} minutes")


MUTMUT = [sys.executable, "-m", "mutmut"]
MUTMUT_ENV = {**os.environ, "HYPOTHESIS_PROFILE": "mutants"}


def mutmut_report(workdir: Path, exercises: list[str], report: Path | None, took: str) -> int:
    """The report of a mutmut run in `workdir` (finished or not): figures and survivors."""
    mutmut, env = MUTMUT, MUTMUT_ENV
    started = datetime.datetime.now(datetime.UTC)
    listing = subprocess.run(
        [*mutmut, "results", "--all", "true"], cwd=workdir, env=env, capture_output=True, text=True
    ).stdout
    outcomes = dict(re.findall(r"^\s*(\S+): (\S+(?: \S+)*)$", listing, re.MULTILINE))
    counts = Counter(outcomes.values())
    survivors = sorted(name for name, status in outcomes.items() if status == "survived")
    total = len(outcomes)
    killed = counts.get("killed", 0)
    checked = killed + counts.get("survived", 0) + counts.get("timeout", 0)
    lines = [
        f"# mutmut over solutions/, {started:%Y-%m-%d}",
        "",
        f"`tox -e mutation` ({' '.join(exercises) or 'all exercises'}), mutmut with the exercise "
        f"tests (hypothesis profile `mutants`), {took}.",
        "",
        f"- mutants: {total}; " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
        f"- killed: {killed} of {total} ({100 * killed / max(total, 1):.1f}%); "
        f"of the {checked} checked (killed, survived or timed out): "
        f"{100 * killed / max(checked, 1):.1f}% killed, "
        f"{100 * counts.get('survived', 0) / max(checked, 1):.1f}% survived",
        "",
        "| function | mutants | killed | survived | timeout | not checked |",
        "|---|---|---|---|---|---|",
    ]
    per_function: dict[str, Counter] = {}
    for name, status in outcomes.items():
        per_function.setdefault(name.split("__mutmut_")[0], Counter())[status] += 1
    for function, count in sorted(per_function.items()):
        lines.append(
            f"| `{function}` | {sum(count.values())} | {count.get('killed', 0)} | "
            f"{count.get('survived', 0)} | {count.get('timeout', 0)} | "
            f"{count.get('not checked', 0)} |"
        )
    lines += ["", "## Survivors", ""]
    for name in survivors:
        diff = subprocess.run(
            [*mutmut, "show", name], cwd=workdir, env=env, capture_output=True, text=True
        ).stdout
        lines += [f"### {name}", "", "```diff", diff.strip(), "```", ""]
    text = "\n".join(lines) + "\n"
    print(text)
    if report is not None:
        report.write_text(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants (or, with --mutmut, exercises) to run")
    parser.add_argument("--json", type=Path, help="write the outcomes to this file")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--mutmut", action="store_true", help="run mutmut over solutions/")
    parser.add_argument("--report", type=Path, help="with --mutmut: write the report here")
    parser.add_argument(
        "--report-only", action="store_true", help="with --mutmut: report on --workdir as it is"
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "kata-mutmut")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if args.mutmut and args.report_only:
        return mutmut_report(args.workdir, args.names, args.report, "an interrupted run")
    if args.mutmut:
        return run_mutmut(args.names, args.workdir, args.report)
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
