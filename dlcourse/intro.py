"""The first lessons: learning pi from circles, the learning rate, the single ReLU neuron.

1. Circle area. The program ``area = 3.14 * r^2`` is replaced by a model with one
   parameter, ``h = theta * x`` with the feature ``x = r^2``, fit to examples by gradient
   descent on the quadratic loss (theta is the variable; X and Y are constants)::

       J(theta) = 1/(2m) sum_i (theta x_i - y_i)^2
       dJ/dtheta = 1/m sum_i (theta x_i - y_i) x_i
       d2J/dtheta2 = 1/m sum_i x_i^2 = c (the curvature)

   Gradient descent ``theta := theta - alpha dJ/dtheta`` moves the error
   ``theta - theta*`` by the factor ``1 - alpha c`` per step, so it converges iff
   ``0 < alpha < 2 / c``. With x = r^2 in [1, 400] on the lesson's table, c = 34003.6
   and alpha must stay below 5.9e-5. Scaling the feature changes c:

   * ``rms``: z = x / s with s = sqrt(mean x^2): c = 1, so any alpha in (0, 2) converges
     and alpha = 1 lands on theta* in one step; the model stays a line through 0.
   * ``standardize``: z = (x - mu) / sigma (the usual standardization). Centring moves
     the origin, so the model needs an intercept: h = w z + b, whose Hessian is the
     identity (mean z = 0, mean z^2 = 1). Back in r^2: theta = w / sigma,
     intercept = b - w mu / sigma (near 0 for areas of circles).

   In every case the model is ``h = w z + b`` with params ``p = [w, b]`` and z the scaled
   feature; ``b`` is held at 0 (its gradient masked) unless the scaling centres z.

2. The learning rate. On any quadratic J(w) = c/2 (w - w*)^2 + J_min each step has
   length ``|alpha c (w_k - w*)|`` and the next one is ``|1 - alpha c|`` times as long:
   the steps shrink with a moderate rate because the gradient shrinks near the minimum;
   with ``alpha c > 2`` each step overshoots the minimum further than the last and the
   steps grow geometrically (divergence).

3. The single ReLU neuron (Course 1, week 1): ``price = max(a * size + b, 0)``, fit with
   the quadratic loss. With z_i = a x_i + b and h_i = max(z_i, 0)::

       dJ/dz_i = 1/m (h_i - y_i) g'(z_i),  g'(z) = 1 if z > 0 else 0
       dJ/da = sum_i dJ/dz_i x_i,          dJ/db = sum_i dJ/dz_i

   max(0, z) has no derivative at z = 0; the convention here (the course's, and
   ``activations.relu_backward``'s, and ``jax.nn.relu``'s) is g'(0) = 0. A neuron whose
   z_i <= 0 for every example gets zero gradient and never moves (a dead unit), so the
   fit starts with the unit active.

Everything here is a pure function of its arguments; randomness comes from an explicit
seed (NumPy ``default_rng``).
"""
import functools
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import arrays
from dlcourse.errors import ConfigError, DataError, ShapeError

# The lesson's training table, radius -> area (area rounded as the lesson prints it).
CIRCLE_RADII = (1.0, 1.4, 2.0, 10.0, 20.0)
CIRCLE_AREAS = (3.14, 6.15, 12.56, 314.0, 1256.0)

SCALINGS = ("none", "rms", "standardize")


# --- data -------------------------------------------------------------------------

def circle_table():
  """The lesson's five (radius, area) pairs as float64 rows r (1, 5), area (1, 5)."""
  return (np.array([CIRCLE_RADII], dtype=np.float64),
          np.array([CIRCLE_AREAS], dtype=np.float64))


def circle_samples(seed, m, noise=0.02, r_max=20.0):
  """m generated circles: r ~ U(0.5, r_max), area = pi r^2 (1 + noise N(0, 1)).

  The noise is relative (a measuring error proportional to the size), so theta* stays
  near pi whatever the radius range. Returns r (1, m), area (1, m) float64.
  """
  if int(m) < 1 or not r_max > 0.5 or noise < 0:
    raise ConfigError(f"circle_samples needs m >= 1, r_max > 0.5, noise >= 0; got m={m}, "
                      f"r_max={r_max}, noise={noise}")
  rng = np.random.default_rng(seed)
  r = rng.uniform(0.5, r_max, size=(1, int(m)))
  area = np.pi * r**2 * (1.0 + noise * rng.standard_normal((1, int(m))))
  return r, area


