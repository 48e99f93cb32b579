"""Model files that are missing, truncated or hold another network: `load_model` says which, and
which command rebuilds it; in the app, that model's views say so while the other models and pages
keep working. Only the fixed names in MODEL_NAMES ever reach the file system."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from playwright.sync_api import expect

from explain import i18n
from explain.models import MODEL_NAMES, MODELS_DIR, ModelFileError, load_model, model_path
from tests.browser import EXCEPTION, open_page
from tests.conftest import ROOT, free_port, start_app

ERROR = "[data-testid='stAlertContentError']"
VALUE = "[data-testid='stMetric'] [data-testid='stMetricValue']"


def broken_models_dir(folder, truncate: tuple[str, ...] = (), remove: tuple[str, ...] = (),
                      swap: dict[str, str] | None = None):
    """A copy of models/ with some files cut in half, some missing, and some replaced by another model's."""
    folder.mkdir(exist_ok=True)
    for path in MODELS_DIR.iterdir():
        shutil.copy(path, folder / path.name)
    for name in truncate:
        data = (MODELS_DIR / f"{name}.keras").read_bytes()
        (folder / f"{name}.keras").write_bytes(data[:len(data) // 2])
    for name in remove:
        (folder / f"{name}.keras").unlink()
    for name, other in (swap or {}).items():
        shutil.copy(MODELS_DIR / f"{other}.keras", folder / f"{name}.keras")
    return folder


@pytest.mark.parametrize("problem, setup", [
    ("missing", {"remove": ("cnn",)}),
    ("damaged", {"truncate": ("cnn",)}),
    ("architecture", {"swap": {"cnn": "mlp"}}),
])
def test_a_bad_file_raises_model_file_error_naming_the_problem_and_the_command(tmp_path, monkeypatch, problem, setup):
    monkeypatch.setattr("explain.models.MODELS_DIR", broken_models_dir(tmp_path / "models", **setup))
    with pytest.raises(ModelFileError, match=r"rebuild it with: python -m explain\.train cnn") as info:
        load_model("cnn")
    assert info.value.problem == problem and info.value.name == "cnn"
    for lang in i18n.LANGUAGES:  # the app's message, in both languages, names the command
        assert info.value.command in i18n.t(f"model.error.{problem}", lang, model="cnn", command=info.value.command)
    assert load_model("mlp").count_params() > 0  # the others still load


def test_bytes_that_are_not_an_archive_are_damaged(tmp_path, monkeypatch):
    monkeypatch.setattr("explain.models.MODELS_DIR", broken_models_dir(tmp_path / "models"))
    (tmp_path / "models" / "gru.keras").write_text("not a keras file")
    with pytest.raises(ModelFileError) as info:
        load_model("gru")
    assert info.value.problem == "damaged"


def rezipped(archive: bytes, **entries: bytes | None) -> bytes:
    """`archive` (a .keras zip) with some entries replaced (None: removed), written with valid CRCs, so
    the damage reaches h5py and Keras instead of stopping at zipfile's checksum."""
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for entry, data in {**parts, **entries}.items():
            if data is not None:
                target.writestr(entry, data)
    return buffer.getvalue()


def damaged_weights(archive: bytes) -> list[bytes]:
    """Seeded damage inside the weights file: cut off, emptied, removed, or 1-10 bytes overwritten
    (mostly in the first 20 kB, where HDF5 keeps its superblock, object headers and symbol tables)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        h5 = source.read("model.weights.h5")
    rng = np.random.default_rng(67)
    variants = [None, b"", b"not hdf5", *(h5[:n] for n in (8, 2048, len(h5) // 2, len(h5) - 10))]
    for k in range(40):
        damaged = bytearray(h5)
        for at in rng.integers(0, 20_000 if k % 4 else len(h5), rng.integers(1, 11)):
            damaged[at] = int(rng.integers(0, 256))
        variants.append(bytes(damaged))
    return [rezipped(archive, **{"model.weights.h5": v}) for v in variants]


def test_weights_damaged_inside_a_valid_archive_are_damaged_and_never_another_exception(tmp_path, monkeypatch):
    """h5py and Keras raise OSError, KeyError, RuntimeError, ValueError for these: all mean "damaged"."""
    monkeypatch.setattr("explain.models.MODELS_DIR", tmp_path)
    problems = []
    for data in damaged_weights((MODELS_DIR / "mlp.keras").read_bytes()):
        (tmp_path / "mlp.keras").write_bytes(data)
        try:
            load_model("mlp")
        except ModelFileError as exc:
            problems.append((exc.problem, type(exc.__cause__).__name__))
    assert {problem for problem, _ in problems} == {"damaged"}
    assert len(problems) >= 10 and len({cause for _, cause in problems}) >= 3, problems


@pytest.mark.parametrize("error", [MemoryError, AttributeError, ImportError])
@pytest.mark.parametrize("where", ["zipfile.ZipFile.read", "keras.Model.load_weights"])
def test_an_error_that_is_not_the_files_fault_surfaces_instead_of_asking_for_a_rebuild(monkeypatch, where, error):
    def fail(*args, **kwargs):
        raise error("not the file's fault")
    monkeypatch.setattr(where, fail)
    with pytest.raises(error, match="not the file's fault"):
        load_model("mlp")


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "cnn/../../etc/passwd", "cnn.keras", "CNN", "",
                                  "models/cnn", "cnn\x00"])
def test_only_the_fixed_names_reach_the_file_system(name):
    with pytest.raises(ValueError, match="valid models are: mlp, cnn, lstm, gru, attention, rnn, cnn_bn"):
        load_model(name)
    with pytest.raises(ValueError):
        model_path(name)


def test_every_model_path_stays_inside_the_models_folder():
    for name in MODEL_NAMES:
        assert model_path(name).resolve().parent == MODELS_DIR.resolve()


def test_netlens_models_dir_points_the_app_at_another_folder(tmp_path):
    out = subprocess.run([sys.executable, "-c", "from explain.models import MODELS_DIR; print(MODELS_DIR)"],
                         cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "NETLENS_MODELS_DIR": str(tmp_path)})
    assert out.stdout.strip() == str(tmp_path)


@pytest.fixture(scope="module")
def broken_app(tmp_path_factory):
    """A second server whose LSTM file is cut in half, whose GRU file is missing, and whose attention
    file holds the MLP."""
    folder = broken_models_dir(tmp_path_factory.mktemp("broken") / "models", truncate=("lstm",), remove=("gru",),
                               swap={"attention": "mlp"})
    port = free_port()
    proc = start_app(port, folder.parent / "server.log", env={"NETLENS_MODELS_DIR": str(folder)})
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def test_the_app_names_the_broken_models_and_their_commands_and_the_rest_keeps_working(page, broken_app):
    open_page(page, f"{broken_app}/draw?lang=en&sample=3")
    # official test digit #3 is a 0, read by the CNN
    expect(page.locator(VALUE).first).to_have_text("0", timeout=60_000)
    errors = page.locator(ERROR)
    expect(errors.filter(has_text="python -m explain.train lstm")).to_have_count(1)
    expect(errors.filter(has_text="python -m explain.train gru")).to_have_count(1)
    expect(errors.filter(has_text="python -m explain.train attention")).to_have_count(1)
    assert "damaged" in errors.filter(has_text="lstm").inner_text()
    assert "missing" in errors.filter(has_text="gru").inner_text()
    assert page.locator(EXCEPTION).count() == 0

    open_page(page, f"{broken_app}/recurrent?lang=zh")  # both recurrent models are broken: the page says so
    expect(page.locator(ERROR).filter(has_text="python -m explain.train").first).to_be_visible(timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0

    open_page(page, f"{broken_app}/attention?lang=en")
    expect(page.locator(ERROR).filter(has_text="different network")).to_be_visible(timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0

    open_page(page, f"{broken_app}/cnn?lang=en")  # the page of a working model is untouched
    assert page.locator(EXCEPTION).count() == 0 and page.locator(ERROR).count() == 0
