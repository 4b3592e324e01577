"""Training speed: the assignment's plain DataLoader pipeline against the kata's engine.

    python -m bench.pipeline_speed [--configs b64,b64-aug,b8-aug,largest] [--batches N |
        --full-epoch] [--device cpu|cuda] [--workers W] [--threads T] [--warmup K]
        [--json FILE] [--markdown FILE]

For each configuration both pipelines train the same model (same seed) on the same real
Fashion-MNIST data for the same number of batches, each in a fresh subprocess:

- plain: a `Dataset` that turns each uint8 image into a PIL image and applies a torchvision
  Compose of PIL transforms, a `DataLoader(batch_size, shuffle=True, num_workers=W)`, the
  model from `solutions.mlp`, Adam and cross-entropy, then a validation pass (the same
  per-image pipeline, eval transform, same batch size);
- engine: `kata.train.train_trial` with the equivalent `TrialConfig`, `numberEpochs` set to
  that many batches' fraction of an epoch.

Measured (the "epoch" part): from the start of the epoch (plain: creating the DataLoader
iterator, i.e. shuffling and, with workers, starting them; engine: its epoch timer, which
starts with the shuffle) through the training batches and the validation pass of 5,000
images. Excluded: process start, imports, loading the data, pixel statistics, building the
model, optimizer and transforms (engine: also moving the data to the device and transforming
the validation set once), and a warm-up of `--warmup` batches run first in the same process.
Per-epoch seconds = measured training seconds x 55,000 / measured images + validation seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

import torch

EPOCH_IMAGES = 55_000
IMAGE_PIXELS = 28 * 28
NUM_CLASSES = 10
GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class BenchConfig:
    name: str
    layers: int
    size: int
    batch: int
    augment: bool
    activation: str = "ReLU"
    dropout: float = 0.2
    normalise: bool = True
    lr: float = 1e-3

    @property
    def linear_shapes(self) -> list[tuple[int, int]]:
        widths = [IMAGE_PIXELS] + [self.size] * self.layers + [NUM_CLASSES]
        return list(zip(widths[:-1], widths[1:], strict=True))

    @property
    def epoch_flops(self) -> float:
        """6 x images x sum(in x out): forward 2, backward 4 multiply-adds-as-FLOPs per weight."""
        return 6.0 * EPOCH_IMAGES * sum(i * o for i, o in self.linear_shapes)

    def describe(self) -> str:
        widths = "-".join(str(w) for w in [IMAGE_PIXELS] + [self.size] * self.layers)
        aug = "flip+rot+crop" if self.augment else "no aug"
        return f"{widths}-10 {self.activation} p={self.dropout:g} b{self.batch} {aug}"


CONFIGS = {
    c.name: c
    for c in [
        BenchConfig("b64", layers=2, size=256, batch=64, augment=False),
        BenchConfig("b64-aug", layers=2, size=256, batch=64, augment=True),
        BenchConfig("b8-aug", layers=2, size=256, batch=8, augment=True),
        BenchConfig("largest", layers=4, size=1024, batch=64, augment=True),
        BenchConfig("b512-aug", layers=2, size=256, batch=512, augment=True),
    ]
}
DEFAULT_CONFIGS = {
    "cpu": ["b64", "b64-aug", "b8-aug", "largest"],
    "cuda": ["b64", "b64-aug", "b512-aug", "largest"],
}
PIPELINES = ("plain", "engine")
DEFAULT_BATCHES = 400
DEFAULT_WARMUP = 10

# (config, minimum engine/plain speed ratio) and the memory target.
SPEED_TARGETS = [("b64-aug", 15.0), ("b64", 8.0), ("b8-aug", 5.0)]  # issue 11
MEMORY_TARGET = ("largest", 2 * GIB)


# ------------------------------------------------------------------------------------ helpers
def batches_per_epoch(batch: int) -> int:
    return math.ceil(EPOCH_IMAGES / batch)


def epoch_fraction(batches: int, batch: int) -> float:
    """numberEpochs for which train_trial runs exactly `batches` batches (never one more)."""
    per_epoch = batches_per_epoch(batch)
    if batches >= per_epoch:
        return 1.0
    fraction = batches / per_epoch
    while math.ceil(fraction * per_epoch) > batches:
        fraction = math.nextafter(fraction, 0.0)
    return fraction


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_rate(m: int, k: int, n: int, device: str, min_seconds: float = 0.3) -> float:
    """FLOP/s of a float32 (m x k) @ (k x n) matrix multiply (2 m k n FLOPs), best of 3."""
    a = torch.randn(m, k, device=device)
    b = torch.randn(k, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    reps, elapsed = 1, 0.0
    while True:  # size the repetitions to about min_seconds / 3
        started = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds / 3:
            break
        reps *= 2
    best = elapsed
    for _ in range(2):
        started = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        best = min(best, time.perf_counter() - started)
    return 2.0 * m * k * n * reps / best


def machine(device: str) -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import torchvision

    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "device_name": cpu,
    }
    if device.startswith("cuda"):
        info["device_name"] = torch.cuda.get_device_name(device)
    return info


# ------------------------------------------------------------------------------------- worker
def plain_transforms(
    flip: bool, rotation: bool, crop: bool, statistics: tuple[torch.Tensor, torch.Tensor] | None
):
    """The assignment's PIL transforms: (training, evaluation); `statistics` (mean, std) for
    the normalisation, None for none."""
    from torchvision import transforms as T
    from torchvision.transforms import InterpolationMode

    augment = []
    if flip:
        augment.append(T.RandomHorizontalFlip(0.5))
    if rotation:
        augment.append(T.RandomRotation(10, interpolation=InterpolationMode.BILINEAR))
    if crop:
        augment.append(T.RandomResizedCrop(28, scale=(0.8, 1.0)))
    tail = [T.ToTensor()] + ([T.Normalize(*statistics)] if statistics is not None else [])
    return T.Compose(augment + tail), T.Compose(tail)


def _plain_dataset(images: torch.Tensor, labels: torch.Tensor, transform):
    from PIL import Image
    from torch.utils.data import Dataset

    class FashionDataset(Dataset):
        """As torchvision's FashionMNIST: a PIL image per item, then the transform."""

        def __len__(self) -> int:
            return len(images)

        def __getitem__(self, i: int):
            img = Image.fromarray(images[i].numpy(), mode="L")
            return transform(img), int(labels[i])

    return FashionDataset()


