"""Weight initializers: W^[l] (n_l, n_{l-1}) and b^[l] = 0 (n_l, 1) for l = 1..L.

| scheme | W^[l] | course |
| --- | --- | --- |
| ``zeros`` | 0 | C2W1 "zeros" (fails to break symmetry) |
| ``normal`` | randn * scale | C1W3/C1W4 (scale 0.01), C2W1 "random" (scale 10) |
| ``xavier`` | randn / sqrt(n_{l-1}) | C1W4 deep net, C2W1 regularization |
| ``glorot`` | randn * sqrt(2 / (n_{l-1} + n_l)) | Glorot & Bengio (2010) |
| ``he`` | randn * sqrt(2 / n_{l-1}) | C2W1 "he", C2W2 |

Two sources of ``randn``:

* ``initialize(key, ...)``: JAX's counter-based PRNG, one key per layer, split from
  an explicit key (never a default one).
* ``course_initialize(seed, ...)``: NumPy's legacy Mersenne Twister seeded once and
  drawn layer by layer, W1 then W2 ..., exactly as the course notebooks do, so the
  published numbers can be reproduced digit for digit. The scale is applied with the
  same floating-point operation the notebooks use (``/ np.sqrt(n)`` vs ``* np.sqrt(2/n)``).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import arrays, validation
from dlcourse.errors import ConfigError

SCHEMES = ("zeros", "normal", "xavier", "glorot", "he")


def _check(layer_dims, scheme):
  """The scheme is known and layer_dims are >= 2 positive integers; returns them as ints."""
  if scheme not in SCHEMES:
    raise ConfigError(f"unknown initialization {scheme!r}; expected one of {SCHEMES}")
  return validation.layer_sizes(layer_dims)


def _scaled(draw, scheme, n_l, n_prev, scale):
  """Applies the scheme's factor to a standard-normal draw, as the notebooks write it."""
  if scheme == "normal":
    return draw * scale
  if scheme == "xavier":
    return draw / np.sqrt(n_prev)
  if scheme == "glorot":
    return draw * np.sqrt(2.0 / (n_prev + n_l))
  if scheme == "he":
    return draw * np.sqrt(2.0 / n_prev)
  return draw * 0  # zeros


def initialize(key, layer_dims, scheme="he", *, scale=0.01, dtype=jnp.float32):
  """Params {"W1", "b1", ..., "WL", "bL"} drawn with JAX keys (one per layer), as one
  compiled program (drawn op by op, each layer's draw and scaling compile on their own)."""
  layer_dims = tuple(int(n) for n in _check(layer_dims, scheme))
  return _initialize(key, layer_dims, scheme, scale, jnp.dtype(dtype))


@functools.partial(jax.jit, static_argnames=("layer_dims", "scheme", "dtype"))
def _initialize(key, layer_dims, scheme, scale, dtype):
  params = {}
  keys = jax.random.split(key, len(layer_dims) - 1)
  for l in range(1, len(layer_dims)):
    n_l, n_prev = int(layer_dims[l]), int(layer_dims[l - 1])
    if scheme == "zeros":
      W = jnp.zeros((n_l, n_prev), dtype)
    else:
      draw = jax.random.normal(keys[l - 1], (n_l, n_prev), dtype)
      W = _scaled(draw, scheme, n_l, n_prev, scale).astype(dtype)
    params[f"W{l}"] = W
    params[f"b{l}"] = jnp.zeros((n_l, 1), dtype)
  return params


def course_initialize(seed, layer_dims, scheme="he", *, scale=0.01, dtype=np.float64):
  """Params drawn as the notebooks do: ``np.random.seed(seed)`` then randn per layer.

  Uses a private ``np.random.RandomState(seed)``, whose stream is the one the legacy
  global ``np.random.seed`` produces, so no global state is touched.
  """
  layer_dims = _check(layer_dims, scheme)
  seed = validation.seed(seed, course_compat=True)
  if np.dtype(dtype) == np.float64 and not jax.config.jax_enable_x64:
    # JAX would silently truncate to float32 and the course's digits would be lost.
    raise ConfigError("course_initialize in float64 needs jax_enable_x64 "
                      "(jax.config.update('jax_enable_x64', True) before creating arrays)")
  rng = np.random.RandomState(seed)
  params = {}
  for l in range(1, len(layer_dims)):
    n_l, n_prev = int(layer_dims[l]), int(layer_dims[l - 1])
    if scheme == "zeros":
      W = np.zeros((n_l, n_prev))
    else:
      W = _scaled(rng.randn(n_l, n_prev), scheme, n_l, n_prev, scale)
    params[f"W{l}"] = arrays.device_array(W, dtype)
    params[f"b{l}"] = arrays.device_zeros((n_l, 1), dtype)
  return params
