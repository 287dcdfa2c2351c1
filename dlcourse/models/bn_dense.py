"""The L-layer dense net with batch norm on its hidden layers (Course 2, week 3).

Forward, for l = 1..L-1 (hidden, batch-normalized; no b^[l]: beta^[l] replaces it):
    Z^[l] = W^[l] A^[l-1]                                   (n_l, m)
    Z_tilde^[l] = gamma^[l] * Z_norm^[l] + beta^[l]         (``dlcourse.batchnorm``)
    A^[l] = g^[l](Z_tilde^[l])                              (then * D^[l] / keep_prob)
and the output layer as in ``dense``: Z^[L] = W^[L] A^[L-1] + b^[L], loss from g^[L].

Params (a dict pytree; grads have the same keys):
    "W1", "gamma1", "beta1", ..., "W{L-1}", "gamma{L-1}", "beta{L-1}", "WL", "bL"
with W^[l] (n_l, n_{l-1}), gamma^[l] and beta^[l] (n_l, 1), b^[L] (n_L, 1). There is no
"b1".."b{L-1}". The batch-norm state (running averages, never differentiated) is a
separate dict pytree {"mu1", "sigma2_1", ..., "mu{L-1}", "sigma2_{L-1}"}, each (n_l, 1).

Train mode normalizes with the mini-batch's statistics and returns the state updated by
one EWA step; eval mode (``predict``, ``accuracy``, ``forward(..., train=False)``)
normalizes with the running averages.

Backward, dZ^[L] = A^[L] - Y and for l = L-1..1 (course's m * dJ/dZ convention):
    dA^[l] = W^[l+1]^T dZ^[l+1]                 (* D^[l] / keep_prob with dropout)
    dZ_tilde^[l] = dA^[l] * g'(Z_tilde^[l])
    dZ^[l], dgamma^[l], dbeta^[l] = batchnorm.backward(dZ_tilde^[l], ...)
    dW^[l] = (1/m) dZ^[l] A^[l-1]^T              (+ (lambda/m) W^[l] with L2)
"""
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import batchnorm as bn
from dlcourse import gradcheck, initializers
from dlcourse import regularization as reg
from dlcourse.activations import ACTIVATIONS
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.losses import LOSSES, output_dZ
from dlcourse.models import dense

Architecture = dense.Architecture   # the same (layer_dims, activations) description


class BNLayerCache(NamedTuple):
  """Layer l's forward values for the backward: its input A^[l-1] (after dropout),
  Z_tilde^[l] (the activation's input; Z^[L] for the output layer), A^[l] before
  dropout, the dropout mask D^[l] (or None) and the batch-norm cache (None for layer L)."""
  A_prev: jax.Array
  Z_tilde: jax.Array
  A: jax.Array
  D: Optional[jax.Array]
  bn: Optional[bn.BNCache]


def param_shapes(arch):
  """{name: shape} of every parameter (see the module docstring)."""
  L = arch.num_layers
  shapes = {}
  for l in range(1, L + 1):
    n_l, n_prev = arch.layer_dims[l], arch.layer_dims[l - 1]
    shapes[f"W{l}"] = (n_l, n_prev)
    if l < L:
      shapes[f"gamma{l}"] = (n_l, 1)
      shapes[f"beta{l}"] = (n_l, 1)
    else:
      shapes[f"b{l}"] = (n_l, 1)
  return shapes


def state_shapes(arch):
  """{name: shape} of the running averages: mu{l} and sigma2_{l}, (n_l, 1), l < L."""
  shapes = {}
  for l in range(1, arch.num_layers):
    shapes[f"mu{l}"] = (arch.layer_dims[l], 1)
    shapes[f"sigma2_{l}"] = (arch.layer_dims[l], 1)
  return shapes


def _check_tree(tree, expected, what):
  if set(tree) != set(expected):
    raise ShapeError(f"{what} keys {sorted(tree)} do not match the architecture's "
                     f"{sorted(expected)}")
  for name, shape in expected.items():
    if tuple(jnp.shape(tree[name])) != shape:
      raise ShapeError(f"{what} {name} has shape {tuple(jnp.shape(tree[name]))}, "
                       f"expected {shape}")