def run_plain(config: BenchConfig, batches: int, warmup: int, device: str, workers: int) -> dict:
    from torch import nn
    from torch.utils.data import DataLoader

    from kata.data import load_development_splits
    from solutions.mlp import build_mlp
    from solutions.normalization import pixel_statistics

    # ---- setup (not timed)
    train, validation = load_development_splits()
    mean, std = pixel_statistics(train.images)
    aug = config.augment
    train_tf, eval_tf = plain_transforms(aug, aug, aug, (mean, std) if config.normalise else None)
    train_set = _plain_dataset(train.images, train.labels, train_tf)
    val_set = _plain_dataset(validation.images, validation.labels, eval_tf)
    torch.manual_seed(0)
    model = build_mlp(config.layers, config.size, config.activation, config.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = nn.CrossEntropyLoss()

    def train_batches(n: int) -> int:
        model.train()
        loader = DataLoader(train_set, batch_size=config.batch, shuffle=True, num_workers=workers)
        seen = 0
        for b, (x, y) in enumerate(loader):
            if b == n:
                break
            x, y = x.to(device), y.to(device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(y)
        return seen

    def validate() -> float:
        model.eval()
        loader = DataLoader(val_set, batch_size=config.batch, num_workers=workers)
        correct = 0
        with torch.no_grad():
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                correct += (model(x).argmax(1) == y).sum().item()
        return correct / len(val_set)

    # ---- warm-up (not timed)
    if warmup:
        train_batches(warmup)
    sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)

    # ---- measured: an epoch's worth of `batches`, then validation
    started = time.perf_counter()
    images = train_batches(batches)
    sync(device)
    train_seconds = time.perf_counter() - started
    val_started = time.perf_counter()
    accuracy = validate()
    val_seconds = time.perf_counter() - val_started
    return {
        "images": images,
        "batches": math.ceil(images / config.batch),
        "train_seconds": train_seconds,
        "val_seconds": val_seconds,
        "val_accuracy": accuracy,
    }


def run_engine(config: BenchConfig, batches: int, warmup: int, device: str) -> dict:
    import kata.train as engine
    from kata.config import TrialConfig
    from kata.data import load_development_splits

    train, validation = load_development_splits()
    trial = TrialConfig(
        dataNormalisation=config.normalise,
        horizontalFlip=config.augment,
        resizedCrop=config.augment,
        rotation=config.augment,
        numberHiddenLayers=config.layers,
        hiddenLayerSize=config.size,
        activationFunction=config.activation,
        dropoutProbability=config.dropout,
        numberEpochs=epoch_fraction(batches, config.batch),
        learningRate=config.lr,
        batchSize=config.batch,
        seed=0,
        device=device,
    )
    # The epoch timer includes the validation pass; time it separately (by wrapping the
    # module's evaluate, which _train looks up at call time) to extrapolate training only.
    val_seconds: list[float] = []
    evaluate = engine.evaluate

    def timed_evaluate(*args, **kwargs):
        sync(device)
        started = time.perf_counter()
        out = evaluate(*args, **kwargs)
        sync(device)
        val_seconds.append(time.perf_counter() - started)
        return out

    engine.evaluate = timed_evaluate
    try:
        if warmup:  # a short trial of its own: warms kernels, allocator and caches
            engine.train_trial(
                TrialConfig.from_dict(
                    trial.to_dict(), numberEpochs=epoch_fraction(warmup, config.batch)
                ),
                train,
                validation,
                progress=False,
            )
        sync(device)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats(device)
        val_seconds.clear()
        result = engine.train_trial(trial, train, validation, progress=False)
    finally:
        engine.evaluate = evaluate
    if result.status != "finished" or not result.history:
        raise RuntimeError(f"engine trial {result.status}: {result.reason}")
    epoch = result.history[0]
    return {
        "images": epoch.images,
        "batches": math.ceil(epoch.images / config.batch),
        "train_seconds": epoch.seconds - val_seconds[0],
        "val_seconds": val_seconds[0],
        "val_accuracy": epoch.val_accuracy,
    }


def worker(spec: dict, out_path: str) -> None:
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    config = CONFIGS[spec["config"]]
    device = spec["device"]
    if spec["pipeline"] == "plain":
        out = run_plain(config, spec["batches"], spec["warmup"], device, spec["workers"])
    else:
        out = run_engine(config, spec["batches"], spec["warmup"], device)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["peak_rss_bytes"] = usage.ru_maxrss * 1024  # Linux: KiB
    out["peak_rss_children_bytes"] = children.ru_maxrss * 1024  # largest DataLoader worker
    out["peak_cuda_bytes"] = (
        torch.cuda.max_memory_allocated(device) if device.startswith("cuda") else None
    )
    out["torch_threads"] = torch.get_num_threads()
    with open(out_path, "w") as f:
        json.dump(out, f)


def run_in_subprocess(spec: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "result.json")
        cmd = [sys.executable, "-m", "bench.pipeline_speed", "--worker", json.dumps(spec), out_path]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env)
        if done.returncode != 0 or not os.path.exists(out_path):
            raise RuntimeError(
                f"{spec['pipeline']} {spec['config']} failed (exit {done.returncode}):\n"
                + done.stderr[-4000:]
            )
        with open(out_path) as f:
            return json.load(f)


