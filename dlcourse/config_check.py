"""Command-line config overrides and config checks, with one-line errors.

``--config.<field>=<value>`` overrides are parsed here rather than by
``ml_collections.config_flags``, whose errors for a misspelt field or a malformed tuple
are tracebacks. Each value is parsed by the type of the field's default (bool, int,
float, str, tuple of ...), an unknown field gets the closest known name suggested, and
``validate`` checks the ranges of the fields the course's configs share
(learning_rate > 0, num_iterations >= 1, keep_prob in (0, 1], ...) before any data is
loaded or anything compiled. Every failure is a ``ConfigError`` whose message names the
field, the value and what was expected.
"""
import ast
import copy
import difflib
import math
import numbers

import ml_collections

from dlcourse.errors import ConfigError

PREFIX = "--config."
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


# --------------------------------------------------------------------------------------
# Splitting argv


def split_overrides(args):
  """Separates ``--config.<field>[=value]`` arguments from the rest.

  Returns ([(field, raw value or None), ...], other args). ``--config.f value`` takes
  the next argument as the value unless it looks like a flag (then the value is None,
  which only a bool field accepts: it means True).
  """
  overrides, rest = [], []
  args = list(args)
  i = 0
  while i < len(args):
    arg = args[i]
    if arg == "--config" or arg.startswith("--config="):
      raise ConfigError(f"{arg.split('=')[0]}=<file> is not supported: each experiment "
                        "has its own config file; override fields with "
                        "--config.<field>=<value>")
    if arg.startswith(PREFIX):
      field, sep, value = arg[len(PREFIX):].partition("=")
      if not sep:
        nxt = args[i + 1] if i + 1 < len(args) else None
        if nxt is not None and not nxt.startswith("-"):
          value, i = nxt, i + 1
        else:
          value = None
      overrides.append((field, value))
    else:
      rest.append(arg)
    i += 1
  return overrides, rest


# --------------------------------------------------------------------------------------
# Parsing one value by the type of the field's default


def _parse_bool(field, raw):
  word = raw.strip().lower()
  if word in _TRUE:
    return True
  if word in _FALSE:
    return False
  raise ConfigError(f"config.{field}: expected a boolean (true/false), got {raw!r}")


def _parse_int(field, raw):
  text = raw.strip().replace("_", "")
  try:
    return int(text)
  except ValueError:
    pass
  try:
    value = float(text)  # 1e4 is a fine way to write 10000
  except ValueError:
    value = None
  if value is not None and math.isfinite(value) and value.is_integer():
    return int(value)
  raise ConfigError(f"config.{field}: expected an integer, got {raw!r}")


def _parse_float(field, raw):
  try:
    value = float(raw.strip())
  except ValueError:
    raise ConfigError(f"config.{field}: expected a number, got {raw!r}") from None
  if not math.isfinite(value):
    raise ConfigError(f"config.{field}: expected a finite number, got {raw!r}")
  return value


def _literal(field, raw, what):
  text = raw.strip()
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    pass
  if what == "sequence":  # bare "20,7,5" (the shell ate the brackets, or none were typed)
    try:
      return ast.literal_eval(f"({text},)")
    except (ValueError, SyntaxError):
      pass
  raise ConfigError(f"config.{field}: expected a {what} literal such as (20, 7, 5), "
                    f"got {raw!r}")


def _type_name(value):
  return "integer" if isinstance(value, numbers.Integral) else type(value).__name__


def _check_element(field, item, example):
  """An element of a parsed sequence must have the kind of the default's elements."""
  if isinstance(example, bool):
    ok = isinstance(item, bool)
  elif isinstance(example, numbers.Integral):
    ok = isinstance(item, numbers.Integral) and not isinstance(item, bool)
  elif isinstance(example, numbers.Real):
    ok = isinstance(item, numbers.Real) and not isinstance(item, bool)
  else:
    ok = isinstance(item, type(example))
  if not ok:
    raise ConfigError(f"config.{field}: every element must be a {_type_name(example)} "
                      f"(like the default's), got {item!r}")
  return float(item) if isinstance(example, float) else item


def _parse_sequence(field, raw, default):
  value = _literal(field, raw, "sequence")
  if not isinstance(value, (tuple, list)):
    value = (value,)
  if default:
    value = [_check_element(field, item, default[0]) for item in value]
  return type(default)(value)


