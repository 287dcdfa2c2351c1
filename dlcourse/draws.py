"""Several random arrays, one key each, drawn in one pass of the hash.

JAX's default keys hash each element's flat index with Threefry-2x32 (the
"partitionable" counters, ``jax_threefry_partitionable``): element j of a draw of shape
(n, m) is a function of the key and of j = i m + k alone. So a draw of shape (n, m) is
the first n m values of a longer flat draw with the same key, reshaped:

    draw(key, (n, m)) == draw(key, (N,))[:n m].reshape(n, m)      for N >= n m

for every elementwise ``draw`` on the hashed bits (``jax.random.uniform``, ``normal``,
``uniform(...) < p``, and any constant factor applied after them). ``stacked`` uses it
to draw L arrays from L keys as one vmapped (L, N) draw, N the largest size, and cuts
each array out of its row: the same bits as L separate draws. Keys that count otherwise
("rbg" keys, or Threefry with ``jax_threefry_partitionable`` off) are drawn one array
at a time.

Why: on the CPU, JAX lowers the hash as a loop, and each draw is one more loop that
XLA compiles (~45 ms each, 2-core Xeon, 2026-12-07), while the hashing itself takes
microseconds here. MNIST-1D's initialization of eight [40, 100, 100, 10] nets (six
uniform draws each, vmapped) compiled in 0.41-0.42 -> 0.23-0.24 s drawn as one.
Arrays larger than ``SMALL`` elements are drawn on their own, so that padding every
row to the largest never costs more than L x SMALL values (the cats' W^[1], 20 x
12288, is not padded into its 7 x 20 neighbours).
"""
import math

import jax
import numpy as np

# Arrays of at most this many elements share one draw (a 256 x 256 W^[l] does).
SMALL = 1 << 16


def _counts_flat_index(keys):
  """Whether the keys hash each element's flat index (Threefry keys with the
  partitionable counters, JAX's default): the prefix property that ``stacked`` needs.
  Other keys ("rbg", or the older counters) get one draw per array."""
  return (jax.config.jax_threefry_partitionable
          and str(jax.random.key_impl(keys)) == "threefry2x32")


def stacked(draw, keys, shapes, *consts):
  """``[draw(keys[i], shapes[i], *(c[i] for c in consts)) for i in ...]``, bit for bit.

  draw(key, shape, *c): an elementwise function of the hashed bits of ``key`` over
  ``shape`` and of the per-array constants ``c`` (scalars); keys: a key array with one
  key per shape; consts: sequences of NumPy/Python numbers, one per shape, passed to
  ``draw`` as they are for an array drawn alone and as a (rows,) NumPy array for the
  stacked ones (constants either way, so XLA sees the same expression per element)."""
  shapes = [tuple(int(n) for n in s) for s in shapes]
  if len(keys) != len(shapes) or any(len(c) != len(shapes) for c in consts):
    raise ValueError(f"stacked needs one key and one of each constant per shape: "
                     f"{len(keys)} keys, {[len(c) for c in consts]} constants, "
                     f"{len(shapes)} shapes")
  sizes = [math.prod(s) for s in shapes]
  small = [i for i, n in enumerate(sizes) if n <= SMALL] if _counts_flat_index(keys) else []
  out = [None] * len(shapes)
  if len(small) > 1:
    width = max(sizes[i] for i in small)
    rows = jax.vmap(lambda k, *c: draw(k, (width,), *c))(
        keys[np.asarray(small)], *(np.asarray([c[i] for i in small]) for c in consts))
    for row, i in enumerate(small):
      out[i] = rows[row, :sizes[i]].reshape(shapes[i])
  for i, shape in enumerate(shapes):
    if out[i] is None:
      out[i] = draw(keys[i], shape, *(c[i] for c in consts))
  return out
