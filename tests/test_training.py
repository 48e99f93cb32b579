"""Live training, headless: every marker the page draws is checked against what Keras itself did
(the optimizer's rate as the batches used it, the checkpoint file on disk, EarlyStopping's own
stopped_epoch / best_epoch), and the homework's reload step against Keras's `evaluate`."""
from __future__ import annotations

import csv
import math
import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest

from explain import runs, training, training_process
from explain.architectures import BUILDERS
from explain.figures import training as figures
from explain.i18n import t


class Spy(keras.callbacks.Callback):
    """Runs after Keras's callbacks (before the recorder): the rate each batch really used, the
    `learning_rate` Keras wrote into each epoch's logs, and whether the checkpoint file changed."""

    def __init__(self, checkpoint: Path, stop_at: tuple[int, int] | None = None, stop=None):
        super().__init__()
        self.checkpoint, self.stop_at, self.stop = checkpoint, stop_at, stop
        self.batch_rates: dict[int, set[float]] = {}
        self.logged_rate: dict[int, float] = {}
        self.file_changed: list[int] = []
        self.logs: dict[int, dict] = {}
        self._stamp = None

    def _rate(self) -> float:
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_begin(self, batch, logs=None):
        self.batch_rates.setdefault(self.epoch, set()).add(self._rate())

    def on_train_batch_end(self, batch, logs=None):
        if self.stop_at == (self.epoch, batch + 1):
            self.stop.set()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_epoch_end(self, epoch, logs=None):
        self.logs[epoch + 1] = dict(logs)
        if "learning_rate" in logs:
            self.logged_rate[epoch + 1] = logs["learning_rate"]
        stamp = self.checkpoint.stat().st_mtime_ns if self.checkpoint.exists() else None
        if stamp != self._stamp:
            self.file_changed.append(epoch + 1)
        self._stamp = stamp


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The classroom preset, run once headless, with a spy."""
    config = replace(training.CLASSROOM_DEMO, out_dir=str(tmp_path_factory.mktemp("demo")))
    spy = Spy(training.checkpoint_path(config, Path(config.out_dir)))
    events = []
    start = time.perf_counter()
    result = training.train(config, on_event=events.append, extra_callbacks=[spy])
    return result, spy, events, time.perf_counter() - start


def test_classroom_demo_cuts_the_rate_and_stops_early(demo):
    """What the preset is for: at least one cut and an early stop. How long it takes is the
    benchmark's business (BENCHMARKS.md), not a test's: the suite shares its cores."""
    result, _, _, _ = demo
    kinds = [e["kind"] for e in result.events]
    assert result.status == "early_stop"
    assert kinds.count("reduce_lr") >= 1 and kinds.count("early_stop") == 1
    assert len(result.history["loss"]) < result.config.epochs


def test_every_rate_marker_matches_the_rate_the_batches_used(demo):
    result, spy, _, _ = demo
    used = result.history["learning_rate"]
    for epoch, rates in spy.batch_rates.items():
        assert rates == {used[epoch - 1]}, f"epoch {epoch}: batches used {rates}, history says {used[epoch - 1]}"
    cuts = {e["epoch"]: e for e in result.events if e["kind"] == "reduce_lr"}
    last = len(used)
    for epoch in range(1, last):
        if epoch in cuts:
            assert cuts[epoch]["old_lr"] == used[epoch - 1] and cuts[epoch]["new_lr"] == used[epoch]
            assert cuts[epoch]["new_lr"] == pytest.approx(cuts[epoch]["old_lr"] * result.config.reduce_lr_factor)
        else:
            assert used[epoch] == used[epoch - 1], f"the rate changed after epoch {epoch} without a marker"
    final = float(keras.ops.convert_to_numpy(result.keras_callbacks["reduce_lr"].model.optimizer.learning_rate))
    assert (final < used[-1]) == (last in cuts)
    if last in cuts:
        assert cuts[last]["new_lr"] == final


def cuts_from_history(logged: list[float]) -> list[int]:
    """The epochs a chart built from Keras's logged rates alone would mark as cuts."""
    return [e + 1 for e in range(1, len(logged)) if logged[e] < logged[e - 1]]


