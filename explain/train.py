"""Rebuild the shipped models from the bundled MNIST: `python -m explain.train NAME [NAME ...]` or `... all`.

Seeded and deterministic: the same command on the same data gives the same weights. Each model learns
from the 55,000 training digits, every epoch a freshly distorted copy of them (`explain.augment`: the
distortions of real drawings), keeps the epoch that reads the 5,000 validation digits best, has its
temperature fitted on those validation digits (folded into its output layer, so the saved model's
own probabilities are the calibrated ones), and is then measured, once, on MNIST's official 10,000
test digits and on the stress set (`explain.stress`). It is saved to `models/NAME.keras` and
described in `models/NAME.json`, from which `models/README.md` and the models section of README.md
are rewritten.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from explain import architectures
from explain.activations import softmax
from explain.augment import Distortions, augment
from explain.data import ROOT, load_mnist
from explain.models import MODEL_NAMES, MODELS_DIR
from explain.preprocess import to_mnist_batch
from explain.stress import DISTORTIONS, allowed_drop, stress_digits

SEED = 42
BINS = 15                       # confidence bins of the expected calibration error
LENET5_ERROR = 0.0095           # LeCun et al. 1998, Proc. IEEE: LeNet-5 on this test set
COURSE_LENET_ACCURACY = 0.9852  # the course's own Keras LeNet, 50 epochs
README = ROOT / "README.md"
README_MARKS = ("<!-- models: written by python -m explain.train, do not edit -->", "<!-- models: end -->")


DISTORTED_EPOCHS = 15           # distorted copies of the training set; later epochs reuse them in turn


@dataclass(frozen=True)
class Recipe:
    """Adam at `learning_rate`, multiplied by `decay` after every epoch, for at most `epochs` epochs
    (fewer when validation accuracy has not improved for `patience` epochs); in every batch, a `clean`
    share of the distorted digits is put back as `to_mnist` made them (for a small network that the
    distortions would otherwise keep from learning MNIST's own look)."""

    epochs: int
    learning_rate: float = 1e-3
    decay: float = 0.8
    batch_size: int = 128
    patience: int = 4
    clean: float = 0.0


RECIPES = {
    "mlp": Recipe(epochs=30, decay=0.9, clean=0.5, patience=6),
    "cnn": Recipe(epochs=15, learning_rate=2e-3),
    "lstm": Recipe(epochs=24, learning_rate=3e-3, decay=0.88, clean=0.25, patience=6),
    "gru": Recipe(epochs=24, learning_rate=3e-3, decay=0.88, clean=0.25, patience=6),
    "attention": Recipe(epochs=30, learning_rate=2e-3, decay=0.9, clean=0.5, patience=8),
    "rnn": Recipe(epochs=30, learning_rate=2e-3, decay=0.9, clean=0.25, patience=6),
    "cnn_bn": Recipe(epochs=7, learning_rate=3e-3, decay=0.7),
}


@lru_cache(maxsize=1)
def prepared_data(samples: int | None = None):
    """The split with every digit passed through `to_mnist`, as the app's inputs are:
    ((x_train, y_train), (x_val, y_val), (x_test, y_test)), x (n, 28, 28) float32. `samples` keeps
    only the first so many digits of each part (a quick run)."""
    data = load_mnist()
    return data, [(to_mnist_batch(s.x[:samples]), s.y[:samples]) for s in (data.train, data.val, data.test)]


def _cached(cache: Path | None, key: list, compute) -> tuple[np.ndarray, ...]:
    """compute() -> a tuple of arrays, kept in `cache` (if given) under a name made from `key` and the
    source of the modules that make the arrays, so a change to any of them is never served stale."""
    if cache is None:
        return compute()
    sources = [(ROOT / "explain" / f).read_text() for f in ("augment.py", "stress.py", "preprocess.py")]
    path = cache / f"{hashlib.sha256(json.dumps([key, sources]).encode()).hexdigest()[:24]}.npz"
    if path.exists():
        with np.load(path) as stored:
            return tuple(stored[f"a{i}"] for i in range(len(stored.files)))
    arrays = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part.npz")  # written under another name first: another run never reads half a file
    np.savez(part, **{f"a{i}": a for i, a in enumerate(arrays)})
    part.replace(path)
    return arrays


@lru_cache(maxsize=DISTORTED_EPOCHS)
def _distorted_epoch(epoch: int, samples: int | None, cache: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Epoch `epoch`'s training set: the training digits shuffled and distorted with a generator
    seeded by (SEED, epoch), as uint8 (n, 28, 28), their labels, and the shuffled order (n,). Kept, so
    that every model of one run trains on the same distorted digits and each is computed only once
    (and, given a `cache` folder, kept there for later runs)."""
    data, [(x, y), _, _] = prepared_data(samples)

    def compute():
        rng = np.random.default_rng([SEED, epoch])
        order = rng.permutation(len(x))
        out = np.concatenate([augment(x[order[i:i + 1024]], rng) for i in range(0, len(x), 1024)])
        return np.round(out * 255).astype(np.uint8), y[order], order
    return _cached(cache, ["distorted", data.sha256, SEED, epoch, samples, asdict(Distortions())], compute)


class DistortedDigits(keras.utils.PyDataset):
    """The training batches: epoch e reads `_distorted_epoch(e mod DISTORTED_EPOCHS)` in order (no
    other shuffling), a `clean` share of each batch swapped back for the undistorted digits by a
    generator seeded with (SEED, e, batch), so the run depends on nothing but SEED."""

    def __init__(self, recipe: Recipe, samples: int | None, cache: Path | None):
        super().__init__()
        self.batch_size, self.clean, self.samples, self.cache = recipe.batch_size, recipe.clean, samples, cache
        self.epoch = 0

    def __len__(self) -> int:
        return math.ceil(len(_distorted_epoch(0, self.samples, self.cache)[1]) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        x, y, order = _distorted_epoch(self.epoch % DISTORTED_EPOCHS, self.samples, self.cache)
        batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
        out = x[batch].astype(np.float32) / 255.0
        if self.clean:
            _, [(plain, _), _, _] = prepared_data(self.samples)
            swap = np.random.default_rng([SEED, self.epoch, index]).random(len(out)) < self.clean
            out[swap] = plain[order[batch][swap]]
        return out, y[batch]

    def on_epoch_end(self) -> None:
        self.epoch += 1


def logits(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """(n, 10) float64: the output layer's values before its softmax."""
    features = keras.Model(model.inputs, model.get_layer("output").input).predict(x, batch_size=1000, verbose=0)
    kernel, bias = model.get_layer("output").get_weights()
    return features.astype(np.float64) @ kernel + bias


def fitted_temperature(z: np.ndarray, y: np.ndarray) -> float:
    """The T that minimises the negative log-likelihood of softmax(z / T) on labels `y` (Guo et al.
    2017, temperature scaling): a golden-section search over log T in [log 0.25, log 8]."""
    def nll(log_t: float) -> float:
        p = softmax(z / math.exp(log_t))[np.arange(len(y)), y]
        return float(-np.log(np.maximum(p, 1e-12)).mean())
    lo, hi, ratio = math.log(0.25), math.log(8.0), (math.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        lo, hi = (lo, b) if nll(a) < nll(b) else (a, hi)
    return round(math.exp((lo + hi) / 2), 4)


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = BINS) -> float:
    """Sum over equal-width confidence bins of (share of digits in the bin) x |accuracy - mean
    confidence| there, for probabilities `p` (n, 10) and labels `y` (n,)."""
    confidence, right = p.max(axis=1), p.argmax(axis=1) == y
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return float(sum(abs(right[which == b].mean() - confidence[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def calibrate(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Fit the temperature on (x, y) and fold it into the output layer (W / T, b / T): the softmax
    then gives softmax(logits / T), and the saved model needs no extra layer. Returns T."""
    temperature = fitted_temperature(logits(model, x), y)
    layer = model.get_layer("output")
    layer.set_weights([w / temperature for w in layer.get_weights()])
    return temperature


@lru_cache(maxsize=1)
def stress_set(count: int | None, cache: Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """distortion -> (x, readable, y) for the first `count` official test digits (all by default)."""
    data = load_mnist()
    test = data.test
    out = {}
    for name in DISTORTIONS:
        x, readable = _cached(cache, ["stress", data.sha256, name, count],
                              lambda name=name: stress_digits(test.x[:count], name))
        out[name] = (x, readable, test.y[:count])
    return out


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, readable: np.ndarray | None = None) -> float:
    right = model.predict(x, batch_size=1000, verbose=0).argmax(axis=1) == y
    return float((right & readable).mean() if readable is not None else right.mean())


def train_model(name: str, epochs: int | None = None, out_dir: Path = MODELS_DIR, samples: int | None = None,
                stress_count: int | None = None, cache: Path | None = None) -> dict:
    """Train `name`, save it to `out_dir` (models/ by default), and return its model card."""
    recipe = RECIPES[name]
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    data, ((xtr, ytr), (xva, yva), (xte, yte)) = prepared_data(samples)
    epochs = epochs or recipe.epochs
    start = time.perf_counter()
    for epoch in range(min(epochs, DISTORTED_EPOCHS)):  # computed once per run, shared by every model; timed apart
        _distorted_epoch(epoch, samples, cache)
    distortion_seconds = time.perf_counter() - start
    model = architectures.BUILDERS[name]()
    model.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    with tempfile.TemporaryDirectory() as tmp:
        best = Path(tmp) / "best.weights.h5"
        callbacks = [
            keras.callbacks.LearningRateScheduler(lambda epoch: recipe.learning_rate * recipe.decay ** epoch),
            keras.callbacks.EarlyStopping("val_accuracy", patience=recipe.patience),
            keras.callbacks.ModelCheckpoint(best, "val_accuracy", save_best_only=True, save_weights_only=True),
        ]
        start = time.perf_counter()
        history = model.fit(DistortedDigits(recipe, samples, cache), validation_data=(xva, yva), shuffle=False,
                            epochs=epochs, callbacks=callbacks, verbose=2)
        seconds = time.perf_counter() - start
        model.load_weights(best)
    ece_raw = expected_calibration_error(softmax(logits(model, xte)), yte)
    temperature = calibrate(model, xva, yva)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / f"{name}.keras")
    probs = model.predict(xte, batch_size=1000, verbose=0)
    test_acc = float((probs.argmax(axis=1) == yte).mean())
    stress = {d: round(accuracy(model, x, y, ok), 4) for d, (x, ok, y) in stress_set(stress_count, cache).items()}
    card = {
        "name": name,
        "parameters": int(model.count_params()),
        "epochs": len(history.history["loss"]),
        "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
        "training_seconds": round(seconds, 1),
        "distortion_seconds": round(distortion_seconds, 1),
        "val_accuracy": round(accuracy(model, xva, yva), 4),
        "test_accuracy": round(test_acc, 4),
        "temperature": temperature,
        "test_ece_before_temperature": round(ece_raw, 4),
        "test_ece": round(expected_calibration_error(probs, yte), 4),
        "stress_accuracy": stress,
        "stress_digits": len(next(iter(stress_set(stress_count, cache).values()))[2]),
        "data": data.source,
        "data_sha256": data.sha256,
        "split": [len(ytr), len(yva), len(yte)],
        "recipe": asdict(recipe),
        "distortions": asdict(Distortions()),
        "seed": SEED,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "command": f"python -m explain.train {name}",
    }
    (out_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def _tables(cards: list[dict]) -> str:
    """The accuracy / calibration table and the stress table, in Markdown."""
    rows = [f"| `{c['name']}` | {c['parameters']:,} | {c['epochs']} (best {c['best_epoch']}) | "
            f"{c['training_seconds'] / 60:.1f} | {c['val_accuracy']:.2%} | **{c['test_accuracy']:.2%}** | "
            f"{1 - c['test_accuracy']:.2%} | {c['test_ece_before_temperature']:.2%} | {c['temperature']:.2f} | "
            f"{c['test_ece']:.2%} |" for c in cards]
    head = "| model | clean | " + " | ".join(DISTORTIONS) + " | largest drop | allowed |"
    stress = []
    for c in cards:
        s, clean = c["stress_accuracy"], c["test_accuracy"]
        drop = max(clean - v for v in s.values())
        stress.append(f"| `{c['name']}` | {clean:.2%} | " + " | ".join(f"{s[d]:.2%}" for d in DISTORTIONS)
                      + f" | {drop * 100:.2f} points | {allowed_drop(c['name']) * 100:.0f} points |")
    return ("| model | parameters | epochs | training min | validation acc. | test acc. | test error | "
            "ECE before T | temperature T | ECE |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n"
            f"| LeNet-5, LeCun et al. 1998 (published) | | | | | {1 - LENET5_ERROR:.2%} | {LENET5_ERROR:.2%} | | | |\n"
            f"| the course's Keras LeNet, 50 epochs | | 50 | | | {COURSE_LENET_ACCURACY:.2%} | "
            f"{1 - COURSE_LENET_ACCURACY:.2%} | | | |\n\n"
            f"Stress set: {cards[0]['stress_digits']:,} official test digits, each redrawn on a 280x280 canvas "
            "and passed through `to_mnist` (`explain/stress.py`): strokes thickened by 1.6 MNIST pixels, "
            "thinned by 1, blurred (Gaussian, 1.5 px), rendered at 10x10 and scaled back up, drawn small in "
            "the canvas's corner, rotated by 15 degrees (alternately each way). A digit `to_mnist` refuses "
            "counts as misread.\n\n" + head + "\n|---|---:|" + "---:|" * len(DISTORTIONS) + "---:|---:|\n"
            + "\n".join(stress) + "\n")


def write_readme(out_dir: Path = MODELS_DIR, readme: Path | None = None) -> None:
    """README.md in `out_dir` from every model card there; with `readme`, also its models section."""
    cards = [json.loads(p.read_text()) for p in (out_dir / f"{n}.json" for n in MODEL_NAMES) if p.exists()]
    if not cards:
        return
    c = cards[0]
    minutes = sum(card["training_seconds"] for card in cards) / 60
    distorting = max(card["distortion_seconds"] for card in cards) / 60  # paid by a run's first model only
    text = ("# Pretrained models\n\n"
            f"Trained by `python -m explain.train all` on MNIST (`{c['data']}`, sha256 `{c['data_sha256']}`): "
            f"{c['split'][0]:,} training digits, distorted afresh every epoch (`explain/augment.py`), "
            f"{c['split'][1]:,} validation digits for choosing the epoch and fitting the temperature, and "
            f"MNIST's official {c['split'][2]:,} test digits, used for nothing but these figures. Seed {c['seed']}, "
            f"deterministic; Keras {c['keras']}, TensorFlow {c['tensorflow']}. On a shared 2-core CPU the models "
            f"trained for {minutes:.1f} minutes in all (the table gives each one's time), and distorting the training "
            f"digits, done once per run and shared by all the models, took {distorting:.1f} minutes more. Each "
            "`NAME.json` beside its model holds the full card.\n\n"
            "ECE is the expected calibration error on the test set (15 confidence bins): how far, on average, "
            "the confidence the app shows is from the share of digits it gets right. Each model's "
            "temperature T was fitted on the validation digits and folded into its output layer, so the "
            "saved model's probabilities are the calibrated ones.\n\n" + _tables(cards))
    (out_dir / "README.md").write_text(text)
    if readme is not None and readme.exists():
        start, end = (re.escape(m) for m in README_MARKS)
        section = f"{README_MARKS[0]}\n{_tables(cards)}{README_MARKS[1]}"
        readme.write_text(re.sub(f"{start}.*?{end}", lambda _: section, readme.read_text(), flags=re.S))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=MODEL_NAMES + ("all",), metavar="NAME",
                        help=f"one or more of {', '.join(MODEL_NAMES)}, or all")
    parser.add_argument("--epochs", type=int, help="override the recipe's maximum epochs")
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR, help="where to save (default: models/)")
    parser.add_argument("--samples", type=int, help="use only the first N digits of each part (a quick run)")
    parser.add_argument("--stress-digits", type=int, help="measure the stress set on only the first N test digits")
    parser.add_argument("--cache", type=Path, help="keep the distorted epochs in this folder, for later runs")
    args = parser.parse_args(argv)
    for name in MODEL_NAMES if "all" in args.names else dict.fromkeys(args.names):
        card = train_model(name, args.epochs, args.out_dir, args.samples, args.stress_digits, args.cache)
        print(f"{name}: test accuracy {card['test_accuracy']:.2%} in {card['training_seconds']} s", file=sys.stderr)
    shipped = args.out_dir.resolve() == MODELS_DIR.resolve()
    write_readme(args.out_dir, README if shipped else None)


if __name__ == "__main__":
    main()