def area_feature(r):
  """The model's feature x = r^2 (1, m)."""
  r = np.asarray(r, dtype=np.float64)
  if r.ndim != 2 or r.shape[0] != 1:
    raise ShapeError(f"radii must have shape (1, m), got {r.shape}")
  return r**2


class Scaling(NamedTuple):
  """z = (x - mu) / s; ``centred`` says whether the model then needs an intercept."""
  kind: str
  mu: float
  s: float

  @property
  def centred(self):
    return self.kind == "standardize"


def fit_scaling(x, kind):
  """The scaling of a (1, m) feature: none (mu 0, s 1), rms (mu 0, s = sqrt(mean x^2))
  or standardize (mu = mean x, s = std x)."""
  x = np.asarray(x, dtype=np.float64)
  if kind not in SCALINGS:
    raise ConfigError(f"unknown scaling {kind!r}; expected one of {SCALINGS}")
  if kind == "none":
    return Scaling(kind, 0.0, 1.0)
  if kind == "rms":
    s = float(np.sqrt(np.mean(x**2)))
    return Scaling(kind, 0.0, s if s > 0 else 1.0)
  s = float(np.std(x))
  if not s > 0:
    raise DataError("cannot standardize a constant feature (its std is 0)")
  return Scaling(kind, float(np.mean(x)), s)


def apply_scaling(x, scaling):
  return (np.asarray(x, dtype=np.float64) - scaling.mu) / scaling.s


def intercept_mask(scaling):
  """[1, 1] when the intercept is learnt (centred z), [1, 0] otherwise (b stays 0)."""
  return np.array([1.0, 1.0 if scaling.centred else 0.0])


def to_theta(p, scaling):
  """(theta, intercept) of area = theta r^2 + intercept from params [w, b] on z."""
  w, b = float(p[0]), float(p[1])
  return w / scaling.s, b - w * scaling.mu / scaling.s


# --- the quadratic-loss line h = w z + b ------------------------------------------

def line_predict(p, z):
  """h = w z + b for params p = [w, b] and features z (1, m)."""
  return p[0] * z + p[1]


def line_cost(p, z, y, mask=None):
  """J(w, b) = 1/(2m) sum (w z_i + b - y_i)^2. ``mask`` is unused (same signature as
  ``line_grads``, so the two can be handed to ``descend`` together)."""
  del mask
  m = z.shape[-1]
  return jnp.sum((line_predict(p, z) - y) ** 2) / (2 * m)


def line_grads(p, z, y, mask):
  """Hand-derived [dJ/dw, dJ/db] = 1/m [sum (h - y) z, sum (h - y)], times ``mask``
  (``mask[1] = 0`` keeps b fixed: the model then has no intercept)."""
  m = z.shape[-1]
  e = line_predict(p, z) - y
  return jnp.stack([jnp.sum(e * z) / m, jnp.sum(e) / m]) * mask


def line_curvature(z, mask):
  """The largest curvature of J along the learnt directions: the top eigenvalue of the
  Hessian [[mean z^2, mean z], [mean z, 1]] restricted by ``mask``. GD converges iff
  alpha < 2 / this."""
  z = np.asarray(z, dtype=np.float64)
  if mask[1] == 0:
    return float(np.mean(z**2))
  H = np.array([[np.mean(z**2), np.mean(z)], [np.mean(z), 1.0]])
  return float(np.linalg.eigvalsh(H)[-1])


def line_optimum(z, y, mask):
  """The exact least-squares [w*, b*] (b* = 0 without intercept), for reference."""
  z, y = np.ravel(np.asarray(z, np.float64)), np.ravel(np.asarray(y, np.float64))
  if mask[1] == 0:
    return np.array([np.dot(z, y) / np.dot(z, z), 0.0])
  A = np.stack([z, np.ones_like(z)], axis=1)
  return np.linalg.lstsq(A, y, rcond=None)[0]