# ------------------------------------------------------------------------------------- report
def summarise(config: BenchConfig, raw: dict, rates: dict, device: str) -> dict:
    per_epoch = raw["train_seconds"] * EPOCH_IMAGES / raw["images"] + raw["val_seconds"]
    peak = raw["peak_cuda_bytes"] if device.startswith("cuda") else raw["peak_rss_bytes"]
    floor_rep = config.epoch_flops / rates["representative"][config.name]
    floor_square = config.epoch_flops / rates["square"]
    return {
        **raw,
        "epoch_seconds": per_epoch,
        "images_per_second": raw["images"] / raw["train_seconds"],
        "epoch_flops": config.epoch_flops,
        "floor_seconds_representative": floor_rep,
        "floor_seconds_square": floor_square,
        "floor_fraction_representative": floor_rep / per_epoch,
        "floor_fraction_square": floor_square / per_epoch,
        "peak_bytes": peak,
    }


COLUMNS = [
    ("config", "{:<9}"),
    ("pipeline", "{:<8}"),
    ("batches", "{:>7}"),
    ("train s", "{:>8.2f}"),
    ("val s", "{:>6.2f}"),
    ("epoch s*", "{:>9.2f}"),
    ("img/s", "{:>8.0f}"),
    ("engine x", "{:>8}"),
    ("floor% rep", "{:>10.1f}"),
    ("floor% sq", "{:>9.1f}"),
    ("peak MiB", "{:>8.0f}"),
]


def table_rows(results: dict) -> list[list]:
    rows = []
    for name, pair in results.items():
        for pipeline in PIPELINES:
            r = pair.get(pipeline)
            if r is None:
                continue
            ratio = ""
            if pipeline == "engine" and "plain" in pair:
                ratio = f"{pair['plain']['epoch_seconds'] / r['epoch_seconds']:.1f}x"
            rows.append(
                [
                    name,
                    pipeline,
                    r["batches"],
                    r["train_seconds"],
                    r["val_seconds"],
                    r["epoch_seconds"],
                    r["images_per_second"],
                    ratio,
                    100 * r["floor_fraction_representative"],
                    100 * r["floor_fraction_square"],
                    r["peak_bytes"] / MIB,
                ]
            )
    return rows