def test_history_alone_would_draw_each_cut_of_the_demo_an_epoch_late(demo):
    """Keras writes logs["learning_rate"] before ReduceLROnPlateau acts: the logged rate is the one
    the epoch used, so it first shows a cut one epoch after the callback acted (whatever path the
    demo's losses take on this machine)."""
    result, spy, _, _ = demo
    logged = [spy.logged_rate[e] for e in sorted(spy.logged_rate)]
    assert logged == pytest.approx(result.history["learning_rate"])
    markers = [e["epoch"] for e in result.events if e["kind"] == "reduce_lr"]
    assert cuts_from_history(logged) == [m + 1 for m in markers if m < len(logged)]


def test_history_alone_misses_a_cut_made_in_the_last_epoch(tmp_path):
    """A plateau by construction, whatever the losses: with min_delta = 1e9 no epoch after the first
    counts as an improvement, so patience 0 cuts the rate at the end of epochs 2 and 3."""
    config = tiny(tmp_path, early_stopping=False, reduce_lr_min_delta=1e9, reduce_lr_patience=0,
                  min_lr=0.0)
    spy = Spy(training.checkpoint_path(config, tmp_path))
    result = training.train(config, extra_callbacks=[spy])
    markers = [e["epoch"] for e in result.events if e["kind"] == "reduce_lr"]
    logged = [spy.logged_rate[e] for e in sorted(spy.logged_rate)]
    assert markers == [2, 3]
    assert cuts_from_history(logged) == [3]
    final = float(keras.ops.convert_to_numpy(result.keras_callbacks["reduce_lr"].model.optimizer.learning_rate))
    assert final == pytest.approx(config.learning_rate * config.reduce_lr_factor ** 2) and final < logged[-1]


def test_checkpoint_markers_are_the_epochs_the_file_was_written_with_new_bests(demo):
    result, spy, _, _ = demo
    saves = [e for e in result.events if e["kind"] == "checkpoint"]
    assert [e["epoch"] for e in saves] == spy.file_changed
    values = [e["value"] for e in saves]
    assert values == [spy.logs[e["epoch"]]["val_loss"] for e in saves]
    assert all(b < a for a, b in zip(values, values[1:]))
    running_best = np.minimum.accumulate(result.history["val_loss"])
    assert all(result.history["val_loss"][e["epoch"] - 1] == running_best[e["epoch"] - 1] for e in saves)


def test_early_stop_marker_and_restored_epoch_are_keras_own(demo):
    result, _, _, _ = demo
    es = result.keras_callbacks["early_stopping"]
    stop = next(e for e in result.events if e["kind"] == "early_stop")
    assert stop["epoch"] == stop["stopped_epoch"] == es.stopped_epoch + 1 == len(result.history["loss"])
    assert stop["best_epoch"] == es.best_epoch + 1 == result.restored_epoch
    assert stop["best_value"] == es.best == min(result.history["val_loss"])
    # same monitor and min_delta 0: the last checkpoint is the restored epoch
    assert [e for e in result.events if e["kind"] == "checkpoint"][-1]["epoch"] == result.restored_epoch


def test_on_event_streams_progress_epochs_markers_and_the_end(demo):
    result, _, events, _ = demo
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "batch" in kinds
    assert [e for e in events if e["kind"] in training.MARKER_KINDS] == result.events
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert [e["val_loss"] for e in epochs] == result.history["val_loss"]
    assert all(e["batches_done"] == e["batches"] for e in epochs)
    assert events[-1]["restored_epoch"] == result.restored_epoch


def test_reloaded_checkpoint_gives_the_accuracy_shown(demo):
    """The homework's last step, redone independently: a fresh model, load_weights, Keras's evaluate."""
    result, _, _, _ = demo
    c = result.config
    _, (x_val, y_val) = training.training_data(c.train_samples, c.validation_fraction, c.seed)
    model = BUILDERS[c.model]()
    model.load_weights(str(result.checkpoint))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, accuracy = model.evaluate(x_val, y_val, verbose=0)
    ev = result.evaluation
    assert ev.accuracy == pytest.approx(accuracy, abs=1e-6)
    assert ev.confusion.sum() == len(y_val) and np.trace(ev.confusion) == int(round(accuracy * len(y_val)))
    stored = training.load_evaluation(result.run_dir / "evaluation.npz")
    assert stored.accuracy == ev.accuracy and (stored.confusion == ev.confusion).all()
    wrong = ev.misclassified(10)
    assert (ev.y_true[wrong] != ev.y_pred[wrong]).all()
    confidence = ev.probabilities[wrong, ev.y_pred[wrong]]
    assert (np.diff(confidence) <= 0).all()