def parse_value(field, raw, default, field_type=None):
  """``raw`` (a string, or None for a bare flag) as the type of ``default``."""
  kind = type(default) if default is not None else field_type
  if raw is None:
    if kind is bool:
      return True
    raise ConfigError(f"config.{field} needs a value: --config.{field}=<value>")
  if kind is bool:
    return _parse_bool(field, raw)
  if kind is not None and issubclass(kind, numbers.Integral):
    return _parse_int(field, raw)
  if kind is not None and issubclass(kind, numbers.Real):
    return _parse_float(field, raw)
  if kind is str:
    return raw
  if kind in (tuple, list):
    return _parse_sequence(field, raw, default if default is not None else kind())
  if kind is not None and issubclass(kind, ml_collections.ConfigDict):
    raise ConfigError(f"config.{field} is a group of fields; set them one by one: "
                      f"--config.{field}.<name>=<value>")
  try:  # no default to go by (a None placeholder): a Python literal, else a string
    return ast.literal_eval(raw)
  except (ValueError, SyntaxError):
    return raw


# --------------------------------------------------------------------------------------
# Applying overrides


def _unknown(field, known, where):
  close = difflib.get_close_matches(field.split(".")[-1], known, n=1, cutoff=0.6)
  hint = f"; did you mean {close[0]!r}?" if close else ""
  return ConfigError(f"unknown config field {field!r}{where}{hint} "
                     f"(fields: {', '.join(sorted(known))})")


def _field_type(node, name):
  try:
    return node.get_type(name)
  except (AttributeError, KeyError, TypeError):
    return None


def apply_overrides(config, overrides, *, name=None):
  """A copy of ``config`` with ``[(field, raw), ...]`` applied; dotted fields reach into
  nested ConfigDicts. Raises ConfigError for unknown fields and unparsable values."""
  config = copy.deepcopy(config)
  where = f" for {name}" if name else ""
  for field, raw in overrides:
    parts = field.split(".")
    node = config
    for depth, part in enumerate(parts):
      if not isinstance(node, ml_collections.ConfigDict) or part not in node:
        known = list(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
        raise _unknown(".".join(parts[:depth + 1]), known, where)
      if depth < len(parts) - 1:
        node = node[part]
    leaf = parts[-1]
    value = parse_value(field, raw, node[leaf], _field_type(node, leaf))
    try:
      node[leaf] = value
    except (TypeError, ValueError) as e:
      raise ConfigError(f"config.{field}: cannot set {value!r}: {e}") from None
  return config


# --------------------------------------------------------------------------------------
# Range checks of the shared fields


def _positive_int(value):
  return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _number(value):
  return isinstance(value, numbers.Real) and not isinstance(value, bool) \
      and math.isfinite(value)


def _sequence_of_positive_ints(value, min_len):
  return isinstance(value, (tuple, list)) and len(value) >= min_len \
      and all(_positive_int(v) for v in value)


# field -> (predicate, what it must be)
RULES = {
    "learning_rate": (lambda v: _number(v) and v > 0, "a number > 0"),
    "num_iterations": (_positive_int, "an integer >= 1"),
    "num_epochs": (_positive_int, "an integer >= 1"),
    "record_every": (_positive_int, "an integer >= 1"),
    "mini_batch_size": (_positive_int, "an integer >= 1"),
    "n_h": (_positive_int, "an integer >= 1"),
    "hidden_dims": (lambda v: _sequence_of_positive_ints(v, 0),
                    "a sequence of integers >= 1"),
    "layer_dims": (lambda v: _sequence_of_positive_ints(v, 2),
                   "a sequence of >= 2 integers >= 1 ([n_x, ..., n_y])"),
    "keep_prob": (lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "lambd": (lambda v: _number(v) and v >= 0, "a number >= 0"),
    "seed": (lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool)
             and v >= 0, "an integer >= 0"),
    "method": (lambda v: v in ("manual", "autodiff"), "'manual' or 'autodiff'"),
    "dtype": (lambda v: v in ("float32", "float64"), "'float32' or 'float64'"),
    "course_compat": (lambda v: isinstance(v, bool), "true or false"),
    "beta": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "beta1": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "beta2": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "epsilon": (lambda v: _number(v) and v > 0, "a number > 0"),
    "decay_rate": (lambda v: _number(v) and v >= 0, "a number >= 0"),
}


def validate(config, *, name=None):
  """Raises ConfigError for the first shared field out of range; returns the config.

  Fields absent from a config are not checked; experiment-specific fields (``model``)
  are the experiment's own business.
  """
  where = f" ({name})" if name else ""
  for field, (ok, what) in RULES.items():
    if field in config and config[field] is not None and not ok(config[field]):
      raise ConfigError(f"config.{field} must be {what}, got {config[field]!r}{where}")
  return config