# --- the 1-D quadratic of the learning-rate lesson ---------------------------------

def bowl_cost(p, c, w_star, j_min):
  """J(w) = c/2 (w - w*)^2 + J_min for p = [w]."""
  return 0.5 * c * (p[0] - w_star) ** 2 + j_min


def bowl_grads(p, c, w_star, j_min):
  """dJ/dw = c (w - w*), as a (1,) vector like p."""
  del j_min
  return jnp.stack([c * (p[0] - w_star)])


def step_ratio(learning_rate, curvature):
  """|1 - alpha c|: each step's length over the previous one's on a quadratic."""
  return abs(1.0 - learning_rate * curvature)


# --- the ReLU neuron ----------------------------------------------------------------

def neuron_predict(p, x):
  """price = max(a x + b, 0) for p = [a, b] and x (1, m)."""
  return jnp.maximum(p[0] * x + p[1], 0.0)


def neuron_cost(p, x, y):
  """J(a, b) = 1/(2m) sum (max(a x_i + b, 0) - y_i)^2.

  Written with ``jax.nn.relu``, whose derivative at 0 is defined as 0 (the convention
  of ``neuron_grads``); ``jnp.maximum(z, 0)`` would give jax.grad 1/2 there.
  """
  m = x.shape[-1]
  return jnp.sum((jax.nn.relu(p[0] * x + p[1]) - y) ** 2) / (2 * m)


def neuron_grads(p, x, y):
  """Hand-derived [dJ/da, dJ/db]: dz_i = (h_i - y_i) 1[z_i > 0] (g'(0) = 0), then
  dJ/da = 1/m sum dz_i x_i, dJ/db = 1/m sum dz_i."""
  m = x.shape[-1]
  z = p[0] * x + p[1]
  dz = jnp.where(z > 0, jnp.maximum(z, 0.0) - y, 0.0)
  return jnp.stack([jnp.sum(dz * x) / m, jnp.sum(dz) / m])


def neuron_in_units(p, mu, s):
  """(a, b) of max(a size + b, 0) from params fit on the standardized z = (size-mu)/s."""
  a, b = float(p[0]), float(p[1])
  return a / s, b - a * mu / s


def houses(seed, m):
  """m generated houses (the lecture's features) and their prices, from ``seed``.

  size (m^2) ~ U(20, 250); bedrooms = clip(round(size / 45 + N(0, 0.6)), 1, 6);
  zip = district index 0..4 (0 outskirts .. 4 centre: one ordered number stands in for
  the zip code); wealth = median household income of the district in k$,
  30 + 12 zip + N(0, 8), at least 10. The price in k$ follows the lecture's picture
  (size and bedrooms -> family size, zip -> walkability, zip and wealth -> school
  quality), passed through a ReLU as in its one-neuron picture (a price is never
  negative), plus noise::

      price = max(max(2.5 size + 12 bedrooms + 25 zip + 2 wealth - 300, 0) + N(0, 15), 0)

  Returns (features dict of (1, m) float64 rows, price (1, m)).
  """
  if int(m) < 2:
    raise ConfigError(f"houses needs m >= 2, got {m}")
  rng = np.random.default_rng(seed)
  shape = (1, int(m))
  size = rng.uniform(20.0, 250.0, shape)
  bedrooms = np.clip(np.round(size / 45.0 + rng.normal(0.0, 0.6, shape)), 1, 6)
  zip_index = rng.integers(0, 5, shape).astype(np.float64)
  wealth = np.maximum(30.0 + 12.0 * zip_index + rng.normal(0.0, 8.0, shape), 10.0)
  value = np.maximum(2.5 * size + 12.0 * bedrooms + 25.0 * zip_index + 2.0 * wealth - 300.0,
                     0.0)
  price = np.maximum(value + rng.normal(0.0, 15.0, shape), 0.0)
  features = {"size": size, "bedrooms": bedrooms, "zip": zip_index, "wealth": wealth}
  return features, price


# --- gradient descent with divergence detection --------------------------------------