def test_csv_log_has_one_row_per_epoch_with_the_rate_used(demo):
    result, _, _, _ = demo
    with open(result.csv_log) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) + 1 for r in rows] == list(range(1, len(result.history["loss"]) + 1))
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx(result.history["learning_rate"])
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(result.history["val_loss"])


def test_validation_split_is_held_out_from_the_training_split_only():
    (x_fit, y_fit), (x_val, y_val) = training.training_data(1000, 0.2, 3)
    assert x_fit.shape == (800, 28, 28) and x_val.shape == (200, 28, 28) and x_fit.dtype == np.float32
    assert set(np.unique(y_val)) == set(range(10))
    fit_rows = {r.tobytes() for r in x_fit}
    assert not any(r.tobytes() in fit_rows for r in x_val)


def test_a_run_may_use_the_whole_training_split_and_no_more(monkeypatch):
    """`max_train_samples()` promises the whole training split: at that size the fit and validation
    parts together are every digit of it, each once; one digit more is refused."""
    split = training.load_mnist().train
    whole = len(split.y)
    assert whole == 55000 and training.max_train_samples() == whole
    training.validate(replace(training.TrainConfig(), train_samples=whole))
    with pytest.raises(training.ConfigError, match=f"got {whole + 1}"):
        training.validate(replace(training.TrainConfig(), train_samples=whole + 1))
    # The split itself, without 55,000 preprocessings (~30 s): each digit's row number as its "image".
    numbered = replace(training.load_mnist(), train=replace(split, x=np.arange(whole)))
    monkeypatch.setattr(training, "load_mnist", lambda: numbered)
    monkeypatch.setattr(training, "to_mnist_batch", lambda x: x.copy())
    (x_fit, y_fit), (x_val, y_val) = training.training_data.__wrapped__(whole, 0.2, 1)
    rows = np.concatenate([x_fit.ravel(), x_val.ravel()])
    assert len(x_val) == 11000 and np.array_equal(np.sort(rows), np.arange(whole))
    assert np.array_equal(np.concatenate([y_fit, y_val]), split.y[rows])


BAD = [
    ({"epochs": 0}, "epochs"), ({"epochs": -3}, "epochs"), ({"epochs": 2.5}, "epochs"),
    ({"learning_rate": math.nan}, "learning_rate"), ({"learning_rate": math.inf}, "learning_rate"),
    ({"learning_rate": 0.0}, "learning_rate"), ({"learning_rate": -0.01}, "learning_rate"),
    ({"batch_size": 900, "train_samples": 1000}, "batch_too_large"), ({"batch_size": 0}, "batch_size"),
    ({"train_samples": 50}, "train_samples"), ({"train_samples": 70000}, "train_samples"),
    ({"validation_fraction": 0.0}, "validation_fraction"), ({"validation_fraction": 0.9}, "validation_fraction"),
    ({"reduce_lr_factor": 1.0}, "factor"), ({"reduce_lr_factor": 0.0}, "factor"),
    ({"early_stopping_patience": -1}, "patience"), ({"reduce_lr_cooldown": -2}, "patience"),
    ({"early_stopping_min_delta": -0.1}, "min_delta"), ({"min_lr": 0.1}, "min_lr"),
    ({"early_stopping_monitor": "val_acc"}, "monitor"), ({"early_stopping_mode": "lowest"}, "mode"),
    ({"model": "attention"}, "model"), ({"model": "../models/cnn"}, "model"), ({"optimizer": "adamw"}, "optimizer"),
    ({"seed": -1}, "seed"),
]


@pytest.mark.parametrize("change, problem", BAD, ids=[f"{k}={v}" for (c, _) in BAD for k, v in list(c.items())[:1]])
def test_bad_settings_are_refused_before_anything_is_written(change, problem, tmp_path):
    config = replace(training.TrainConfig(), out_dir=str(tmp_path / "run"), **change)
    with pytest.raises(training.ConfigError) as info:
        training.train(config)
    assert info.value.problem == problem
    assert str(next(iter(change.values()))) in str(info.value)
    assert not (tmp_path / "run").exists()


def test_every_config_error_has_a_message_in_both_languages():
    for _, problem in BAD:
        for lang in ("en", "zh"):
            assert t(f"training.error.{problem}", lang)


