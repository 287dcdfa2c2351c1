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

from dlcourse import arrays, draws, validation
from dlcourse.errors import ConfigError

SCHEMES = ("zeros", "normal", "xavier", "glorot", "he")


def _check(layer_dims, scheme):
  """The scheme is known and layer_dims are >= 2 positive integers; returns them as ints."""
  if scheme not in SCHEMES:
    raise ConfigError(f"unknown initialization {scheme!r}; expected one of {SCHEMES}")
  return validation.layer_sizes(layer_dims)


def _factor(scheme, n_l, n_prev, scale):
  """The scheme's constant, in NumPy as the notebooks compute it (a divisor for xavier,
  a factor otherwise)."""
  if scheme == "normal":
    return scale
  if scheme == "xavier":
    return np.sqrt(n_prev)
  if scheme == "glorot":
    return np.sqrt(2.0 / (n_prev + n_l))
  if scheme == "he":
    return np.sqrt(2.0 / n_prev)
  return 0  # zeros


def _scaled(draw, scheme, factor):
  """Applies the scheme's ``_factor`` to a standard-normal draw, with the floating-point
  operation the notebooks use (``/ np.sqrt(n)`` vs ``* np.sqrt(2/n)``)."""
  return draw / factor if scheme == "xavier" else draw * factor


def initialize(key, layer_dims, scheme="he", *, scale=0.01, dtype=jnp.float32):
  """Params {"W1", "b1", ..., "WL", "bL"} drawn with JAX keys (one per layer), as one
  compiled program; the layers' draws are hashed together (``standard_normals``: the
  same bits as one ``jax.random.normal`` per layer, fewer loops to compile)."""
  layer_dims = tuple(int(n) for n in _check(layer_dims, scheme))
  return _initialize(key, layer_dims, scheme, scale, jnp.dtype(dtype))


@functools.partial(jax.jit, static_argnames=("layer_dims", "scheme", "dtype"))
def _initialize(key, layer_dims, scheme, scale, dtype):
  shapes = [(layer_dims[l], layer_dims[l - 1]) for l in range(1, len(layer_dims))]
  if scheme == "zeros":
    weights = [jnp.zeros(shape, dtype) for shape in shapes]
  else:
    randn = standard_normals(jax.random.split(key, len(shapes)), shapes, dtype)
    weights = [_scaled(draw, scheme, _factor(scheme, n_l, n_prev, scale)).astype(dtype)
               for draw, (n_l, n_prev) in zip(randn, shapes)]
  params = {}
  for l, W in enumerate(weights, start=1):
    params[f"W{l}"] = W
    params[f"b{l}"] = jnp.zeros((layer_dims[l], 1), dtype)
  return params


def standard_normals(keys, shapes, dtype):
  """``[jax.random.normal(k, shape, dtype) for k, shape in zip(keys, shapes)]``, bit for
  bit, with the arrays' uniforms hashed together (``draws.stacked``).

  JAX's normal is the inverse CDF of a uniform: sqrt(2) erfinv(u), u ~ U[nextafter(-1,
  0), 1). The uniforms are drawn stacked; the transform is applied to each array after
  it is cut out, so that the scheme's factor meets sqrt(2) as it does after one draw
  (XLA folds x * sqrt(2) * c into x * (sqrt(2) c), and a masked net's traced rescale
  into the same product: tests/test_initializers_regularization.py checks the bits)."""
  low = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
  uniforms = draws.stacked(lambda k, shape: jax.random.uniform(k, shape, dtype, low, 1.0),
                           keys, shapes)
  return [jax.lax.mul(np.array(np.sqrt(2), dtype), jax.lax.erf_inv(u)) for u in uniforms]


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
      W = _scaled(rng.randn(n_l, n_prev), scheme, _factor(scheme, n_l, n_prev, scale))
    params[f"W{l}"] = arrays.device_array(W, dtype)
    params[f"b{l}"] = arrays.device_zeros((n_l, 1), dtype)
  return params
