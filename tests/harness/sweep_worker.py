"""A sweep command for tests/harness/test_sweep*.py: a grid over x = 0..N-1 whose trials
sleep a little per epoch, so a test can kill it mid-trial or run several at once.

    python tests/harness/sweep_worker.py DIR [--grid N] [--count C] [--epochs E] [--sleep S]
        [--events FILE] [--barrier DIR --agents K] [--fork K] [--wandb offline]

Each trial appends "start x" and "end x" lines to FILE. With --barrier, the agent waits until
K agents have arrived before it starts, so that they really run side by side. With --fork K
it runs K forked agents (`run_agents`), as `kata sweep --agents K` does; SIGTERM and Ctrl-C
end it as they end `kata sweep` (status 130).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from kata.sweep import LocalSweep, SweepError, run_agents
from kata.sweep.agents import handle_sigterm


def grid_config(n: int) -> dict:
    return {
        "method": "grid",
        "metric": {"name": "score", "goal": "maximize"},
        "parameters": {"x": {"values": list(range(n))}},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--grid", type=int, default=6)
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=0.1)
    parser.add_argument("--events", default=None)
    parser.add_argument("--barrier", default=None)
    parser.add_argument("--agents", type=int, default=1)
    parser.add_argument("--fork", type=int, default=1)
    parser.add_argument("--wandb", default="disabled")
    args = parser.parse_args()
    handle_sigterm()

    def log(line: str) -> None:
        if args.events:
            with open(args.events, "a") as f:
                f.write(f"{line} {os.getpid()}\n")

    def trial(params: dict, report) -> dict:
        x = params["x"]
        log(f"start {x}")
        for epoch in range(1, args.epochs + 1):
            time.sleep(args.sleep)
            if report({"epoch": epoch, "score": x / 10}):
                break
        log(f"end {x}")
        return {"status": "finished", "reason": None, "summary": {"score": x / 10}}

    try:
        sweep = LocalSweep(args.directory, grid_config(args.grid), wandb_mode=args.wandb)
        if args.barrier:
            barrier = Path(args.barrier)
            barrier.mkdir(parents=True, exist_ok=True)
            (barrier / f"ready-{os.getpid()}").touch()
            deadline = time.monotonic() + 60
            while len(list(barrier.glob("ready-*"))) < args.agents:
                if time.monotonic() > deadline:
                    return 3
                time.sleep(0.01)
        run_agents(sweep, trial, agents=args.fork, count=args.count, progress=False)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        return 130
    except SweepError as error:
        print(f"sweep error: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
