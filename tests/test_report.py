"""The reproduction report: built from entries, both modes, skipped rows with reasons."""
import types

import ml_collections
import pytest

from dlcourse import data, plots
from dlcourse.errors import ConfigError
from experiments import report


def fake_config():
  """Fake experiment for the report's own tests."""
  return ml_collections.ConfigDict(dict(learning_rate=0.1, course_compat=False, broken=False))


def fake_run(config, data_dir):
  del data_dir
  if config.broken:
    raise ConfigError("model must be 'a' or 'b', got 'c'")
  compat = config.course_compat
  costs = [[0, 0.693147], [100, 0.5 if compat else 0.52]]
  record = {"config": config.to_dict(), "costs": costs,
            "train_accuracy": 0.9904 if compat else 0.98, "test_accuracy": 0.70,
            "timings": {"compile_s": 0.1, "train_s": 0.2}}
  figures = {"cost.png": b"", "decision_boundary.png": plots.cost_curve(costs, title="x")}
  return record, figures


APP = types.SimpleNamespace(run=fake_run, NAME="fake")
CONFIG = types.SimpleNamespace(get_config=fake_config, __doc__=fake_config.__doc__)
ENTRIES = (
    report.Entry("fake_ok", "Fake, matching", APP, CONFIG,
                 report.Course(99.04, 70.0, (100, 0.5))),
    report.Entry("fake_off", "Fake, off by a point", APP, CONFIG, report.Course(98.0, 70.0)),
    report.Entry("fake_broken", "Fake, broken", APP, CONFIG, report.Course(50.0),
                 {"broken": True}),
    report.Entry("fake_cats", "Fake, needs the cats", APP, CONFIG, report.Course(1.0),
                 needs=report.CATS),
)


def test_the_report_compares_both_modes_and_says_what_was_skipped(tmp_path):
  text = report.build_report(tmp_path, None, entries=ENTRIES, gradcheck_on=False,
                             echo=lambda _: None)
  assert (tmp_path / "report.md").read_text() == text
  rows = {}
  for line in text.splitlines():  # the results table comes first, then the timings
    if line.startswith("| Fake"):
      rows.setdefault(line.split(" | ")[0].lstrip("| "), line)
  assert rows["Fake, matching"] == ("| Fake, matching | 99.04 / 70 | 99.04 / 70.00 | yes | "
                                    "98.00 / 70.00 | 0.500000 / 0.500000 (it. 100) |")
  assert "| no (train) |" in rows["Fake, off by a point"]
  assert "error: model must be 'a' or 'b', got 'c'" in rows["Fake, broken"]
  assert "| skipped |" in rows["Fake, needs the cats"]
  assert ("- Fake, needs the cats: needs train_catvnoncat.h5, test_catvnoncat.h5: no data "
          "directory (pass --data_dir or set DLCOURSE_DATA_DIR)") in text
  for name in ("fake_ok_cost.png", "fake_ok_course_decision_boundary.png",
               "fake_ok_jax_decision_boundary.png"):
    assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    assert f"]({name})" in text
  assert "## Timings" in text and "| Fake, matching | course | 0.10 | 0.20 |" in text


def test_a_corrupt_data_file_skips_the_row_naming_the_expected_sha256(tmp_path):
  for filename in report.CATS:
    (tmp_path / filename).write_bytes(b"corrupt")
  why = report.missing_data(ENTRIES[3], tmp_path)
  assert why.startswith(f"checksum mismatch for {tmp_path / data.CAT_TRAIN_FILE}: expected "
                        f"sha256 {data.SHA256[data.CAT_TRAIN_FILE]}")


def test_every_entry_builds_its_config():
  for entry in report.ENTRIES:
    for mode in report.MODES:
      config = report.make_config(entry, mode)
      assert config.course_compat == (mode == "course")
      assert entry.course.train is None or entry.course.train > 0
      if mode == "jax":
        assert all(config[k] == v for k, v in entry.jax_overrides.items())


def test_rows_without_a_course_number_are_not_judged():
  entry = next(e for e in report.ENTRIES if e.id == "c2w2_rmsprop")
  outcome = report.Outcome(entry, "course", record={"train_accuracy": 0.9, "test_accuracy": None,
                                                    "costs": []})
  assert report.reproduced(outcome) == "n/a (no course number)"


def test_only_selects_entries_by_prefix():
  assert [e.id for e in report.select(report.ENTRIES, ["c1w4"])] == [
      "c1w4_two_layer", "c1w4_l_layer"]


@pytest.mark.slow
def test_the_generated_data_rows_reproduce_the_course(tmp_path):
  text = report.build_report(tmp_path, None, only=["c1w3_logistic"], gradcheck_on=False,
                             echo=lambda _: None)
  assert "| C1W3 logistic baseline (sklearn), planar | 47 | 47.00 | yes |" in text
