"""Batch normalization of a dense layer (Course 2, week 3), forward and backward.

Course notation, for one layer's pre-activations Z = W A_prev (n_l, m) of a mini-batch
of m examples (b is dropped: beta takes its place), per unit (row) i:

    mu      = 1/m sum_j Z_ij                              (n_l, 1)
    sigma2  = 1/m sum_j (Z_ij - mu_i)^2                   (n_l, 1)
    Z_norm  = (Z - mu) / sqrt(sigma2 + eps)               (n_l, m)
    Z_tilde = gamma * Z_norm + beta                       gamma, beta: (n_l, 1)

and A = g(Z_tilde). gamma and beta are learned like W; mu and sigma2 are not.

Backward (hand-derived, beside the forward). As everywhere in this library the incoming
``dZ_tilde`` is the course's m * dJ/dZ_tilde (the 1/m of the averaged cost is applied
once, at the parameters), so the outputs follow the same convention: dgamma and dbeta
are dJ/dgamma and dJ/dbeta, and dZ is m * dJ/dZ, ready for dW = (1/m) dZ A_prev^T.
With s = sqrt(sigma2 + eps), the chain rule through mu and sigma2 reads

    dbeta   = 1/m sum_j dZ_tilde
    dgamma  = 1/m sum_j dZ_tilde * Z_norm
    dZ_norm = gamma * dZ_tilde
    dsigma2 = sum_j dZ_norm * (Z - mu) * (-1/2) s^-3
    dmu     = -sum_j dZ_norm / s + dsigma2 * (-2/m) sum_j (Z - mu)     (the last sum is 0)
    dZ      = dZ_norm / s + dsigma2 * 2 (Z - mu) / m + dmu / m

which simplifies to dZ = (gamma / s) (dZ_tilde - mean_j dZ_tilde - Z_norm mean_j(dZ_tilde
Z_norm)) (``backward_compact``; the tests check both forms against ``jax.grad``).

Test time (the course's "batch norm at test time"): mu and sigma2 are replaced by
exponentially weighted averages over the training mini-batches,

    mu_run     <- beta_ewa * mu_run     + (1 - beta_ewa) * mu
    sigma2_run <- beta_ewa * sigma2_run + (1 - beta_ewa) * sigma2

(the course's EWA, C2W2). They start at mu_run = 0 and sigma2_run = 1 (the statistics of
a standardized unit; starting sigma2 at 0 would make the first evaluations divide by
sqrt(eps)). The running averages are state that training carries but never
differentiates; models keep them in a pytree apart from the params.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp

from dlcourse import validation
from dlcourse.errors import ConfigError

DEFAULT_EPSILON = 1e-5       # eps inside the root (PyTorch's and the BN paper's choice)
DEFAULT_MOMENTUM = 0.9       # beta of the running averages' EWA (~ the last 10 batches)


class BNCache(NamedTuple):
  """What the backward needs from one layer's forward (all (n_l, m) or (n_l, 1))."""
  Z_centered: jax.Array   # Z - mu
  Z_norm: jax.Array       # (Z - mu) / s
  inv_std: jax.Array      # 1 / s = 1 / sqrt(sigma2 + eps), (n_l, 1)


class BNParts(NamedTuple):
  """The intermediate gradients of ``backward_parts`` (course's m * dJ/d. convention)."""
  dZ_norm: jax.Array
  dsigma2: jax.Array
  dmu: jax.Array
  dgamma: jax.Array
  dbeta: jax.Array


def check_epsilon(epsilon):
  value = validation.real_scalar("batch-norm epsilon", epsilon)
  if not value > 0:
    raise ConfigError(f"batch-norm epsilon must be > 0, got {epsilon!r}")


def check_momentum(momentum):
  value = validation.real_scalar("batch-norm momentum", momentum)
  if not 0.0 <= value < 1.0:
    raise ConfigError(f"batch-norm momentum (the running averages' beta) must lie in "
                      f"[0, 1), got {momentum!r}")


# --- forward -----------------------------------------------------------------------

def batch_statistics(Z):
  """(mu, sigma2), each (n_l, 1): the mean and the 1/m (biased) variance of each row."""
  mu = jnp.mean(Z, axis=1, keepdims=True)
  sigma2 = jnp.mean((Z - mu) ** 2, axis=1, keepdims=True)
  return mu, sigma2


