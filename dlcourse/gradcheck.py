"""Gradient checking (Course 2, week 1): hand-written vs ``jax.grad`` vs finite differences.

Two-sided finite differences, one coordinate i of theta at a time:
    gradapprox_i = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)
and the course's relative difference between two gradient vectors
    difference = ||g - g'||_2 / (||g||_2 + ||g'||_2).
With eps = 1e-7 in float64, a correct gradient gives a difference around 1e-9 or
less: the truncation error is O(eps^2) and the rounding error O(1e-16 / eps). The
course's rule is: below 1e-7 all is well, above 1e-3 there is almost surely a bug.
We flag above ``threshold`` (2e-7 by default, the course's N-D threshold). A check is
only meaningful in float64; ``check_gradients`` requires it.
"""
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from dlcourse.errors import ConfigError, GradientCheckError

DEFAULT_EPSILON = 1e-7
DEFAULT_THRESHOLD = 2e-7


def relative_difference(g, g_other):
  """||g - g'|| / (||g|| + ||g'||) over all entries of two same-shaped pytrees; 0 if both
  are 0. Computed on the host in NumPy float64 (a check compares a few small vectors)."""
  flat = lambda tree: np.concatenate([np.asarray(leaf, np.float64).ravel()
                                      for leaf in jax.tree.leaves(tree)])
  return _flat_relative_difference(flat(g), flat(g_other))


def _flat_relative_difference(a, b):
  denominator = np.linalg.norm(a) + np.linalg.norm(b)
  return float(np.linalg.norm(a - b) / denominator) if denominator > 0 else 0.0


def finite_difference_gradient(cost_fn: Callable, params, epsilon=DEFAULT_EPSILON,
                               coordinates: Optional[np.ndarray] = None):
  """Two-sided differences of ``cost_fn(params)`` for each coordinate of the flattened params.

  ``coordinates``: indices into the flattened parameter vector to perturb (all when None).
  Entries not perturbed are NaN in the result. Evaluations are batched with ``lax.map``.
  """
  theta, unravel = ravel_pytree(params)
  n = theta.shape[0]
  idx = jnp.arange(n) if coordinates is None else jnp.asarray(coordinates)

  def two_sided(i):
    e = jnp.zeros_like(theta).at[i].set(epsilon)
    return (cost_fn(unravel(theta + e)) - cost_fn(unravel(theta - e))) / (2 * epsilon)

  values = jax.lax.map(jax.jit(two_sided), idx, batch_size=64)
  approx = jnp.full_like(theta, jnp.nan).at[idx].set(values)
  return unravel(approx)


class Comparison(NamedTuple):
  """Relative differences of one pair of gradient sources, overall and per parameter."""
  overall: float
  per_param: dict

  def disagreeing(self, threshold):
    return sorted(name for name, d in self.per_param.items() if d > threshold)


class GradCheckReport(NamedTuple):
  manual_vs_autodiff: Comparison
  manual_vs_numeric: Comparison
  autodiff_vs_numeric: Comparison
  threshold: float

  @property
  def disagreeing(self):
    """Parameters where the hand-written gradient disagrees with autodiff or differences."""
    return sorted(set(self.manual_vs_autodiff.disagreeing(self.threshold))
                  | set(self.manual_vs_numeric.disagreeing(self.threshold)))

  @property
  def passed(self):
    return not self.disagreeing

  def table(self):
    """A plain-text table, one row per parameter, one column per comparison."""
    rows = [f"{'param':>8} {'manual~autodiff':>16} {'manual~numeric':>15} {'autodiff~numeric':>17}"]
    for name in self.manual_vs_autodiff.per_param:
      rows.append(f"{name:>8} {self.manual_vs_autodiff.per_param[name]:16.3e} "
                  f"{self.manual_vs_numeric.per_param[name]:15.3e} "
                  f"{self.autodiff_vs_numeric.per_param[name]:17.3e}")
    rows.append(f"{'overall':>8} {self.manual_vs_autodiff.overall:16.3e} "
                f"{self.manual_vs_numeric.overall:15.3e} {self.autodiff_vs_numeric.overall:17.3e}")
    return "\n".join(rows)