def check_params(params, arch):
  """ShapeError unless params hold exactly the keys and shapes of ``param_shapes``."""
  _check_tree(params, param_shapes(arch), "params")


def check_state(bn_state, arch):
  """ShapeError unless the state holds exactly mu{l}, sigma2_{l} (n_l, 1) for l < L."""
  _check_tree(bn_state, state_shapes(arch), "batch-norm state")


def check_arch(arch):
  if arch.num_layers < 2:
    raise ConfigError("a batch-norm net needs at least one hidden layer "
                      f"(layer_dims {arch.layer_dims})")


def from_dense_params(dense_params, arch):
  """BN params from dense ones: drop b^[l] of the hidden layers, gamma = 1, beta = 0
  (so that at the start Z_tilde is the standardized Z)."""
  params = {}
  for l in range(1, arch.num_layers + 1):
    params[f"W{l}"] = dense_params[f"W{l}"]
    if l < arch.num_layers:
      ones = jnp.ones((arch.layer_dims[l], 1), dense_params[f"W{l}"].dtype)
      params[f"gamma{l}"], params[f"beta{l}"] = ones, jnp.zeros_like(ones)
    else:
      params[f"b{l}"] = dense_params[f"b{l}"]
  return params


def initialize(key, arch, scheme="he", *, scale=0.01, dtype=jnp.float32):
  """(params, bn_state): W^[l] by ``initializers.initialize``, gamma = 1, beta = 0,
  b^[L] = 0, running mu = 0 and sigma2 = 1."""
  check_arch(arch)
  dense_params = initializers.initialize(key, arch.layer_dims, scheme, scale=scale,
                                         dtype=dtype)
  return from_dense_params(dense_params, arch), init_state(arch, dtype)


def init_state(arch, dtype=jnp.float32):
  """Running averages before training: mu = 0, sigma2 = 1 for every hidden unit."""
  state = {}
  for l in range(1, arch.num_layers):
    n_l = arch.layer_dims[l]
    state[f"mu{l}"] = jnp.zeros((n_l, 1), dtype)
    state[f"sigma2_{l}"] = jnp.ones((n_l, 1), dtype)
  return state


# --- forward -----------------------------------------------------------------------

def forward(params, bn_state, X, arch, *, train=True, dropout=None,
            epsilon=bn.DEFAULT_EPSILON, momentum=bn.DEFAULT_MOMENTUM):
  """Returns (A^[L], caches, new_bn_state).

  train=True: batch statistics, and the state after one EWA step with them.
  train=False: the running averages of ``bn_state`` (returned as they are); the caches'
  ``bn`` fields are None then (eval mode has no backward).
  ``dropout``: a ``regularization.Dropout`` for hidden layers (training only).
  """
  L = arch.num_layers
  A = X
  caches = []
  new_state = {}
  for l in range(1, L):
    Z = params[f"W{l}"] @ A
    gamma, beta = params[f"gamma{l}"], params[f"beta{l}"]
    if train:
      Z_tilde, cache, (mu, sigma2) = bn.forward(Z, gamma, beta, epsilon)
      new_state[f"mu{l}"], new_state[f"sigma2_{l}"] = bn.update_running(
          bn_state[f"mu{l}"], bn_state[f"sigma2_{l}"], mu, sigma2, momentum)
    else:
      Z_tilde = bn.forward_eval(Z, gamma, beta, bn_state[f"mu{l}"],
                                bn_state[f"sigma2_{l}"], epsilon)
      cache = None
    A_out = ACTIVATIONS[arch.activations[l - 1]].forward(Z_tilde)
    D = None if dropout is None else dropout.masks.get(l)
    caches.append(BNLayerCache(A, Z_tilde, A_out, D, cache))
    A = A_out if D is None else reg.dropout_forward(A_out, D, dropout.keep_prob)
  ZL = dense.linear_forward(A, params[f"W{L}"], params[f"b{L}"])
  AL = ACTIVATIONS[arch.activations[-1]].forward(ZL)
  caches.append(BNLayerCache(A, ZL, AL, None, None))
  return AL, caches, (new_state if train else bn_state)


def _uses_l2(lambd):
  return not (isinstance(lambd, (int, float)) and lambd == 0)