def normalize(Z, mu, sigma2, gamma, beta, epsilon=DEFAULT_EPSILON):
  """Z_tilde = gamma * (Z - mu) / sqrt(sigma2 + eps) + beta, with given statistics."""
  return gamma * (Z - mu) / jnp.sqrt(sigma2 + epsilon) + beta


def forward(Z, gamma, beta, epsilon=DEFAULT_EPSILON):
  """Training-mode forward with the mini-batch's own statistics.

  Returns (Z_tilde (n_l, m), cache, (mu, sigma2)); the statistics feed the running
  averages (``update_running``).
  """
  mu, sigma2 = batch_statistics(Z)
  Z_centered = Z - mu
  inv_std = 1.0 / jnp.sqrt(sigma2 + epsilon)
  Z_norm = Z_centered * inv_std
  return gamma * Z_norm + beta, BNCache(Z_centered, Z_norm, inv_std), (mu, sigma2)


def forward_eval(Z, gamma, beta, mu_running, sigma2_running, epsilon=DEFAULT_EPSILON):
  """Test-time forward: the running averages replace the batch statistics, so each
  example's output no longer depends on the rest of its batch."""
  return normalize(Z, mu_running, sigma2_running, gamma, beta, epsilon)


# --- backward ----------------------------------------------------------------------

def backward_parts(dZ_tilde, cache, gamma):
  """dZ_norm, dsigma2, dmu, dgamma, dbeta step by step (see the module docstring)."""
  m = dZ_tilde.shape[1]
  dbeta = jnp.sum(dZ_tilde, axis=1, keepdims=True) / m
  dgamma = jnp.sum(dZ_tilde * cache.Z_norm, axis=1, keepdims=True) / m
  dZ_norm = gamma * dZ_tilde
  dsigma2 = jnp.sum(dZ_norm * cache.Z_centered, axis=1, keepdims=True) \
      * (-0.5) * cache.inv_std ** 3
  # The second term of dmu, dsigma2 * (-2/m) sum_j (Z - mu), is zero in exact arithmetic
  # (the centred values sum to 0); kept so that the code reads as the chain rule.
  dmu = -jnp.sum(dZ_norm, axis=1, keepdims=True) * cache.inv_std \
      + dsigma2 * (-2.0 / m) * jnp.sum(cache.Z_centered, axis=1, keepdims=True)
  return BNParts(dZ_norm, dsigma2, dmu, dgamma, dbeta)


def dZ_from_parts(parts, cache):
  """dZ = dZ_norm / s + dsigma2 * 2 (Z - mu) / m + dmu / m."""
  m = cache.Z_centered.shape[1]
  return (parts.dZ_norm * cache.inv_std + parts.dsigma2 * 2.0 * cache.Z_centered / m
          + parts.dmu / m)


def backward(dZ_tilde, cache, gamma):
  """(dZ, dgamma, dbeta) from dZ_tilde = m * dJ/dZ_tilde, through mu and sigma2."""
  parts = backward_parts(dZ_tilde, cache, gamma)
  return dZ_from_parts(parts, cache), parts.dgamma, parts.dbeta


def backward_compact(dZ_tilde, cache, gamma):
  """The same dZ in one line: (gamma / s) (dZ_tilde - mean dZ_tilde - Z_norm mean(dZ_tilde
  Z_norm)); dgamma and dbeta as in ``backward``."""
  mean = lambda x: jnp.mean(x, axis=1, keepdims=True)
  dgamma = mean(dZ_tilde * cache.Z_norm)
  dbeta = mean(dZ_tilde)
  dZ = gamma * cache.inv_std * (dZ_tilde - dbeta - cache.Z_norm * dgamma)
  return dZ, dgamma, dbeta


# --- running averages (test time) ----------------------------------------------------

def update_running(mu_running, sigma2_running, mu, sigma2, momentum=DEFAULT_MOMENTUM):
  """One EWA step of both running averages: v <- beta v + (1 - beta) theta.

  The batch statistics go through ``stop_gradient``: the running averages are not
  differentiated (they do not enter the training cost).
  """
  mu, sigma2 = jax.lax.stop_gradient(mu), jax.lax.stop_gradient(sigma2)
  beta = jnp.asarray(momentum, mu_running.dtype)
  return (beta * mu_running + (1 - beta) * mu,
          beta * sigma2_running + (1 - beta) * sigma2)