def compare(g, g_other, only=None) -> Comparison:
  """Relative differences overall and per key; ``only`` masks entries (e.g. sampled coords).

  Computed on the host in NumPy float64: a check compares a handful of small vectors,
  and one device dispatch per norm would cost more than the check itself.
  """
  names = list(g)
  host = lambda tree: {k: np.asarray(tree[k], np.float64).ravel() for k in names}
  a, b = host(g), host(g_other)
  if only is not None:
    keep = {k: np.asarray(only[k]).ravel() for k in names}
    a = {k: np.where(keep[k], v, 0.0) for k, v in a.items()}
    b = {k: np.where(keep[k], v, 0.0) for k, v in b.items()}
  per_param = {k: _flat_relative_difference(a[k], b[k]) for k in names}
  overall = _flat_relative_difference(np.concatenate([a[k] for k in names]),
                                      np.concatenate([b[k] for k in names]))
  return Comparison(overall, per_param)


def sample_coordinates(key, params, per_param):
  """Indices into the flattened params: up to ``per_param`` random entries of each leaf.

  Sampling per parameter (not over the whole vector) matters: in a net whose W1 holds
  99 % of the entries, a uniform sample would leave the other parameters unchecked.
  """
  leaves = jax.tree.leaves(params)  # the order ravel_pytree flattens in
  offsets = np.cumsum([0] + [leaf.size for leaf in leaves])
  chosen = []
  for k, (leaf, start) in enumerate(zip(leaves, offsets)):
    if leaf.size <= per_param:
      chosen.append(start + np.arange(leaf.size))
    else:
      picks = jax.random.choice(jax.random.fold_in(key, k), leaf.size, (per_param,),
                                replace=False)
      chosen.append(start + np.sort(np.asarray(picks)))
  return np.concatenate(chosen)


def _three_gradients(cost_fn, manual_grad_fn, params, epsilon, coordinates):
  """(manual, jax.grad, finite differences) as host arrays, from one compiled program:
  a check runs once, so op-by-op dispatch and per-op compiles would dominate it."""
  def gradients(p):
    return (manual_grad_fn(p), jax.grad(cost_fn)(p),
            finite_difference_gradient(cost_fn, p, epsilon, coordinates))
  return jax.tree.map(np.asarray, jax.jit(gradients)(params))


def check_gradients(cost_fn: Callable, manual_grad_fn: Callable, params, *,
                    epsilon=DEFAULT_EPSILON, threshold=DEFAULT_THRESHOLD,
                    max_coordinates=None, key=None, raise_on_failure=False) -> GradCheckReport:
  """Compares ``manual_grad_fn(params)`` with ``jax.grad(cost_fn)`` and finite differences.

  For large nets, ``max_coordinates`` (with an explicit ``key``) perturbs at most that
  many randomly chosen coordinates *of each parameter* (every b and small W whole);
  the finite-difference comparisons then cover those entries only.
  """
  # The dtype ravel_pytree would give the flattened vector, read without running it
  # (op by op it compiled a reshape per leaf and a concatenation).
  dtype = jnp.result_type(*jax.tree.leaves(params))
  if dtype != jnp.float64:
    raise ConfigError("gradient checking needs float64 params (enable jax_enable_x64): "
                      f"got {dtype}, whose rounding swamps eps = {epsilon}")
  coordinates = None
  if max_coordinates is not None:
    if key is None:
      raise ConfigError("sampling coordinates needs an explicit PRNG key")
    coordinates = sample_coordinates(key, params, max_coordinates)
  manual, autodiff, numeric = _three_gradients(cost_fn, manual_grad_fn, params, epsilon,
                                               coordinates)
  sampled = jax.tree.map(lambda x: ~np.isnan(x), numeric)
  numeric = jax.tree.map(lambda x: np.nan_to_num(x, nan=0.0), numeric)
  report = GradCheckReport(
      manual_vs_autodiff=compare(manual, autodiff),
      manual_vs_numeric=compare(manual, numeric, sampled),
      autodiff_vs_numeric=compare(autodiff, numeric, sampled),
      threshold=threshold)
  if raise_on_failure and not report.passed:
    raise GradientCheckError(f"gradients disagree for {report.disagreeing}:\n{report.table()}")
  return report
