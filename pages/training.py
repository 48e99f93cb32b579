"""Live training: the course's LSTM homework run on the server while the class watches the curves,
with a marker at each epoch where ReduceLROnPlateau, ModelCheckpoint or EarlyStopping acted; then
the homework's last step (reload the checkpoint, predict the validation set) for real."""
from __future__ import annotations

import pages  # noqa: F401  first: its import leaves Streamlit's legacy pages mode before the slow imports

import math
import uuid
from dataclasses import fields
from pathlib import Path

import keras
import numpy as np
import streamlit as st

from explain import runs, training, training_process, training_report
from explain.figures import training as figures
from pages.shared import lang, projector, shipped_model, show_chart, t

DEFAULTS = training.TrainConfig()
KEYS = [f.name for f in fields(training.TrainConfig) if f.name != "out_dir"]


@st.cache_resource(show_spinner=False)
def trainer() -> training_process.Trainer:
    """The server's one trainer: a run started from any session is the run every session sees
    (after a restart, at first, the newest run in the runs folder)."""
    return training_process.Trainer()


@st.cache_resource(show_spinner=False, max_entries=16)
def curves_figure(run_key: str, epochs_done: int, markers: int, status: str, language: str, big: bool,
                  reference_dir: str | None, _snap: training_process.Snapshot,
                  _reference: training_process.Snapshot | None):
    """The curves, built once per new epoch or marker for all sessions (the view redraws every second),
    with those of `_reference` (another model, same settings) beside them."""
    end = _snap.end or {}
    stopped = None
    if end.get("status") in ("user_stop", "nan") and end.get("stopped_at"):
        stopped = ("user" if end["status"] == "user_stop" else "nan", end["stopped_at"][0])
    c = _snap.config
    return figures.curves(_snap.history, _snap.events, language, big, epochs=c.epochs,
                          lr_bounds=(max(c.min_lr, c.learning_rate / 1000) if c.reduce_lr else c.learning_rate,
                                     c.learning_rate),
                          restored_epoch=None if status == "nan" else end.get("restored_epoch"), stopped=stopped,
                          reference=None if _reference is None else
                          (model_label(_reference.config.model), _reference.history))


@st.cache_resource(show_spinner=False, ttl=10, max_entries=8)
def reference_run(config_json: str) -> training_process.Snapshot | None:
    """The newest finished run of another model with these settings (looked up at most every 10 s)."""
    other = training_process.comparable_run(training.TrainConfig.from_json(config_json))
    return None if other is None else other.snapshot()


def best_epoch(snap: training_process.Snapshot) -> int:
    """1-based epoch of the lowest validation loss."""
    return int(np.nanargmin(snap.history["val_loss"])) + 1


def compare_caption_ui(snap: training_process.Snapshot, other: training_process.Snapshot) -> None:
    """The two runs' best validation numbers in words, under the curves."""
    if not snap.epochs_done or np.all(np.isnan(snap.history["val_loss"])):
        return
    b, ob = best_epoch(snap), best_epoch(other)
    st.caption(t("training.compare_caption", model=model_label(other.config.model),
                 folder=training_report.shown_path(other.run_dir or ""), other_best=ob,
                 other_loss=fmt(other.history["val_loss"][ob - 1]),
                 other_acc=f"{other.history['val_accuracy'][ob - 1]:.2%}",
                 best=b, loss=fmt(snap.history["val_loss"][b - 1]), acc=f"{snap.history['val_accuracy'][b - 1]:.2%}"))


def train_partner(config: training.TrainConfig) -> None:
    """Button callback: the same settings with the partner model, started by this rerun."""
    for key in KEYS:
        st.session_state[f"train.{key}"] = getattr(config, key)
    st.session_state["train.model"] = training.PARTNERS[config.model]
    st.session_state["train.start_now"] = True


@st.cache_data(show_spinner=False, max_entries=4)
def evaluation(path: str) -> training.Evaluation:
    return training.load_evaluation(Path(path))


