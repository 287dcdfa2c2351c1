"""Course 1, week 2: vectorization, a Python for-loop against np.dot, jnp.dot and a jitted function.

Commands:
  python -m experiments c1w2_vectorization
  python -m experiments c1w2_vectorization --config.loop_n=1000000   # the full loop (slow)
  python experiments/c1w2_vectorization.py --config=experiments/configs/c1w2_vectorization.py \\
      --workdir runs/vectorization
Lecture: c = sum_i a_i b_i for two vectors of 10^6 elements takes about 500 ms as a Python
for-loop and about 1.5 ms with np.dot (some 300x). The loop is slow by design, so it runs
on the first ``loop_n`` = 10^5 elements and its time is scaled by n / loop_n (the loop
does the same work per element). Likewise one logistic-regression gradient
(n_x = 100, m = 10000; the double loop over examples and features on 500 examples).
Expected result: the loop some hundreds of times slower than np.dot (on a 2-core machine
the loop costs about 0.2-0.5 s per 10^6 elements, np.dot about 0.5 ms); jnp.dot op by op
pays a dispatch cost, the jitted function about matches np.dot; the looped and vectorized
gradients agree to 1e-12 (float64).
"""
import ml_collections

from experiments.runner.rows import Course, Row, no_variants

DATA_FILES = ()
REPORT = (
    Row("c1w2_vectorization", "C1W2 vectorization: loop vs np.dot / jnp.dot / jit, 10^6 elements",
        Course(), note="lecture: 500 ms vs 1.5 ms; our ratios in the section below"),
)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.n = 1_000_000
  config.loop_n = 100_000          # elements the Python loop actually runs on
  config.logistic_n_x = 100
  config.logistic_m = 10_000
  config.logistic_loop_m = 500     # examples the looped gradient actually runs on
  config.repeats = 20              # timed calls per vectorized method (the best is kept)
  config.dtype = "float64"
  config.seed = 0
  return config
