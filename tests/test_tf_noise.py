"""TensorFlow's start-up notes and, on a machine without a CUDA driver, its CUDA errors stay out of
the server log; every other line it writes is kept."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from explain.tf_noise import start_up_noise

ROOT = Path(__file__).resolve().parent.parent

# What TensorFlow 2.21 wrote to stderr on this 2-core machine without a GPU, once per library it loads.
NO_GPU_LOG = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796117834.967553   19751 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796117835.029662   19751 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
I0000 00:00:1796117835.283599   19751 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
E0000 00:00:1796117846.972672   19751 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
"""  # noqa: E501
USEFUL = "E0000 00:00:1796117847.000000   19751 op_kernel.cc:1857] OP_REQUIRES failed: out of memory\n"


def test_the_start_up_notes_and_the_cuda_errors_of_a_machine_without_a_driver_are_dropped():
    assert start_up_noise(NO_GPU_LOG) == ""


def test_every_other_line_is_kept_in_order():
    lines = NO_GPU_LOG.splitlines(keepends=True)
    mixed = "".join([lines[0], "a line of our own\n", *lines[1:4], USEFUL, *lines[4:]])
    assert start_up_noise(mixed) == "a line of our own\n" + USEFUL


def test_with_a_cuda_driver_a_failing_cuinit_is_reported():
    with_driver = "".join(line for line in NO_GPU_LOG.splitlines(keepends=True) if "cudart_stub" not in line)
    assert start_up_noise(with_driver) == NO_GPU_LOG.splitlines(keepends=True)[-1]


def test_importing_explain_writes_none_of_tensorflows_start_up_noise():
    """In a fresh process, as the server's first script run does (the filter acts on the real fd 2)."""
    out = subprocess.run([sys.executable, "-c", "import explain.models, sys; print('loaded', 'keras' in sys.modules)"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "loaded True", out.stderr
    for noise in ("absl::InitializeLog", "oneDNN", "cpu_feature_guard", "cuda drivers", "cuInit"):
        assert noise not in out.stderr, out.stderr
