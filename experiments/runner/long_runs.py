"""How a program that trains for minutes is compiled (MNIST-1D's trainers).

Two choices, both for speed only, both made per program and passed to its lowering and
compile explicitly (nothing process-wide):

* XLA's own fusion emitters (``cli.long_run_compiler_options``);
* Threefry's rounds unrolled. JAX draws its random bits with the Threefry-2x32 hash
  (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011)
  and lowers it on the CPU as a loop over the hash's five groups of four rounds: each
  group is a pass over the counters in memory, and the loop keeps XLA from fusing the
  hash with its neighbours. That keeps programs with many draws quick to compile (a
  3-layer net's initialization took 0.27-0.33 s to compile rolled, 0.45-0.83 s unrolled),
  and slows a program that draws dropout masks at every step for minutes: MNIST-1D's
  random search trained in 83.6 s rolled and 67.4 s unrolled, its all-tools row in 21.1
  against 17.5 s (one core each, 2026-12-07, Xeon with AVX-512). The hash is the same
  function either way, so the bits, and every number trained from them, are the same.
  (Unrolled, XLA would fuse a mask's hash into both the forward and the backward that
  read the mask, hashing it twice; ``dlcourse.loop`` draws each step's masks a step
  ahead, so each is hashed once and kept.)

``compile_long_run(jitted, *args, flops=..., **kwargs)`` lowers and compiles with both.
"""
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.random import threefry2x32_p
from jax.interpreters import mlir

from experiments.runner import cli

# Threefry-2x32's rotation constants, one set per group of four rounds, alternating.
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
KEY_PARITY = 0x1BD11BDA   # the third key word: k0 ^ k1 ^ KEY_PARITY
GROUPS = 5                # 20 rounds


def _rotate_left(x, bits):
  return jax.lax.shift_left(x, np.uint32(bits)) | \
      jax.lax.shift_right_logical(x, np.uint32(32 - bits))


def threefry2x32_unrolled(k0, k1, x0, x1):
  """Threefry-2x32 with 20 rounds, as straight-line code: (y0, y1) for the key (k0, k1)
  and the counters (x0, x1), all uint32, broadcast together.

  Key words k = (k0, k1, k0 ^ k1 ^ 0x1BD11BDA). Start x += (k0, k1); each round is
      x0 = x0 + x1,  x1 = rotl(x1, r) ^ x0
  with r from ROTATIONS[g % 2] in group g = 0..4, and after group g the key is injected:
      x0 += k[(g + 1) % 3],  x1 += k[(g + 2) % 3] + (g + 1).
  """
  k = (k0, k1, k0 ^ k1 ^ np.uint32(KEY_PARITY))
  x0, x1 = x0 + k[0], x1 + k[1]
  for g in range(GROUPS):
    for r in ROTATIONS[g % 2]:
      x0 = x0 + x1
      x1 = _rotate_left(x1, r) ^ x0
    x0 = x0 + k[(g + 1) % 3]
    x1 = x1 + k[(g + 2) % 3] + np.uint32(g + 1)
  shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in (k0, k1, x0, x1)))
  return [jnp.broadcast_to(x0, shape), jnp.broadcast_to(x1, shape)]


_UNROLLED_RULE = mlir.lower_fun(threefry2x32_unrolled, multiple_results=True)


def lowering_parameters(backend, environ=os.environ, flops=None):
  """The long run's lowering: Threefry unrolled where ``cli.takes_long_run_choices``
  (the CPU only: other backends lower it unrolled, or as a kernel, already); else
  JAX's defaults."""
  if not cli.takes_long_run_choices(backend, environ, flops):
    return mlir.LoweringParameters()
  return mlir.LoweringParameters(override_lowering_rules=((threefry2x32_p, _UNROLLED_RULE),))


def compile_hashing(jitted, *args, environ=os.environ, **kwargs):
  """``jitted`` lowered with Threefry unrolled (``lowering_parameters``) and compiled with
  the default options: for a short program that is mostly hashing, a few large draws
  and little else, which then compiles faster than with JAX's rolled loops. The keyed
  shuffles table (``minibatch.keyed_permutations_jit``; one core, 2026-12-07, Zen 4):
  intro_letters' 40 x 2912 compiled in 0.22-0.23 -> 0.12 s and C2W2's 5000 x 300 in
  0.15 -> 0.08 s, the same permutations, drawn as fast or faster; and a full-batch
  fit's dropout masks drawn ahead (``train.dropout_masks_ahead_jit``, ``env``). (MNIST-1D's
  initialization program, one stacked draw and four small ones, compiled in 0.26-0.27 s
  either way, so it keeps JAX's loops; see the module docstring for programs with many
  draws.)"""
  return _lowered(jitted, args, kwargs, environ).compile()


def compile_long_run(jitted, *args, flops=None, environ=os.environ, **kwargs):
  """``jitted`` (a ``jax.jit`` function) lowered for ``args``/``kwargs`` and compiled
  as a program that trains for minutes (the module's docstring); ``flops``: the
  training's arithmetic, when known."""
  return _lowered(jitted, args, kwargs, environ, flops).compile(
      cli.long_run_compiler_options(jax.default_backend(), environ, flops=flops))


def _lowered(jitted, args, kwargs, environ, flops=None):
  """``jitted`` traced for ``args``/``kwargs`` and lowered with ``lowering_parameters``."""
  return jitted.trace(*args, **kwargs).lower(
      _private_parameters=lowering_parameters(jax.default_backend(), environ, flops))
