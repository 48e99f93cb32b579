"""Faults in a lecture, caused for real: the training child killed by its pid, a child that stops
answering (SIGSTOP), a runs folder that cannot be written, a disk that is full before Start or fills
during a run (a small tmpfs), a server that goes away under its child. Each asserts what the page
says, in both languages, and what was kept; the checkpoint kept is checked with Keras's own
load_weights + evaluate."""
from __future__ import annotations

import csv
import errno
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from explain import runs, training, training_process, training_report
from explain.architectures import BUILDERS
from explain.i18n import t

LANGS = ("en", "zh")
ROOT = Path(__file__).resolve().parent.parent


def tiny(out_dir: Path | None, **change) -> training.TrainConfig:
    """An MLP on 3,000 digits: an epoch takes a second or two, a run as long as the test needs."""
    base = dict(model="mlp", train_samples=3000, batch_size=50, epochs=200, early_stopping=False,
                out_dir=str(out_dir) if out_dir else None)
    return replace(training.TrainConfig(), **{**base, **change})


def until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)


def saved(run) -> bool:
    snap = run.snapshot()
    return any(e["kind"] == "checkpoint" for e in snap.events) and snap.epochs_done >= 2


def lock_is_free() -> bool:
    if training.ONE_RUN.acquire(blocking=False):
        training.ONE_RUN.release()
        return True
    return False


def keras_val_loss(config: training.TrainConfig, weights: Path) -> tuple[float, float]:
    """The homework's reload, done here: a fresh model, load_weights, Keras's own evaluate."""
    _, (x_val, y_val) = training.training_data(config.train_samples, config.validation_fraction, config.seed)
    model = BUILDERS[config.model]()
    model.load_weights(str(weights))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x_val, y_val, verbose=0)
    return loss, accuracy


def test_a_killed_training_process_says_how_after_which_epoch_and_what_was_kept(tmp_path):
    """SIGKILL, as the out-of-memory killer sends it: the message names the signal and what it
    usually means, the epoch reached and the files; the checkpoint is the best so far and the
    homework step still runs on it; the one-run lock is free."""
    trainer = training_process.Trainer(root=tmp_path)
    run = trainer.start(tiny(tmp_path / "run"), owner="teacher")
    until(lambda: saved(run), 120, "two epochs and a checkpoint")
    os.kill(run.pid, signal.SIGKILL)
    assert run.wait(60)
    snap = run.snapshot()
    assert snap.status == "failed" and not snap.active
    assert snap.failure.how == "signal" and snap.failure.signal == signal.SIGKILL and snap.failure.hint == "memory"
    assert lock_is_free()

    kept = snap.kept()
    assert kept.checkpoint == tmp_path / "run" / "best.weights.h5" and kept.csv_log == tmp_path / "run" / "log.csv"
    loss, _ = keras_val_loss(snap.config, kept.checkpoint)
    assert loss == pytest.approx(kept.save["value"], abs=1e-5)
    assert kept.save["value"] == min(snap.history["val_loss"][:kept.save["epoch"]])
    with open(kept.csv_log) as f:
        assert len(list(csv.DictReader(f))) >= snap.epochs_done

    for lang in LANGS:
        message = training_report.failure_message(snap, lang)
        assert message.startswith(t("training.failed.title", lang))
        assert "9 (SIGKILL)" in message or "9（SIGKILL）" in message
        assert t("training.failed.hint.memory", lang) in message
        assert t("training.failed.after", lang, epochs=snap.epochs_done, total=200) in message
        assert "log.csv" in message and "best.weights.h5" in message and t("training.kept.homework", lang) in message
        assert "oneDNN" not in message and "Traceback" not in message
    assert "内存" in training_report.failure_message(snap, "zh")

    trainer.evaluate()                   # the homework step, on the checkpoint the dead run left
    until(lambda: snap.kept().evaluation is not None and not run.snapshot().evaluating, 120, "the homework step")
    assert lock_is_free()
    evaluation = training.load_evaluation(snap.kept().evaluation)
    assert evaluation.accuracy == pytest.approx(keras_val_loss(snap.config, kept.checkpoint)[1], abs=1e-6)


def test_a_process_that_stops_answering_is_reported_and_stop_ends_it_for_sure(tmp_path):
    """SIGSTOP: the process lives but says nothing. The page says so; Stop terminates it, and kills
    it when it has not ended after the grace period; the lock is free again."""
    trainer = training_process.Trainer(root=tmp_path, hang_seconds=3)
    run = trainer.start(tiny(tmp_path / "run"), owner="teacher")
    until(lambda: run.snapshot().epochs_done >= 1, 120, "the first epoch")
    os.kill(run.pid, signal.SIGSTOP)
    until(lambda: run.snapshot().hung, 30, "the run to count as hung")
    snap = run.snapshot()
    assert snap.status == "running" and snap.silent > 3
    for lang in LANGS:
        assert t("training.hung", lang, seconds=f"{snap.silent:.0f}", grace="5") == \
            training_report.hung_message(snap, lang, 5)
    assert run.stop() is True
    assert run.wait(training_process.KILL_GRACE + 30)
    snap = run.snapshot()
    assert snap.status == "failed" and snap.failure.how == "hung"
    assert snap.failure.signal in (signal.SIGTERM, signal.SIGKILL) and snap.failure.silent > 3
    assert run._child.proc.poll() is not None
    assert lock_is_free()
    for lang in LANGS:
        message = training_report.failure_message(snap, lang)
        assert training_report.how_it_ended(snap.failure, snap, lang) in message
        assert snap.kept().csv_log is not None and "log.csv" in message


