"""An uploaded HDF5 file (a student's weights) read in a child process, never in the server's.

h5py hands the bytes to the HDF5 C library, which has had memory-safety advisories for crafted files;
parsed in the server, such a file could crash or take over the process every session shares. Here a
fresh interpreter (this file run as a script, `python -I`: it imports only numpy and h5py, not
the `explain` package and TensorFlow; with memory and CPU limits) reads the upload from
its stdin and writes back plain data: every group's path, every dataset as an array, every object's
attributes if they are strings or numbers. The server then writes a file of its own from that
(`write`), which is all Keras ever opens. Links to other files, datasets stored outside the file and
anything but plain numbers are refused, as is a file with more than `max_params` numbers.

The child's answer is an .npz read with `allow_pickle=False`: no object from the child is unpickled.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TIMEOUT_S = 30
MEMORY_LIMIT = 2 * 1024 ** 3   # bytes of address space the child may take
CPU_LIMIT_S = 20


@dataclass(frozen=True)
class Contents:
    """What an HDF5 file holds: `groups` (paths, parents first), `arrays` (dataset path -> array) and
    `attrs` (object path, "" for the root -> {name: str, number or a list of those}); or, if the child
    refused the file, `problem`: (reason, English message, the message's values) for ModelUploadError."""

    groups: tuple[str, ...] = ()
    arrays: dict[str, np.ndarray] | None = None
    attrs: dict[str, dict] | None = None
    problem: tuple[str, str, dict] | None = None


def read(data: bytes, max_params: int, memory: int = MEMORY_LIMIT) -> Contents:
    """The contents of the HDF5 file `data`, read by a child process allowed `memory` bytes of
    address space (see the module's docstring)."""
    try:
        done = subprocess.run([sys.executable, "-I", __file__, str(max_params), str(memory)], input=data,
                              capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return Contents(problem=("weights_unreadable", f"reading the weights took over {TIMEOUT_S} s", {}))
    if done.returncode != 0:
        return Contents(problem=("weights_unreadable", f"the HDF5 reader stopped (exit code {done.returncode})", {}))
    try:
        with np.load(io.BytesIO(done.stdout), allow_pickle=False) as answer:
            meta = json.loads(str(answer["meta"]))
            if meta["problem"]:
                return Contents(problem=tuple(meta["problem"]))
            arrays = {path: answer[f"a{i}"] for i, path in enumerate(meta["datasets"])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Contents(problem=("weights_unreadable", f"the HDF5 reader's answer was unreadable ({exc})", {}))
    return Contents(tuple(meta["groups"]), arrays, meta["attrs"])


def write(contents: Contents, path: Path) -> None:
    """An HDF5 file at `path` holding exactly `contents`, written by the server itself."""
    import h5py
    with h5py.File(path, "w") as file:
        for group in contents.groups:
            file.require_group(group)
        for name, array in contents.arrays.items():
            file.create_dataset(name, data=array)
        for name, attrs in contents.attrs.items():
            for key, value in attrs.items():
                (file if name == "" else file[name]).attrs[key] = value


# ---- the child --------------------------------------------------------------------------------

def _plain(value):
    """An attribute as JSON-able data (str, int, float, bool, or a list of those), or None if it is
    anything else."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list) and all(isinstance(v, (str, bool, int, float)) for v in value):
        return value
    return None


def _walk(file, max_params: int) -> tuple[list, dict, dict, tuple | None]:
    import h5py
    groups, arrays, attrs = [], {}, {}
    problem = None
    total = 0

    def visit(path: str, link) -> bool | None:
        nonlocal problem, total
        # h5py cannot pass an exception out of this callback: note the problem and stop the walk.
        if not isinstance(link, h5py.HardLink):
            problem = ("weights_link", f"the weights file links {path!r} elsewhere", {"path": path})
            return True
        obj = file[path]
        if isinstance(obj, h5py.Dataset):
            if obj.is_virtual or obj.external or obj.dtype.kind not in "fiub":
                problem = ("weights_link", f"dataset {path!r} is not plain numbers in the file", {"path": path})
                return True
            total += obj.size
            if total > max_params:
                problem = ("too_many_params", f"more than {max_params:,} weights",
                           {"count": f">{max_params:,}", "limit": f"{max_params:,}"})
                return True
            arrays[path] = obj[()]
        else:
            groups.append(path)
        named = {key: _plain(obj.attrs[key]) for key in obj.attrs}
        if any(value is None for value in named.values()):
            problem = ("weights_link", f"object {path!r} has an attribute that is not text or numbers", {"path": path})
            return True
        if named:
            attrs[path] = named
        return None

    file.visititems_links(visit)
    root = {key: _plain(file.attrs[key]) for key in file.attrs}
    if None in root.values():
        problem = problem or ("weights_link", "the file has an attribute that is not text or numbers", {"path": "/"})
    elif root:
        attrs[""] = root
    return groups, arrays, attrs, problem


def _child(max_params: int, memory: int) -> None:
    """Read an HDF5 file from stdin, write its contents to stdout as an .npz (see `read`)."""
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S))
    import h5py
    data = sys.stdin.buffer.read()
    groups, arrays, attrs, problem = [], {}, {}, None
    try:
        with h5py.File(io.BytesIO(data), "r") as file:
            groups, arrays, attrs, problem = _walk(file, max_params)
    except OSError:  # h5py's error for "not an HDF5 file" and for a truncated one
        problem = ("weights_unreadable", "the weights are not a readable HDF5 file", {})
    paths = [] if problem else list(arrays)
    meta = json.dumps({"groups": groups, "datasets": paths, "attrs": attrs, "problem": problem})
    out = io.BytesIO()
    np.savez(out, meta=np.array(meta), **({} if problem else {f"a{i}": arrays[p] for i, p in enumerate(paths)}))
    sys.stdout.buffer.write(out.getvalue())


if __name__ == "__main__":
    _child(int(sys.argv[1]), int(sys.argv[2]))