def fmt(value: float) -> str:
    return f"{value:.4f}" if value is not None and math.isfinite(value) else "NaN"


# ---- settings ---------------------------------------------------------------------------------------

def init_settings() -> None:
    """Defaults on first visit. Re-assigning each value keeps it when its widget is not drawn (in
    projector mode, or on another page): Streamlit forgets the state of widgets it did not render."""
    for key in KEYS:
        name = f"train.{key}"
        st.session_state[name] = st.session_state.get(name, getattr(DEFAULTS, key))
    st.session_state.setdefault("train.owner", uuid.uuid4().hex)


def apply_preset() -> None:
    for key in KEYS:
        st.session_state[f"train.{key}"] = getattr(training.CLASSROOM_DEMO, key)
    st.session_state["train.preset_note"] = True


def model_label(model: str) -> str:
    """A training choice's name, e.g. "MLP (128 units)", its width read from the architecture."""
    return t(f"training.model.{model}", units=training.hidden_units("mlp"))


def preset_help() -> str:
    """The classroom demo's settings, read from `training.CLASSROOM_DEMO`, and, if one ended on this
    server, how many epochs and seconds its last run took."""
    demo = training.CLASSROOM_DEMO
    text = t("training.preset_help", model=model_label(demo.model), samples=demo.train_samples,
             batch=demo.batch_size, optimizer=t(f"training.optimizer.{demo.optimizer}"), lr=demo.learning_rate,
             rlr_patience=demo.reduce_lr_patience, factor=demo.reduce_lr_factor,
             es_patience=demo.early_stopping_patience, epochs=demo.epochs)
    last = training_process.last_ended_run(demo, trainer().root)
    if last is not None:
        text += t("training.preset_last", epochs_run=last.end["epochs_run"], epochs=demo.epochs,
                  seconds=last.end["seconds"])
    return text


def config_from_settings() -> training.TrainConfig:
    return training.TrainConfig(**{key: st.session_state[f"train.{key}"] for key in KEYS})


def monitor_select(label: str, key: str, help_key: str, disabled: bool) -> None:
    st.selectbox(t(label), training.MONITORS, key=f"train.{key}", format_func=lambda m: t(f"training.metric.{m}"),
                 help=t(help_key), disabled=disabled)


