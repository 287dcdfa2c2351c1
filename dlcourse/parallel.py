"""Data parallelism: the library's own full-batch trainer over many devices and hosts.

The examples (columns of X) are split over a one-axis device mesh named ``data``;
the parameters are replicated. With D devices and m = D * m_d columns,

    X = [X^(1) | ... | X^(D)],   X^(d): (n_x, m_d) on device d
    Z^[l](d) = W^[l] A^[l-1](d) + b^[l]                 (no communication)
    dW^[l] = (1/m) sum_d dZ^[l](d) A^[l-1](d)^T          (partial sums + all-reduce)
    db^[l] = (1/m) sum_d sum_columns dZ^[l](d)           (likewise; J too)

Nothing here re-implements a step: ``train_gd`` below jits ``dlcourse.train.train_gd``
(a use of the one training loop, ``dlcourse.loop``) itself with sharded inputs and
replicated outputs, and XLA's SPMD partitioner inserts the all-reduces where a sum runs
over the sharded m axis. The result equals the one-device run up to the order of the
floating-point sums.

Several processes (hosts): call ``initialize_distributed`` first (before any other
JAX call); ``data_mesh()`` then spans every process's devices, and each process
passes only the columns its own devices hold (``process_columns``) to
``shard_process_columns``. On CPU, JAX 0.10's cross-process collectives default to
gloo (``jax_cpu_collectives_implementation``), so nothing else is needed.
"""
import functools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from dlcourse import train
from dlcourse.errors import ConfigError

DATA_AXIS = "data"
MODELS_AXIS = "models"   # sweeps (dlcourse.sweep): the K models split over devices


# --- mesh and shardings ----------------------------------------------------------

def data_mesh(devices=None):
  """A 1-D mesh over ``devices`` (default: every device of every process) named ``data``."""
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def sweep_mesh(models, data=1, devices=None):
  """A (models, data) mesh for sweeps: K models split over ``models`` device groups, and
  each model's examples over ``data`` devices. models * data = number of devices.

  On a CPU the "devices" can be cores (``JAX_NUM_CPU_DEVICES=2``): a sweep of tiny models
  is bound by per-operation overheads on one core, and splitting the models over the
  cores runs the halves side by side.
  """
  devices = np.asarray(jax.devices() if devices is None else list(devices))
  if int(models) * int(data) != devices.size:
    raise ConfigError(f"a sweep mesh of {models} x {data} needs {int(models) * int(data)} "
                      f"devices, {devices.size} are available")
  return Mesh(devices.reshape(int(models), int(data)), (MODELS_AXIS, DATA_AXIS))


def column_sharding(mesh):
  """(rows, m) arrays: every row, columns split over the ``data`` axis."""
  return NamedSharding(mesh, P(None, DATA_AXIS))


def replicated(mesh):
  """A full copy on every device (the parameters, the costs)."""
  return NamedSharding(mesh, P())


