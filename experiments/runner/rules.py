"""The thin check around ``config_flags``: range rules of the shared config fields and
the "did you mean" hint for a misspelt one. Types are config_flags' business (it parses
each override by the field's type); this module never parses a value."""
import difflib
import math
import numbers

from dlcourse.errors import ConfigError

# NumPy's RandomState (course-compatible initializers and shuffles) takes seeds < 2**32;
# jax.random.key takes any int64, but keep one rule for both modes.
MAX_SEED = 2**32 - 1


def _positive_int(value):
  return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _number(value):
  return isinstance(value, numbers.Real) and not isinstance(value, bool) \
      and math.isfinite(value)


def _sequence_of_positive_ints(value, min_len):
  return isinstance(value, (tuple, list)) and len(value) >= min_len \
      and all(_positive_int(v) for v in value)


def _seed(value):
  return isinstance(value, numbers.Integral) and not isinstance(value, bool) \
      and 0 <= value <= MAX_SEED


# field -> (predicate, what it must be)
RULES = {
    "learning_rate": (lambda v: _number(v) and v > 0, "a number > 0"),
    "num_iterations": (_positive_int, "an integer >= 1"),
    "num_epochs": (_positive_int, "an integer >= 1"),
    "record_every": (_positive_int, "an integer >= 1"),
    "batch_size": (_positive_int, "an integer >= 1"),
    "n_h": (_positive_int, "an integer >= 1"),
    "hidden_dims": (lambda v: _sequence_of_positive_ints(v, 0),
                    "a sequence of integers >= 1"),
    "layer_dims": (lambda v: _sequence_of_positive_ints(v, 2),
                   "a sequence of >= 2 integers >= 1 ([n_x, ..., n_y])"),
    "keep_prob": (lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "lambd": (lambda v: _number(v) and v >= 0, "a number >= 0"),
    "seed": (_seed, f"an integer in [0, {MAX_SEED}] (NumPy's RandomState limit)"),
    "shuffle_seed": (_seed, f"an integer in [0, {MAX_SEED}]"),
    "data_seed": (_seed, f"an integer in [0, {MAX_SEED}]"),
    "method": (lambda v: v in ("manual", "autodiff"), "'manual' or 'autodiff'"),
    "dtype": (lambda v: v in ("float32", "float64"), "'float32' or 'float64'"),
    "course_compat": (lambda v: isinstance(v, bool), "true or false"),
    "beta": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "beta1": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "beta2": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "epsilon": (lambda v: _number(v) and v > 0, "a number > 0"),
    "decay_rate": (lambda v: _number(v) and v >= 0, "a number >= 0"),
}

# One compiled program records num_iterations / record_every costs; past this many
# records (8 MB of float64) a run is almost surely a typo (1e12 iterations).
MAX_RECORDS = 1_000_000


def validate(config):
  """Raises ConfigError for the first shared field out of range; returns the config.

  Fields absent from a config are not checked; experiment-specific fields (``model``)
  are the experiment's own business.
  """
  for field, (ok, what) in RULES.items():
    if field in config and config[field] is not None and not ok(config[field]):
      raise ConfigError(f"config.{field} must be {what}, got {config[field]!r}")
  for total in ("num_iterations", "num_epochs"):
    if total in config and "record_every" in config:
      records = config[total] // config.record_every
      if records > MAX_RECORDS:
        raise ConfigError(
            f"config.{total}={config[total]} with record_every={config.record_every} would "
            f"record {records:,} costs (more than {MAX_RECORDS:,}); raise record_every or "
            f"lower {total}")
  return config


def unknown_field_message(field, known):
  close = difflib.get_close_matches(field, known, n=1)
  hint = f"; did you mean {close[0]!r}?" if close else ""
  return f"unknown config field {field!r}{hint}"