def settings_ui(disabled: bool) -> None:
    """Model, data and optimiser in two rows; the callbacks with the course's parameters in an expander."""
    c = st.columns(4)
    c[0].selectbox(t("training.model"), training.MODEL_CHOICES, key="train.model",
                   format_func=model_label, disabled=disabled)
    c[1].selectbox(t("training.optimizer"), training.OPTIMIZERS, key="train.optimizer",
                   format_func=lambda o: t(f"training.optimizer.{o}"), disabled=disabled)
    c[2].number_input(t("training.epochs"), step=1, key="train.epochs", help=t("training.epochs_help"),
                      disabled=disabled)
    c[3].number_input(t("training.batch_size"), step=16, key="train.batch_size", help=t("training.batch_size_help"),
                      disabled=disabled)
    c = st.columns(4)
    c[0].number_input(t("training.learning_rate"), step=0.001, format="%g", key="train.learning_rate",
                      help=t("training.learning_rate_help"), disabled=disabled)
    c[1].number_input(t("training.train_samples"), step=500, key="train.train_samples",
                      help=t("training.train_samples_help", high=training.max_train_samples()), disabled=disabled)
    c[2].number_input(t("training.validation_fraction"), step=0.05, format="%.2f", key="train.validation_fraction",
                      help=t("training.validation_fraction_help"), disabled=disabled)
    c[3].number_input(t("training.seed"), step=1, key="train.seed", help=t("training.seed_help"), disabled=disabled)
    with st.expander(t("training.advanced")):
        es, lr, ck = st.columns(3)
        with es:
            st.markdown(f"**{t('training.es.title')}**")
            st.toggle(t("training.enabled"), key="train.early_stopping", disabled=disabled)
            monitor_select("training.monitor", "early_stopping_monitor", "training.es.monitor_help", disabled)
            st.number_input(t("training.patience"), step=1, key="train.early_stopping_patience",
                            help=t("training.es.patience_help"), disabled=disabled)
            st.number_input(t("training.min_delta"), step=0.001, format="%g", key="train.early_stopping_min_delta",
                            help=t("training.es.min_delta_help"), disabled=disabled)
            st.selectbox(t("training.mode"), training.MODES, key="train.early_stopping_mode",
                         format_func=lambda m: t(f"training.mode.{m}"), help=t("training.es.mode_help"),
                         disabled=disabled)
            st.toggle(t("training.restore_best_weights"), key="train.restore_best_weights",
                      help=t("training.es.restore_help"), disabled=disabled)
        with lr:
            st.markdown(f"**{t('training.rlr.title')}**")
            st.toggle(t("training.enabled"), key="train.reduce_lr", disabled=disabled)
            monitor_select("training.monitor", "reduce_lr_monitor", "training.rlr.monitor_help", disabled)
            st.number_input(t("training.factor"), step=0.1, format="%g", key="train.reduce_lr_factor",
                            help=t("training.rlr.factor_help"), disabled=disabled)
            st.number_input(t("training.patience"), step=1, key="train.reduce_lr_patience",
                            help=t("training.rlr.patience_help"), disabled=disabled)
            st.number_input(t("training.cooldown"), step=1, key="train.reduce_lr_cooldown",
                            help=t("training.rlr.cooldown_help"), disabled=disabled)
            st.number_input(t("training.min_lr"), step=0.0001, format="%g", key="train.min_lr",
                            help=t("training.rlr.min_lr_help"), disabled=disabled)
        with ck:
            st.markdown(f"**{t('training.ckpt.title')}**")
            monitor_select("training.monitor", "checkpoint_monitor", "training.ckpt.monitor_help", disabled)
            st.toggle(t("training.save_best_only"), key="train.checkpoint_save_best_only",
                      help=t("training.ckpt.best_only_help"), disabled=disabled)
            st.toggle(t("training.weights_only"), key="train.checkpoint_weights_only",
                      help=t("training.ckpt.weights_only_help"), disabled=disabled)
            st.markdown(f"**{t('training.csv.title')}**")
            st.toggle(t("training.enabled"), key="train.csv_log", help=t("training.csv.help"), disabled=disabled)


# ---- start / stop -----------------------------------------------------------------------------------

def controls_ui(run: training_process.LiveRun | training_process.FolderRun | None) -> None:
    """Preset, Start and Stop. Start is refused (with the reason) while any session's run is active,
    or when the runs folder cannot take a run; Stop belongs to the session that started the run and
    ends it after the current batch, but anyone may end a run that stopped answering."""
    active = run is not None and run.active
    mine = run is not None and (run.owner == st.session_state["train.owner"] or run.snapshot().hung)
    c = st.columns([3, 1.4, 1.4, 2])
    c[0].button(t("training.preset"), on_click=apply_preset, disabled=active, help=preset_help(),
                width="stretch")
    start = c[1].button(t("training.start"), type="primary", disabled=active, width="stretch")
    start = st.session_state.pop("train.start_now", False) and not active or start
    stop = c[2].button(t("training.stop"), disabled=not (active and mine), width="stretch",
                       help=None if mine or not active else t("training.stop_not_yours"))
    if st.session_state.pop("train.preset_note", False):
        c[3].caption(t("training.preset_loaded"))
    if start:
        try:
            trainer().start(config_from_settings(), owner=st.session_state["train.owner"])
            st.rerun()          # redraw the controls (Start off, Stop on) and start the live view
        except training.ConfigError as exc:
            values = dict(exc.values)
            if "name" in values:
                values["name"] = t(f"training.field.{values['name']}")
            st.error(t(f"training.error.{exc.problem}", **values))
        except runs.FolderError as exc:
            st.error(training_report.folder_message(exc, lang()))
        except training.TrainingBusy:
            st.warning(t("training.busy"))
    if stop and run is not None:
        st.info(t("training.stopping") if run.stop() else t("training.already_stopping"))