def tiny(tmp_path: Path, **change) -> training.TrainConfig:
    base = dict(model="mlp", train_samples=1000, batch_size=50, epochs=3, out_dir=str(tmp_path))
    return replace(training.TrainConfig(), **{**base, **change})


def test_stop_ends_after_the_current_batch_and_keeps_the_files(tmp_path):
    import threading
    stop = threading.Event()
    config = tiny(tmp_path)
    spy = Spy(training.checkpoint_path(config, tmp_path), stop_at=(2, 3), stop=stop)
    result = training.train(config, stop=stop, extra_callbacks=[spy])
    assert result.status == "user_stop" and result.stopped_at == (2, 3)
    assert len(result.history["loss"]) == 2
    assert result.checkpoint.exists() and result.csv_log.exists() and (tmp_path / "result.json").exists()


def test_a_loss_that_turns_nan_ends_the_run_at_once_with_the_reason(tmp_path):
    result = training.train(tiny(tmp_path, optimizer="sgd", learning_rate=1e20))
    assert result.status == "nan" and result.stopped_at[0] == 1
    assert len(result.history["loss"]) == 1 and math.isnan(result.history["loss"][0])
    assert result.evaluation is None


def test_dropout_rates_are_read_from_the_homework_model():
    assert training.dropout_rates(BUILDERS["lstm"]()) == pytest.approx((0.2, 0.3))
    assert training.dropout_rates(BUILDERS["cnn"]()) == ()


def test_tests_write_runs_into_a_temporary_folder_not_the_projects_runs():
    """A run without `out_dir` goes to `runs.RUNS_DIR`, which the suite points away from the
    project's runs/ (tests/conftest.py): pruning there would delete a user's older runs."""
    project_runs = Path(__file__).resolve().parent.parent / "runs"
    before = runs.run_dirs(project_runs)
    made = runs.new_run_dir()
    assert made.parent == runs.RUNS_DIR != project_runs
    assert runs.run_dirs(project_runs) == before


def test_runs_folder_keeps_only_the_newest_runs(tmp_path):
    (tmp_path / "notes").mkdir()
    made = [runs.new_run_dir(tmp_path, keep=3) for _ in range(5)]
    left = sorted(p for p in tmp_path.iterdir() if p.name != "notes")
    assert left == made[-3:]
    assert (tmp_path / "notes").exists()


def test_one_training_per_server_and_stop_twice(tmp_path):
    """The app's path: a child process. A second Start is refused (also in-process), Stop works once."""
    trainer = training_process.Trainer()
    run = trainer.start(tiny(tmp_path, epochs=200, train_samples=3000), owner="teacher")
    try:
        with pytest.raises(training.TrainingBusy):
            trainer.start(tiny(tmp_path / "second"))
        with pytest.raises(training.TrainingBusy):
            training_process.Trainer().start(tiny(tmp_path / "third"))
        deadline = time.time() + 90
        while not run.snapshot().history["loss"] and time.time() < deadline:
            time.sleep(0.2)
        assert run.snapshot().status == "running"
        assert run.stop() is True
        assert run.stop() is False
    finally:
        run.stop()
        assert run.wait(90)
    snap = run.snapshot()
    assert snap.status == "user_stop" and not snap.active
    assert snap.end["stopped_at"][0] >= 1 and 1 <= len(snap.history["loss"]) < 200
    assert Path(snap.end["checkpoint"]).exists() and Path(snap.end["csv_log"]).exists()
    assert not (tmp_path / "second").exists()


def test_a_run_that_fails_in_its_process_reports_the_reason_and_frees_the_server(tmp_path):
    """The folder can be written (Start's check passes), but the run's config.json is a folder:
    the child's first write raises, and the page is told which error it was, not the traceback."""
    (tmp_path / "run" / "config.json").mkdir(parents=True)
    run = training_process.Trainer(root=tmp_path).start(tiny(tmp_path / "run"), owner="teacher")
    assert run.wait(120)
    snap = run.snapshot()
    assert snap.status == "failed" and not snap.active
    assert snap.failure.how == "error" and snap.failure.error_type == "IsADirectoryError"
    assert "Traceback" in snap.output and "Traceback" not in snap.failure.message
    assert training.ONE_RUN.acquire(blocking=False)
    training.ONE_RUN.release()


# ---- figures ----------------------------------------------------------------------------------------

