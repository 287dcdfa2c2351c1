"""The lesson's running project: recognizing the 26 letters from 22 x 55 grey images.

Each image is a column of 1210 grey values (``dlcourse.letters``: generated from
matplotlib's fonts with random shifts, scaling, small rotations and noise). A dense net
[1210, hidden..., 26] with ReLU hidden layers and the hand-derived backward is trained two
ways, from the same initial weights and mini-batch shuffles:

* softmax output, cross-entropy J = -1/m sum_i sum_k y_ki log a_ki (dZ = A - Y);
* the lesson's quadratic loss on one-hot targets, linear output,
  J = 1/(2m) sum_i sum_k (a_ki - y_ki)^2 (dZ = A - Y as well).

The predicted letter is the row of the largest output either way. An untrained net is at
chance, 1/26 = 3.8 %. Some fonts/styles appear only in the test set, so the test accuracy
is reported on the training fonts (new images) and on the unseen fonts separately.
"""
import jax
import numpy as np

from dlcourse import arrays as arrays_lib
from dlcourse import data, letters, optim, plots
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import runner
from experiments.runner import datacache

NAME = "intro_letters"
OUTPUTS = {"softmax": "softmax", "quadratic": "linear"}   # loss -> output activation
CACHE_VERSION = 1   # bump when dlcourse.letters draws different images from one seed


# --- the data set, cached -------------------------------------------------------------

