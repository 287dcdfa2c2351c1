"""Data-parallel runs in a fresh process: JAX fixes its device count at start-up, so
simulated CPU devices need a process of their own (``tests/test_parallel.py`` starts it).

  python tests/_multihost_worker.py single OUT.npz
      8 simulated devices in one process: the data-parallel run and the one-device run
      of the same problem, in float32 and float64, plus the error for m % 8 != 0.
  python tests/_multihost_worker.py process OUT.npz --coordinator 127.0.0.1:PORT \\
      --num_processes 2 --process_id I --local_devices 4
      one of several processes: each feeds only its own columns of X; process 0 writes
      the (replicated) result.

The problem (``problem()``) is plain NumPy so that the test can build the same one.
"""
import argparse
import os
import sys

import numpy as np

LAYER_DIMS = (6, 5, 3, 1)
M = 64                 # examples: a multiple of 8 devices
NUM_ITERATIONS = 40
RECORD_EVERY = 10
LEARNING_RATE = 0.5
LAMBD = 0.05
DTYPES = ("float32", "float64")


def problem():
  """X (6, 64), Y (1, 64) (a noisy XOR of the first two features) and He-scaled params,
  all float64 NumPy from RandomState(0)."""
  rng = np.random.RandomState(0)
  X = rng.randn(LAYER_DIMS[0], M)
  Y = ((X[0] * X[1] + 0.3 * rng.randn(M)) > 0).astype(np.float64).reshape(1, M)
  params = {}
  for l in range(1, len(LAYER_DIMS)):
    n_l, n_prev = LAYER_DIMS[l], LAYER_DIMS[l - 1]
    params[f"W{l}"] = rng.randn(n_l, n_prev) * np.sqrt(2.0 / n_prev)
    params[f"b{l}"] = np.zeros((n_l, 1))
  return X, Y, params


def as_dtype(tree, dtype):
  return {k: np.asarray(v, dtype) for k, v in tree.items()}


def _flatten(prefix, result):
  out = {f"{prefix}/costs": np.asarray(result.costs)}
  out.update({f"{prefix}/{k}": np.asarray(v) for k, v in result.params.items()})
  return out


