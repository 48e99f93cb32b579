"""The course's training homework in this process: Keras's own callbacks (EarlyStopping,
ModelCheckpoint, ReduceLROnPlateau, CSVLogger, TerminateOnNaN) plus a recorder that notes, at the
epoch where each callback acted, what it did, so the curves can carry a marker there.

`train(config, on_event, stop)` runs one training and reports every batch, epoch and callback action
to `on_event`. The app never calls it in the server: `explain.training_process` runs it in a child
process (Streamlit calls `keras.backend.clear_session()` after every rerun, which resets Keras's
global state under any thread that is building or tracing a model), whose events travel as
`explain.training_events` lines. Every run writes to a folder of `explain.runs`.
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cache, lru_cache
from pathlib import Path
from collections.abc import Callable, Sequence

import keras
import numpy as np

from explain import runs, training_events
from explain.architectures import BUILDERS
from explain.data import load_mnist, stratified_split
from explain.preprocess import to_mnist_batch

MODEL_CHOICES = ("lstm", "gru", "cnn", "cnn_bn", "mlp")
PARTNERS = {"cnn": "cnn_bn", "cnn_bn": "cnn"}   # trained beside each other: what batch normalisation buys
OPTIMIZERS = ("adam", "rmsprop", "sgd")
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")
MODES = ("auto", "min", "max")
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
MARKER_KINDS = ("reduce_lr", "checkpoint", "early_stop")
DEFAULT_TRAIN_SAMPLES = 7000    # the homework's subset of the training split (the most is `max_train_samples()`)
MIN_TRAIN_SAMPLES = 100
BATCH_EVERY_SECONDS = 0.2       # batch progress is reported at most this often (and at each epoch's end)

Event = dict
OnEvent = Callable[[Event], None]


@dataclass(frozen=True)
class TrainConfig:
    """Everything one run needs; the defaults are the course homework (LSTM 32-32 with dropout, Adam,
    the three callbacks watching val_loss). `out_dir=None` means a new `runs/<time-stamp>/`."""

    model: str = "lstm"
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    train_samples: int = DEFAULT_TRAIN_SAMPLES
    validation_fraction: float = 0.2
    seed: int = 1
    early_stopping: bool = True
    early_stopping_monitor: str = "val_loss"
    early_stopping_min_delta: float = 0.0
    early_stopping_patience: int = 3
    early_stopping_mode: str = "auto"
    restore_best_weights: bool = True
    reduce_lr: bool = True
    reduce_lr_monitor: str = "val_loss"
    reduce_lr_factor: float = 0.5
    reduce_lr_patience: int = 2
    reduce_lr_cooldown: int = 0
    reduce_lr_min_delta: float = 1e-4
    min_lr: float = 1e-5
    checkpoint_monitor: str = "val_loss"
    checkpoint_save_best_only: bool = True
    checkpoint_weights_only: bool = True
    csv_log: bool = True
    out_dir: str | None = None

    @property
    def validation_samples(self) -> int:
        return int(round(self.train_samples * self.validation_fraction))

    @property
    def fit_samples(self) -> int:
        """The digits the weights are fitted on: the subset minus the held-out validation part."""
        return self.train_samples - self.validation_samples

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(text).items() if k in known})


# The classroom demo: a 5,000-digit subset and a high-ish Adam rate (0.01) make val_loss stall after
# a few epochs, so ReduceLROnPlateau (patience 1) halves the rate several times and EarlyStopping
# (patience 3) ends the run. Seeds 0-5 all stopped within 11-23 of the 30 epochs on the bundled digits;
# tests/test_training.py checks the cut and the early stop, the benchmark the time (at most 60 s).
CLASSROOM_DEMO = TrainConfig(
    model="lstm", epochs=30, batch_size=32, learning_rate=0.01, optimizer="adam", train_samples=5000,
    validation_fraction=0.2, seed=2, early_stopping_patience=3, early_stopping_min_delta=0.0,
    reduce_lr_factor=0.5, reduce_lr_patience=1, reduce_lr_cooldown=0, min_lr=1e-4,
)


class ConfigError(ValueError):
    """A setting that cannot train. `problem` names the rule (the app's message key) and `values`
    the numbers in the message, so the page can say it in the user's language."""

    def __init__(self, problem: str, message: str, **values):
        self.problem, self.values = problem, values
        super().__init__(message.format(**values))


class TrainingBusy(RuntimeError):
    """A second training was requested while one runs: one training at a time per server."""


class Stop(threading.Event):
    """A request to end the run after the current batch. `reason` becomes the run's status:
    "user_stop" (someone pressed Stop) or "interrupted" (the server that watched the run went away)."""

    reason = "user_stop"

    def request(self, reason: str = "user_stop") -> None:
        self.reason = reason
        self.set()


@cache
def hidden_units(model: str) -> int:
    """The width of the first Dense layer of `model`'s architecture (the MLP's hidden layer), as its
    choice in the model list says it."""
    return next(layer.units for layer in BUILDERS[model]().layers if isinstance(layer, keras.layers.Dense))


def max_train_samples() -> int:
    """The most digits a run may use: the whole training split of `explain.data.load_mnist()`."""
    return len(load_mnist().train.y)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(value)


def validate(config: TrainConfig) -> None:
    """Raise `ConfigError` for the first setting that cannot train, saying what was received."""
    def check(ok: bool, problem: str, message: str, **values) -> None:
        if not ok:
            raise ConfigError(problem, message, **values)

    c = config
    check(c.model in MODEL_CHOICES, "model", "unknown model {value!r}; choose one of {valid}",
          value=c.model, valid=", ".join(MODEL_CHOICES))
    check(c.optimizer in OPTIMIZERS, "optimizer", "unknown optimizer {value!r}; choose one of {valid}",
          value=c.optimizer, valid=", ".join(OPTIMIZERS))
    check(_is_int(c.epochs) and c.epochs >= 1, "epochs", "epochs must be a whole number >= 1, got {value}",
          value=c.epochs)
    check(_is_number(c.learning_rate) and c.learning_rate > 0, "learning_rate",
          "the learning rate must be a finite number > 0, got {value}", value=c.learning_rate)
    check(_is_int(c.train_samples) and MIN_TRAIN_SAMPLES <= c.train_samples <= max_train_samples(),
          "train_samples", "the training subset must hold {low} to {high} digits, got {value}",
          value=c.train_samples, low=MIN_TRAIN_SAMPLES, high=max_train_samples())
    check(_is_number(c.validation_fraction) and 0.05 <= c.validation_fraction <= 0.5, "validation_fraction",
          "the validation fraction must be between 0.05 and 0.5, got {value}", value=c.validation_fraction)
    check(_is_int(c.batch_size) and c.batch_size >= 1, "batch_size",
          "the batch size must be a whole number >= 1, got {value}", value=c.batch_size)
    check(c.batch_size <= c.fit_samples, "batch_too_large",
          "the batch size {value} is larger than the {fit} digits left for fitting "
          "({samples} minus {val} held out for validation)",
          value=c.batch_size, fit=c.fit_samples, samples=c.train_samples, val=c.validation_samples)
    check(_is_int(c.seed) and 0 <= c.seed < 2**32, "seed",
          "the seed must be a whole number from 0 to 4294967295, got {value}", value=c.seed)
    for name in ("early_stopping_monitor", "reduce_lr_monitor", "checkpoint_monitor"):
        value = getattr(c, name)
        check(value in MONITORS, "monitor", "{name} must be one of {valid}, got {value!r}",
              name=name, value=value, valid=", ".join(MONITORS))
    check(c.early_stopping_mode in MODES, "mode", "the mode must be one of {valid}, got {value!r}",
          value=c.early_stopping_mode, valid=", ".join(MODES))
    for name in ("early_stopping_patience", "reduce_lr_patience", "reduce_lr_cooldown"):
        value = getattr(c, name)
        check(_is_int(value) and value >= 0, "patience", "{name} must be a whole number >= 0, got {value}",
              name=name, value=value)
    for name in ("early_stopping_min_delta", "reduce_lr_min_delta"):
        value = getattr(c, name)
        check(_is_number(value) and value >= 0, "min_delta", "{name} must be a finite number >= 0, got {value}",
              name=name, value=value)
    check(_is_number(c.reduce_lr_factor) and 0 < c.reduce_lr_factor < 1, "factor",
          "ReduceLROnPlateau's factor must be between 0 and 1 (the new rate is factor x the old), got {value}",
          value=c.reduce_lr_factor)
    check(_is_number(c.min_lr) and 0 <= c.min_lr <= c.learning_rate, "min_lr",
          "min_lr must be between 0 and the initial learning rate {lr}, got {value}",
          value=c.min_lr, lr=c.learning_rate)


# ---- data, model and callbacks --------------------------------------------------------------------

@lru_cache(maxsize=4)
def training_data(train_samples: int, validation_fraction: float, seed: int):
    """((x_fit, y_fit), (x_val, y_val)) from the training split only (the test split stays unseen):
    `train_samples` digits chosen stratified by `seed`, the `validation_fraction` of them held out.
    x is (n, 28, 28) float32 after `to_mnist_batch`, the app's one preprocessing path; y is (n,) int."""
    split = load_mnist().train
    n_val = int(round(train_samples * validation_fraction))
    fit_idx, val_idx = stratified_split(split.y, (train_samples - n_val, n_val), seed)
    out = []
    for idx in (fit_idx, val_idx):
        x = to_mnist_batch(split.x[idx])
        x.setflags(write=False)
        out.append((x, split.y[idx]))
    return tuple(out)


def build_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
            "sgd": keras.optimizers.SGD}[name](learning_rate=learning_rate)