HISTORY = {"loss": [1.0, 0.6, 0.5, 0.55, 0.56], "val_loss": [0.8, 0.5, 0.52, 0.53, 0.54],
           "accuracy": [0.6, 0.8, 0.85, 0.86, 0.87], "val_accuracy": [0.7, 0.85, 0.84, 0.84, 0.84],
           "learning_rate": [0.01, 0.01, 0.01, 0.005, 0.0025]}
EVENTS = [{"kind": "checkpoint", "epoch": 1, "monitor": "val_loss", "value": 0.8, "previous": None},
          {"kind": "checkpoint", "epoch": 2, "monitor": "val_loss", "value": 0.5, "previous": 0.8},
          {"kind": "reduce_lr", "epoch": 3, "old_lr": 0.009999999776482582, "new_lr": 0.004999999888241291},
          {"kind": "reduce_lr", "epoch": 4, "old_lr": 0.004999999888241291, "new_lr": 0.0024999999441206455},
          {"kind": "reduce_lr", "epoch": 5, "old_lr": 0.0024999999441206455, "new_lr": 0.0012499999720603228},
          {"kind": "early_stop", "epoch": 5, "best_epoch": 2}]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_curves_put_every_marker_at_its_epoch(lang):
    fig = figures.curves(HISTORY, EVENTS, lang, epochs=30, lr_bounds=(1e-4, 1e-2), restored_epoch=2)
    by_name = {tr.name: tr for tr in fig.data}
    from explain.i18n import t
    cuts = by_name[t("training.fig.marker_lr", lang)]
    assert list(cuts.x) == [3, 4, 5] and list(cuts.y) == [e["new_lr"] for e in EVENTS[2:5]]
    labels = [a.text for a in fig.layout.annotations if "→" in a.text]
    assert labels == ["0.01→0.005", "0.005→0.0025", "0.0025→0.00125"]
    saves = next(tr for tr in fig.data if tr.marker.symbol == "star")
    assert list(saves.x) == [1, 2] and list(saves.y) == [0.8, 0.5]
    ring = next(tr for tr in fig.data if tr.marker.symbol == "circle-open")
    assert list(ring.x) == [2] and list(ring.y) == [0.5]
    assert sorted(s.x0 for s in fig.layout.shapes) == [2, 5]
    assert fig.layout.yaxis3.type == "log" and tuple(fig.layout.xaxis.range) == (0.5, 30.5)
    assert list(by_name[t("training.fig.lr_used", lang)].y) == HISTORY["learning_rate"]


def test_lr_text_rounds_float32_noise_away():
    assert [figures.lr_text(e["new_lr"]) for e in EVENTS[2:5]] == ["0.005", "0.0025", "0.00125"]
    assert figures.lr_text(0.0006249999860301614) == "0.000625" and figures.lr_text(9.999999747378752e-05) == "0.0001"


def test_confusion_and_mistake_figures_hold_the_real_numbers():
    matrix = np.arange(100).reshape(10, 10)
    fig = figures.confusion(matrix, "en")
    assert (np.array(fig.data[0].z) == matrix).all()
    images = np.random.default_rng(0).random((7, 28, 28)).astype(np.float32)
    fig = figures.mistakes(images, np.arange(7), np.arange(7)[::-1], np.full(7, 0.5), "zh", columns=3)
    z = np.array(fig.data[0].z, dtype=float)
    assert np.allclose(z[:28, :28], images[0]) and np.allclose(z[37:65, 37:65], images[4])
    assert len(fig.layout.annotations) == 7 and fig.layout.annotations[1].text == "1→5 50%"


def test_locales_have_the_same_keys_and_fields():
    import re
    from explain.locales.en.training import STRINGS as EN
    from explain.locales.zh.training import STRINGS as ZH
    assert EN.keys() == ZH.keys()
    for key in EN:
        assert set(re.findall(r"\{(\w+)", EN[key])) == set(re.findall(r"\{(\w+)", ZH[key])), key