# ---- the live view ----------------------------------------------------------------------------------

def describe(event: dict) -> str:
    """One marker in words, with the numbers the callback used."""
    kind = event["kind"]
    if kind == "reduce_lr":
        return t("training.log.reduce_lr", epoch=event["epoch"], monitor=t(f"training.metric.{event['monitor']}"),
                 value=fmt(event["value"]), patience=event["patience"], old=figures.lr_text(event["old_lr"]),
                 new=figures.lr_text(event["new_lr"]), factor=f"{event['factor']:g}")
    if kind == "checkpoint":
        key = ("training.log.checkpoint_every" if not event["save_best_only"] else
               "training.log.checkpoint" if event["previous"] is not None else "training.log.checkpoint_first")
        return t(key, epoch=event["epoch"], monitor=t(f"training.metric.{event['monitor']}"),
                 value=fmt(event["value"]), previous=fmt(event["previous"]) if event["previous"] is not None else "")
    return t("training.log.early_stop", epoch=event["epoch"], monitor=t(f"training.metric.{event['monitor']}"),
             patience=event["patience"], min_delta=f"{event['min_delta']:g}", best=event["best_epoch"],
             value=fmt(event["best_value"]))


def status_ui(snap: training_process.Snapshot) -> None:
    """Progress by epoch and batch while running; afterwards, why the run ended."""
    end = snap.end or {}
    if snap.active:
        if snap.hung:
            st.warning(training_report.hung_message(snap, lang(), training_process.KILL_GRACE))
        total = max(snap.config.epochs * max(snap.batches, 1), 1)
        done = max(snap.epoch - 1, 0) * snap.batches + snap.batch if snap.batches else 0
        text = t("training.progress.starting") if snap.status == "starting" else t(
            "training.progress", epoch=snap.epoch, epochs=snap.config.epochs, batch=snap.batch, batches=snap.batches,
            seconds=f"{snap.elapsed:.0f}")
        if snap.status == "stopping":
            text += " · " + t("training.progress.stopping")
        st.progress(min(done / total, 1.0), text=text)
        return
    status, seconds = snap.status, f"{snap.elapsed:.0f}"
    if status == "early_stop":
        stop = next(e for e in snap.events if e["kind"] == "early_stop")
        restored = t("training.done.restored", best=end["restored_epoch"]) if end.get("restored_epoch") else ""
        st.success(t("training.done.early_stop", epoch=stop["epoch"], patience=stop["patience"],
                     monitor=t(f"training.metric.{stop['monitor']}"), best=stop["best_epoch"], seconds=seconds)
                   + " " + restored)
    elif status == "completed":
        st.info(t("training.done.completed", epochs=end.get("epochs_run", 0), seconds=seconds))
    elif status == "user_stop":
        epoch, batch = end["stopped_at"]
        st.info(t("training.done.user_stop", epoch=epoch, batch=batch, batches=snap.batches,
                  folder=training_report.shown_path(end["run_dir"])))
    elif status == "nan":
        epoch, batch = end["stopped_at"]
        st.error(t("training.done.nan", epoch=epoch, batch=batch, lr=f"{snap.config.learning_rate:g}",
                   optimizer=t(f"training.optimizer.{snap.config.optimizer}")))
    elif status == "interrupted":
        st.warning(training_report.interrupted_message(snap, lang()))
    else:
        st.error(training_report.failure_message(snap, lang()))
        if snap.output:
            with st.expander(t("training.failed.details"), expanded=False):
                st.code(snap.output, language=None)