def run_single(out_path):
  os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
  import jax
  jax.config.update("jax_enable_x64", True)
  from dlcourse import parallel, train
  from dlcourse.errors import ConfigError
  from dlcourse.models import dense

  arch = dense.Architecture.make(LAYER_DIMS)
  X, Y, params = problem()
  mesh = parallel.data_mesh()
  out = {"num_devices": np.array(len(jax.devices()))}
  kwargs = dict(arch=arch, num_iterations=NUM_ITERATIONS, record_every=RECORD_EVERY,
                lambd=LAMBD)
  one = jax.devices()[0]
  for dtype in DTYPES:
    p, x, y = as_dtype(params, dtype), X.astype(dtype), Y.astype(dtype)
    single = train.train_gd_jit(jax.device_put(p, one), jax.device_put(x, one),
                                jax.device_put(y, one), LEARNING_RATE, **kwargs)
    sharded = parallel.train_gd(p, x, y, LEARNING_RATE, mesh=mesh, **kwargs)
    out.update(_flatten(f"{dtype}/single", single))
    out.update(_flatten(f"{dtype}/parallel", sharded))
    out[f"{dtype}/replicated"] = np.array(all(
        leaf.sharding.is_fully_replicated for leaf in jax.tree.leaves(sharded)))
  # The data really is split: each device holds m / 8 columns, and the compiled
  # program (the one just run: jit's cache hands back the same executable) sums the
  # gradients across devices.
  x_sharded = parallel.shard_columns(X, mesh)
  out["shard_shapes"] = np.array([s.data.shape for s in x_sharded.addressable_shards])
  lowered = parallel._train_gd_on(mesh).lower(
      parallel.replicate(params, mesh), x_sharded, parallel.shard_columns(Y, mesh),
      LEARNING_RATE, **kwargs)
  out["has_all_reduce"] = np.array("all-reduce" in lowered.compile().as_text())
  # Dropout with fresh masks: the masks are generated inside the program, and JAX's
  # partitionable threefry gives the same bits however they are sharded.
  drop = dict(kwargs, dropout_layers=(1, 2), keep_prob=0.8, key=jax.random.key(3))
  out.update(_flatten("dropout/single", train.train_gd_jit(params, X, Y, LEARNING_RATE,
                                                           **drop)))
  out.update(_flatten("dropout/parallel", parallel.train_gd(params, X, Y, LEARNING_RATE,
                                                            mesh=mesh, **drop)))
  # Sweeps on meshes: models split 4 ways and examples 2 ways, then examples 8 ways.
  from dlcourse import sweep
  hypers = sweep.grid(learning_rate=(0.1, 0.3, 0.5, 0.7), lambd=(0.0, 0.1))
  sweep_args = (arch, hypers, X, Y, X, Y)
  sweep_kwargs = dict(num_iterations=NUM_ITERATIONS, record_every=RECORD_EVERY,
                      dtype=jax.numpy.float64, first_layer="primal")
  for name, sweep_on in (("one", None), ("models4_data2", parallel.sweep_mesh(4, 2)),
                         ("data8", mesh)):
    result = sweep.run_sweep(*sweep_args, mesh=sweep_on, **sweep_kwargs)
    out[f"sweep/{name}/W1"] = np.asarray(result.params["W1"])
    out[f"sweep/{name}/costs"] = result.costs
    out[f"sweep/{name}/dev"] = result.dev_accuracy
    out[f"sweep/{name}/shard"] = np.array(result.params["W1"].addressable_shards[0].data.shape)
  try:
    parallel.train_gd(params, X[:, :60], Y[:, :60], LEARNING_RATE, mesh=mesh, **kwargs)
    out["config_error"] = np.array("")
  except ConfigError as error:
    out["config_error"] = np.array(str(error))
  np.savez(out_path, **out)


def run_process(out_path, coordinator, num_processes, process_id, local_devices):
  os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={local_devices}"
  import jax
  jax.config.update("jax_enable_x64", True)
  from dlcourse import parallel
  from dlcourse.models import dense

  parallel.initialize_distributed(coordinator, num_processes, process_id, timeout_s=30)
  arch = dense.Architecture.make(LAYER_DIMS)
  X, Y, params = problem()
  mesh = parallel.data_mesh()
  columns = parallel.process_columns(mesh, M)
  out = {"num_devices": np.array(len(jax.devices())),
         "local_devices": np.array(len(jax.local_devices())),
         "process_columns": np.array([columns.start, columns.stop])}
  for dtype in DTYPES:
    # Only this process's columns ever leave NumPy here.
    x_local, y_local = X[:, columns].astype(dtype), Y[:, columns].astype(dtype)
    x = parallel.shard_process_columns(x_local, mesh, M)
    y = parallel.shard_process_columns(y_local, mesh, M)
    result = parallel.train_gd(as_dtype(params, dtype), x, y, LEARNING_RATE, mesh=mesh,
                               arch=arch, num_iterations=NUM_ITERATIONS,
                               record_every=RECORD_EVERY, lambd=LAMBD)
    out.update(_flatten(f"{dtype}/parallel", result))
  if jax.process_index() == 0:
    np.savez(out_path, **out)
  jax.distributed.shutdown()


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("mode", choices=("single", "process"))
  parser.add_argument("out")
  parser.add_argument("--coordinator", default="")
  parser.add_argument("--num_processes", type=int, default=1)
  parser.add_argument("--process_id", type=int, default=0)
  parser.add_argument("--local_devices", type=int, default=4)
  args = parser.parse_args(argv)
  if args.mode == "single":
    run_single(args.out)
  else:
    run_process(args.out, args.coordinator, args.num_processes, args.process_id,
                args.local_devices)


if __name__ == "__main__":
  main(sys.argv[1:])
