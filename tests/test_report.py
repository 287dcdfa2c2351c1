"""The reproduction report: rows from the registry, both modes, skipped rows with reasons."""
import dataclasses
import json
import types

import ml_collections
import pytest

from dlcourse import data, plots
from dlcourse.errors import ConfigError
from experiments.runner import report, schema
from experiments.runner.rows import Course, Row

CATS = (data.CAT_TRAIN_FILE, data.CAT_TEST_FILE)


def fake_run(config, env):
  del env
  if config.broken:
    raise ConfigError("model must be 'a' or 'b', got 'c'")
  compat = config.get("course_compat", False)
  costs = [[0, 0.693147], [100, 0.5 if compat else 0.52]]
  record = schema.result(config, costs=costs, train_accuracy=0.9904 if compat else 0.98,
                         test_accuracy=0.70, timings={"compile_s": 0.1, "train_s": 0.2})
  figures = {"cost.png": b"", "decision_boundary.png": plots.cost_curve(costs, title="x")}
  return record, figures


@dataclasses.dataclass(frozen=True)
class FakeExperiment:
  """Duck-typed ``registry.Experiment``: its app is ``fake_run``."""
  name: str = "fake"
  files: tuple = ()
  with_course_mode: bool = True

  def get_config(self, variant=None):
    del variant
    config = ml_collections.ConfigDict(dict(learning_rate=0.1, broken=False))
    if self.with_course_mode:
      config.course_compat = False
    return config

  def data_files(self, config):
    del config
    return self.files

  def app(self):
    return types.SimpleNamespace(run=fake_run, NAME=self.name)


FAKE, FAKE_CATS, FAKE_PLAIN = FakeExperiment(), FakeExperiment(files=CATS), \
    FakeExperiment(with_course_mode=False)
ENTRIES = (
    report.Entry(FAKE, Row("fake_ok", "Fake, matching", Course(99.04, 70.0, (100, 0.5)))),
    report.Entry(FAKE, Row("fake_off", "Fake, off by a point", Course(98.0, 70.0))),
    report.Entry(FAKE, Row("fake_broken", "Fake, broken", Course(50.0), {"broken": True})),
    report.Entry(FAKE_CATS, Row("fake_cats", "Fake, needs the cats", Course(1.0))),
    report.Entry(FAKE_PLAIN, Row("fake_plain", "Fake, one mode", Course(test=70.0))),
    report.Entry(FAKE, Row("fake_once", "Fake, run once", Course(99.04), modes=("course",))),
)


def test_the_report_compares_both_modes_and_says_what_was_skipped(tmp_path):
  text = report.build_report(tmp_path, None, entries=ENTRIES, gradcheck_on=False,
                             echo=lambda _: None)
  assert (tmp_path / "report.md").read_text() == text
  summary = json.loads((tmp_path / "report.json").read_text())
  by_id = {(r["id"], r["mode"]): r for r in summary["rows"]}
  assert by_id[("fake_ok", "course")]["train_accuracy"] == pytest.approx(0.9904)
  assert by_id[("fake_broken", "jax")]["error"].startswith("model must be")
  assert all(r["wall_s"] > 0 for r in summary["rows"])
  assert "fake_cats" in summary["skipped"]
  rows = {}
  for line in text.splitlines():  # the results table comes first, then the timings
    if line.startswith("| Fake"):
      rows.setdefault(line.split(" | ")[0].lstrip("| "), line)
  assert rows["Fake, matching"] == ("| Fake, matching | 99.04 / 70 | 99.04 / 70.00 | yes | "
                                    "98.00 / 70.00 | 0.500000 / 0.500000 (it. 100) |")
  assert "| no (train) |" in rows["Fake, off by a point"]
  assert "error: model must be 'a' or 'b', got 'c'" in rows["Fake, broken"]
  assert "| skipped |" in rows["Fake, needs the cats"]
  assert rows["Fake, one mode"] == ("| Fake, one mode | – / 70 | – | yes | 98.00 / 70.00 | – |")
  # A row that names one mode runs once, and its table says why the other column is empty.
  assert [mode for (i, mode) in by_id if i == "fake_once"] == ["course"]
  assert rows["Fake, run once"] == ("| Fake, run once | 99.04 | 99.04 / 70.00 | yes | "
                                    "the same run (no mode applies) | – |")
  assert ("- Fake, needs the cats: needs train_catvnoncat.h5, test_catvnoncat.h5: no data "
          "directory (pass --data_dir or set DLCOURSE_DATA_DIR)") in text
  for name in ("fake_ok_cost.png", "fake_ok_course_decision_boundary.png",
               "fake_ok_jax_decision_boundary.png", "fake_plain_default_decision_boundary.png"):
    assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    assert f"]({name})" in text
  assert "## Timings" in text and "| Fake, matching | course | 0.10 | 0.20 |" in text
  assert "| whole report |" in text and "| gradient checks |" in text


def test_a_corrupt_data_file_skips_the_row_naming_the_expected_sha256(tmp_path):
  for filename in CATS:
    (tmp_path / filename).write_bytes(b"corrupt")
  why = report.missing_data(ENTRIES[3], tmp_path)
  assert why.startswith(f"checksum mismatch for {tmp_path / data.CAT_TRAIN_FILE}: expected "
                        f"sha256 {data.SHA256[data.CAT_TRAIN_FILE]}")


