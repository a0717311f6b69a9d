"""The driver classifier on simulated cohorts whose seeds were not used in development.

    .venv/bin/python benchmarks/drivers_bench.py [--n 500] [--n-doubled 250] [--minutes 0.5]

Evaluates the stored model (host/gaitchain/chain/driver_model.json, fitted on cohort seed 1000)
on cohort seed 7001 (individual variation as fitted) and seed 7002 (variation doubled): each
subject has one known driver and side, or is healthy (about 20 %). Every subject's walk
(5 pods, 120 Hz, sensor errors, random mounting) is simulated and analysed by `gaitchain
analyze`, its battery simulated and measured from pod signals; walking summaries are cached in
.cache/drivers/. Bars: driver balanced accuracy >= 0.90, side accuracy >= 0.95, expected
calibration error <= 0.05, healthy subjects flagged <= 10 %. The peer in the same run is the
walking-only model (no battery), and a nearest-centroid rule on the same features.
"""

import argparse

import numpy as np
from gaitchain.chain.cohort_cache import cached_summaries
from gaitchain.chain.store import load_models
from gaitchain.chain.training import Rows, Scores, rows_of, score

BARS = {
    "driver_balanced_accuracy": (">=", 0.90),
    "side_accuracy": (">=", 0.95),
    "ece": ("<=", 0.05),
    "healthy_flagged": ("<=", 0.10),
}


def verdict(scores: Scores) -> str:
    out: list[str] = []
    for name, (op, bar) in BARS.items():
        value = float(getattr(scores, name))
        ok = value >= bar if op == ">=" else value <= bar
        out.append(f"{name} {value:.3f} ({op} {bar:g} {'met' if ok else 'NOT met'})")
    return "; ".join(out)


def nearest_centroid(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Peer: one-hot 'probabilities' of the nearest class mean in standardised features."""
    mean, sd = train_x.mean(axis=0), np.maximum(train_x.std(axis=0), 1e-6)
    classes = np.unique(train_y)
    centroids = np.array([((train_x[train_y == c] - mean) / sd).mean(axis=0) for c in classes])
    distance = np.linalg.norm(((x - mean) / sd)[:, None, :] - centroids[None], axis=2)
    proba = np.zeros((x.shape[0], 11))
    proba[np.arange(x.shape[0]), classes[distance.argmin(axis=1)]] = 1.0
    return proba


def report(name: str, rows: Rows, train: Rows | None) -> dict[str, Scores]:
    models = load_models()
    out: dict[str, Scores] = {}
    print(f"\n{name}: {rows.y.size} subjects with every feature measured")
    for model_name, (model, _) in models.items():
        scores = score(model.proba(rows.x[model_name]), rows.y)
        out[model_name] = scores
        print(f"  {model_name:<16} {verdict(scores)}")
        print(
            f"  {'':<16} side accuracy where the driver is right "
            f"{scores.side_accuracy_driver_right:.3f}"
        )
    if train is not None:
        peer = score(
            nearest_centroid(train.x["battery+walking"], train.y, rows.x["battery+walking"]),
            rows.y,
        )
        print(f"  {'nearest centroid':<16} {verdict(peer)}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--n-doubled", type=int, default=250)
    parser.add_argument("--minutes", type=float, default=0.5)
    parser.add_argument("--train-n", type=int, default=240)
    args = parser.parse_args()
    print(
        f".venv/bin/python benchmarks/drivers_bench.py --n {args.n} "
        f"--n-doubled {args.n_doubled} --minutes {args.minutes:g}"
    )
    train = rows_of(cached_summaries(args.train_n, 1000, minutes=args.minutes))
    base = report(
        f"cohort seed 7001, variation 1, {args.minutes:g}-min walks",
        rows_of(cached_summaries(args.n, 7001, minutes=args.minutes)),
        train,
    )
    doubled = report(
        f"cohort seed 7002, variation doubled, {args.minutes:g}-min walks",
        rows_of(
            cached_summaries(args.n_doubled, 7002, variation=2.0, minutes=args.minutes),
            variation=2.0,
        ),
        train,
    )
    print("\ndrop with the variation doubled (battery+walking):")
    a, b = base["battery+walking"], doubled["battery+walking"]
    for name in BARS:
        print(f"  {name:<26} {getattr(a, name):.3f} -> {getattr(b, name):.3f}")


if __name__ == "__main__":
    main()
