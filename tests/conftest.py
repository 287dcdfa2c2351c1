"""Shared pytest fixtures.

The course's data files are never committed. Tests that need them read the
directory named by ``DLCOURSE_DATA_DIR`` (``.ci/run`` sets it to ``../shared/data``),
falling back to ``../shared/data`` beside the checkout, and are skipped with the
reason when neither holds the files.
"""
import os
import pathlib
import subprocess

from experiments.runner import cli

cli.configure_xla()  # the XLA options the command line runs with, before JAX starts

import jax  # noqa: E402  pylint: disable=wrong-import-position
import pytest  # noqa: E402  pylint: disable=wrong-import-position

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
_FALLBACK_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def _data_dir():
  env = os.environ.get("DLCOURSE_DATA_DIR")
  if env:
    return pathlib.Path(env)
  return _FALLBACK_DATA_DIR


@pytest.fixture(scope="session")
def data_dir():
  """The course data directory, or skip when the named file set is absent."""
  path = _data_dir()
  if not (path / "train_catvnoncat.h5").is_file():
    pytest.skip(f"course data not found in {path} (set DLCOURSE_DATA_DIR to the "
                "directory holding train_catvnoncat.h5, test_catvnoncat.h5, football.mat)")
  return path


@pytest.fixture
def x64():
  """Run the test body with float64 enabled, restoring the previous setting after."""
  previous = jax.config.jax_enable_x64
  jax.config.update("jax_enable_x64", True)
  try:
    yield
  finally:
    jax.config.update("jax_enable_x64", previous)


@pytest.fixture
def tiny_tmpfs():
  """``mount(path, size="230k")``: a small tmpfs at ``path`` (created) to fill up, unmounted
  after the test; skips the test where mounting is not permitted (not root)."""
  mounted = []

  def mount(path, size="230k"):
    path = pathlib.Path(path)
    path.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                             str(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
      pytest.skip(f"cannot mount a tmpfs to fill up ({result.stderr.strip() or 'not root'})")
    mounted.append(path)
    return path

  yield mount
  for path in mounted:
    subprocess.run(["umount", str(path)], capture_output=True, check=False)