class Descent(NamedTuple):
  """A gradient-descent path, cut where it blew up.

  params (k+1, P): p_0 .. p_k; costs (k+1,): J(p_0) .. J(p_k); step_lengths (k,):
  ||p_{i+1} - p_i||; diverged: the cost ended above where it started or blew up;
  blew_up_at: the first step whose cost was non-finite or above ``blowup * J(p_0)``
  (the path stops there), or None.
  """
  params: np.ndarray
  costs: np.ndarray
  step_lengths: np.ndarray
  diverged: bool
  blew_up_at: Optional[int]


@functools.partial(jax.jit, static_argnames=("cost_fn", "grad_fn", "num_steps"))
def _descent_path(p0, learning_rate, data, *, cost_fn, grad_fn, num_steps):
  """p_{i+1} = p_i - alpha grad(p_i) for i < num_steps, as one lax.scan; returns the
  (num_steps+1, P) params and (num_steps+1,) costs (NaN/inf are left for the host)."""
  def step(p, _):
    p_next = p - learning_rate * grad_fn(p, *data)
    return p_next, (p_next, cost_fn(p_next, *data))

  _, (ps, js) = jax.lax.scan(step, p0, None, length=num_steps)
  return (jnp.concatenate([p0[None], ps]),
          jnp.concatenate([jnp.reshape(cost_fn(p0, *data), (1,)), js]))


def blowup_step(costs, params, blowup):
  """First index whose cost or params are non-finite or whose cost exceeds
  ``blowup * costs[0]``; None when there is none."""
  costs, params = np.asarray(costs, np.float64), np.asarray(params, np.float64)
  bad = ~np.isfinite(costs) | ~np.all(np.isfinite(params), axis=1)
  if np.isfinite(costs[0]):
    with np.errstate(invalid="ignore"):
      bad |= costs > blowup * max(abs(costs[0]), np.finfo(np.float64).tiny)
  hits = np.flatnonzero(bad)
  return int(hits[0]) if hits.size else None


def descend(cost_fn, grad_fn, p0, learning_rate, num_steps, data, *, blowup=1e8):
  """Gradient descent from p0 for num_steps steps on ``cost_fn(p, *data)`` with the
  gradient ``grad_fn(p, *data)``; returns a ``Descent`` (host NumPy arrays).

  Divergence is detected, never raised: the path is cut at the first non-finite or
  blown-up cost (kept when it is finite, so the plot shows the blow-up), and
  ``diverged`` is True when the last kept cost is above the first.
  """
  if not float(learning_rate) > 0:
    raise ConfigError(f"learning_rate must be > 0, got {learning_rate}")
  if int(num_steps) < 1:
    raise ConfigError(f"num_steps must be >= 1, got {num_steps}")
  # p0 converted on the host: jnp.asarray of a NumPy array compiles a program of its own.
  p0 = arrays.device_array(p0)
  ps, js = _descent_path(p0, learning_rate, tuple(data), cost_fn=cost_fn,
                         grad_fn=grad_fn, num_steps=int(num_steps))
  ps, js = np.asarray(ps, np.float64), np.asarray(js, np.float64)
  cut = blowup_step(js, ps, blowup)
  if cut is not None:
    finite = np.isfinite(js[cut]) and np.all(np.isfinite(ps[cut]))
    keep = cut + 1 if finite else cut
    ps, js = ps[:max(keep, 1)], js[:max(keep, 1)]
  steps = np.linalg.norm(np.diff(ps, axis=0), axis=1)
  diverged = cut is not None or bool(js[-1] > js[0])
  return Descent(ps, js, steps, diverged, cut)


def descent_summary(descent, *, max_steps_listed=20):
  """JSON-ready facts of a Descent: final cost, the first step lengths, the measured
  ratio of successive step lengths (geometric mean over the recorded steps), diverged."""
  steps = descent.step_lengths
  positive = steps[steps > 0]
  ratio = (float(np.exp(np.mean(np.diff(np.log(positive))))) if positive.size > 1 else None)
  return {
      "final_cost": float(descent.costs[-1]),
      "initial_cost": float(descent.costs[0]),
      "steps_run": int(len(steps)),
      "step_lengths": [float(s) for s in steps[:max_steps_listed]],
      "step_length_ratio": ratio,
      "diverged": bool(descent.diverged),
      "blew_up_at": descent.blew_up_at,
  }
