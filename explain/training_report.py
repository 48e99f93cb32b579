"""How a run that did not finish is told, in the user's language: how it ended (the signal and
what it usually means, the exit code, the error, the full disk), after which epoch, and which files
were kept. The raw output of the process never becomes the message (the page puts it in a collapsed
box; the server's log has it too)."""
from __future__ import annotations

import errno as errnos
import math
from pathlib import Path

from explain.data import ROOT
from explain.i18n import t
from explain.runs import FolderError
from explain.training_process import Failure, Snapshot


def shown_path(path: str | Path) -> str:
    """A path as students should see it: relative to the project (runs/<time-stamp>) when inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def reason(errno: int | None, fallback: str, lang: str) -> str:
    """An OSError's cause in words: the common ones translated, others as the system says them."""
    code = errnos.errorcode.get(errno or -1)
    key = f"training.oserror.{code}"
    try:
        return t(key, lang)
    except KeyError:
        return fallback


def how_it_ended(failure: Failure, snap: Snapshot, lang: str) -> str:
    """One sentence: what ended the process."""
    f = failure
    if f.how == "signal":
        hint = t(f"training.failed.hint.{f.hint}", lang) if f.hint else ""
        return t("training.failed.signal", lang, signal=f.signal, name=f.signal_name or "?", hint=hint)
    if f.how == "hung":
        by = t("training.failed.by_signal", lang, signal=f.signal, name=f.signal_name or "?") if f.signal else ""
        return t("training.failed.hung", lang, seconds=f"{f.silent:.0f}", by=by)
    if f.how == "disk":
        return t("training.failed.disk", lang, reason=reason(f.errno, f.message or "", lang),
                 folder=shown_path(snap.run_dir or ""))
    if f.how == "error":
        return t("training.failed.error", lang, error=f.error_type or "?")
    return t("training.failed.exit", lang, code=f.code)


def progress(snap: Snapshot, lang: str) -> str:
    """After which epoch the run ended."""
    if snap.epochs_done == 0:
        return t("training.failed.no_epoch", lang)
    return t("training.failed.after", lang, epochs=snap.epochs_done, total=snap.config.epochs)


def kept(snap: Snapshot, lang: str) -> str:
    """Which files are still there, and what can still be done with them."""
    k = snap.kept()
    files = []
    if k.csv_log:
        files.append(t("training.kept.csv", lang, file=k.csv_log.name))
    if k.checkpoint:
        value = k.save["value"]
        files.append(t("training.kept.checkpoint", lang, file=k.checkpoint.name, epoch=k.save["epoch"],
                       monitor=t(f"training.metric.{k.save['monitor']}", lang),
                       value=f"{value:.4f}" if math.isfinite(value) else "NaN"))
    if not files:
        return t("training.kept.nothing", lang)
    text = t("training.kept", lang, files=t("training.kept.and", lang).join(files),
             folder=shown_path(snap.run_dir or ""))
    return sentences((text, t("training.kept.homework", lang) if k.checkpoint else ""), lang)


def sentences(parts: tuple[str, ...], lang: str) -> str:
    """Sentences in a row: a space between them in English, none in Chinese (its full stop is wide)."""
    return ("" if lang == "zh" else " ").join(p for p in parts if p)


def failure_message(snap: Snapshot, lang: str) -> str:
    """The whole message for a run whose process ended without finishing."""
    return sentences((t("training.failed.title", lang), how_it_ended(snap.failure, snap, lang),
                      progress(snap, lang), kept(snap, lang)), lang)


def interrupted_message(snap: Snapshot, lang: str) -> str:
    """For a run cut off when its server stopped."""
    return sentences((t("training.interrupted", lang), progress(snap, lang), kept(snap, lang)), lang)


def hung_message(snap: Snapshot, lang: str, grace: float) -> str:
    return t("training.hung", lang, seconds=f"{snap.silent:.0f}", grace=f"{grace:g}")


def folder_message(exc: FolderError, lang: str) -> str:
    """Why Start refused: the runs folder cannot be written, or its disk is (nearly) full."""
    v = exc.values
    return t(f"training.folder.{exc.problem}", lang, folder=shown_path(v["folder"]),
             reason=reason(v.get("errno"), v.get("reason", ""), lang), free=v.get("free_mb"), need=v.get("need_mb"))