def cost_from_caches(params, Y, caches, arch, lambd=0.0):
  """J = loss(Z^[L], Y) (+ (lambda / 2m) sum ||W^[l]||^2; gamma, beta, b not penalized)."""
  J = LOSSES[arch.loss_name].cost(caches[-1].Z_tilde, Y)
  if _uses_l2(lambd):
    J = J + reg.l2_cost(params, lambd, Y.shape[1])
  return J


def cost(params, bn_state, X, Y, arch, lambd=0.0, dropout=None,
         epsilon=bn.DEFAULT_EPSILON, momentum=bn.DEFAULT_MOMENTUM):
  """(J, new_bn_state) in train mode: what ``jax.grad(..., has_aux=True)`` differentiates."""
  _, caches, new_state = forward(params, bn_state, X, arch, train=True, dropout=dropout,
                                 epsilon=epsilon, momentum=momentum)
  return cost_from_caches(params, Y, caches, arch, lambd), new_state


# --- backward ----------------------------------------------------------------------

def backward(params, Y, AL, caches, arch, lambd=0.0, dropout=None,
             bn_backward=bn.backward):
  """Hand-derived gradients (same keys as params).

  ``bn_backward(dZ_tilde, cache, gamma) -> (dZ, dgamma, dbeta)`` is
  ``batchnorm.backward``; the gradient check swaps in a broken one to show that the
  check names the parameters it corrupts.
  """
  L = arch.num_layers
  m = Y.shape[1]
  grads = {}
  dZ = output_dZ(AL, Y)
  for l in range(L, 0, -1):
    cache = caches[l - 1]
    W = params[f"W{l}"]
    if l == L:
      _, dW, db = dense.linear_backward(dZ, cache.A_prev, W)
      grads[f"b{l}"] = db
    else:
      dZ_tilde = ACTIVATIONS[arch.activations[l - 1]].backward(dA, cache.Z_tilde, cache.A)
      dZ, grads[f"gamma{l}"], grads[f"beta{l}"] = bn_backward(dZ_tilde, cache.bn,
                                                              params[f"gamma{l}"])
      dW = (dZ @ cache.A_prev.T) / m
    if _uses_l2(lambd):
      dW = dW + reg.l2_backward(W, lambd, m)
    grads[f"W{l}"] = dW
    if l > 1:
      dA = dense.transpose_times(W, dZ)
      prev = caches[l - 2]
      if prev.D is not None:
        dA = reg.dropout_backward(dA, prev.D, dropout.keep_prob)
  return grads


def cost_and_grads(params, bn_state, X, Y, arch, lambd=0.0, dropout=None, method="manual",
                   epsilon=bn.DEFAULT_EPSILON, momentum=bn.DEFAULT_MOMENTUM):
  """(J, dJ/dparams, new_bn_state) on one (mini-)batch, in train mode.

  method: "manual" (the hand-derived backward) or "autodiff" (``jax.grad`` of ``cost``).
  """
  if method == "autodiff":
    (J, new_state), grads = jax.value_and_grad(cost, has_aux=True)(
        params, bn_state, X, Y, arch, lambd, dropout, epsilon, momentum)
    return J, grads, new_state
  if method != "manual":
    raise ConfigError(f"gradient method must be 'manual' or 'autodiff', got {method!r}")
  AL, caches, new_state = forward(params, bn_state, X, arch, train=True, dropout=dropout,
                                  epsilon=epsilon, momentum=momentum)
  J = cost_from_caches(params, Y, caches, arch, lambd)
  return J, backward(params, Y, AL, caches, arch, lambd, dropout), new_state


# --- prediction (eval mode) -----------------------------------------------------------

def predict(params, bn_state, X, arch, epsilon=bn.DEFAULT_EPSILON):
  """Class predictions (1, m) with the running averages: argmax (softmax) or A > 0.5."""
  AL, _, _ = forward(params, bn_state, X, arch, train=False, epsilon=epsilon)
  if arch.activations[-1] == "softmax":
    return jnp.argmax(AL, axis=0, keepdims=True).astype(jnp.int32)
  if arch.activations[-1] == "sigmoid":
    return (AL > 0.5).astype(jnp.int32)
  return AL


