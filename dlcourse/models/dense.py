"""The L-layer dense network with its hand-derived backward (Course 1, weeks 3-4).

Notation (course): X = A^[0] is (n_x, m); for l = 1..L
    Z^[l] = W^[l] A^[l-1] + b^[l]      W^[l]: (n_l, n_{l-1}), b^[l]: (n_l, 1)
    A^[l] = g^[l](Z^[l])               (n_l, m)
and the cost J(Z^[L], Y) is the loss paired with g^[L] (see ``dlcourse.losses``).
Backward, with dZ^[L] = A^[L] - Y and for l = L..1:
    dW^[l] = (1/m) dZ^[l] A^[l-1]^T  (+ (lambda/m) W^[l] with L2)
    db^[l] = (1/m) sum_columns dZ^[l]
    dA^[l-1] = W^[l]^T dZ^[l]          (then * D^[l-1] / keep_prob with dropout)
    dZ^[l-1] = dA^[l-1] * g^[l-1]'(Z^[l-1])
Params are a dict pytree {"W1", "b1", ..., "WL", "bL"}; grads have the same keys.
A one-layer net with a sigmoid output is logistic regression (w = W1^T).
"""
import dataclasses
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import regularization as reg
from dlcourse import validation
from dlcourse.activations import ACTIVATIONS
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.losses import LOSS_FOR_OUTPUT, LOSSES, output_dZ


@dataclasses.dataclass(frozen=True)
class Architecture:
  """Layer sizes [n_x, n_1, ..., n_L] and one activation name per layer 1..L.

  Hashable, so it is a static argument of jitted functions. The output activation
  fixes the loss: sigmoid -> binary cross-entropy, softmax -> softmax cross-entropy,
  linear -> quadratic.
  """
  layer_dims: tuple
  activations: tuple

  def __post_init__(self):
    object.__setattr__(self, "layer_dims", tuple(int(n) for n in self.layer_dims))
    object.__setattr__(self, "activations", tuple(self.activations))
    if len(self.layer_dims) < 2 or min(self.layer_dims) < 1:
      raise ConfigError(f"layer_dims must hold >= 2 positive sizes, got {self.layer_dims}")
    if len(self.activations) != len(self.layer_dims) - 1:
      raise ConfigError(f"{len(self.layer_dims) - 1} layers need as many activations, "
                        f"got {len(self.activations)}: {self.activations}")
    for name in self.activations:
      if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; expected one of {tuple(ACTIVATIONS)}")
    if self.activations[-1] not in LOSS_FOR_OUTPUT:
      raise ConfigError(f"output activation {self.activations[-1]!r} has no paired loss; "
                        f"use one of {tuple(LOSS_FOR_OUTPUT)}")

  @classmethod
  def make(cls, layer_dims, hidden="relu", output="sigmoid"):
    """The course's usual net: ``hidden`` on layers 1..L-1, ``output`` on layer L."""
    L = len(layer_dims) - 1
    return cls(tuple(layer_dims), (hidden,) * (L - 1) + (output,))

  @property
  def num_layers(self):
    return len(self.layer_dims) - 1

  @property
  def loss_name(self):
    return LOSS_FOR_OUTPUT[self.activations[-1]]


class LayerCache(NamedTuple):
  """What layer l's backward needs: its input A^[l-1] (after any dropout), Z^[l],
  A^[l] = g(Z^[l]) (before dropout) and the dropout mask D^[l] (or None)."""
  A_prev: jax.Array
  Z: jax.Array
  A: jax.Array
  D: Optional[jax.Array]


def check_params(params, arch):
  """Raises ShapeError unless params hold W^[l] (n_l, n_{l-1}) and b^[l] (n_l, 1)."""
  expected = {}
  for l in range(1, arch.num_layers + 1):
    expected[f"W{l}"] = (arch.layer_dims[l], arch.layer_dims[l - 1])
    expected[f"b{l}"] = (arch.layer_dims[l], 1)
  if set(params) != set(expected):
    raise ShapeError(f"params keys {sorted(params)} do not match the architecture's "
                     f"{sorted(expected)}")
  for name, shape in expected.items():
    if tuple(params[name].shape) != shape:
      raise ShapeError(f"{name} has shape {tuple(params[name].shape)}, expected {shape} "
                       f"for layer_dims {arch.layer_dims}")


def check_data(X, Y, arch, *, name=""):
  """Checks (X, Y) against the architecture on the host, before anything is compiled.

  X: finite, non-empty (n_x, m) with n_x = layer_dims[0]. Y: labels in {0, 1} as (1, m)
  for a sigmoid output; a (1, m) label row in [0, K) or a (K, m) one-hot matrix for a
  softmax output of K units; finite (n_L, m) targets for a linear output. Raises
  DataError / ShapeError (from ``dlcourse.validation``) naming what is wrong.
  """
  output = arch.activations[-1]
  if output == "sigmoid":
    X, Y = validation.check_xy(X, Y, name=name)
  elif output == "softmax":
    X, Y = validation.check_xy(X, Y, num_classes=arch.layer_dims[-1], name=name)
  else:
    X = validation.check_features(X, name=name)
    validation.check_features(Y, name=f"{name} targets" if name else "targets")
    if np.shape(Y) != (arch.layer_dims[-1], X.shape[1]):
      raise ShapeError(f"expected targets Y of shape {(arch.layer_dims[-1], X.shape[1])}, "
                       f"got {np.shape(Y)}")
  validation.check_layer_dims(arch.layer_dims, X.shape[0], arch.layer_dims[-1])
  return X, Y


