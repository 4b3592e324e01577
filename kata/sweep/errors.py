"""What a sweep raises when it cannot go on; each message says what and where."""

from __future__ import annotations


class SweepError(RuntimeError):
    """A sweep that cannot go on: bad state on disk, or a configuration that differs."""


class SweepConfigError(SweepError, ValueError):
    """A sweep configuration with problems; `problems` lists every one."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid sweep configuration:\n  " + "\n  ".join(self.problems))


class StateError(SweepError):
    """The state store failed (disk full, a state changed under an agent): never a trial's
    failure, since the trial's configuration is not to blame."""


class TrialsKeepFailing(SweepError):
    """An agent stopped because its trials raised errors one after another, as W&B's agent
    stops after consecutive failures; the message gives the last reason."""
