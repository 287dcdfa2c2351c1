"""Logistic regression (Course 1, week 2) as the one-layer case of the dense net.

The course writes a = sigma(w^T x + b) with w: (n_x, 1). Here W1 = w^T: (1, n_x) and
b1 = b: (1, 1), so the forward, the cost and the hand-derived backward
    dw = (1/m) X (A - Y)^T,   db = (1/m) sum (A - Y)
are exactly those of ``dlcourse.models.dense`` with layer_dims [n_x, 1] and a sigmoid
output: one formula, one place.
"""
import jax.numpy as jnp

from dlcourse import arrays
from dlcourse.models.dense import Architecture


def architecture(n_x):
  return Architecture((n_x, 1), ("sigmoid",))


def initialize_zeros(n_x, dtype=jnp.float32):
  """The course's initialize_with_zeros: w = 0 (as W1 = w^T), b = 0."""
  return {"W1": arrays.device_zeros((1, n_x), dtype), "b1": arrays.device_zeros((1, 1), dtype)}


def to_course(params):
  """(w (n_x, 1), b scalar) in the notebook's notation."""
  return params["W1"].T, params["b1"][0, 0]