@pytest.fixture
def mount_tmpfs(tmp_path):
    """mount_tmpfs(name, options) -> a folder that is a tmpfs of its own (root only), unmounted after."""
    mounted = []

    def mount(name: str, options: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a small file system for a real full or read-only disk needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def read_only_folder(tmp_path, mount_tmpfs):
    """A runs folder nobody can write: chmod 555 for a normal user; for root (who ignores modes) a
    file system mounted read-only."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
    else:
        yield mount_tmpfs("read-only", "ro,size=1m")


def test_start_refuses_a_runs_folder_that_cannot_be_written_before_training(read_only_folder):
    trainer = training_process.Trainer(root=read_only_folder)
    with pytest.raises(runs.FolderError) as info:
        trainer.start(tiny(None))
    assert info.value.problem == "unwritable" and info.value.values["errno"] in (errno.EROFS, errno.EACCES)
    assert trainer.run is None and lock_is_free() and not any(read_only_folder.iterdir())
    code = errno.errorcode[info.value.values["errno"]]
    for lang in LANGS:
        message = training_report.folder_message(info.value, lang)
        assert str(read_only_folder) in message and t(f"training.oserror.{code}", lang) in message


def test_start_refuses_a_disk_without_room_for_a_run(mount_tmpfs):
    folder = mount_tmpfs("small", "size=2m")
    trainer = training_process.Trainer(root=folder)
    with pytest.raises(runs.FolderError) as info:
        trainer.start(tiny(None))
    free = round(os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize / 2**20, 1)
    assert info.value.problem == "disk_full" and info.value.values["free_mb"] == free <= 2
    assert trainer.run is None and lock_is_free()
    for lang in LANGS:
        message = training_report.folder_message(info.value, lang)
        assert f"{free} MB" in message and f"{runs.MIN_FREE_BYTES // 2**20} MB" in message


def test_a_disk_that_fills_during_a_run_ends_it_with_that_message_and_keeps_the_last_checkpoint(mount_tmpfs):
    """A checkpoint every epoch; once one is on disk the file system is filled to the last byte: the
    next save fails with ENOSPC. The checkpoint before is intact (written aside, then renamed)."""
    folder = mount_tmpfs("filling", "size=48m")
    trainer = training_process.Trainer(root=folder)
    run = trainer.start(tiny(None, checkpoint_save_best_only=False), owner="teacher")
    until(lambda: saved(run), 120, "two epochs and a checkpoint")
    with open(folder / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 2**20)
                filler.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    assert run.wait(120)
    snap = run.snapshot()
    assert snap.status == "failed" and snap.failure.how == "disk" and snap.failure.errno == errno.ENOSPC
    assert lock_is_free()
    kept = snap.kept()
    run_dir = Path(snap.run_dir)
    assert not training.staging_path(snap.config, run_dir).exists()
    loss, _ = keras_val_loss(snap.config, kept.checkpoint)
    assert loss == pytest.approx(kept.save["value"], abs=1e-5)
    for lang in LANGS:
        message = training_report.failure_message(snap, lang)
        assert t("training.oserror.ENOSPC", lang) in message and "best.weights.h5" in message



# What h5py raised when that run's checkpoint was closed on the full disk (from a failed run of the
# test above): a RuntimeError whose only trace of the disk is HDF5's text.
H5PY_FULL_DISK = ("Disable slist on flush dest failure failed (file write failed: time = Tue Dec  1 20:24:48 2026\n, "
                  "filename = '/tmp/filling/saving.weights.h5', file descriptor = 4, errno = 28, error message = "
                  "'No space left on device', buf = 0x56318ec0a910, total write size = 32, bytes this sub-write = 32, "
                  "offset = 1245184)")


def test_a_full_disk_that_h5py_reports_as_a_runtime_error_or_behind_another_error_is_still_a_full_disk():
    assert training_process._errno(RuntimeError(H5PY_FULL_DISK)) == errno.ENOSPC
    try:
        try:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        except OSError as cause:
            raise ValueError("saving the checkpoint failed") from cause
    except ValueError as exc:
        assert training_process._errno(exc) == errno.EDQUOT
    assert training_process._errno(RuntimeError("errno of a layer: 28 units")) is None
    failure = training_process.classify(1, {"kind": "error", "type": "RuntimeError", "message": H5PY_FULL_DISK,
                                            "errno": training_process._errno(RuntimeError(H5PY_FULL_DISK))})
    assert failure.how == "disk" and failure.errno == errno.ENOSPC

SERVER = """
import sys, time
from explain import training, training_process
run = training_process.LiveRun(training.TrainConfig.from_json(sys.argv[1]))
print(run.pid, flush=True)
time.sleep(600)
"""


def serve_one_run(config: training.TrainConfig) -> tuple[subprocess.Popen, int]:
    """A stand-in server process holding one LiveRun; returns it and its training child's pid once
    the run has written a checkpoint."""
    Path(config.out_dir).mkdir(parents=True)
    server = subprocess.Popen([sys.executable, "-c", SERVER, config.to_json()], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    child = int(server.stdout.readline())
    log = Path(config.out_dir) / runs.EVENTS_FILE
    until(lambda: log.exists() and '"kind": "checkpoint"' in log.read_text(), 120, "a checkpoint")
    return server, child


def test_a_run_whose_server_dies_ends_as_interrupted_and_a_new_server_shows_it(tmp_path):
    """SIGKILL to the server only: its child sees its stdin end, stops after the batch and records
    the run as interrupted; a new Trainer (the restarted server) reads it back with its files."""
    config = tiny(tmp_path / "20260101-000000-000000")
    server, child = serve_one_run(config)
    server.kill()
    server.wait()
    log = Path(config.out_dir) / runs.EVENTS_FILE
    until(lambda: '"kind": "end"' in log.read_text(), 60, "the orphaned child to record its end")
    snap = training_process.Trainer(root=tmp_path).run.snapshot()
    assert snap.status == "interrupted" and not snap.active and snap.epochs_done >= 1
    assert snap.end["status"] == "interrupted" and snap.end["stopped_at"][0] == snap.epochs_done
    assert snap.kept().checkpoint is not None and snap.kept().csv_log is not None
    for lang in LANGS:
        message = training_report.interrupted_message(snap, lang)
        assert t("training.interrupted", lang) in message and "best.weights.h5" in message


def test_a_run_killed_with_its_server_shows_as_interrupted_after_the_restart(tmp_path):
    """Both processes killed at once (a reboot, the whole service killed): no "end" and no note from
    the server in events.jsonl; a new server reads what the run did from its folder."""
    config = tiny(tmp_path / "20260101-000000-000000")
    server, child = serve_one_run(config)
    os.kill(child, signal.SIGKILL)
    server.kill()
    server.wait()
    snap = training_process.Trainer(root=tmp_path).run.snapshot()
    assert snap.status == "interrupted" and snap.end is None and snap.failure is None
    assert snap.epochs_done >= 1 and snap.kept().checkpoint is not None


def fake_child(tmp_path: Path, monkeypatch, output: bytes) -> None:
    """Make `ChildProcess` start a program that writes `output` and then sleeps for 60 s, instead of
    `python -m explain.training_process ...`."""
    (tmp_path / "output").write_bytes(output)
    program = tmp_path / "fake-python"
    program.write_text(f"#!/bin/sh\ncat {tmp_path / 'output'}\nexec sleep 60\n")
    program.chmod(0o755)
    monkeypatch.setattr(training_process.sys, "executable", str(program))


@pytest.mark.parametrize("line", [b'@netlens-event {"kind": "epoch"}', b"@netlens-event [1, 2]",
                                  b'@netlens-event {"kind": "begin", "batc'], ids=["missing keys", "not an object",
                                                                                  "cut off"])
def test_a_line_the_child_should_not_send_ends_the_child_and_keeps_its_output(line, tmp_path, monkeypatch):
    exits = []
    fake_child(tmp_path, monkeypatch, b"TensorFlow says \xff\xfe\n" + line + b"\n")
    child = training_process.ChildProcess([], training_process.RunState().apply,
                                          lambda code, output: exits.append((code, output)))
    assert child.wait(20), "the reader should have ended the child"
    assert exits == [(-signal.SIGKILL, "TensorFlow says \ufffd\ufffd")]


def test_bytes_that_are_not_utf8_in_the_childs_output_do_not_end_it(tmp_path, monkeypatch):
    state = training_process.RunState()
    fake_child(tmp_path, monkeypatch, b"\xff oneDNN \xc3(\n" + training.training_events.encode(
        {"kind": "begin", "batches": 3, "run_dir": str(tmp_path), "pid": 1}).encode())
    child = training_process.ChildProcess([], state.apply, lambda code, output: None)
    until(lambda: state.status == "running", 20, "the begin event")
    assert child.proc.poll() is None and list(child.output) == ["\ufffd oneDNN \ufffd("]
    child.proc.kill()
    assert child.wait(10)