def accuracy(params, bn_state, X, Y, arch, epsilon=bn.DEFAULT_EPSILON):
  """Fraction of columns predicted right, in eval mode."""
  correct = predict(params, bn_state, X, arch, epsilon) == dense.labels_of(Y)
  return jnp.mean(correct.astype(X.dtype))


# --- gradient check ----------------------------------------------------------------------

def backward_without_variance_path(dZ_tilde, cache, gamma):
  """A deliberately wrong batch-norm backward (the planted bug): it forgets that sigma2
  depends on Z, i.e. drops the dsigma2 terms of dZ and dmu. dgamma and dbeta are right."""
  parts = bn.backward_parts(dZ_tilde, cache, gamma)
  m = dZ_tilde.shape[1]
  dmu = -jnp.sum(parts.dZ_norm, axis=1, keepdims=True) * cache.inv_std
  return parts.dZ_norm * cache.inv_std + dmu / m, parts.dgamma, parts.dbeta


def gradcheck_case(seed, layer_dims=(5, 4, 3, 3), m=6, output="softmax"):
  """(params, bn_state, X, Y, arch) of a small float64 BN net; needs float64 enabled.

  Drawn on the host from ``np.random.RandomState(seed)`` (as the course's gradient-check
  test cases are; no PRNG program to compile): W^[l] He-scaled normal, gamma ~ 1 +
  0.5 N(0, 1) and beta ~ 0.5 N(0, 1) away from their initial 1 and 0 so that every term
  of the backward is exercised, b^[L] ~ 0.1 N(0, 1), X ~ N(0, 1); Y one-hot (softmax)
  or 0/1 (sigmoid). The running averages are mu = 0, sigma2 = 1.
  """
  arch = Architecture.make(layer_dims, hidden="relu", output=output)
  rng = np.random.RandomState(seed)
  params = {}
  for l in range(1, arch.num_layers + 1):
    n_l, n_prev = arch.layer_dims[l], arch.layer_dims[l - 1]
    params[f"W{l}"] = rng.randn(n_l, n_prev) * np.sqrt(2.0 / n_prev)
    if l < arch.num_layers:
      params[f"gamma{l}"] = 1.0 + 0.5 * rng.randn(n_l, 1)
      params[f"beta{l}"] = 0.5 * rng.randn(n_l, 1)
    else:
      params[f"b{l}"] = 0.1 * rng.randn(n_l, 1)
  X = rng.randn(layer_dims[0], m)
  K = layer_dims[-1]
  if output == "softmax":
    Y = np.eye(K)[:, rng.randint(0, K, m)]
  else:
    Y = (rng.rand(K, m) < 0.5).astype(np.float64)
  as_f64 = lambda a: jnp.asarray(a, jnp.float64)
  return (jax.tree.map(as_f64, params), init_state(arch, jnp.float64), as_f64(X),
          as_f64(Y), arch)


def batchnorm_gradcheck(seed=0, *, layer_dims=(5, 4, 3, 3), m=6, plant_bug=False,
                        lambd=0.0, epsilon=gradcheck.DEFAULT_EPSILON,
                        threshold=gradcheck.DEFAULT_THRESHOLD):
  """``gradcheck.check_gradients`` on a small BN net: hand-written backward vs
  ``jax.grad`` vs two-sided finite differences (float64; call under ``jax.enable_x64``).

  plant_bug: use ``backward_without_variance_path`` for every batch-norm layer. The
  last hidden layer's dgamma and dbeta come from its (correct) dZ_tilde, so the report
  must flag that layer's W and every parameter below it, and pass its gamma and beta
  and the output layer's W and b.
  """
  params, bn_state, X, Y, arch = gradcheck_case(seed, layer_dims, m)
  bn_backward = backward_without_variance_path if plant_bug else bn.backward

  # Jitted whole: eagerly, every primitive of every call would be dispatched on its own.
  @jax.jit
  def manual(p):
    AL, caches, _ = forward(p, bn_state, X, arch)
    return backward(p, Y, AL, caches, arch, lambd, bn_backward=bn_backward)

  @jax.jit
  def cost_fn(p):
    return cost(p, bn_state, X, Y, arch, lambd)[0]

  return gradcheck.check_gradients(cost_fn, manual, params, epsilon=epsilon,
                                   threshold=threshold)
