"""Does the coarse stage favour small batches? Its ranking of batch sizes against the final one.

    python -m bench.coarse_batch_bias [--seeds 0] [--rates 3e-4,1e-3,3e-3] [--epochs 10]

A coarse trial trains a fraction of an epoch, `Stage.epochs_for(batch)`: 0.25 at batch 128,
less at smaller batches (exponent 0.25 by default). Batch 8 takes 16 times the optimizer
steps of batch 128 in the same images, so with equal fractions it leads after a quarter of
an epoch whether or not it leads after the final protocol's 10 epochs. This measures, for
one network (784-256-10, ReLU, standardised, dropout 0.2) at several learning rates, the
validation accuracy of each batch size after a coarse trial of each exponent and after
the full training, on all 55,000 training images, and reports per exponent:

- **lead of batch 8**: at each batch size's best learning rate, batch 8's accuracy minus
  the best other batch size's, after the coarse trial and after the full training; their
  difference is the coarse stage's **bias** toward batch 8 (0: none; positive: the coarse
  stage makes batch 8 look better than it is);
- the same lead averaged over the learning rates (where the small-batch advantage of a
  short run is largest, at small rates);
- the rank correlation (Spearman) of the coarse and the full accuracies over all
  (batch size, learning rate) settings.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

from kata.config import TrialConfig
from kata.data import load_development_splits
from kata.staged import DEFAULT_STAGES
from kata.train import train_trial

BATCHES = (8, 64, 128)
EXPONENTS = (0.0, 0.25, 0.5)
NETWORK = dict(
    dataNormalisation=True,
    numberHiddenLayers=1,
    hiddenLayerSize=256,
    activationFunction="ReLU",
    dropoutProbability=0.2,
)


def accuracy(train, validation, batch: int, rate: float, epochs: float, seed: int) -> float:
    config = TrialConfig.from_dict(
        {**NETWORK, "batchSize": batch, "learningRate": rate, "numberEpochs": epochs}, seed=seed
    )
    result = train_trial(config, train, validation, progress=False)
    return result.val_accuracy if result.status == "finished" else 0.0


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    for rank, index in enumerate(order):
        out[index] = float(rank)
    return out


def spearman(a: list[float], b: list[float]) -> float:
    return statistics.correlation(ranks(a), ranks(b))


def lead_of_8(scores: dict[tuple[int, float], float], rates: list[float]) -> tuple[float, float]:
    """(lead at each batch size's best rate, lead averaged over the rates)."""
    best = {b: max(scores[b, r] for r in rates) for b in BATCHES}
    at_best = best[8] - max(best[b] for b in BATCHES if b != 8)
    per_rate = [scores[8, r] - max(scores[b, r] for b in BATCHES if b != 8) for r in rates]
    return at_best, statistics.fmean(per_rate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--rates", default="3e-4,1e-3,3e-3")
    parser.add_argument("--epochs", type=float, default=10, help="the full training's epochs")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    train, validation = load_development_splits()
    coarse = DEFAULT_STAGES[0]
    started = time.monotonic()

    full: dict[tuple[int, float], float] = {}
    short: dict[float, dict[tuple[int, float], float]] = {e: {} for e in EXPONENTS}
    for b in BATCHES:
        for r in rates:
            full[b, r] = statistics.fmean(
                accuracy(train, validation, b, r, args.epochs, s) for s in seeds
            )
            for e in EXPONENTS:
                epochs = replace(coarse, batch_exponent=e).epochs_for(b)
                short[e][b, r] = statistics.fmean(
                    accuracy(train, validation, b, r, epochs, s) for s in seeds
                )
            line = ", ".join(f"exp {e:g}: {short[e][b, r]:.4f}" for e in EXPONENTS)
            print(f"batch {b:>3} lr {r:g}: full {full[b, r]:.4f}; coarse {line}", flush=True)

    keys = list(full)
    full_lead = lead_of_8(full, rates)
    lines = [
        f"Network 784-256-10 ReLU, standardised, dropout 0.2; all 55,000 training images;"
        f" learning rates {', '.join(f'{r:g}' for r in rates)}; seeds {seeds}; full training"
        f" {args.epochs:g} epochs (cosine schedule); {time.monotonic() - started:.0f} s.",
        "",
        "| coarse trial | epochs at batch 8 / 64 / 128 | lead of batch 8 at best rates"
        " (coarse / full / bias) | lead averaged over rates (coarse / full / bias) |"
        " rank correlation with full |",
        "|---|---|---|---|---:|",
    ]
    for e in EXPONENTS:
        stage = replace(coarse, batch_exponent=e)
        lead = lead_of_8(short[e], rates)
        epochs = " / ".join(f"{stage.epochs_for(b):.3g}" for b in BATCHES)
        name = f"exponent {e:g}" + (" (the default)" if e == coarse.batch_exponent else "")
        lines.append(
            f"| {name} | {epochs} | {lead[0]:+.4f} / {full_lead[0]:+.4f} /"
            f" **{lead[0] - full_lead[0]:+.4f}** | {lead[1]:+.4f} / {full_lead[1]:+.4f} /"
            f" **{lead[1] - full_lead[1]:+.4f}** |"
            f" {spearman([short[e][k] for k in keys], [full[k] for k in keys]):.2f} |"
        )
    lines += ["", "| batch | " + " | ".join(f"lr {r:g}" for r in rates) + " |"]
    lines.append("|---|" + "---:|" * len(rates))
    for b in BATCHES:
        cells = " | ".join(
            f"{full[b, r]:.4f} ({short[coarse.batch_exponent][b, r]:.4f})" for r in rates
        )
        lines.append(f"| {b} | {cells} |")
    lines.append("")
    lines.append(
        "Cells: validation accuracy after the full training (after the default coarse trial)."
    )
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
