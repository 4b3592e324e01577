"""A short written summary of a search, generated from its numbers only.

Every sentence is computed from the trials table and the final metrics: which settings
went with higher or lower validation accuracy within a stage (the same epoch budget), by
how much, how many trials failed and why, the learning rates of the best trials, and how
the chosen configuration did on validation and test. A difference is called a help or a
hurt only when the gap between the group means is more than twice its standard error
(`Comparison.clear`); smaller gaps are listed as no clear difference.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .importance import StageImportance, followers
from .report_files import BOOLEAN_PARAMS, HYPERPARAMETERS, Trial

CONTINUOUS = ("dropoutProbability", "learningRate")  # compared as below/above the median
MIN_GROUP = 3  # trials a group needs to be compared


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def points(value: float) -> str:
    return f"{100 * value:.1f} points"


def number(value: float) -> str:
    return f"{value:.2g}" if value >= 0.001 else f"{value:.1e}"


def span(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return number(lo) if number(lo) == number(hi) else f"{number(lo)} to {number(hi)}"


def epochs_text(value: float) -> str:
    return f"{value:g} epoch" + ("" if value == 1 else "s")


def stage_epochs_text(trials: list[Trial], stage: str) -> str:
    """A stage's training per trial: "10 epochs", or "0.12–0.25 epochs" where the coarse
    stage gives smaller batches less of an epoch."""
    epochs = sorted({t.params["numberEpochs"] for t in trials if t.stage == stage})
    if len(epochs) <= 1:
        return ", ".join(epochs_text(e) for e in epochs)
    return f"{epochs[0]:.2g}–{epochs[-1]:.2g} epochs"


@dataclass(frozen=True)
class Group:
    label: str  # "ReLU", "True", "≤ 0.001"
    mean: float
    n: int
    var: float  # sample variance (0 for one trial)


@dataclass(frozen=True)
class Comparison:
    """Mean validation accuracy per value of one hyperparameter within one stage."""

    stage: str
    param: str
    groups: list[Group]  # best mean first

    @property
    def gap(self) -> float:
        return self.groups[0].mean - self.groups[-1].mean

    @property
    def stderr(self) -> float:
        best, worst = self.groups[0], self.groups[-1]
        return math.sqrt(best.var / best.n + worst.var / worst.n)

    @property
    def clear(self) -> bool:
        return self.gap > 0 and self.gap > 2 * self.stderr


def _group(label: str, values: list[float]) -> Group:
    var = statistics.variance(values) if len(values) > 1 else 0.0
    return Group(label, statistics.fmean(values), len(values), var)


def compare(trials: list[Trial], stage: str, param: str) -> Comparison | None:
    """Groups of the stage's measured trials by `param`; None when there is nothing to compare."""
    measured = [t for t in trials if t.stage == stage and t.measured]
    by_label: dict[str, list[float]] = {}
    if param in CONTINUOUS:
        values = [t.params[param] for t in measured]
        if len(set(values)) < 2:
            return None
        cut = statistics.median(values)
        if cut == max(values):  # the upper half would be empty: split below the maximum
            cut = max(v for v in values if v < cut)
        for t in measured:
            side = f"≤ {number(cut)}" if t.params[param] <= cut else f"> {number(cut)}"
            by_label.setdefault(side, []).append(t.val_accuracy)
    else:
        for t in measured:
            by_label.setdefault(str(t.params[param]), []).append(t.val_accuracy)
    groups = [_group(k, v) for k, v in by_label.items() if len(v) >= MIN_GROUP]
    if len(groups) < 2:
        return None
    return Comparison(stage, param, sorted(groups, key=lambda g: -g.mean))


def describe(c: Comparison) -> str:
    """One sentence: what helped, what hurt, by how much."""
    best, worst = c.groups[0], c.groups[-1]
    if c.param in BOOLEAN_PARAMS:
        word = "helped" if best.label == "True" else "hurt"
        return (
            f"{c.param}=True {word}: mean validation accuracy {pct(best.mean)} (n={best.n}) "
            f"with {c.param}={best.label} against {pct(worst.mean)} (n={worst.n}) "
            f"with {c.param}={worst.label}, a gap of {points(c.gap)}."
        )
    if c.param in CONTINUOUS:
        lower = best.label.startswith("≤")
        return (
            f"{'Lower' if lower else 'Higher'} {c.param} ({best.label}) helped: mean "
            f"{pct(best.mean)} (n={best.n}) against {pct(worst.mean)} (n={worst.n}) "
            f"for {worst.label}, a gap of {points(c.gap)}."
        )
    others = ", ".join(f"{pct(g.mean)} for {g.label} (n={g.n})" for g in c.groups[1:])
    text = (
        f"{c.param}={best.label} helped most: mean {pct(best.mean)} (n={best.n}) against {others}"
    )
    if len(c.groups) > 2:
        return text + f"; {c.param}={worst.label} hurt most, {points(c.gap)} below."
    return text + f"; {c.param}={worst.label} hurt, {points(c.gap)} below."