def text_table(rows: list[list]) -> str:
    cells = [[fmt.format(v) for (_, fmt), v in zip(COLUMNS, row, strict=True)] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, (h, _) in enumerate(COLUMNS)]

    def line(values: list[str]) -> str:
        return "  ".join(
            f"{v.strip():<{w}}" if i < 2 else f"{v.strip():>{w}}"
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    header = line([h for h, _ in COLUMNS])
    return "\n".join([header, "-" * len(header), *(line(r) for r in cells)])


def markdown_table(rows: list[list]) -> str:
    header = "| " + " | ".join(h for h, _ in COLUMNS) + " |"
    rule = "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|"
    body = [
        "| "
        + " | ".join(fmt.format(v).strip() for (_, fmt), v in zip(COLUMNS, row, strict=True))
        + " |"
        for row in rows
    ]
    return "\n".join([header, rule, *body])


def check_targets(results: dict) -> list[dict]:
    checks = []
    for name, minimum in SPEED_TARGETS:
        pair = results.get(name, {})
        target = f"engine >= {minimum:g}x plain ({name}: {CONFIGS[name].describe()})"
        if "plain" in pair and "engine" in pair:
            ratio = pair["plain"]["epoch_seconds"] / pair["engine"]["epoch_seconds"]
            checks.append({"target": target, "value": f"{ratio:.1f}x", "met": ratio >= minimum})
        else:
            checks.append({"target": target, "value": "not measured", "met": None})
    name, limit = MEMORY_TARGET
    target = f"engine peak memory < {limit / GIB:g} GiB ({name}: {CONFIGS[name].describe()})"
    engine = results.get(name, {}).get("engine")
    if engine is not None:
        peak = engine["peak_bytes"]
        checks.append({"target": target, "value": f"{peak / GIB:.2f} GiB", "met": peak < limit})
    else:
        checks.append({"target": target, "value": "not measured", "met": None})
    return checks


def verdict(met: bool | None) -> str:
    return {True: "MET", False: "NOT MET", None: "-"}[met]


NOTES = [
    "epoch s* = measured training seconds x 55,000 / measured images + validation seconds "
    "(5,000 images, run in full).",
    "Timed from the start of the epoch (shuffle; plain: DataLoader iterator creation) through "
    "the training batches and the validation pass. Excluded: process start, imports, data "
    "loading, pixel statistics, model/optimizer/transform construction (engine: also moving "
    "the data to the device and transforming the validation set once), and the warm-up batches.",
    "img/s = training images / training seconds (validation excluded).",
    "engine x = plain epoch s / engine epoch s.",
    "floor% = (6 x 55,000 x sum(in x out) FLOPs / measured matmul FLOP/s) / epoch s; "
    "rep: (batch x 784) @ (784 x hidden) matmul rate, sq: large square matmul rate.",
    "peak MiB: ru_maxrss of the pipeline's own fresh subprocess (CPU; DataLoader workers not "
    "included) or torch.cuda.max_memory_allocated (CUDA).",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline_speed",
        description="Time the plain DataLoader pipeline against kata.train's engine.",
    )
    parser.add_argument(
        "--configs",
        help=f"comma-separated names from {', '.join(CONFIGS)} "
        f"(default: {','.join(DEFAULT_CONFIGS['cpu'])} on cpu, "
        f"{','.join(DEFAULT_CONFIGS['cuda'])} on cuda)",
    )
    parser.add_argument(
        "--batches",
        type=int,
        default=DEFAULT_BATCHES,
        help=f"training batches timed per pipeline (default {DEFAULT_BATCHES})",
    )
    parser.add_argument(
        "--full-epoch", action="store_true", help="time a whole epoch (overrides --batches)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each pipeline this many times and keep the fastest (default 1)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP,
        help=f"untimed warm-up batches before the timed part (default {DEFAULT_WARMUP})",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    parser.add_argument(
        "--workers", type=int, default=0, help="DataLoader num_workers for plain (default 0)"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (default: torch's own choice)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        worker(json.loads(args.worker[0]), args.worker[1])
        return 0

    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    kind = "cuda" if device.startswith("cuda") else "cpu"
    names = args.configs.split(",") if args.configs else DEFAULT_CONFIGS[kind]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")
    if args.batches < 1 or args.warmup < 0 or args.workers < 0:
        parser.error("--batches must be >= 1, --warmup and --workers >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)

    info = machine(device)
    print(
        f"machine: {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
        f"torch {info['torch']}, {info['torch_threads']} threads, device {info['device_name']}"
    )

    # Matmul rates, measured now with the same threads and device.
    rates = {"representative": {}, "square": 0.0}
    square = 4096 if kind == "cuda" else 2048
    rates["square"] = matmul_rate(square, square, square, device)
    print(
        f"matmul ({square} x {square}) @ ({square} x {square}): {rates['square'] / 1e9:.1f} GFLOP/s"
    )
    shapes = {}
    for name in names:
        c = CONFIGS[name]
        key = (c.batch, c.size)
        if key not in shapes:
            shapes[key] = matmul_rate(c.batch, IMAGE_PIXELS, c.size, device)
            print(
                f"matmul ({c.batch} x {IMAGE_PIXELS}) @ ({IMAGE_PIXELS} x {c.size}): "
                f"{shapes[key] / 1e9:.1f} GFLOP/s"
            )
        rates["representative"][name] = shapes[key]

    results: dict[str, dict] = {}
    runs = []
    for name in names:
        c = CONFIGS[name]
        batches = batches_per_epoch(c.batch) if args.full_epoch else args.batches
        batches = min(batches, batches_per_epoch(c.batch))
        results[name] = {}
        for pipeline in PIPELINES:
            spec = {
                "config": name,
                "pipeline": pipeline,
                "batches": batches,
                "warmup": args.warmup,
                "device": device,
                "workers": args.workers,
                "threads": args.threads,
            }
            print(f"running {name} {pipeline}: {batches} batches of {c.batch} ...", flush=True)
            started = time.perf_counter()
            # The fastest of --repeat runs: noise on a shared machine only ever slows a run.
            raw = min(
                (run_in_subprocess(spec) for _ in range(args.repeat)),
                key=lambda r: r["train_seconds"] + r["val_seconds"],
            )
            results[name][pipeline] = summarise(c, raw, rates, device)
            runs.append({"spec": spec, "wall_seconds": time.perf_counter() - started})

    rows = table_rows(results)
    checks = check_targets(results)
    print()
    for name in names:
        print(f"{name}: {CONFIGS[name].describe()}")
    print()
    print(text_table(rows))
    print()
    for note in NOTES:
        print("  " + note)
    print()
    print("targets:")
    for check in checks:
        print(f"  [{verdict(check['met']):>7}] {check['target']}: {check['value']}")

    options = {
        "configs": names,
        "batches": args.batches,
        "full_epoch": args.full_epoch,
        "warmup": args.warmup,
        "repeat": args.repeat,
        "device": device,
        "workers": args.workers,
        "threads": args.threads,
    }
    if args.json:
        payload = {
            "machine": info,
            "options": options,
            "matmul_flops_per_second": {
                "square": {"shape": [square, square, square], "rate": rates["square"]},
                "representative": {
                    name: {
                        "shape": [CONFIGS[name].batch, IMAGE_PIXELS, CONFIGS[name].size],
                        "rate": rate,
                    }
                    for name, rate in rates["representative"].items()
                },
            },
            "configs": {name: asdict(CONFIGS[name]) for name in names},
            "results": results,
            "targets": checks,
            "runs": runs,
            "notes": NOTES,
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)
    if args.markdown:
        md = [
            "# Pipeline speed: plain DataLoader vs kata engine",
            "",
            f"- CPU: {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable)",
            f"- torch {info['torch']}, torchvision {info['torchvision']}, "
            f"Python {info['python']}, {info['torch_threads']} torch threads",
            f"- device: {device} ({info['device_name']})",
            f"- options: {json.dumps(options)}",
            f"- matmul ({square}x{square}x{square}): {rates['square'] / 1e9:.1f} GFLOP/s; "
            + "; ".join(
                f"{n} ({CONFIGS[n].batch}x{IMAGE_PIXELS}x{CONFIGS[n].size}): {r / 1e9:.1f} GFLOP/s"
                for n, r in rates["representative"].items()
            ),
            "",
            *[f"- `{n}`: {CONFIGS[n].describe()}" for n in names],
            "",
            markdown_table(rows),
            "",
            *[f"- {note}" for note in NOTES],
            "",
            "## Targets",
            "",
            "| target | value | met |",
            "|---|---:|---|",
            *[f"| {c['target']} | {c['value']} | {verdict(c['met'])} |" for c in checks],
            "",
        ]
        with open(args.markdown, "w") as f:
            f.write("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
