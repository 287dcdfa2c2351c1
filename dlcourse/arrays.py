"""Host arrays onto the device in a given dtype, with no compiled program.

``jnp.asarray(x, dtype)`` of a NumPy array runs the conversion on the device, and in
JAX 0.10 that is an eager ``convert_element_type`` compiled once per shape and dtype
(``jnp.asarray(x)`` with no dtype compiles an identity program, ``stage``, the same
way). Each costs 10-50 ms on one CPU core, and a report row met a dozen of them.
``device_array`` converts a host array with NumPy, whose casts round as XLA's do
(IEEE round to nearest), and transfers the result; a JAX array (or a tracer, under
jit) goes through ``jnp.asarray`` as before, so nothing leaves the device.
"""
import jax
import jax.numpy as jnp
import numpy as np


def device_array(x, dtype=None):
  """``x`` as a JAX array of ``dtype`` (canonicalized as JAX does: float64 becomes
  float32 unless ``jax_enable_x64``); ``dtype`` None: x's own (NumPy's for a host
  value), as ``jnp.asarray(x)`` gives. Host values (NumPy arrays, lists, scalars) are
  cast on the host; JAX arrays and tracers are left to ``jnp.asarray``."""
  if isinstance(x, jax.Array):  # tracers are jax.Arrays too
    return jnp.asarray(x, dtype)
  x = np.asarray(x)
  dtype = jax.dtypes.canonicalize_dtype(x.dtype if dtype is None else dtype)
  return jax.device_put(x.astype(dtype, copy=False))


def device_zeros(shape, dtype):
  """``jnp.zeros(shape, dtype)`` made on the host (eager ``jnp.zeros`` compiles a
  ``broadcast_in_dim`` per shape)."""
  return device_array(np.zeros(shape), dtype)


def zeros_like(x):
  """``jnp.zeros_like(x)``; for a concrete array made on the host and put where ``x``
  lives (eager ``jnp.zeros_like`` compiles a ``broadcast_in_dim`` per shape: an
  optimizer's state for six leaves took six programs, ~60 ms). Under jit (a tracer)
  it is jnp's own."""
  if isinstance(x, jax.core.Tracer):
    return jnp.zeros_like(x)
  if isinstance(x, jax.Array):
    return jax.device_put(np.zeros(x.shape, x.dtype), x.sharding)
  return device_zeros(np.shape(x), np.asarray(x).dtype)
