"""TensorFlow imported with its start-up noise filtered out of the server log.

On a machine without a GPU, importing TensorFlow 2.21 writes about ten lines to the process's
stderr (file descriptor 2, from C++, before its log levels apply, so TF_CPP_MIN_LOG_LEVEL cannot
hide them): an absl banner, oneDNN and CPU-instruction notes, "Could not find cuda drivers" and an
E-level "failed call to cuInit", which greets a teacher as an error though nothing is wrong. Here
the import (and the device probe that triggers cuInit) runs with fd 2 pointing at a temporary
file; afterwards every line is written back except those notes, and the CUDA lines only when the
machine has no CUDA driver, so on a machine with a GPU a failing driver is still reported. No
library does this for TensorFlow's C++ output, hence the hand-written fd swap.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile

_NOTES = re.compile(r"All log messages before absl::InitializeLog\(\) is called|\] oneDNN custom operations are on"
                    r"|cpu_feature_guard\.cc:\d+\]|^To enable the following instructions: ")
_NO_DRIVER = re.compile(r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine")
_CUDA = re.compile(r"\b(cuda_\w+|cudart_stub)\.cc:\d+\]")


def start_up_noise(text: str) -> str:
    """`text` (what TensorFlow wrote to stderr while loading) without its start-up notes, and without
    its CUDA lines if it said the machine has no CUDA driver; every other line kept, in order."""
    no_driver = _NO_DRIVER.search(text) is not None
    kept = [line for line in text.splitlines(keepends=True)
            if not _NOTES.search(line) and not (no_driver and _CUDA.search(line))]
    return "".join(kept)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras and probe the devices, filtering fd 2 meanwhile (once per process)."""
    if "tensorflow" in sys.modules or sys.stderr is None:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401  (TensorFlow is its backend)
            import tensorflow as tf
            tf.config.list_physical_devices()  # where cuInit runs
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            rest = start_up_noise(captured.read().decode("utf-8", "replace"))
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()