def live_ui(run: training_process.LiveRun | training_process.FolderRun | None) -> None:
    """Progress, curves and the callback log, redrawn every second while a run (or its homework
    step) is active. When that ends, or the run stops answering, the whole page reruns once, which
    shows the results (or enables Stop for everyone) and stops the timer."""
    first = run.snapshot() if run is not None else None
    watching = first is not None and (first.active or first.evaluating)

    @st.fragment(run_every=1.0 if watching else None)
    def live() -> None:
        current = trainer().run
        if current is None:
            st.info(t("training.no_run"))
            return
        snap = current.snapshot()
        if watching and (current is not run or not (snap.active or snap.evaluating) or snap.hung != first.hung):
            st.rerun()
        status_ui(snap)
        other = reference_run(snap.config.to_json())
        fig = curves_figure(f"{id(current)}-{snap.run_dir}", len(snap.history["loss"]), len(snap.events),
                            snap.status, lang(), projector(), other and other.run_dir, snap, other)
        show_chart(fig, "training-curves", key="train.curves")
        if other is not None:
            compare_caption_ui(snap, other)
        if snap.events:
            shown = snap.events[-6:] if projector() else snap.events
            st.markdown("\n".join(f"- {describe(e)}" for e in shown))

    live()


# ---- afterwards: the homework's last step -----------------------------------------------------------

def results_ui(snap: training_process.Snapshot) -> None:
    """Fresh model + load_weights(checkpoint) + predict on the validation set (done by the run, or
    on request for a run that ended before it), shown as accuracy, confusion matrix and the most
    confident mistakes; the run's files to download."""
    kept = snap.kept()
    partner = training.PARTNERS.get(snap.config.model)
    if partner:
        st.button(t("training.compare", model=model_label(partner)), on_click=train_partner,
                  args=(snap.config,), help=t("training.compare_help"))
    st.subheader(t("training.results"))
    if snap.evaluating:
        st.info(t("training.evaluating"))
    elif kept.evaluation is None and kept.checkpoint is not None and math.isfinite(kept.save["value"]):
        if st.button(t("training.evaluate"), help=t("training.evaluate_help")):
            try:
                trainer().evaluate()
                st.rerun()      # the live view follows the homework step and shows its results
            except training.TrainingBusy:
                st.warning(t("training.busy"))
    elif kept.evaluation is None:
        st.info(t("training.no_evaluation"))
    else:
        ev = evaluation(str(kept.evaluation))
        c = st.columns(3)
        c[0].metric(t("training.val_accuracy_reloaded"), f"{ev.accuracy:.2%}")
        c[1].metric(t("training.val_digits"), f"{len(ev.y_true)}")
        c[2].metric(t("training.wrong"), f"{int((ev.y_true != ev.y_pred).sum())}")
        st.caption(t("training.results_caption", model=model_label(snap.config.model),
                     file=kept.checkpoint.name if kept.checkpoint else ""))
        left, right = (st.container(), st.container()) if projector() else st.columns([2, 3])
        with left:
            show_chart(figures.confusion(ev.confusion, lang(), projector()), "confusion-matrix", key="train.confusion")
        with right:
            wrong = ev.misclassified(8 if projector() else 18)
            _, (x_val, _) = training.training_data(snap.config.train_samples, snap.config.validation_fraction,
                                                   snap.config.seed)
            st.markdown(f"**{t('training.mistakes')}**")
            if len(wrong):
                conf = ev.probabilities[wrong, ev.y_pred[wrong]]
                show_chart(figures.mistakes(x_val[wrong], ev.y_true[wrong], ev.y_pred[wrong], conf, lang(),
                                            projector(), columns=4 if projector() else 6),
                           "misclassified", key="train.mistakes")
            else:
                st.caption(t("training.no_mistakes"))
    c = st.columns(3)
    files = ((c[0], kept.csv_log, "training.download_csv", "text/csv"),
             (c[1], kept.checkpoint, "training.download_weights", "application/octet-stream"))
    for col, path, label, mime in files:
        if path is not None and path.exists():
            col.download_button(t(label), path.read_bytes(), file_name=path.name, mime=mime,
                                on_click="ignore", width="stretch")
    c[2].caption(t("training.folder", folder=training_report.shown_path(snap.run_dir or "")))


