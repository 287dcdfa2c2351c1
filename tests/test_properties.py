"""Property tests (hypothesis, few examples, no compiles): partitions lose no example."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse import data, minibatch
from dlcourse.errors import ConfigError


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 2000), batch_size=st.integers(1, 300))
def test_batch_sizes_partition_every_example_once(m, batch_size):
  sizes = minibatch.batch_sizes(m, batch_size)
  assert sum(sizes) == m
  assert all(s == batch_size for s in sizes[:-1]) and 0 < sizes[-1] <= batch_size
  assert len(sizes) == minibatch.num_batches(m, batch_size) == -(-m // batch_size)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(3, 400), train=st.floats(0.1, 0.8), seed=st.integers(0, 2**31 - 1))
def test_splits_are_a_partition_of_the_columns(m, train, seed):
  dev = (1 - train) / 2
  X = np.arange(2 * m, dtype=float).reshape(2, m)
  Y = (np.arange(m) % 2)[None, :]
  try:
    splits = data.split_train_dev_test(X, Y, (train, dev, 1 - train - dev), seed)
  except ConfigError as error:  # a positive fraction too small for m: refused, never empty
    assert "gives an empty" in str(error)
    return
  columns = np.concatenate([x[0] for x, _ in splits])
  assert sorted(columns.tolist()) == X[0].tolist()  # every example exactly once
  for x, y in splits:
    np.testing.assert_array_equal(y[0], (x[0] // 1 % 2))  # labels travel with their columns
