"""What every experiment does between loading data and writing files (no I/O here).

* precision: ``course_compat`` runs in float64 with the course's NumPy initializer;
  otherwise float32 with JAX keys, unless the config asks for float64.
* ``fit_gd``: validates inputs, compiles the full-batch loop ahead of time (so compile
  and run are timed apart), runs it, and returns a result record.
"""
import contextlib
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import initializers, train, validation
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError
from dlcourse.models import dense


def uses_float64(config):
  return bool(config.get("course_compat", False)) or config.get("dtype", "float32") == "float64"


def precision(config):
  """Context that enables float64 for course-compatible (or float64) runs only."""
  return jax.enable_x64(True) if uses_float64(config) else contextlib.nullcontext()


def float_dtype(config):
  return jnp.float64 if uses_float64(config) else jnp.float32


def init_params(config, layer_dims, scheme, scale=None):
  """Course initializer (NumPy seed, float64) or JAX keys (``jax.random.key(seed)``)."""
  if config.get("course_compat", False):
    return initializers.course_initialize(config.seed, layer_dims, scheme, scale=scale or 0.01)
  return initializers.initialize(jax.random.key(config.seed), layer_dims, scheme, scale=scale or 0.01,
                                 dtype=float_dtype(config))


def check_learning_rate(learning_rate):
  if not float(learning_rate) > 0:
    raise ConfigError(f"learning_rate must be > 0, got {learning_rate}")


class FitResult(NamedTuple):
  params: dict
  costs: list            # [[iteration, cost], ...]
  compile_s: float
  train_s: float


def fit_gd(config, arch, params, X, Y, *, lambd=0.0, dropout_layers=(), keep_prob=1.0,
           fixed_masks=None, key=None):
  """Full-batch GD for ``config.num_iterations`` at ``config.learning_rate``, timed."""
  check_learning_rate(config.learning_rate)
  if int(config.num_iterations) < 1:
    raise ConfigError(f"num_iterations must be >= 1, got {config.num_iterations}")
  validation.check_layer_dims(arch.layer_dims, X.shape[0], arch.layer_dims[-1])
  dense.check_params(params, arch)
  reg.check_lambd(lambd)
  if dropout_layers:
    reg.check_dropout(keep_prob, dropout_layers, arch.num_layers)
  dtype = float_dtype(config)
  X, Y = jnp.asarray(X, dtype), jnp.asarray(Y, dtype)
  static = dict(arch=arch, num_iterations=int(config.num_iterations),
                record_every=int(config.record_every), method=config.get("method", "manual"),
                dropout_layers=tuple(dropout_layers))
  dynamic = dict(lambd=lambd, keep_prob=keep_prob, key=key, fixed_masks=fixed_masks)
  start = time.perf_counter()
  compiled = train.train_gd_jit.lower(params, X, Y, config.learning_rate, **static,
                                      **dynamic).compile()
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  result = compiled(params, X, Y, config.learning_rate, **dynamic)
  costs = np.asarray(jax.block_until_ready(result.costs))
  train_s = time.perf_counter() - start
  its = train.recorded_iterations(static["num_iterations"], static["record_every"])
  return FitResult(result.params, [[int(i), float(c)] for i, c in zip(its, costs)],
                   compile_s, train_s)


def accuracy(params, X, Y, arch, config):
  """Accuracy as a Python float in [0, 1]."""
  dtype = float_dtype(config)
  return float(dense.accuracy(params, jnp.asarray(X, dtype), jnp.asarray(Y, dtype), arch))


def result_record(config, fit, train_accuracy, test_accuracy, **extra):
  """The result.json record every experiment writes."""
  record = {
      "config": config.to_dict(),
      "costs": fit.costs,
      "train_accuracy": train_accuracy,
      "test_accuracy": test_accuracy,
      "timings": {"compile_s": round(fit.compile_s, 4), "train_s": round(fit.train_s, 4)},
      "versions": {"jax": jax.__version__, "backend": jax.default_backend()},
  }
  record.update(extra)
  return record