def check_divisible(m, mesh):
  """ConfigError unless the m examples split evenly over the mesh's ``data`` devices."""
  num_devices = mesh.shape.get(DATA_AXIS, 1)
  if m % num_devices:
    lower, upper = (m // num_devices) * num_devices, (m // num_devices + 1) * num_devices
    raise ConfigError(f"data parallelism splits the m = {m} examples (columns of X) "
                      f"over {num_devices} devices, so m must be a multiple of "
                      f"{num_devices}; use m = {lower} or {upper}, or fewer devices")


def shard_columns(array, mesh):
  """One process holding the whole (rows, m) array: its columns split over the mesh."""
  check_divisible(array.shape[1], mesh)
  return jax.device_put(array, column_sharding(mesh))


def replicate(tree, mesh):
  return jax.device_put(tree, replicated(mesh))


# --- the trainer -----------------------------------------------------------------

_STATIC = ("arch", "num_iterations", "record_every", "method", "dropout_layers")


@functools.lru_cache(maxsize=None)
def _train_gd_on(mesh):
  """``train.train_gd`` jitted to return replicated params and costs on ``mesh``."""
  return jax.jit(train.train_gd, static_argnames=_STATIC, out_shardings=replicated(mesh))


def _place_columns(array, mesh, m):
  """Column-shard an (rows, m) array unless it already is a global array (multi-host)."""
  if isinstance(array, jax.Array) and not array.is_fully_addressable:
    return array
  if array.shape[-1] != m:
    raise ConfigError(f"expected an array with m = {m} columns, got shape {array.shape}")
  return shard_columns(array, mesh)


def train_gd(params, X, Y, learning_rate, *, arch, num_iterations, mesh=None,
             record_every=100, method="manual", lambd=0.0, dropout_layers=(),
             keep_prob=1.0, key=None, fixed_masks=None):
  """``dlcourse.train.train_gd`` data-parallel over ``mesh`` (default: all devices).

  X (n_x, m), Y (1, m) and any fixed dropout masks (n_l, m) are split by columns;
  params, learning rate, lambda, keep_prob and key are replicated. X and Y may be
  host arrays (one process) or global arrays from ``shard_process_columns``.
  Returns a TrainResult whose arrays are replicated on every device.
  Raises ConfigError when m is not a multiple of the number of devices.
  """
  mesh = data_mesh() if mesh is None else mesh
  m = X.shape[1]
  check_divisible(m, mesh)
  X, Y = _place_columns(X, mesh, m), _place_columns(Y, mesh, m)
  if fixed_masks is not None:
    fixed_masks = {l: _place_columns(D, mesh, m) for l, D in fixed_masks.items()}
  params = replicate(params, mesh)
  return _train_gd_on(mesh)(
      params, X, Y, learning_rate, arch=arch, num_iterations=num_iterations,
      record_every=record_every, method=method, lambd=lambd,
      dropout_layers=tuple(dropout_layers), keep_prob=keep_prob, key=key,
      fixed_masks=fixed_masks)


# --- several processes -----------------------------------------------------------

def initialize_distributed(coordinator_address, num_processes, process_id, *,
                           timeout_s=120):
  """``jax.distributed.initialize`` for ``num_processes`` > 1; a no-op (False) for one.

  coordinator_address: "host:port" of process 0, which runs the coordination service.
  Every process calls this with the same address and count and its own id in
  [0, num_processes), before any other JAX call. "auto" leaves all three to JAX's
  cluster detection (Cloud TPU, SLURM, Open MPI, Kubernetes). ``timeout_s`` bounds the
  wait for the other processes (and a dead peer's detection), so a broken launch fails
  instead of hanging.
  """
  if coordinator_address == "auto":
    jax.distributed.initialize(initialization_timeout=int(timeout_s))
    return True
  num_processes, process_id = int(num_processes), int(process_id)
  if num_processes <= 1:
    return False
  if not coordinator_address or ":" not in str(coordinator_address):
    raise ConfigError(f"{num_processes} processes need a coordinator address "
                      f"'host:port', got {coordinator_address!r}")
  if not 0 <= process_id < num_processes:
    raise ConfigError(f"process_id must be in [0, {num_processes}), got {process_id}")
  jax.distributed.initialize(
      coordinator_address=str(coordinator_address), num_processes=num_processes,
      process_id=process_id, initialization_timeout=int(timeout_s),
      heartbeat_timeout_seconds=int(timeout_s), shutdown_timeout_seconds=int(timeout_s))
  return True


def process_columns(mesh, m):
  """The slice of the m columns that this process's devices hold (contiguous).

  A process loads only these columns of its data and passes them to
  ``shard_process_columns``.
  """
  check_divisible(m, mesh)
  index_map = column_sharding(mesh).addressable_devices_indices_map((1, m))
  starts = sorted(index[1].start or 0 for index in index_map.values())
  stops = sorted(m if index[1].stop is None else index[1].stop
                 for index in index_map.values())
  local = slice(starts[0], stops[-1])
  if (local.stop - local.start) != len(index_map) * (m // mesh.shape[DATA_AXIS]):
    raise ConfigError(f"process {jax.process_index()}'s devices hold non-contiguous "
                      f"columns of the {m}; order the mesh's devices by process")
  return local


def shard_process_columns(local_array, mesh, m):
  """A global (rows, m) array from this process's columns ``process_columns(mesh, m)``.

  Each process passes its own (rows, m_local) block; no process ever holds all of X.
  """
  local_array = np.asarray(local_array)
  expected = process_columns(mesh, m)
  if local_array.shape[1] != expected.stop - expected.start:
    raise ConfigError(f"process {jax.process_index()} must pass its "
                      f"{expected.stop - expected.start} columns "
                      f"[{expected.start}, {expected.stop}) of m = {m}, got shape "
                      f"{local_array.shape}")
  return jax.make_array_from_process_local_data(
      column_sharding(mesh), local_array, (local_array.shape[0], m))