def build_model(config: TrainConfig) -> keras.Model:
    """A fresh, compiled model of `config.model` from `explain.architectures`."""
    model = BUILDERS[config.model]()
    model.compile(optimizer=build_optimizer(config.optimizer, config.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def dropout_rates(model: keras.Model) -> tuple[float, ...]:
    """The rates of a Keras model's Dropout layers, in order (the LSTM homework: 0.2, 0.3)."""
    return tuple(float(layer.rate) for layer in model.layers if isinstance(layer, keras.layers.Dropout))


def checkpoint_path(config: TrainConfig, run_dir: Path) -> Path:
    return run_dir / ("best.weights.h5" if config.checkpoint_weights_only else "best.keras")


def staging_path(config: TrainConfig, run_dir: Path) -> Path:
    """Where ModelCheckpoint writes before `PublishCheckpoint` renames the file over the last best."""
    final = checkpoint_path(config, run_dir)
    return final.with_name("saving." + final.name.removeprefix("best."))


class PublishCheckpoint(keras.callbacks.Callback):
    """Right after ModelCheckpoint: move the file it just wrote over the checkpoint in one rename.
    h5py truncates the file it writes to, so saving in place would lose the last best if the disk
    filled half-way; written aside and renamed, a failed save leaves the last best intact."""

    def __init__(self, staging: Path, final: Path):
        super().__init__()
        self.staging, self.final = staging, final

    def on_epoch_end(self, epoch, logs=None):
        if self.staging.exists():
            os.replace(self.staging, self.final)


def keras_callbacks(config: TrainConfig, run_dir: Path) -> dict[str, keras.callbacks.Callback]:
    """The course's callbacks by role, in the order Keras calls them. ReduceLROnPlateau comes before
    CSVLogger so that the log's `learning_rate` column (written by ReduceLROnPlateau) exists; the
    checkpoint is written aside and renamed into place (`PublishCheckpoint`)."""
    cb = keras.callbacks
    out = {"terminate_on_nan": cb.TerminateOnNaN()}
    if config.reduce_lr:
        out["reduce_lr"] = cb.ReduceLROnPlateau(
            monitor=config.reduce_lr_monitor, factor=config.reduce_lr_factor, patience=config.reduce_lr_patience,
            cooldown=config.reduce_lr_cooldown, min_delta=config.reduce_lr_min_delta, min_lr=config.min_lr)
    if config.early_stopping:
        out["early_stopping"] = cb.EarlyStopping(
            monitor=config.early_stopping_monitor, min_delta=config.early_stopping_min_delta,
            patience=config.early_stopping_patience, mode=config.early_stopping_mode,
            restore_best_weights=config.restore_best_weights)
    out["checkpoint"] = cb.ModelCheckpoint(
        str(staging_path(config, run_dir)), monitor=config.checkpoint_monitor,
        save_best_only=config.checkpoint_save_best_only, save_weights_only=config.checkpoint_weights_only)
    out["publish_checkpoint"] = PublishCheckpoint(staging_path(config, run_dir), checkpoint_path(config, run_dir))
    if config.csv_log:
        out["csv_logger"] = cb.CSVLogger(str(run_dir / "log.csv"))
    return out


class Recorder(keras.callbacks.Callback):
    """Placed after every other callback, it sees what they did at the end of each epoch.

    Why not read the markers from `history`: Keras 3 writes `logs["learning_rate"]` inside
    ReduceLROnPlateau *before* it lowers the rate, so the history shows a reduction one epoch
    late and never shows one made in the last epoch. The recorder reads the optimizer's rate at
    epoch begin (the rate used for that epoch's batches) and at epoch end (after the callback).
    Per batch it only counts and checks the stop flag, so it costs next to nothing.
    """

    def __init__(self, config: TrainConfig, callbacks: dict, batches: int, on_event: OnEvent | None,
                 stop: threading.Event | None):
        super().__init__()
        self.config, self.cbs, self.batches = config, callbacks, batches
        self.on_event, self.stop = on_event or (lambda event: None), stop
        self.history: dict[str, list[float]] = {k: [] for k in (*METRICS, "learning_rate")}
        self.events: list[Event] = []
        self.nan_at: tuple[int, int] | None = None
        self.stop_at: tuple[int, int] | None = None
        self._last_batch_report = 0.0

    def _lr(self) -> float:
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.lr_begin = epoch + 1, self._lr()
        ckpt = self.cbs["checkpoint"]
        self.best_before = ckpt.best
        self.batches_done = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches_done = batch + 1
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss) and self.nan_at is None:
            self.nan_at = (self.epoch, batch + 1)
        if self.stop is not None and self.stop.is_set() and not self.model.stop_training:
            self.model.stop_training = True
            self.stop_at = (self.epoch, batch + 1)
        now = time.monotonic()
        if now - self._last_batch_report >= BATCH_EVERY_SECONDS:
            self._last_batch_report = now
            self.on_event({"kind": "batch", "epoch": self.epoch, "batch": batch + 1, "batches": self.batches})

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        e, lr_end = self.epoch, self._lr()
        for k in METRICS:
            self.history[k].append(float(logs.get(k, math.nan)))
        self.history["learning_rate"].append(self.lr_begin)
        row = {k: v[-1] for k, v in self.history.items()}
        self.on_event({"kind": "epoch", "epoch": e, "batches_done": self.batches_done,
                       "batches": self.batches, **row})
        c = self.config
        if "reduce_lr" in self.cbs and lr_end < self.lr_begin:
            self._marker({"kind": "reduce_lr", "epoch": e, "old_lr": self.lr_begin, "new_lr": lr_end,
                          "monitor": c.reduce_lr_monitor, "value": float(logs.get(c.reduce_lr_monitor, math.nan)),
                          "patience": c.reduce_lr_patience, "factor": c.reduce_lr_factor,
                          "cooldown": c.reduce_lr_cooldown, "min_lr": c.min_lr})
        ckpt = self.cbs["checkpoint"]
        # ModelCheckpoint replaces `best` with this epoch's value exactly when it saves.
        if not c.checkpoint_save_best_only or ckpt.best is not self.best_before:
            self._marker({"kind": "checkpoint", "epoch": e, "monitor": c.checkpoint_monitor,
                          "value": float(logs.get(c.checkpoint_monitor, math.nan)),
                          "previous": None if self.best_before is None else float(self.best_before),
                          "save_best_only": c.checkpoint_save_best_only,
                          "path": str(checkpoint_path(c, Path(c.out_dir)))})
        es = self.cbs.get("early_stopping")
        if es is not None and es.stopped_epoch == epoch and epoch > 0 and self.model.stop_training:
            self._marker({"kind": "early_stop", "epoch": e, "stopped_epoch": es.stopped_epoch + 1,
                          "best_epoch": es.best_epoch + 1, "best_value": float(es.best),
                          "monitor": c.early_stopping_monitor, "patience": c.early_stopping_patience,
                          "min_delta": c.early_stopping_min_delta, "restore_best_weights": c.restore_best_weights})

    def _marker(self, event: Event) -> None:
        self.events.append(event)
        self.on_event(event)


# ---- one run --------------------------------------------------------------------------------------

@dataclass
class Evaluation:
    """The homework's last step: a fresh model, `load_weights` from the checkpoint, `predict` on the
    validation set. `confusion` is (true 10, predicted 10) counts; `probabilities` (n, 10)."""

    accuracy: float
    y_true: np.ndarray
    y_pred: np.ndarray
    probabilities: np.ndarray
    confusion: np.ndarray

    def misclassified(self, limit: int = 24) -> np.ndarray:
        """Indices into the validation set of wrong answers, most confident mistakes first."""
        wrong = np.flatnonzero(self.y_true != self.y_pred)
        confidence = self.probabilities[wrong, self.y_pred[wrong]]
        return wrong[np.argsort(-confidence, kind="stable")][:limit]


@dataclass
class TrainResult:
    """What a run did. `history` holds per-epoch lists (loss, accuracy, val_loss, val_accuracy, and
    the learning_rate used in that epoch); `events` the markers (each with 1-based "epoch" and
    "kind" in MARKER_KINDS); `status` is "early_stop", "completed", "user_stop", "interrupted" or "nan"."""

    config: TrainConfig
    run_dir: Path
    history: dict[str, list[float]]
    events: list[Event]
    status: str
    seconds: float
    restored_epoch: int | None
    stopped_at: tuple[int, int] | None
    checkpoint: Path | None
    csv_log: Path | None
    evaluation: Evaluation | None
    keras_callbacks: dict = field(repr=False)

    def summary(self) -> Event:
        """The JSON-safe "end" event."""
        ev = self.evaluation
        return {"kind": "end", "status": self.status, "epochs_run": len(self.history["loss"]),
                "seconds": round(self.seconds, 2), "restored_epoch": self.restored_epoch,
                "stopped_at": self.stopped_at, "run_dir": str(self.run_dir),
                "checkpoint": str(self.checkpoint) if self.checkpoint else None,
                "csv_log": str(self.csv_log) if self.csv_log else None,
                "accuracy": None if ev is None else ev.accuracy,
                "evaluation": str(self.run_dir / "evaluation.npz") if ev is not None else None}


def evaluate_checkpoint(config: TrainConfig, weights: Path) -> Evaluation:
    """Build a fresh `config.model`, `load_weights(weights)`, predict the run's validation set."""
    _, (x_val, y_val) = training_data(config.train_samples, config.validation_fraction, config.seed)
    model = BUILDERS[config.model]()
    model.load_weights(str(weights))
    probs = model.predict(x_val, batch_size=256, verbose=0)
    y_pred = probs.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y_val, y_pred), 1)
    return Evaluation(float(np.mean(y_pred == y_val)), y_val, y_pred, probs, confusion)


