"""Data parallelism (``dlcourse.parallel``) against the one-device trainer.

JAX fixes its device count when it starts, so the 8-device and the 2-process runs
happen in child processes (``tests/_multihost_worker.py``), each bounded by a timeout
and killed if it overruns; the assertions are made here.
"""
import os
import pathlib
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from dlcourse import parallel, train
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from tests import _multihost_worker as worker

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKER = REPO_ROOT / "tests" / "_multihost_worker.py"
TIMEOUT_S = 120
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}
KEYS = ("costs", "W1", "b1", "W2", "b2", "W3", "b3")


def _env():
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO_ROOT))
  env.pop("XLA_FLAGS", None)  # the worker sets its own device count
  return env


def _start(args, log):
  return subprocess.Popen([sys.executable, str(WORKER), *args], cwd=REPO_ROOT, env=_env(),
                          stdout=log, stderr=subprocess.STDOUT)


def _wait_all(procs, logs):
  """Waits for every child within TIMEOUT_S; kills them all on a failure or overrun."""
  try:
    for proc in procs:
      proc.wait(timeout=TIMEOUT_S)
  except subprocess.TimeoutExpired:
    pass
  finally:
    for proc in procs:
      if proc.poll() is None:
        proc.kill()
        proc.wait()
  for proc, log in zip(procs, logs):
    if proc.returncode != 0:
      log.seek(0)
      pytest.fail(f"worker exited with {proc.returncode}:\n{log.read()[-4000:]}")


def _run_workers(arg_lists, tmp_path):
  logs = [open(tmp_path / f"worker{i}.log", "w+") for i in range(len(arg_lists))]
  try:
    _wait_all([_start(args, log) for args, log in zip(arg_lists, logs)], logs)
  finally:
    for log in logs:
      log.close()


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _assert_same(actual, expected, dtype, what):
  tol = TOLERANCE[dtype]
  np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=what)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """Starts the 8-device worker and the two 4-device processes at once (they overlap,
  so the module costs about one worker's time) and returns their outputs."""
  tmp_path = tmp_path_factory.mktemp("parallel")
  common = [str(tmp_path / "multi.npz"), "--coordinator", f"127.0.0.1:{_free_port()}",
            "--num_processes", "2", "--local_devices", "4"]
  _run_workers([["single", str(tmp_path / "single.npz")]]
               + [["process", *common, "--process_id", str(i)] for i in range(2)], tmp_path)
  return dict(np.load(tmp_path / "single.npz")), dict(np.load(tmp_path / "multi.npz"))


@pytest.fixture(scope="module")
def eight_devices(runs):
  return runs[0]


def test_data_parallel_equals_one_device(eight_devices):
  out = eight_devices
  assert int(out["num_devices"]) == 8
  for dtype in ("float32", "float64", "dropout"):
    for key in KEYS:
      single, parallel_ = out[f"{dtype}/single/{key}"], out[f"{dtype}/parallel/{key}"]
      _assert_same(parallel_, single, "float32" if dtype == "float32" else "float64",
                   f"{dtype} {key}")
      assert parallel_.dtype == single.dtype
  # Training moved the parameters, so agreement is not trivial.
  _, _, params = worker.problem()
  assert np.max(np.abs(out["float64/parallel/W1"] - params["W1"])) > 1e-2


def test_data_parallel_really_splits_the_columns(eight_devices):
  out = eight_devices
  assert out["shard_shapes"].tolist() == [[6, 8]] * 8
  assert bool(out["has_all_reduce"])
  assert bool(out["float32/replicated"]) and bool(out["float64/replicated"])


def test_sweeps_split_over_models_and_examples_equal_one_device(eight_devices):
  out = eight_devices
  for name in ("models4_data2", "data8"):
    for key in ("W1", "costs"):
      _assert_same(out[f"sweep/{name}/{key}"], out[f"sweep/one/{key}"], "float64",
                   f"sweep on {name}: {key}")
    np.testing.assert_array_equal(out[f"sweep/{name}/dev"], out["sweep/one/dev"])
  assert out["sweep/one/W1"].shape == (8, 5, 6)
  # The trained models stay split over the models axis (2 of the 8 per device group).
  assert out["sweep/models4_data2/shard"].tolist() == [2, 5, 6]


def test_indivisible_batch_is_a_config_error(eight_devices):
  message = str(eight_devices["config_error"])
  assert "m = 60" in message and "8 devices" in message and "56 or 64" in message


def test_two_processes_equal_one_process(runs, x64):
  out = runs[1]
  assert int(out["num_devices"]) == 8 and int(out["local_devices"]) == 4
  assert out["process_columns"].tolist() == [0, worker.M // 2]
  X, Y, params = worker.problem()
  arch = dense.Architecture.make(worker.LAYER_DIMS)
  for dtype in worker.DTYPES:
    reference = train.train_gd_jit(
        worker.as_dtype(params, dtype), X.astype(dtype), Y.astype(dtype),
        worker.LEARNING_RATE, arch=arch, num_iterations=worker.NUM_ITERATIONS,
        record_every=worker.RECORD_EVERY, lambd=worker.LAMBD)
    _assert_same(out[f"{dtype}/parallel/costs"], np.asarray(reference.costs), dtype,
                 f"{dtype} costs")
    for key, value in reference.params.items():
      _assert_same(out[f"{dtype}/parallel/{key}"], np.asarray(value), dtype, f"{dtype} {key}")


def test_one_device_mesh_runs_in_process():
  """The same entry point on this process's devices (usually one CPU device)."""
  X, Y, params = worker.problem()
  arch = dense.Architecture.make(worker.LAYER_DIMS)
  X, Y = X.astype(np.float32), Y.astype(np.float32)
  params = worker.as_dtype(params, np.float32)
  kwargs = dict(arch=arch, num_iterations=5, record_every=5)
  result = parallel.train_gd(params, X, Y, 0.1, **kwargs)
  expected = train.train_gd_jit(params, X, Y, 0.1, **kwargs)
  np.testing.assert_allclose(result.params["W1"], expected.params["W1"], rtol=1e-6,
                             atol=1e-6)
  assert result.params["W1"].sharding.is_fully_replicated


def test_check_divisible_names_the_fix():
  mesh = parallel.data_mesh(jax.devices()[:1])
  parallel.check_divisible(209, mesh)  # one device divides anything

  class FakeMesh:  # only .shape is read
    shape = {parallel.DATA_AXIS: 8}
  with pytest.raises(ConfigError, match="m = 209 .* 8 devices.* 208 or 216"):
    parallel.check_divisible(209, FakeMesh())


@pytest.mark.parametrize("address, count, pid", [
    ("", 2, 0), ("localhost", 2, 0), ("127.0.0.1:1234", 2, 2), ("127.0.0.1:1234", 2, -1)])
def test_initialize_distributed_rejects_bad_flags(address, count, pid):
  with pytest.raises(ConfigError):
    parallel.initialize_distributed(address, count, pid)


def test_initialize_distributed_is_a_no_op_for_one_process():
  assert parallel.initialize_distributed("", 1, 0) is False