def test_cnn_and_cnn_bn_with_the_same_settings_are_drawn_beside_each_other(tmp_path):
    """Train both (a tiny run each, in this process); the cnn run finds the cnn_bn run as its
    comparison, and the curves hold that run's own recorded validation numbers, dashed."""
    cnn = training.train(tiny(tmp_path / "20260101-000000-000001", model="cnn", train_samples=500, epochs=2))
    bn = training.train(tiny(tmp_path / "20260101-000000-000002", model="cnn_bn", train_samples=500, epochs=2))
    other = training_process.comparable_run(cnn.config, root=tmp_path)
    assert other is not None and other.config.model == "cnn_bn"
    assert other.snapshot().history["val_loss"] == bn.history["val_loss"]
    assert training_process.comparable_run(replace(cnn.config, learning_rate=0.01), root=tmp_path) is None
    from explain.i18n import t
    fig = figures.curves(cnn.history, cnn.events, "zh", reference=("cnn_bn", other.snapshot().history))
    name = t("training.fig.reference", "zh", model="cnn_bn", curve=t("training.fig.val_loss", "zh"))
    dashed = next(tr for tr in fig.data if tr.name == name)
    assert list(dashed.y) == bn.history["val_loss"] and dashed.line.dash == "dash"
    assert bn.history["val_loss"] != cnn.history["val_loss"]


def test_the_last_ended_run_is_the_newest_with_the_same_settings_that_ended_by_itself(tmp_path):
    config = replace(tiny(None), train_samples=300, epochs=2)
    ended = training.train(replace(config, out_dir=str(runs.new_run_dir(tmp_path))))
    training.train(replace(config, model="cnn", out_dir=str(runs.new_run_dir(tmp_path))))     # another model
    stop = training.Stop()
    stop.request()
    training.train(replace(config, out_dir=str(runs.new_run_dir(tmp_path))), stop=stop)        # stopped by hand
    last = training_process.last_ended_run(config, tmp_path)
    assert last is not None and last.run_dir == str(ended.run_dir)
    assert (last.end["epochs_run"], last.end["seconds"]) == (2, round(ended.seconds, 2))
    assert training_process.last_ended_run(replace(config, epochs=3), tmp_path) is None


def test_the_preset_help_says_the_demo_settings_and_its_last_run_here(monkeypatch):
    """The preset's tooltip reads the demo's settings from `training.CLASSROOM_DEMO` (here a smaller
    demo, and a narrower MLP) and quotes the epochs and seconds its last run on this server took (a real run)."""
    demo = replace(training.CLASSROOM_DEMO, model="mlp", train_samples=400, batch_size=16, epochs=2,
                   learning_rate=0.003, reduce_lr_patience=4, early_stopping_patience=5)
    monkeypatch.setattr(training, "CLASSROOM_DEMO", demo)
    narrow = lambda: keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),   # noqa: E731
                                       keras.layers.Dense(48, activation="relu"),
                                       keras.layers.Dense(10, activation="softmax")])
    monkeypatch.setitem(training.BUILDERS, "mlp", narrow)        # the MLP's width is read from its architecture
    training.hidden_units.cache_clear()
    try:
        preset_help_with_a_narrow_mlp(monkeypatch, demo)
    finally:
        # The next test sees the shipped architecture again, in the app's models too: the app frame may
        # have loaded them during the patch (models are built from the same BUILDERS), and then its cache
        # holds the MLP as a file that does not fit its architecture.
        from pages.shared import shipped_model
        training.hidden_units.cache_clear()
        shipped_model.clear()


def preset_help_with_a_narrow_mlp(monkeypatch, demo: training.TrainConfig) -> None:
    from tests.apptest import app_on_page
    at = app_on_page(monkeypatch, "pages/training.py", lang="en")
    preset = next(b for b in at.button if b.label == t("training.preset", "en"))
    assert preset.help.startswith("MLP (48 units) on 400 digits, batch 16, Adam at 0.003, at most 2 epochs;")
    assert "patience 4 and factor 0.5, EarlyStopping with patience 5." in preset.help
    assert "last run" not in preset.help and "15-30" not in preset.help
    result = training.train(replace(demo, out_dir=str(runs.new_run_dir())))
    at = app_on_page(monkeypatch, "pages/training.py", lang="zh")
    preset = next(b for b in at.button if b.label == t("training.preset", "zh"))
    assert preset.help.startswith("多层感知机（48 个单元），400 个数字，批大小 16，Adam 学习率 0.003，最多 2 轮；")
    assert preset.help.endswith(f"上一次运行在第 {len(result.history['loss'])} 轮（共 2 轮）后结束，"
                                f"用时 {result.summary()['seconds']:.0f} 秒。")


def test_the_mlps_width_in_the_model_list_is_the_architectures():
    assert training.hidden_units("mlp") == BUILDERS["mlp"]().get_layer("dense").units == 128
