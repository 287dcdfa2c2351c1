"""The generated 26-letter images, and a small real training run well above chance."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import data, initializers, letters, minibatch, optim
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.models import dense


@pytest.fixture(scope="module")
def glyphs():
  return letters.render_faces()


@pytest.fixture(scope="module")
def split():
  return letters.train_test(0, train_per_letter=3, test_per_letter=1)


def test_every_face_renders_every_capital(glyphs):
  assert glyphs.table.shape[0] == len(letters.FACES) * 26
  assert np.all(glyphs.sizes >= 5)  # every glyph has ink, at least 5 px each way at 96 px
  # 'I' is narrower than 'W' in every face: the glyphs are the letters asked for.
  sizes = glyphs.sizes.reshape(len(letters.FACES), 26, 2)
  assert np.all(sizes[:, letters.LETTERS.index("I"), 1] < sizes[:, letters.LETTERS.index("W"), 1])


def test_generate_shapes_range_labels_and_determinism(glyphs):
  faces = ("DejaVu Sans", "STIX General Italic")
  s = letters.generate(7, faces, 2, glyphs=glyphs)
  assert s.X.shape == (1210, 2 * 26 * 2) and s.X.dtype == np.float32
  assert letters.N_X == 22 * 55 == 1210
  assert 0.0 <= s.X.min() and s.X.max() <= 1.0
  assert s.labels.shape == (1, 104)
  np.testing.assert_array_equal(np.bincount(s.labels[0], minlength=26), np.full(26, 4))
  assert sorted(set(s.face.tolist())) == list(letters.face_indices(faces))
  # Every image holds a letter: pixels above 0.5, which noise of std 0.05 never reaches
  # (10 sigma), and at least 30 of them.
  assert np.all((s.X > 0.5).sum(axis=0) >= 30)
  again = letters.generate(7, faces, 2, glyphs=glyphs)
  np.testing.assert_array_equal(s.X, again.X)
  other = letters.generate(8, faces, 2, glyphs=glyphs)
  assert not np.array_equal(s.X, other.X)
  assert letters.image_of(s.X, 0).shape == (55, 22)


def test_split_keeps_test_only_faces_out_of_training(split):
  test_only = letters.face_indices(letters.DEFAULT_TEST_ONLY)
  assert not np.isin(split.train.face, test_only).any()
  assert np.isin(split.test.face, test_only).sum() == len(test_only) * 26
  assert set(split.test.face.tolist()) == set(range(len(letters.FACES)))
  assert split.train.X.shape[1] == (len(letters.FACES) - len(test_only)) * 26 * 3
  assert set(split.test_only_faces) == set(letters.DEFAULT_TEST_ONLY)


def test_bad_inputs():
  with pytest.raises(ConfigError, match="unknown font face 'Comic Sans'"):
    letters.generate(0, ("Comic Sans",), 1)
  with pytest.raises(ConfigError, match="per_letter"):
    letters.generate(0, ("DejaVu Sans",), 0)
  with pytest.raises(ConfigError, match="no font face"):
    letters.train_test(0, test_only=letters.FACE_NAMES)
  with pytest.raises(ShapeError):
    letters.image_of(np.zeros((100, 3)), 0)


def test_confusion_matrix_and_accuracy():
  labels = np.array([[0, 1, 2, 2]])
  C = letters.confusion_matrix(labels, np.array([0, 2, 2, 1]), num_classes=3)
  np.testing.assert_array_equal(C, [[1, 0, 0], [0, 0, 1], [0, 1, 1]])
  A = np.array([[0.9, 0.1, 0.0, 0.0], [0.05, 0.2, 0.1, 0.7], [0.05, 0.7, 0.9, 0.3]])
  assert letters.scores_accuracy(A, labels) == 0.5
  assert letters.scores_accuracy(A, labels, np.array([True, False, True, False])) == 1.0
  assert letters.scores_accuracy(A, labels, np.zeros(4, bool)) is None


def test_quadratic_loss_on_one_hot_matches_jax_grad(x64, split):
  arch = dense.Architecture.make((1210, 8, 26), hidden="relu", output="linear")
  params = initializers.initialize(jax.random.key(0), arch.layer_dims, "he", dtype=jnp.float64)
  X = jnp.asarray(split.train.X[:, :40], jnp.float64)
  Y = jnp.asarray(data.one_hot(split.train.labels[:, :40], 26))
  J, manual = dense.cost_and_grads(params, X, Y, arch)
  J_auto, auto = dense.cost_and_grads(params, X, Y, arch, method="autodiff")
  A, _ = dense.forward(params, X, arch)
  assert float(J) == pytest.approx(float(jnp.sum((A - Y) ** 2) / (2 * 40)), rel=1e-12)
  for k in manual:
    np.testing.assert_allclose(manual[k], auto[k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("output, hidden, batch_size, num_epochs, floor",
                         [("softmax", 32, 32, 10, 0.5), ("linear", 64, 16, 25, 0.25)])
def test_training_beats_chance_by_far(split, output, hidden, batch_size, num_epochs, floor):
  """A real (small) training run on 1092 images of 14 faces, tested on new images of all
  21 faces (7 unseen). Chance is 1/26 = 0.038. The quadratic loss on one-hot targets
  (linear output) first collapses towards the mean output 1/26 and recovers slowly, so it
  gets more units and steps; it reaches about 0.6 here, softmax about 0.8."""
  X = jnp.asarray(split.train.X)
  Y = jnp.asarray(data.one_hot(split.train.labels, 26), jnp.float32)
  arch = dense.Architecture.make((1210, hidden, 26), hidden="relu", output=output)
  params = initializers.initialize(jax.random.key(0), arch.layer_dims, "he")
  A0, _ = dense.forward(params, jnp.asarray(split.test.X), arch)
  untrained = letters.scores_accuracy(A0, split.test.labels)
  state, _ = minibatch.train(params, X, Y, arch=arch, optimizer=optim.adam(3e-4 if output ==
                                                                           "linear" else 1e-3),
                             batch_size=batch_size, num_epochs=num_epochs, key=jax.random.key(1))
  A, _ = dense.forward(state.params, jnp.asarray(split.test.X), arch)
  test = letters.scores_accuracy(A, split.test.labels)
  print(f"{output}: untrained {untrained:.3f}, test {test:.3f} (chance {1 / 26:.3f})")
  assert untrained < 0.12
  assert test > floor


def test_warp_values_do_not_depend_on_the_chunk(glyphs):
  """_warp works through the examples in chunks (small ones stay in cache): every chunk
  size gives the same images to the bit."""
  glyph = np.arange(0, len(glyphs.table), 37)
  transform = letters._transforms(np.random.default_rng(3), glyphs.sizes[glyph],
                                  letters.Jitter())
  whole = letters._warp(glyphs.table, glyphs.sizes, glyph, transform, chunk=len(glyph))
  for chunk in (1, 4, 16):
    np.testing.assert_array_equal(
        letters._warp(glyphs.table, glyphs.sizes, glyph, transform, chunk=chunk), whole)


def test_subpixel_mean_is_numpys_mean_over_the_subpixels_to_the_bit():
  # The generated images (and the cache's checksums) were made with NumPy's mean; the
  # faster sum must give the same bits, on values of any size and sign.
  rng = np.random.default_rng(7)
  k = letters.SUPERSAMPLE
  value = rng.standard_normal((5, letters.HEIGHT * k, letters.WIDTH * k)) * 10.0 ** \
      rng.integers(-8, 8, (5, letters.HEIGHT * k, letters.WIDTH * k))
  expected = value.reshape(5, letters.HEIGHT, k, letters.WIDTH, k).mean(axis=(2, 4))
  np.testing.assert_array_equal(letters._subpixel_mean(value), expected)