def test_every_registered_row_builds_its_config():
  for entry in report.all_entries():
    for mode in entry.modes():
      config = entry.config(mode)
      if mode in report.COURSE_MODES:
        assert config.course_compat == (mode == "course")
      if mode == "jax":
        assert all(config[k] == v for k, v in entry.row.jax_overrides.items())


def test_a_row_names_its_modes_among_the_reports():
  entry = next(e for e in report.all_entries() if e.id == "c1w3_logistic")
  assert list(entry.modes()) == ["course"]  # scikit-learn's fit: no mode changes it
  assert list(report.Entry(FAKE, Row("x", "X")).modes()) == ["course", "jax"]
  for bad in ((), ("course", "fast")):
    with pytest.raises(ValueError, match="modes must be a non-empty subset"):
      Row("x", "X", modes=bad)


def test_rows_without_a_course_number_are_not_judged():
  entry = next(e for e in report.all_entries() if e.id == "c2w2_rmsprop")
  outcome = report.Outcome(entry, "course", record={"train_accuracy": 0.9, "test_accuracy": None,
                                                    "costs": []})
  assert report.reproduced(outcome) == "n/a (no course number)"


def test_only_selects_entries_by_prefix():
  assert [e.id for e in report.select(report.all_entries(), ["c1w4"])] == [
      "c1w4_two_layer", "c1w4_l_layer"]


@pytest.mark.slow
def test_the_generated_data_rows_reproduce_the_course_in_worker_processes(tmp_path):
  text = report.build_report(tmp_path, None, only=["c1w3_logistic"], gradcheck_on=False,
                             workers=2, echo=lambda _: None)
  assert "| C1W3 logistic baseline (sklearn), planar | 47 | 47.00 | yes |" in text
  assert "(1 runs, 2 worker(s))" in text   # one mode only: scikit-learn's fit, once


def test_the_workers_use_the_compilation_cache_only_when_asked(tmp_path, monkeypatch):
  """--nocompilation_cache (compilation_cache=False) reaches the worker processes: they
  write no cache entry; with the cache on they do."""
  for on in (False, True):
    cache_home = tmp_path / f"cache_{on}"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    report.build_report(tmp_path / f"report_{on}", None, only=["c2w1_init_he"],
                        gradcheck_on=False, workers=2, echo=lambda _: None,
                        compilation_cache=on)
    entries = list((cache_home / "dlcourse" / "jax").glob("*")) \
        if (cache_home / "dlcourse" / "jax").exists() else []
    assert bool(entries) == on, (on, entries)


def test_a_record_that_classifies_nothing_shows_its_headline():
  from experiments.runner import session
  record = {"train_accuracy": None, "test_accuracy": None, "costs": [[0, 1.0]],
            "metrics": {"headline": "theta = 3.140000 | from 5 circles"}, "run": {}}
  assert schema.headline(record) == "theta = 3.140000 | from 5 circles"
  assert session.summary_line(record) == "theta = 3.140000 | from 5 circles"
  outcome = report.Outcome(ENTRIES[0], "course", record, {})
  assert report._ours_text(outcome) == "theta = 3.140000 \\| from 5 circles"
  classified = dict(record, train_accuracy=0.5)  # accuracies win over a headline
  assert schema.headline(classified) is None
  assert session.summary_line(classified).startswith("train 50.00 %")


def test_a_figure_the_report_replaces_is_never_drawn():
  """An app's figure may be a callable that draws it; the report's worker draws every
  figure but the ones it replaces (each mode's cost curve of a two-mode entry)."""
  drawn = []

  def draw(name):
    drawn.append(name)
    return b"\x89PNG " + name.encode()

  figures = {"cost.png": lambda: draw("cost"), "boundary.png": lambda: draw("boundary"),
             "ready.png": b"\x89PNG ready"}
  assert schema.draw_figures(figures, skip=("cost.png",)) == {
      "boundary.png": b"\x89PNG boundary", "ready.png": b"\x89PNG ready"}
  assert drawn == ["boundary"]
  assert schema.draw_figures(figures)["cost.png"] == b"\x89PNG cost"


def test_only_two_mode_entries_leave_their_cost_curves_undrawn():
  entries = {e.id: e for e in report.all_entries()}
  assert report.replaced_figures(entries["c1w2_logistic"]) == ("cost.png",)
  assert report.replaced_figures(entries["mnist1d_mlp"]) == ()


def test_report_json_takes_a_rows_totals_once_and_keeps_its_stages():
  """A record with totals and stages (intro_letters) is not counted twice; one with
  stages only is summed; each stage's compile time stays for the per-program target."""
  staged = {"compile_s": 0.9, "train_s": 3.0, "softmax_compile_s": 0.5,
            "softmax_train_s": 1.5, "quadratic_compile_s": 0.4, "quadratic_train_s": 1.5,
            "generate_s": 1.6}
  assert report._total(staged, "compile_s") == 0.9
  assert report._total(staged, "train_s") == 3.0
  assert report._parts(staged, "compile_s") == {"softmax": 0.5, "quadratic": 0.4}
  parts_only = {"search_compile_s": 1.5, "retrain_compile_s": 1.25}
  assert report._total(parts_only, "compile_s") == 2.75
  assert report._total({"generate_s": 1.0}, "compile_s") is None
  assert report._total({"compile_s": float("nan"), "a_compile_s": 0.5}, "compile_s") == 0.5