ONE_RUN = threading.Lock()     # one training at a time in this process (the server holds it per child)


def train(config: TrainConfig, on_event: OnEvent | None = None, stop: threading.Event | None = None,
          extra_callbacks: Sequence = ()) -> TrainResult:
    """Train `config.model` with the course's callbacks, calling `on_event` with every batch-progress,
    epoch and marker event (and a final "end"); all but the batch events also go to the run's
    events.jsonl, so a server that restarts can show the run. Setting `stop` ends the run after the
    current batch (Keras still validates and runs the callbacks for that partial epoch) and keeps
    its files. A failed write (a full disk) raises its OSError and leaves the files written before.
    `extra_callbacks` run just before the recorder (tests spy on the optimizer with them)."""
    validate(config)
    if not ONE_RUN.acquire(blocking=False):
        raise TrainingBusy("a training run is already in progress in this process")
    try:
        run_dir = Path(config.out_dir) if config.out_dir else runs.new_run_dir()
        run_dir.mkdir(parents=True, exist_ok=True)
        config = replace(config, out_dir=str(run_dir))
        (run_dir / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
        log = training_events.EventLog(run_dir / runs.EVENTS_FILE)

        def emit(event: Event) -> None:
            if event["kind"] != "batch":
                log.append(event)
            if on_event is not None:
                on_event(event)

        (x_fit, y_fit), (x_val, y_val) = training_data(config.train_samples, config.validation_fraction, config.seed)
        keras.utils.set_random_seed(config.seed)
        model = build_model(config)
        batches = math.ceil(len(x_fit) / config.batch_size)
        cbs = keras_callbacks(config, run_dir)
        recorder = Recorder(config, cbs, batches, emit, stop)
        emit({"kind": "begin", "epochs": config.epochs, "batches": batches, "fit_samples": len(x_fit),
              "val_samples": len(x_val), "run_dir": str(run_dir), "initial_lr": config.learning_rate,
              "pid": os.getpid()})
        start = time.perf_counter()
        try:
            model.fit(x_fit, y_fit, batch_size=config.batch_size, epochs=config.epochs,
                      validation_data=(x_val, y_val), callbacks=[*cbs.values(), *extra_callbacks, recorder], verbose=0)
        finally:
            staging_path(config, run_dir).unlink(missing_ok=True)     # half a file, if a save failed
        seconds = time.perf_counter() - start
        es = cbs.get("early_stopping")
        restored = es.best_epoch + 1 if es is not None and es.restore_best_weights and es.best_weights is not None \
            else None
        if recorder.nan_at:
            status, stopped_at = "nan", recorder.nan_at
        elif recorder.stop_at:
            status, stopped_at = stop.reason if isinstance(stop, Stop) else "user_stop", recorder.stop_at
        elif any(e["kind"] == "early_stop" for e in recorder.events):
            status, stopped_at = "early_stop", None
        else:
            status, stopped_at = "completed", None
        weights = checkpoint_path(config, run_dir)
        saves = [e for e in recorder.events if e["kind"] == "checkpoint"]
        evaluation = None
        if weights.exists() and saves and math.isfinite(saves[-1]["value"]):
            evaluation = evaluate_checkpoint(config, weights)
            save_evaluation(evaluation, run_dir)
        csv = run_dir / "log.csv"
        result = TrainResult(config, run_dir, recorder.history, recorder.events, status, seconds, restored, stopped_at,
                             weights if weights.exists() else None, csv if csv.exists() else None, evaluation, cbs)
        (run_dir / "result.json").write_text(json.dumps(
            {**result.summary(), "history": result.history, "events": result.events}, indent=2) + "\n")
        emit(result.summary())
        return result
    finally:
        ONE_RUN.release()


def save_evaluation(evaluation: Evaluation, run_dir: Path) -> Path:
    """Write `evaluation` as the run's evaluation.npz (what `load_evaluation` reads)."""
    path = run_dir / "evaluation.npz"
    np.savez_compressed(path, y_true=evaluation.y_true, y_pred=evaluation.y_pred,
                        probabilities=evaluation.probabilities, confusion=evaluation.confusion)
    return path


def load_evaluation(path: Path) -> Evaluation:
    """An `Evaluation` written by `train` (evaluation.npz in the run's folder)."""
    with np.load(path) as d:
        y_true, y_pred = d["y_true"], d["y_pred"]
        return Evaluation(float(np.mean(y_true == y_pred)), y_true, y_pred, d["probabilities"], d["confusion"])