# ---- concepts ---------------------------------------------------------------------------------------

def concepts_ui(config: training.TrainConfig, snap: training_process.Snapshot | None) -> None:
    """Short notes written around the numbers of the run on screen (or of the settings, before one)."""
    c = snap.config if snap is not None else config
    val, fit = c.validation_samples, c.fit_samples
    with st.expander(t("training.concept.callbacks")):
        st.markdown(t("training.concept.callbacks_body", es_monitor=t(f"training.metric.{c.early_stopping_monitor}"),
                      patience=c.early_stopping_patience, min_delta=f"{c.early_stopping_min_delta:g}",
                      rlr_monitor=t(f"training.metric.{c.reduce_lr_monitor}"), rlr_patience=c.reduce_lr_patience,
                      factor=f"{c.reduce_lr_factor:g}", cooldown=c.reduce_lr_cooldown, min_lr=f"{c.min_lr:g}",
                      lr=f"{c.learning_rate:g}", halved=f"{c.learning_rate * c.reduce_lr_factor:g}",
                      ck_monitor=t(f"training.metric.{c.checkpoint_monitor}")))
        if snap is not None and not snap.active and snap.end and snap.end.get("restored_epoch"):
            st.markdown(t("training.concept.this_run", best=snap.end["restored_epoch"],
                          epochs=snap.end.get("epochs_run", 0),
                          cuts=sum(e["kind"] == "reduce_lr" for e in snap.events),
                          saves=sum(e["kind"] == "checkpoint" for e in snap.events)))
    with st.expander(t("training.concept.dropout")):
        shipped = shipped_model(c.model)       # the same architecture, already loaded: no model to build
        rates = () if isinstance(shipped, Exception) else training.dropout_rates(shipped)
        if rates:
            st.markdown(t("training.concept.dropout_body", model=model_label(c.model),
                          rates=", ".join(f"{r:g}" for r in rates), rate=f"{rates[-1]:g}",
                          scale=f"{1 / (1 - rates[-1]):.2f}"))
        else:
            st.markdown(t("training.concept.no_dropout", model=model_label(c.model)))
    if c.model in training.PARTNERS:
        with st.expander(t("training.concept.batchnorm")):
            bn_model = shipped_model("cnn_bn")
            layers = [] if isinstance(bn_model, Exception) else \
                [layer.name for layer in bn_model.layers if isinstance(layer, keras.layers.BatchNormalization)]
            st.markdown(t("training.concept.batchnorm_body", layers=", ".join(layers)))
    with st.expander(t("training.concept.validation")):
        st.markdown(t("training.concept.validation_body", val=val, fit=fit, samples=c.train_samples))
        if snap is not None and len(snap.history["loss"]) >= 2:
            h = snap.history
            best = int(np.nanargmin(h["val_loss"]))
            st.markdown(t("training.concept.validation_run", first=fmt(h["loss"][0]), last=fmt(h["loss"][-1]),
                          best_val=fmt(h["val_loss"][best]), best_epoch=best + 1, last_val=fmt(h["val_loss"][-1]),
                          epochs=len(h["loss"])))


# ---- the page -----------------------------------------------------------------------------------------

init_settings()
st.title(t("training.title"))
st.caption(t("training.intro"))
run = trainer().run
active = run is not None and run.active
if not projector():
    settings_ui(disabled=active)
controls_ui(run)
run = trainer().run            # Start may have begun a new run in this very rerun
live_ui(run)
snap = run.snapshot() if run is not None else None
if snap is not None and not snap.active and snap.run_dir:
    results_ui(snap)
concepts_ui(config_from_settings(), snap)