def generation_spec(config):
  """What determines the images (JSON-able): the cache key is its digest."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  return {"version": CACHE_VERSION, "matplotlib": matplotlib.__version__,
          "seed": int(config.seed), "test_only": sorted(config.test_only),
          "train_per_letter": int(config.train_per_letter),
          "test_per_letter": int(config.test_per_letter),
          "jitter": [list(config.jitter_scale), float(config.max_rotation_deg),
                     float(config.max_shift_px), float(config.noise)],
          "frame": [letters.HEIGHT, letters.WIDTH, letters.CONDENSE, letters.MARGIN,
                    letters.RENDER_PX, letters.SUPERSAMPLE], "faces": letters.FACE_NAMES}


def generate(config):
  jitter = letters.Jitter(tuple(config.jitter_scale), config.max_rotation_deg,
                          config.max_shift_px, config.noise)
  split = letters.train_test(config.seed, test_only=tuple(config.test_only),
                             train_per_letter=config.train_per_letter,
                             test_per_letter=config.test_per_letter, jitter=jitter)
  return {"train_X": split.train.X, "train_labels": split.train.labels,
          "train_face": split.train.face, "test_X": split.test.X,
          "test_labels": split.test.labels, "test_face": split.test.face}


def load_letters(config, cache_dir, warn=None):
  """(arrays, source, seconds): from ``cache_dir`` when a sound copy is there ("cache"),
  otherwise generated ("generated") and, with a cache_dir, stored for the next run
  (``runner.datacache``)."""
  return datacache.cached(cache_dir, "letters", generation_spec(config),
                          lambda: generate(config), warn)


# --- training --------------------------------------------------------------------------

def check_config(config):
  unknown = [loss for loss in config.losses if loss not in OUTPUTS]
  if unknown or not config.losses:
    raise ConfigError(f"losses must be a non-empty subset of {tuple(OUTPUTS)}, got "
                      f"{tuple(config.losses)}")
  letters.face_indices(config.test_only)


def outputs(params, arch, X_both, m_train):
  """The net's outputs on the training and test columns, (A_train, A_test), from one
  call on both sets side by side: one compiled program per net, not one per shape.
  The params are committed to X's device first: a fit returns committed arrays, the
  initializer uncommitted ones, and jit compiles the two apart (~40 ms more)."""
  params = jax.device_put(params, next(iter(X_both.devices())))
  A = np.asarray(dense.output(params, X_both, arch))
  return A[:, :m_train], A[:, m_train:]


def evaluate(A, labels, seen):
  """Accuracies and predictions of the argmax of the outputs A (K, m)."""
  return {"accuracy": letters.scores_accuracy(A, labels),
          "seen_fonts": letters.scores_accuracy(A, labels, seen),
          "unseen_fonts": letters.scores_accuracy(A, labels, ~seen)}, np.argmax(A, axis=0)


def run(config, env):
  check_config(config)
  arrays, source, gen_s = load_letters(config, env.cache_dir, env.warn)
  train_faces = [n for n in letters.FACE_NAMES if n not in config.test_only]
  seen = np.isin(arrays["test_face"], letters.face_indices(train_faces))
  results, costs, predictions, stages = {}, {}, {}, {}
  with runner.precision(config):
    dtype = runner.float_dtype(config)
    X = arrays_lib.device_array(arrays["train_X"], dtype)
    Y = arrays_lib.device_array(data.one_hot(arrays["train_labels"], letters.NUM_CLASSES),
                                dtype)
    m_train, m_test = arrays["train_X"].shape[1], arrays["test_X"].shape[1]
    X_both = arrays_lib.device_array(
        np.concatenate([arrays["train_X"], arrays["test_X"]], axis=1), dtype)
    dims = (letters.N_X,) + tuple(config.hidden_dims) + (letters.NUM_CLASSES,)
    untrained = None
    for loss in config.losses:
      arch = dense.Architecture.make(dims, hidden="relu", output=OUTPUTS[loss])
      params = runner.init_params(config, arch.layer_dims, "he")  # same weights for both
      if untrained is None:
        untrained, _ = evaluate(outputs(params, arch, X_both, m_train)[1],
                                arrays["test_labels"], seen)
      fit = env.fit_minibatch(config, arch, params, X, Y, optim.adam(config.learning_rate),
                              key=jax.random.key(config.seed))
      A_train, A_test = outputs(fit.params, arch, X_both, m_train)
      train_acc, _ = evaluate(A_train, arrays["train_labels"], np.ones(m_train, bool))
      test_acc, predictions[loss] = evaluate(A_test, arrays["test_labels"], seen)
      costs[loss] = fit.costs
      results[loss] = {"train_accuracy": train_acc["accuracy"],
                       "test_accuracy": test_acc["accuracy"],
                       "test_accuracy_seen_fonts": test_acc["seen_fonts"],
                       "test_accuracy_unseen_fonts": test_acc["unseen_fonts"],
                       "final_cost": fit.costs[-1][1] if fit.costs else None,
                       "output": OUTPUTS[loss]}
      stages.update(runner.fit_stages(fit, loss))
  first = config.losses[0]
  record = runner.result(
      config, costs=costs[first], cost_unit="epoch",
      train_accuracy=results[first]["train_accuracy"],
      test_accuracy=results[first]["test_accuracy"],
      timings={**runner.stage_timings(stages), "generate_s": gen_s},
      metrics={"chance": 1.0 / letters.NUM_CLASSES,
               "untrained_test_accuracy": untrained["accuracy"],
               **results, "accuracies_above_are": f"the {first} net's",
               "m_train": int(m_train), "m_test": int(m_test),
               "m_test_unseen_fonts": int((~seen).sum()),
               "train_faces": train_faces, "test_only_faces": list(config.test_only),
               "data_source": source,
               "other_costs": {k: v for k, v in costs.items() if k != first}})
  figures = figures_of(config, arrays, seen, predictions, costs, results)
  return record, figures


def figures_of(config, arrays, seen, predictions, costs, results):
  test_X, test_labels, test_face = arrays["test_X"], arrays["test_labels"][0], arrays["test_face"]
  # Samples: one row per face shown: two training faces, then two test-only ones (none
  # when test_only is empty).
  seen_faces, unseen_faces = np.unique(test_face[seen]), np.unique(test_face[~seen])
  shown_faces = sorted({int(seen_faces[0]), int(seen_faces[len(seen_faces) // 2])})
  if unseen_faces.size:
    shown_faces += sorted({int(unseen_faces[0]), int(unseen_faces[-1])})
  images, captions = [], []
  for f in shown_faces:
    for k in range(letters.NUM_CLASSES):
      i = np.flatnonzero((test_face == f) & (test_labels == k))[0]
      images.append(letters.image_of(test_X, i))
      captions.append(letters.LETTERS[k] + ("" if seen[i] else "*"))
  faces_text = "; ".join(letters.FACE_NAMES[f] + ("" if np.any(seen[test_face == f]) else " *")
                         for f in shown_faces)
  figures = {
      "samples.png": plots.image_grid(
          images, captions, ncols=letters.NUM_CLASSES,
          title=f"Test images, one row per font: {faces_text}\n(* = font only in the test set)"),
      "cost.png": plots.cost_curve(
          None, series={f"{loss} (final test {100 * results[loss]['test_accuracy']:.1f} %)": c
                        for loss, c in costs.items()},
          title="Letters: cost per epoch\n(cross-entropy and quadratic: different units)",
          xlabel="epoch"),
  }
  for loss, pred in predictions.items():
    C = letters.confusion_matrix(test_labels, pred)
    figures[f"confusion_{loss}.png"] = plots.confusion_matrix(
        C, list(letters.LETTERS), title=f"Letters, {loss} loss: test set, all fonts")
  return figures


def report_markdown(record):
  m = record["metrics"]
  lines = [f"Chance: {100 * m['chance']:.2f} %; the untrained net: "
           f"{100 * m['untrained_test_accuracy']:.2f} % on the test set. "
           f"{m['m_train']} training images from {len(m['train_faces'])} font faces; "
           f"{m['m_test']} test images, {m['m_test_unseen_fonts']} of them in faces only in "
           f"the test set ({', '.join(m['test_only_faces'])}).", "",
           "| loss | train % | test % | test, training fonts % | test, unseen fonts % |",
           "| --- | --- | --- | --- | --- |"]
  def pct(x):
    return "–" if x is None else f"{100 * x:.2f}"
  for loss in OUTPUTS:
    if loss in m:
      r = m[loss]
      lines.append(f"| {loss} | {pct(r['train_accuracy'])} | {pct(r['test_accuracy'])} | "
                   f"{pct(r['test_accuracy_seen_fonts'])} | "
                   f"{pct(r['test_accuracy_unseen_fonts'])} |")
  return "\n".join(lines)


if __name__ == "__main__":
  runner.launch(NAME, run)