def stage_sentences(trials: list[Trial], stage: str, top: StageImportance | None) -> list[str]:
    in_stage = [t for t in trials if t.stage == stage]
    measured = sorted((t for t in in_stage if t.measured), key=lambda t: -t.val_accuracy)
    budget = stage_epochs_text(in_stage, stage)
    counts = Counter(t.status for t in in_stage)
    status = ", ".join(f"{n} {s}" for s, n in counts.most_common())
    head = f"Stage {stage} ({budget} per trial): {len(in_stage)} trials ({status})."
    if not measured:
        return [head + " None has a validation accuracy, so it says nothing about settings."]
    best = measured[0]
    head += f" Best validation accuracy {pct(best.val_accuracy)} ({best.trial})."
    sentences = [head]
    follows = followers(measured)  # the coarse stage's epochs follow its batch sizes
    params = [p for p in HYPERPARAMETERS if p not in follows]
    comparisons = [c for p in params if (c := compare(trials, stage, p))]
    clear = sorted((c for c in comparisons if c.clear), key=lambda c: -c.gap)
    sentences += [describe(c) for c in clear]
    unclear = [c for c in comparisons if not c.clear]
    if unclear:
        listed = ", ".join(f"{c.param} ({points(c.gap)})" for c in unclear)
        sentences.append(f"No clear difference (gap under twice its standard error) for: {listed}.")
    if len(measured) >= 3:
        k = max(2, math.ceil(len(measured) / 4))
        rates = [t.params["learningRate"] for t in measured[:k]]
        every = [t.params["learningRate"] for t in measured]
        sentences.append(
            f"The best {k} of {len(measured)} measured trials used learning rates "
            f"{span(rates)} (all measured trials of the stage: {span(every)})."
        )
    if top is not None and top.note is None and top.features:
        sentences.append(importance_sentence(*top.ranked()[0]))
    return sentences


def importance_sentence(feature: str, importance: float, correlation: float) -> str:
    """What the random forest's most important feature says, and its correlation's sign."""
    text = (
        f"The random forest found {feature} the most informative here "
        f"(importance {importance:.2f}, correlation {correlation:+.2f})"
    )
    if abs(correlation) < 0.3:
        return text + "; its linear correlation is weak: neither more nor less is simply better."
    better = "better" if correlation > 0 else "worse"
    if "=" in feature:  # one-hot: present or not
        return text + f": trials with {feature} did {better}."
    if feature in BOOLEAN_PARAMS:
        return text + f": trials with {feature}=True did {better}."
    direction = "higher" if correlation > 0 else "lower"
    return text + f": {direction} values went with higher accuracy."


def failure_sentence(trials: list[Trial]) -> str | None:
    failed = [t for t in trials if t.status == "failed"]
    if not failed:
        return None
    text = f"{len(failed)} of {len(trials)} trials failed"
    reasons = Counter(t.reason for t in failed if t.reason)
    if reasons:
        reason, n = reasons.most_common(1)[0]
        text += f"; most often: “{reason}” ({n} of {len(failed)})"
    rates = [t.params["learningRate"] for t in failed]
    ok = [t.params["learningRate"] for t in trials if t.measured]
    text += f". The failed trials' learning rates: {span(rates)}"
    if ok:
        text += f" (trials that finished or were stopped: {span(ok)})"
    return text + "."


def final_sentence(metrics: dict[str, Any]) -> str:
    test, val = metrics["test_accuracy"], metrics["val_accuracy"]
    text = f"The chosen configuration (trial {metrics['chosen_trial']}, stage "
    text += f"{metrics['chosen_stage']}"
    if metrics.get("search_val_accuracy") is not None:
        text += f", {pct(metrics['search_val_accuracy'])} validation accuracy in the search"
    text += f") was retrained: validation accuracy {pct(val)}, test accuracy {pct(test)}"
    if pct(test) == pct(val):
        return text + " (the same, to 0.1 points)."
    side = "below" if test < val else "above"
    return text + f" ({points(abs(test - val))} {side} validation)."


def summarise(
    trials: list[Trial],
    stages: list[str] | None = None,
    metrics: dict[str, Any] | None = None,
    importances: list[StageImportance] | None = None,
) -> list[list[str]]:
    """Paragraphs (lists of sentences): the search overall, one per stage, the final model."""
    stages = stages if stages is not None else list(dict.fromkeys(t.stage for t in trials))
    by_stage = {s.stage: s for s in importances or []}
    paragraphs: list[list[str]] = []
    overall = []
    if not trials:
        overall.append("The search has no trials.")
    else:
        bests = []
        for stage in stages:
            measured = [t.val_accuracy for t in trials if t.stage == stage and t.measured]
            if measured:
                bests.append(f"{stage} {pct(max(measured))}")
        if bests:
            overall.append("Best validation accuracy per stage: " + ", ".join(bests) + ".")
        else:
            overall.append("No trial finished with a validation accuracy.")
        if failed := failure_sentence(trials):
            overall.append(failed)
        if bests:
            overall.append(
                "Within a stage, comparisons average over the other settings, which varied too; "
                "a setting is said to help or hurt only when the gap is more than twice its "
                f"standard error, and values tried in fewer than {MIN_GROUP} trials are left out."
            )
    paragraphs.append(overall)
    paragraphs += [stage_sentences(trials, s, by_stage.get(s)) for s in stages]
    if metrics is not None:
        paragraphs.append([final_sentence(metrics)])
    return paragraphs
