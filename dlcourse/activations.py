"""Activations g(Z), each with its hand-derived backward beside it.

Shapes follow the course: ``Z`` and ``A = g(Z)`` are ``(n_l, m)``. Every backward takes
the upstream gradient ``dA`` (same shape) plus the cached ``Z`` and ``A`` and returns
``dZ = dA * g'(Z)`` (or, for softmax, the Jacobian-vector product per column). Using the
cached ``A`` where the derivative is a function of it (sigmoid, tanh, softmax) is the
course's trick: no second evaluation of the exponential.
"""
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

LEAKY_RELU_SLOPE = 0.01


def sigmoid(Z):
  """sigma(Z) = 1 / (1 + exp(-Z)), evaluated without overflow for large |Z|."""
  return jax.nn.sigmoid(Z)


def sigmoid_backward(dA, Z, A):
  """dZ = dA * sigma(Z) * (1 - sigma(Z)) = dA * A * (1 - A)."""
  del Z
  return dA * A * (1 - A)


def tanh(Z):
  """tanh(Z) = (exp(Z) - exp(-Z)) / (exp(Z) + exp(-Z))."""
  return jnp.tanh(Z)


def tanh_backward(dA, Z, A):
  """dZ = dA * (1 - tanh(Z)^2) = dA * (1 - A^2)."""
  del Z
  return dA * (1 - A**2)


def relu(Z):
  """ReLU(Z) = max(0, Z)."""
  return jnp.maximum(Z, 0)


def relu_backward(dA, Z, A):
  """dZ = dA * 1[Z > 0] (the course takes g'(0) = 0)."""
  del A
  return jnp.where(Z > 0, dA, 0)


def leaky_relu(Z):
  """LeakyReLU(Z) = max(0.01 Z, Z)."""
  return jnp.where(Z > 0, Z, LEAKY_RELU_SLOPE * Z)


def leaky_relu_backward(dA, Z, A):
  """dZ = dA * (1 if Z > 0 else 0.01)."""
  del A
  return jnp.where(Z > 0, dA, LEAKY_RELU_SLOPE * dA)


def softmax(Z):
  """softmax(Z)_k = exp(Z_k) / sum_j exp(Z_j), per column (example); max-shifted."""
  Z = Z - jax.lax.stop_gradient(jnp.max(Z, axis=0, keepdims=True))
  E = jnp.exp(Z)
  return E / jnp.sum(E, axis=0, keepdims=True)


def softmax_backward(dA, Z, A):
  """dZ = A * (dA - sum_k dA_k A_k) per column: the Jacobian diag(A) - A A^T times dA."""
  del Z
  return A * (dA - jnp.sum(dA * A, axis=0, keepdims=True))


def linear(Z):
  """Identity output g(Z) = Z (used with the quadratic loss)."""
  return Z


def linear_backward(dA, Z, A):
  """dZ = dA."""
  del Z, A
  return dA


class Activation(NamedTuple):
  forward: Callable
  backward: Callable


ACTIVATIONS = {
    "sigmoid": Activation(sigmoid, sigmoid_backward),
    "tanh": Activation(tanh, tanh_backward),
    "relu": Activation(relu, relu_backward),
    "leaky_relu": Activation(leaky_relu, leaky_relu_backward),
    "softmax": Activation(softmax, softmax_backward),
    "linear": Activation(linear, linear_backward),
}
