"""Vectorization (Course 1, week 2): the same sums as Python loops and as array operations.

The lecture times ``c = sum_i a_i b_i`` for two vectors of 10^6 elements: a Python
for-loop (about 500 ms) against ``np.dot`` (about 1.5 ms). Here the loop, ``np.dot``,
``jnp.dot`` and a jitted function are timed on the same vectors, and likewise one
logistic-regression gradient (X (n_x, m), Y (1, m), w (n_x, 1), b scalar)::

    z_i = w^T x_i + b,  a_i = sigma(z_i),  dz_i = a_i - y_i
    dw = 1/m sum_i x_i dz_i,  db = 1/m sum_i dz_i        (loop over examples i)
    dZ = sigma(w^T X + b) - Y,  dw = 1/m X dZ^T,  db = 1/m sum dZ   (vectorized)

The loops are slow by design; callers bound them (``loop_dot`` on a prefix and a
linear extrapolation, which holds because the loop does the same work per element).
Timing takes the clock as an argument (default ``time.perf_counter``), so tests can
drive it with a fake one.
"""
import math
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.errors import ConfigError, ShapeError


def loop_dot(a, b):
  """sum_i a_i b_i with a Python for-loop over the elements (the lecture's version)."""
  a, b = np.asarray(a), np.asarray(b)
  if a.shape != b.shape or a.ndim != 1:
    raise ShapeError(f"loop_dot needs two 1-D vectors of one length, got {a.shape}, {b.shape}")
  c = 0.0
  for i in range(a.shape[0]):
    c += a[i] * b[i]
  return float(c)


def numpy_dot(a, b):
  return float(np.dot(a, b))


def jax_dot(a, b):
  """jnp.dot dispatched op by op (no jit), waited for."""
  return jnp.dot(a, b).block_until_ready()


@jax.jit
def _jit_dot(a, b):
  return jnp.dot(a, b)


def jitted_dot(a, b):
  """The same dot product as one compiled program, waited for."""
  return _jit_dot(a, b).block_until_ready()


def _sigmoid(z):
  # 1/(1+exp(-z)) without overflow warnings for very negative z.
  return np.exp(-np.logaddexp(0.0, -z))


def check_logistic(w, b, X, Y):
  X, Y, w = np.asarray(X), np.asarray(Y), np.asarray(w)
  if X.ndim != 2 or Y.shape != (1, X.shape[1]) or w.shape != (X.shape[0], 1):
    raise ShapeError(f"expected X (n_x, m), Y (1, m), w (n_x, 1); got X {X.shape}, "
                     f"Y {Y.shape}, w {w.shape}")
  return w, float(b), X, Y


def logistic_grads_loop(w, b, X, Y):
  """(dw (n_x, 1), db) with explicit loops over the examples and the features, as the
  lecture writes the non-vectorized gradient (dw_j += x_j^(i) dz^(i))."""
  w, b, X, Y = check_logistic(w, b, X, Y)
  n_x, m = X.shape
  dw = [0.0] * n_x
  db = 0.0
  for i in range(m):
    z = b
    for j in range(n_x):
      z += w[j, 0] * X[j, i]
    dz = float(_sigmoid(z)) - Y[0, i]
    for j in range(n_x):
      dw[j] += X[j, i] * dz
    db += dz
  return np.array(dw, dtype=np.float64).reshape(n_x, 1) / m, db / m


def logistic_grads_numpy(w, b, X, Y):
  """(dw, db) vectorized: dZ = sigma(w^T X + b) - Y, dw = X dZ^T / m, db = mean dZ."""
  w, b, X, Y = check_logistic(w, b, X, Y)
  m = X.shape[1]
  dZ = _sigmoid(w.T @ X + b) - Y
  return X @ dZ.T / m, float(np.sum(dZ) / m)


@jax.jit
def logistic_grads_jax(w, b, X, Y):
  """The vectorized gradient in JAX, jitted: (dw (n_x, 1), db)."""
  m = X.shape[1]
  dZ = jax.nn.sigmoid(w.T @ X + b) - Y
  return X @ dZ.T / m, jnp.sum(dZ) / m


class Timing(NamedTuple):
  """Wall seconds of ``repeats`` calls: the best (least disturbed) and the median."""
  best_s: float
  median_s: float
  repeats: int


def time_call(fn, *args, repeats=3, warmup=1, clock: Callable[[], float] = time.perf_counter):
  """Times ``fn(*args)`` ``repeats`` times after ``warmup`` untimed calls (which absorb
  a jit compile and first-touch costs). ``fn`` must return only once its work is done
  (JAX callers block_until_ready)."""
  if int(repeats) < 1 or int(warmup) < 0:
    raise ConfigError(f"repeats must be >= 1 and warmup >= 0, got {repeats}, {warmup}")
  for _ in range(int(warmup)):
    fn(*args)
  samples = []
  for _ in range(int(repeats)):
    start = clock()
    fn(*args)
    samples.append(clock() - start)
  return Timing(float(min(samples)), float(np.median(samples)), int(repeats))


def extrapolate(seconds, measured_n, target_n):
  """Seconds for target_n elements from a loop timed on measured_n (linear cost)."""
  if measured_n < 1:
    raise ConfigError(f"measured_n must be >= 1, got {measured_n}")
  return seconds * target_n / measured_n


def ratio(slow_s, fast_s):
  """slow / fast, or None when fast took no measurable time (JSON has no inf)."""
  return slow_s / fast_s if fast_s > 0 and math.isfinite(slow_s / fast_s) else None


def random_vectors(seed, n):
  """Two float64 vectors of n standard-normal elements from ``seed``."""
  if int(n) < 1:
    raise ConfigError(f"n must be >= 1, got {n}")
  rng = np.random.default_rng(seed)
  return rng.standard_normal(int(n)), rng.standard_normal(int(n))


def random_logistic(seed, n_x, m):
  """w (n_x, 1) ~ N(0, 0.1^2), b ~ N(0, 0.1^2), X (n_x, m) ~ N(0, 1), Y (1, m) in {0, 1}
  (fair coin), float64."""
  if int(n_x) < 1 or int(m) < 1:
    raise ConfigError(f"n_x and m must be >= 1, got {n_x}, {m}")
  rng = np.random.default_rng(seed)
  X = rng.standard_normal((int(n_x), int(m)))
  Y = (rng.uniform(size=(1, int(m))) < 0.5).astype(np.float64)
  w = 0.1 * rng.standard_normal((int(n_x), 1))
  return w, float(0.1 * rng.standard_normal()), X, Y
