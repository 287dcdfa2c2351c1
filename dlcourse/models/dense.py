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
import functools
import os
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import regularization as reg
from dlcourse import validation
from dlcourse.activations import ACTIVATIONS
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.losses import LOSS_FOR_OUTPUT, LOSSES, kept_count, output_dZ


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
  A^[l] = g(Z^[l]) (before dropout) and the dropout mask D^[l] (or None).

  ``A_prev_T`` is the examples-major copy of a large A^[l-1] that the forward's product
  read (``examples_major``; None for small inputs): the backward's dW reads the same
  copy, so a training program holds one.
  """
  A_prev: jax.Array
  Z: jax.Array
  A: jax.Array
  D: Optional[jax.Array]
  A_prev_T: Optional[jax.Array] = None


def _is_traced(*arrays):
  """True if any array is a tracer (inside jit / vmap / grad): its shape is known, its
  values are not, so only shape checks can run."""
  return any(isinstance(a, jax.core.Tracer) for a in arrays)


def check_params(params, arch):
  """Raises ShapeError unless params hold W^[l] (n_l, n_{l-1}) and b^[l] (n_l, 1).

  Shapes only, so it works on tracers too. Names the missing, unexpected or misshapen
  entries and the architecture they were checked against.
  """
  if not hasattr(params, "keys"):
    raise ShapeError(f"params must be a dict {{'W1', 'b1', ...}}, got {type(params).__name__}")
  expected = {}
  for l in range(1, arch.num_layers + 1):
    expected[f"W{l}"] = (arch.layer_dims[l], arch.layer_dims[l - 1])
    expected[f"b{l}"] = (arch.layer_dims[l], 1)
  missing = [k for k in expected if k not in params]
  extra = sorted(str(k) for k in params if k not in expected)
  if missing or extra:
    parts = ([f"lack {missing}"] if missing else []) + ([f"have unexpected {extra}"] if extra else [])
    raise ShapeError(f"params {' and '.join(parts)} for layer_dims {arch.layer_dims} "
                     f"(expected keys {list(expected)})")
  for name, shape in expected.items():
    actual = tuple(np.shape(params[name]))
    if actual != shape:
      raise ShapeError(f"{name} has shape {actual}, expected {shape} "
                       f"for layer_dims {arch.layer_dims}")


def _check_x_shape(X, arch, name=""):
  """ShapeError unless X is (n_x, m) with n_x = layer_dims[0] and m >= 1; returns m."""
  p = f"{name}: " if name else ""
  n_x, shape = arch.layer_dims[0], tuple(np.shape(X))
  if len(shape) != 2:
    raise ShapeError(f"{p}expected X of shape (n_x, m) = ({n_x}, m), one example per "
                     f"column, got shape {shape}")
  if shape[0] != n_x:
    hint = " (it looks transposed: use X.T)" if shape[1] == n_x else ""
    raise ShapeError(f"{p}layer_dims[0] = {n_x} but X has n_x = {shape[0]} features "
                     f"(rows); they must match{hint}")
  if shape[1] < 1:
    raise ShapeError(f"{p}X of shape {shape} has no examples (m = 0)")
  return shape[1]


def _check_y_shape(Y, arch, m, name=""):
  """ShapeError unless Y is (n_L, m): (1, m) labels for sigmoid, (K, m) one-hot for a
  K-unit softmax, (n_L, m) targets for linear. Never lets a shape broadcast."""
  p = f"{name}: " if name else ""
  output, n_y, shape = arch.activations[-1], arch.layer_dims[-1], tuple(np.shape(Y))
  expected = (n_y, m)
  if shape == expected and not (output == "sigmoid" and n_y != 1):
    return
  if output == "sigmoid" and n_y != 1:  # the architecture is wrong, not Y
    raise ShapeError(f"{p}a sigmoid output takes (1, m) labels, so layer_dims must end "
                     f"in 1, but layer_dims[-1] = {n_y} in {arch.layer_dims} "
                     f"(Y has shape {shape})")
  what = {"sigmoid": "labels", "softmax": "one-hot labels"}.get(output, "targets")
  head = f"{p}expected Y of shape (n_L, m) = {expected} ({what} for the {output} output)"
  if output == "softmax" and shape == (1, m):
    raise ShapeError(f"{head}, got a (1, m) = {shape} row of class labels: encode it with "
                     f"dlcourse.data.one_hot(Y, {n_y}) (labels are never broadcast)")
  if len(shape) == 1 and shape[0] == m and n_y == 1:
    hint = " (a 1-D Y: use Y.reshape(1, -1))"
  elif shape == (m, n_y):
    hint = " (it looks transposed: use Y.T)"
  elif len(shape) == 2 and shape[1] == m:
    rows = f"{shape[0]} row" + ("" if shape[0] == 1 else "s")
    hint = (f" (the output layer has layer_dims[-1] = {n_y} units but Y has {rows}; "
            "they must match)")
  elif len(shape) == 2 and shape[0] == n_y:
    hint = f" (Y has {shape[1]} examples but X has {m})"
  else:
    hint = ""
  raise ShapeError(f"{head}, got shape {shape}{hint}")


def check_inputs(params, X, arch, Y=None):
  """Shape checks of a public call (``cost_and_grads``, ``accuracy``, ``predict``).

  params match the architecture (``check_params``), X is (n_x, m) with n_x =
  layer_dims[0], and Y (when given) is (n_L, m) as ``_check_y_shape`` says. Shapes only:
  cheap, and valid on tracers, so it runs on the host before (or while) tracing and a
  bad call fails with one ShapeError instead of a dot_general error or a silent
  broadcast. Value checks (finite X, labels in range) are ``check_data``'s job.
  """
  check_params(params, arch)
  m = _check_x_shape(X, arch)
  if Y is not None:
    _check_y_shape(Y, arch, m)


def check_data(X, Y, arch, *, name=""):
  """Checks (X, Y) against the architecture on the host, before anything is compiled.

  X: finite, non-empty (n_x, m) with n_x = layer_dims[0]. Y, of shape (n_L, m) with
  n_L = layer_dims[-1] (the output layer is checked against Y): labels in {0, 1} as
  (1, m) for a sigmoid output (n_L = 1); one-hot (K, m) for a softmax output of K units
  (a (1, m) row of class labels is refused: encode it with ``data.one_hot``); finite
  targets for a linear output. Returns (X, Y) as NumPy arrays. For tracers (under jit
  or vmap) only the shapes are checked and (X, Y) are returned as given. Raises
  DataError / ShapeError naming what is wrong.
  """
  if _is_traced(X, Y):
    _check_y_shape(Y, arch, _check_x_shape(X, arch, name), name)
    return X, Y
  X = validation.check_features(X, name=name)  # ndim, empty, dtype, NaN/inf
  Y = np.asarray(Y)
  _check_y_shape(Y, arch, _check_x_shape(X, arch, name), name)
  output = arch.activations[-1]
  if output == "sigmoid":
    validation.check_label_values(Y, 2, name=name)
  elif output == "softmax":
    validation.check_one_hot_values(Y, name=name)
  else:
    validation.check_features(Y, name=f"{name} targets" if name else "targets")
  return X, Y


# --- one layer --------------------------------------------------------------------

def linear_forward(A_prev, W, b, A_prev_T=None):
  """Z = W A_prev + b: (n_l, n_{l-1}) @ (n_{l-1}, m) + (n_l, 1) -> (n_l, m).

  ``A_prev_T``: the examples-major copy of a large A_prev (``examples_major``), made here
  when not given; the product then reads it (see "layout" below).
  """
  if A_prev_T is None:
    A_prev_T = examples_major(A_prev)
  if isinstance(W, ColumnBlocks):
    return _blocks_product(W, A_prev, A_prev_T) + b
  if A_prev_T is None:
    return W @ A_prev + b
  return _input_product(W, A_prev_T) + b


def linear_backward(dZ, A_prev, W, A_prev_T=None, m=None):
  """Given m * dJ/dZ (the course's dZ), returns (dA_prev, dW, db).

  dW = (1/m) dZ A_prev^T, db = (1/m) sum_columns dZ, dA_prev = W^T dZ. The 1/m of the
  averaged cost is applied here, once, as in the course. ``A_prev_T``: as in
  ``linear_forward`` (the forward's cache holds it). ``m``: the number of examples
  when it is not A_prev's width (a padded batch: its padding's dZ is 0).
  """
  if m is None:
    m = A_prev.shape[1]
  if A_prev_T is None:
    A_prev_T = examples_major(A_prev)
  db = jnp.sum(dZ, axis=1, keepdims=True) / m
  if isinstance(W, ColumnBlocks):
    return _blocks_backward(dZ, A_prev, W, A_prev_T, m) + (db,)
  dW = (dZ @ A_prev.T if A_prev_T is None else _times_copy(dZ, A_prev_T)) / m
  dA_prev = transpose_times(W, dZ)
  return dA_prev, dW, db


def layer_forward(A_prev, W, b, activation, A_prev_T=None):
  """(A, Z) with Z = W A_prev + b and A = g(Z)."""
  Z = linear_forward(A_prev, W, b, A_prev_T)
  return ACTIVATIONS[activation].forward(Z), Z


def layer_backward(dA, cache, W, activation):
  """(dA_prev, dW, db) for A = g(W A_prev + b), from dA (already dropout-masked)."""
  dZ = ACTIVATIONS[activation].backward(dA, cache.Z, cache.A)
  return linear_backward(dZ, cache.A_prev, W, cache.A_prev_T)

# --- layout: where a large input sits in its two products (speed only) --------------
#
# The values are exactly the formulas above; only the memory order in which the two
# products that read a large A_prev (the network's input X: 10 MB for the cats) find
# it, and which side of the product it is on, change. XLA:CPU runs its dots in a matrix
# library (YNNPACK) that repacks the *right-hand* operand into panels on every call: a
# pass over all of it, in each product, in each iteration. So a large input goes on
# the left, stored so that the product contracts its contiguous axis:
#     Z  = W A_prev     computed as (A_prev^T W^T)^T: the examples-major copy
#                       A_prev^T (m, n) on the left, contracting n;
#     dW = dZ A_prev^T  reads the same copy (K = m is short, so its repacking is cheap;
#                       measured faster than A_prev dZ^T in float64 and equal in float32).
# A_prev^T is made once by the forward and kept in the layer's cache. For X it does not
# change between iterations, so inside a compiled training loop XLA makes it once,
# before the loop (loop-invariant code motion): one examples-major copy per fit, and
# no other copy of X in the loop.
# Measured on a 2-core Xeon with AVX-512 (float32 cat net [12288, 20, 7, 5, 1], per
# iteration, against the previous rule that put the copy on the right of both
# products): 1.75 -> 1.55 ms on two cores, 2.99 -> 2.17 ms on one; float64 two-layer
# [12288, 7, 1] on one core 3.87 -> 2.12 ms; logistic regression unchanged. On a Zen 3
# the issue measured A_prev^T @ W^T at 74 GFLOP/s against 13-27 for W @ A_prev.
# On two or more cores the products run as two independent halves (the forward over the
# examples; in float32 also dW, over the features; ``_halves``; a full-batch training
# loop carries W^[1] in column blocks instead, see below): XLA runs the halves
# side by side, where the library alone divides the forward by its 20 output columns. Per
# iteration on the 2-core Xeon, 2026-12-06: float32 cat net 1.40 -> 1.23-1.29 ms,
# float64 L-layer 3.25 -> 2.65 ms, float64 two-layer 1.49 -> 1.28-1.31 ms, the same
# values to the bit (float64's dW in halves was slower: 2.64 -> 2.90 ms). On one core the
# halves were slower (float32 2.05 -> 2.46 ms), so a process pinned to one core (a
# report worker) keeps whole products; so does a sweep (see _stacked_copy_product). The
# halves are copies of their own, made once before a training loop (X twice over in
# float32).
# Under jax.vmap (a sweep: W batched, X shared) each direction stays one large product
# (``dlcourse.sweep`` relies on it). Below ~0.5 M entries of A_prev (measured
# crossover) the copy costs more than it saves, and other backends' matrix libraries
# take either order at full speed: the course order there. benchmarks/RESULTS.md has
# the figures; tests/test_layouts.py checks the values and the compiled layout.

_LARGE_INPUT_ENTRIES = 1 << 19


def _reads_transposed_copy(A_prev):
  """Whether the products with A_prev read an examples-major copy of it (see above)."""
  return (A_prev.ndim == 2 and A_prev.size >= _LARGE_INPUT_ENTRIES
          and jax.default_backend() == "cpu")


def _transposed_copy(A):
  """A^T (m, n) as an array of its own. The barrier stops XLA from folding the
  transpose into the product that reads it, which would give back the course's order."""
  return jax.lax.optimization_barrier(A.T)


def _cores():
  """The cores this process may run on (its affinity where the OS keeps one)."""
  if hasattr(os, "sched_getaffinity"):
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1


# Products with fewer rows than this stay whole: a layer of 1-3 units reads X at 2-6
# FLOPs per entry, bound by memory, and halves only add work (the [12288, 1] net:
# 0.47 -> 0.59 ms per iteration in halves).
SPLIT_MIN_ROWS = 4


def _halves(A, axis, rows):
  """[A] on one core or for a product of fewer than ``SPLIT_MIN_ROWS`` rows; otherwise
  A's two halves along ``axis``, each an array of its own (the barrier keeps XLA from
  folding the slices into the products)."""
  if _cores() < 2 or rows < SPLIT_MIN_ROWS or A.shape[axis] < 2:
    return [A]
  return list(jax.lax.optimization_barrier(tuple(jnp.split(A, [A.shape[axis] // 2], axis))))


def _left_product(W, A_prev_T):
  """W A_prev as (A_prev^T W^T)^T: the large input on the left, in halves of the
  examples (see "layout"). The barrier keeps XLA from turning the transposed product
  back into W @ (...), the slow order."""
  halves = _halves(A_prev_T, 0, W.shape[0])
  parts = [jax.lax.optimization_barrier(half @ W.T) for half in halves]
  return (parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=0)).T


def _halved_copy_product(dZ, A_prev_T):
  """dZ A_prev^T from the examples-major copy; in float32, in halves of the features
  (see "layout")."""
  halves = _halves(A_prev_T, 1, dZ.shape[0]) if A_prev_T.dtype.itemsize <= 4 else [A_prev_T]
  parts = [dZ @ half for half in halves]
  return parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=1)


def _stacked_copy_product(axis_size, in_batched, dZ, A_prev_T):
  """The product under jax.vmap: whole, as one (K n_l, m) x (m, n) product when the copy
  is shared (a sweep: its halves measured slower there, 53 -> 58 ms per iteration of 64
  cat nets), or one whole product per pair."""
  dZ_batched, A_batched = in_batched
  if A_batched:
    dZ = dZ if dZ_batched else jnp.broadcast_to(dZ, (axis_size,) + dZ.shape)
    return jax.vmap(jnp.matmul)(dZ, A_prev_T), True
  return jnp.einsum("krm,mn->krn", dZ, A_prev_T), True


def _copy_product_fwd(dZ, A_prev_T):
  return _times_copy(dZ, A_prev_T), (dZ, A_prev_T)


def _copy_product_bwd(residuals, g):
  dZ, A_prev_T = residuals
  return g @ A_prev_T.T, dZ.T @ g


# As for the forward's product: custom_vmap keeps a sweep's product whole, custom_vjp
# gives jax.grad (of the hand-derived backward, or of the forward's own rule) its rule.
_times_copy = jax.custom_batching.custom_vmap(_halved_copy_product)
_times_copy.def_vmap(_stacked_copy_product)
_times_copy = jax.custom_vjp(_times_copy)
_times_copy.defvjp(_copy_product_fwd, _copy_product_bwd)


def _stacked_product(axis_size, in_batched, W, A_prev_T):
  """The product under jax.vmap. Models stacked over a shared input (a sweep) make the
  stacked W^T (K n_l, n) the large operand: one product with it on the left, as
  (K n_l, n) x (n, m). Inputs of their own keep one left product per model."""
  W_batched, A_batched = in_batched
  if A_batched:
    W = W if W_batched else jnp.broadcast_to(W, (axis_size,) + W.shape)
    return jax.vmap(_left_product)(W, A_prev_T), True
  return jnp.einsum("krn,mn->krm", W, A_prev_T), True


def _input_product_fwd(W, A_prev_T):
  return _input_product(W, A_prev_T), (W, A_prev_T)


def _input_product_bwd(residuals, dZ):
  """Cotangents of Z = W A_prev for jax.grad: dZ A_prev^T (from the same copy) and the
  cotangent of the copy, (W^T dZ)^T."""
  W, A_prev_T = residuals
  return _times_copy(dZ, A_prev_T), dZ.T @ W


# custom_vmap picks the operand order by what vmap shares (see _stacked_product); it has
# no autodiff rule of its own, so custom_vjp gives jax.grad the product's.
_input_product = jax.custom_batching.custom_vmap(_left_product)
_input_product.def_vmap(_stacked_product)
_input_product = jax.custom_vjp(_input_product)
_input_product.defvjp(_input_product_fwd, _input_product_bwd)


def examples_major(A_prev):
  """The examples-major copy A_prev^T (m, n) that the products read for a large A_prev
  on the CPU (see "layout" above); None where the course's order is kept."""
  return _transposed_copy(A_prev) if _reads_transposed_copy(A_prev) else None


# The backward's third product, dA_prev = W^T dZ, contracts over the *rows* of W. The
# matrix library takes a left operand only as rows x contraction, so XLA:CPU runs this
# product in its slower generic dot (6.6 of the 46 ms of a step of MNIST-1D's random
# search: 24 masked [40, 256, 256, 10] nets on batches of 100). Above a few thousand
# entries, making one operand's transpose an array of its own puts the product back in
# the library: the same values, and 9 % off that step. Which copy is cheaper depends on
# the shapes: W^T (n_l n_{l-1} entries), or dZ^T with the product formed as
# (dZ^T W)^T (n_l m + n_{l-1} m entries). Small nets keep W.T @ dZ: the copies' own
# kernels would cost them more than the product does.
_LARGE_DZ_ENTRIES = 1 << 14


def transpose_times(W, dZ):
  """W^T dZ: (n_l, n_{l-1})^T @ (n_l, m) -> (n_{l-1}, m)."""
  if dZ.ndim != 2 or dZ.size < _LARGE_DZ_ENTRIES or jax.default_backend() != "cpu":
    return W.T @ dZ
  (n_l, n_prev), m = W.shape, dZ.shape[1]
  if W.size <= (n_l + n_prev) * m:
    return _transposed_copy(W) @ dZ
  # (dZ^T W)^T; the barrier keeps XLA from folding the outer transpose back into the dot.
  return jax.lax.optimization_barrier(_transposed_copy(dZ) @ W).T


# --- the first layer in column blocks (full-batch training loops; speed only) -------
#
# In a full-batch training loop on two or more cores, a first layer over a large
# X is carried as W^[1] = [W_a W_b], its columns (X's features) in two blocks, each an
# array of its own for the whole loop (``first_layer_in_blocks`` before it,
# ``first_layer_whole`` after), and X^T as the matching two blocks of features, X_a^T
# and X_b^T, made once before the loop. The formulas are the layer's, block by block:
#     Z^[1]  = W_a X_a + W_b X_b          (each read as (X_j^T W_j^T)^T, X_j^T on the left)
#     dW_j   = (1/m) dZ^[1] X_j^T          (dW^[1] = [dW_a dW_b]: the same blocks)
#     W_j   := W_j - alpha dW_j            (the optimizer, leaf by leaf, as ever)
# The two products of each pass are independent, so XLA runs them side by side on the
# two cores, and no iteration joins or cuts a (n_1, n_x) matrix: the whole-W^[1] loop
# (the forward over halves of the examples, dW over halves of the features, joined)
# spent ~0.14 of its ~1.3 ms per iteration joining dW's halves and updating W^[1] on one
# core. Float32 cat net [12288, 20, 7, 5, 1], 2-core Xeon with AVX-512, 2026-12-07, the
# loop alone: 1.23-1.38 -> 1.02-1.06 ms per iteration. Float64 gained nothing there
# (2.78-2.88 ms either way) but does on a 2-core Zen 4 (2026-12-07, two runs, 300
# iterations each): the two-layer net [12288, 7, 1] 1.73-1.91 -> 1.20-1.61 ms, the
# L-layer net 3.57-3.64 -> 3.16-3.34 ms; so float64 is carried in blocks too. A sweep
# would not gain (its products are one large product each) and keeps W^[1] whole. The
# values are the layer's to rounding: the forward adds two partial sums where one
# product summed all n_x terms (the course-compatible runs keep the course's digits:
# tests/test_course1_reproduction.py).


class ColumnBlocks(NamedTuple):
  """W^[l] (n_l, n_{l-1}) held as its column blocks ``parts`` (left to right) inside a
  training loop (see above); a pytree whose leaves are the blocks. ``shape`` and
  ``dtype`` are the whole matrix's, so the shape checks read it as W^[l]."""
  parts: tuple

  @property
  def shape(self):
    return (self.parts[0].shape[0], sum(part.shape[1] for part in self.parts))

  @property
  def dtype(self):
    return self.parts[0].dtype


# A first layer of one unit (logistic regression) keeps W1 whole: in blocks the
# [12288, 1] net took 0.49-0.52 against 0.44-0.45 ms per iteration. From two units the
# blocks win ([12288, 2, 1]: 0.40-0.42 against 0.61-0.63 ms; [12288, 3, 1]: 0.40-0.44
# against 0.61-0.63; [12288, 7, 1]: 0.64-0.65 against 0.69-0.70; float32, 2 cores).
BLOCKS_MIN_ROWS = 2


def splits_first_layer(X, W1):
  """Whether a full-batch loop over X carries W1 in column blocks (see above)."""
  return (_reads_transposed_copy(X) and _cores() >= 2 and W1.ndim == 2
          and W1.shape[0] >= BLOCKS_MIN_ROWS)


def first_layer_in_blocks(params, X):
  """params with W1 as two ``ColumnBlocks`` where ``splits_first_layer`` says so (the
  features split at n_x // 2); otherwise params as given."""
  W1 = params.get("W1")
  if W1 is None or isinstance(W1, ColumnBlocks) or not splits_first_layer(X, W1):
    return params
  return dict(params, W1=ColumnBlocks(tuple(jnp.split(W1, [W1.shape[1] // 2], axis=1))))


def first_layer_whole(params):
  """The inverse of ``first_layer_in_blocks``: W1 as one (n_1, n_x) array."""
  W1 = params.get("W1")
  if not isinstance(W1, ColumnBlocks):
    return params
  return dict(params, W1=jnp.concatenate(W1.parts, axis=1))


def _input_blocks(W, A_prev, A_prev_T):
  """The rows of A_prev that meet each of W's column blocks: blocks of the examples-major
  copy's columns (X_j^T, each an array of its own), or of A_prev's rows without one."""
  cuts = list(np.cumsum([part.shape[1] for part in W.parts[:-1]]))
  if A_prev_T is None:
    return jnp.split(A_prev, cuts, axis=0), False
  return list(jax.lax.optimization_barrier(tuple(jnp.split(A_prev_T, cuts, axis=1)))), True


def _blocks_product(W, A_prev, A_prev_T):
  """Z = sum_j W_j A_j (see above)."""
  blocks, transposed = _input_blocks(W, A_prev, A_prev_T)
  if not transposed:
    return sum(W_j @ A_j for W_j, A_j in zip(W.parts, blocks))
  return sum(jax.lax.optimization_barrier(A_j_T @ W_j.T)
             for W_j, A_j_T in zip(W.parts, blocks)).T


def _blocks_backward(dZ, A_prev, W, A_prev_T, m):
  """(dA_prev, dW) of the layer with W in column blocks: dW_j = (1/m) dZ A_j^T, and
  dA_prev = W^T dZ, the blocks' W_j^T dZ stacked (unused for X, so never computed)."""
  blocks, transposed = _input_blocks(W, A_prev, A_prev_T)
  dW = ColumnBlocks(tuple((dZ @ block if transposed else dZ @ block.T) / m
                          for block in blocks))
  dA_prev = jnp.concatenate([transpose_times(W_j, dZ) for W_j in W.parts], axis=0)
  return dA_prev, dW


# --- the whole net ----------------------------------------------------------------

def forward(params, X, arch, dropout=None):
  """Returns (A^[L], caches) with one LayerCache per layer.

  ``dropout``: a ``regularization.Dropout`` whose masks (keyed by layer) are applied
  to those layers' outputs; None at prediction time.
  """
  A = X
  caches = []
  for l, activation in enumerate(arch.activations, start=1):
    A_T = examples_major(A)
    A_out, Z = layer_forward(A, params[f"W{l}"], params[f"b{l}"], activation, A_T)
    D = None if dropout is None else dropout.masks.get(l)
    caches.append(LayerCache(A, Z, A_out, D, A_T))
    A = A_out if D is None else reg.dropout_forward(A_out, D, dropout.keep_prob)
  return A, caches


def _uses_l2(lambd):
  # A Python 0 skips the term entirely (no multiply in the compiled graph); a traced
  # lambda (a vmapped sweep) always takes it.
  return not (isinstance(lambd, (int, float)) and lambd == 0)


def backward(params, Y, AL, caches, arch, lambd=0.0, dropout=None, mask=None):
  """Hand-derived gradients of the (regularized) cost; same keys as params.

  ``mask`` ((m,) bool): the columns that are examples (``dlcourse.losses``); the
  output's dZ is 0 in the others, so every layer's is, and m counts the kept ones.
  """
  m = Y.shape[1] if mask is None else kept_count(mask, AL.dtype)
  grads = {}
  dZ = output_dZ(AL, Y, mask)
  for l in range(arch.num_layers, 0, -1):
    cache = caches[l - 1]
    W = params[f"W{l}"]
    dA_prev, dW, db = linear_backward(dZ, cache.A_prev, W, cache.A_prev_T, m)
    if _uses_l2(lambd):
      dW = jax.tree.map(jnp.add, dW, reg.l2_backward(W, lambd, m))
    grads[f"W{l}"], grads[f"b{l}"] = dW, db
    if l > 1:
      prev = caches[l - 2]
      if prev.D is not None:
        dA_prev = reg.dropout_backward(dA_prev, prev.D, dropout.keep_prob)
      dZ = ACTIVATIONS[arch.activations[l - 2]].backward(dA_prev, prev.Z, prev.A)
  return grads


def cost_from_caches(params, Y, caches, arch, lambd=0.0, mask=None):
  """J = loss(Z^[L], Y) (+ the L2 term), reusing the forward pass's Z^[L]; ``mask`` as
  in ``backward``."""
  return _cost_of_output(caches[-1].Z, params, Y, arch, lambd, mask)


def _cost_of_output(ZL, params, Y, arch, lambd, mask):
  J = LOSSES[arch.loss_name].cost(ZL, Y, mask)
  if _uses_l2(lambd):
    m = Y.shape[1] if mask is None else kept_count(mask, ZL.dtype)
    J = J + reg.l2_cost(params, lambd, m)
  return J


def cost(params, X, Y, arch, lambd=0.0, dropout=None, mask=None):
  """The (regularized) cost as a function of params: what ``jax.grad`` differentiates."""
  _, caches = forward(params, X, arch, dropout)
  return cost_from_caches(params, Y, caches, arch, lambd, mask)


def cost_and_grads(params, X, Y, arch, lambd=0.0, dropout=None, method="manual", mask=None,
                   need_cost=None):
  """(J, dJ/dparams) by the hand-derived backward (``manual``) or ``jax.grad`` (``autodiff``).

  ``mask`` ((m,) bool, optional): the columns of X that are examples; J and the
  gradients are those of the kept columns alone (a padded mini-batch, ``dlcourse.loop``).
  ``need_cost`` (a traced bool, optional): whether J is wanted. Where it is false the
  manual method skips the loss (its logs: the gradients need only dZ^[L] = A^[L] - Y) and
  returns J = 0 (on the CPU; other platforms compute J always, see ``_cost_if``); the
  gradients are the same either way. A training loop that records the cost every N
  iterations passes it (``dlcourse.loop``). ``autodiff`` computes J always
  (``jax.value_and_grad``).
  """
  check_inputs(params, X, arch, Y)
  if mask is not None and jnp.shape(mask) != (jnp.shape(X)[1],):
    raise ShapeError(f"mask must have shape (m,) = ({jnp.shape(X)[1]},), "
                     f"got {jnp.shape(mask)}")
  if method == "autodiff":
    return jax.value_and_grad(cost)(params, X, Y, arch, lambd, dropout, mask)
  if method != "manual":
    raise ConfigError(f"gradient method must be 'manual' or 'autodiff', got {method!r}")
  AL, caches = forward(params, X, arch, dropout)
  if need_cost is None:
    J = cost_from_caches(params, Y, caches, arch, lambd, mask)
  else:
    J = _cost_if(need_cost, params, Y, caches, arch, lambd, mask)
  return J, backward(params, Y, AL, caches, arch, lambd, dropout, mask)


def _cost_if(need_cost, params, Y, caches, arch, lambd, mask):
  """``cost_from_caches`` where ``need_cost``, else 0, on the CPU: a ``lax.cond`` that
  hands the branch Z^[L] (and the params for the L2 term) rather than every cache.
  Elsewhere J is computed always: XLA:GPU runs a conditional by copying its predicate
  to the host and waiting for it, once per step (not measured here: no GPU)."""
  def cost_of(ZL, l2_params):
    return _cost_of_output(ZL, l2_params, Y, arch, lambd, mask)

  def on_demand(ZL, l2_params):
    return jax.lax.cond(need_cost, cost_of, lambda ZL, _: jnp.zeros((), ZL.dtype), ZL,
                        l2_params)

  return jax.lax.platform_dependent(caches[-1].Z, params if _uses_l2(lambd) else None,
                                    cpu=on_demand, default=cost_of)


@functools.partial(jax.jit, static_argnames="arch")
def output(params, X, arch):
  """A^[L] of ``forward``, as one compiled program (evaluation outside a training
  program: op by op, each operation would compile on its own)."""
  return forward(params, X, arch)[0]


def predict(params, X, arch):
  """Class predictions (1, m): A > 0.5 for sigmoid, argmax for softmax; A for linear.

  Shapes are checked on the host; the rest is one compiled program per shape.
  """
  check_inputs(params, X, arch)
  return _predict(params, X, arch)


@functools.partial(jax.jit, static_argnames="arch")
def _predict(params, X, arch):
  AL, _ = forward(params, X, arch)
  out = arch.activations[-1]
  if out == "sigmoid":
    return (AL > 0.5).astype(jnp.int32)
  if out == "softmax":
    return jnp.argmax(AL, axis=0, keepdims=True).astype(jnp.int32)
  return AL


def labels_of(Y):
  """(1, m) integer labels from a (1, m) label row or a (K, m) one-hot matrix."""
  return jnp.argmax(Y, axis=0, keepdims=True) if Y.shape[0] > 1 else Y


def accuracy(params, X, Y, arch):
  """Fraction of columns whose prediction equals the label (one compiled program)."""
  check_inputs(params, X, arch, Y)
  return _accuracy(params, X, Y, arch)


@functools.partial(jax.jit, static_argnames="arch")
def _accuracy(params, X, Y, arch):
  correct = _predict(params, X, arch) == labels_of(Y)
  return jnp.mean(correct.astype(X.dtype))


def accuracies(params, sets, arch):
  """``accuracy`` on each (X, Y) of ``sets`` (train, dev, test, ...), all in one
  compiled program: each program costs a compile of its own (~50-100 ms on a CPU core)
  for microseconds of arithmetic on the course's sets."""
  sets = tuple((X, Y) for X, Y in sets)
  for X, Y in sets:
    check_inputs(params, X, arch, Y)
  return _accuracies(params, sets, arch)


@functools.partial(jax.jit, static_argnames="arch")
def _accuracies(params, sets, arch):
  return tuple(_accuracy(params, X, Y, arch) for X, Y in sets)