# --- one layer --------------------------------------------------------------------

def linear_forward(A_prev, W, b):
  """Z = W A_prev + b: (n_l, n_{l-1}) @ (n_{l-1}, m) + (n_l, 1) -> (n_l, m)."""
  return W @ A_prev + b


def linear_backward(dZ, A_prev, W):
  """Given m * dJ/dZ (the course's dZ), returns (dA_prev, dW, db).

  dW = (1/m) dZ A_prev^T, db = (1/m) sum_columns dZ, dA_prev = W^T dZ. The 1/m of the
  averaged cost is applied here, once, as in the course.
  """
  m = A_prev.shape[1]
  dW = (dZ @ A_prev.T) / m
  db = jnp.sum(dZ, axis=1, keepdims=True) / m
  dA_prev = W.T @ dZ
  return dA_prev, dW, db


def layer_forward(A_prev, W, b, activation):
  """(A, Z) with Z = W A_prev + b and A = g(Z)."""
  Z = linear_forward(A_prev, W, b)
  return ACTIVATIONS[activation].forward(Z), Z


def layer_backward(dA, cache, W, activation):
  """(dA_prev, dW, db) for A = g(W A_prev + b), from dA (already dropout-masked)."""
  dZ = ACTIVATIONS[activation].backward(dA, cache.Z, cache.A)
  return linear_backward(dZ, cache.A_prev, W)


# --- the whole net ----------------------------------------------------------------

def forward(params, X, arch, dropout=None):
  """Returns (A^[L], caches) with one LayerCache per layer.

  ``dropout``: a ``regularization.Dropout`` whose masks (keyed by layer) are applied
  to those layers' outputs; None at prediction time.
  """
  A = X
  caches = []
  for l, activation in enumerate(arch.activations, start=1):
    A_out, Z = layer_forward(A, params[f"W{l}"], params[f"b{l}"], activation)
    D = None if dropout is None else dropout.masks.get(l)
    caches.append(LayerCache(A, Z, A_out, D))
    A = A_out if D is None else reg.dropout_forward(A_out, D, dropout.keep_prob)
  return A, caches


def _uses_l2(lambd):
  # A Python 0 skips the term entirely (no multiply in the compiled graph); a traced
  # lambda (a vmapped sweep) always takes it.
  return not (isinstance(lambd, (int, float)) and lambd == 0)


def backward(params, Y, AL, caches, arch, lambd=0.0, dropout=None):
  """Hand-derived gradients of the (regularized) cost; same keys as params."""
  m = Y.shape[1]
  grads = {}
  dZ = output_dZ(AL, Y)
  for l in range(arch.num_layers, 0, -1):
    cache = caches[l - 1]
    W = params[f"W{l}"]
    dA_prev, dW, db = linear_backward(dZ, cache.A_prev, W)
    if _uses_l2(lambd):
      dW = dW + reg.l2_backward(W, lambd, m)
    grads[f"W{l}"], grads[f"b{l}"] = dW, db
    if l > 1:
      prev = caches[l - 2]
      if prev.D is not None:
        dA_prev = reg.dropout_backward(dA_prev, prev.D, dropout.keep_prob)
      dZ = ACTIVATIONS[arch.activations[l - 2]].backward(dA_prev, prev.Z, prev.A)
  return grads


def cost_from_caches(params, Y, caches, arch, lambd=0.0):
  """J = loss(Z^[L], Y) (+ the L2 term), reusing the forward pass's Z^[L]."""
  J = LOSSES[arch.loss_name].cost(caches[-1].Z, Y)
  if _uses_l2(lambd):
    J = J + reg.l2_cost(params, lambd, Y.shape[1])
  return J


def cost(params, X, Y, arch, lambd=0.0, dropout=None):
  """The (regularized) cost as a function of params: what ``jax.grad`` differentiates."""
  _, caches = forward(params, X, arch, dropout)
  return cost_from_caches(params, Y, caches, arch, lambd)


def cost_and_grads(params, X, Y, arch, lambd=0.0, dropout=None, method="manual"):
  """(J, dJ/dparams) by the hand-derived backward (``manual``) or ``jax.grad`` (``autodiff``)."""
  if method == "autodiff":
    return jax.value_and_grad(cost)(params, X, Y, arch, lambd, dropout)
  if method != "manual":
    raise ConfigError(f"gradient method must be 'manual' or 'autodiff', got {method!r}")
  AL, caches = forward(params, X, arch, dropout)
  J = cost_from_caches(params, Y, caches, arch, lambd)
  return J, backward(params, Y, AL, caches, arch, lambd, dropout)


def predict(params, X, arch):
  """Class predictions (1, m): A > 0.5 for sigmoid, argmax for softmax; A for linear."""
  AL, _ = forward(params, X, arch)
  output = arch.activations[-1]
  if output == "sigmoid":
    return (AL > 0.5).astype(jnp.int32)
  if output == "softmax":
    return jnp.argmax(AL, axis=0, keepdims=True).astype(jnp.int32)
  return AL


def labels_of(Y):
  """(1, m) integer labels from a (1, m) label row or a (K, m) one-hot matrix."""
  return jnp.argmax(Y, axis=0, keepdims=True) if Y.shape[0] > 1 else Y


def accuracy(params, X, Y, arch):
  """Fraction of columns whose prediction equals the label."""
  correct = predict(params, X, arch) == labels_of(Y)
  return jnp.mean(correct.astype(X.dtype))
