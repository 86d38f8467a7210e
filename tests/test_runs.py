"""Many runs: runs(), RunList.filter(), varying(), summary(), refresh() and the table."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import hypertuner
from hypertuner import HypertunerWarning, Logger, ParamsError, RunList


class Clock:
    """A clock that stands still until moved, for exact created/ended/wall times."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_run(name, params=None, losses=(1.0, 0.5, 0.25), clock=None, **extra):
    """A finished run logging `loss` (and any `extra` key -> list of values) at steps 0, 1, ...

    Its clock starts now, or at ``clock.now``; each step takes a second and it closes at +10s.
    """
    clock = clock or Clock(time.time())
    start = clock.now
    logger = Logger(name=name, params=params, clock=clock)
    for step, loss in enumerate(losses):
        clock.now = start + step + 1
        logger.log({"loss": loss, **{key: values[step] for key, values in extra.items()}}, step)
    clock.now = start + 10
    logger.close()
    return logger


def corrupt(folder, text="{not json"):
    """Overwrite a run's run.json."""
    (folder / "run.json").write_text(text)


# -- filter -------------------------------------------------------------------------------


def test_filter_by_status_and_params():
    """Keyword arguments keep runs of that status and with those params; all must hold."""
    make_run("a", {"lr": 0.1, "opt": "sgd"})
    make_run("b", {"lr": 0.01, "opt": "sgd"})
    live = Logger(name="c", params={"lr": 0.01, "opt": "adam"})
    listed = hypertuner.runs()
    assert [r.name for r in listed.filter(status="finished")] == ["a", "b"]
    assert [r.name for r in listed.filter(status="running")] == ["c"]
    assert [r.name for r in listed.filter(lr=0.01)] == ["b", "c"]
    assert [r.name for r in listed.filter(lr=0.01, status="finished")] == ["b"]
    assert [r.name for r in listed.filter(lr=0.01, opt="adam")] == ["c"]
    assert list(listed.filter(lr=0.5)) == []
    assert isinstance(listed.filter(lr=0.01), RunList)
    live.close()


def test_filter_by_dotted_nested_params():
    """A nested param is matched by its dotted name, or a whole section by its name."""
    make_run("small", {"model": {"hidden": 64, "act": "tanh"}})
    make_run("wide", {"model": {"hidden": 256, "act": "tanh"}})
    listed = hypertuner.runs()
    assert [r.name for r in listed.filter(**{"model.hidden": 64})] == ["small"]
    assert [r.name for r in listed.filter(**{"model.act": "tanh"})] == ["small", "wide"]
    assert [r.name for r in listed.filter(model={"hidden": 256, "act": "tanh"})] == ["wide"]


def test_filter_by_a_param_some_runs_lack():
    """A run lacking a param that other runs have does not match it."""
    make_run("with", {"lr": 0.1, "seed": 1})
    make_run("without", {"lr": 0.1})
    listed = hypertuner.runs()
    assert [r.name for r in listed.filter(seed=1)] == ["with"]
    assert list(listed.filter(seed=2)) == []


def test_filter_by_a_param_no_run_has_is_an_error():
    """A param name no run has raises ParamsError (a ValueError) naming the known params."""
    make_run("a", {"lr": 0.1, "model": {"hidden": 64}})
    make_run("b", {"lr": 0.01, "seed": 1})
    listed = hypertuner.runs()
    with pytest.raises(ParamsError) as info:
        listed.filter(lrr=0.01)
    assert str(info.value) == "unknown parameter 'lrr'; known parameters: lr, model.hidden, seed"
    assert isinstance(info.value, ValueError)
    for name in ("model.width", "lr.sub", "hidden"):
        with pytest.raises(ParamsError, match=f"^unknown parameter '{name}'; known parameters"):
            listed.filter(**{name: 1})
    with pytest.raises(ParamsError, match="unknown parameter 'nope'"):
        listed.filter(lambda run: True, status="finished", lr=0.1, nope=1)


def test_filter_knows_leaves_sections_and_status_but_checks_no_empty_list():
    """Dotted leaves and whole sections are known params, status is no param; [] checks nothing."""
    make_run("a", {"model": {"hidden": 64}})
    make_run("bare")
    listed = hypertuner.runs()
    assert [r.name for r in listed.filter(**{"model.hidden": 64})] == ["a"]
    assert [r.name for r in listed.filter(model={"hidden": 64})] == ["a"]
    assert [r.name for r in listed.filter(status="finished")] == ["a", "bare"]
    with pytest.raises(ParamsError) as info:
        listed.filter(lambda run: run.name == "bare").filter(model={"hidden": 64})
    assert str(info.value) == "unknown parameter 'model'; known parameters: none"
    assert list(RunList().filter(lrr=0.01)) == []
    assert list(listed.filter(status="running").filter(lrr=0.01)) == []


def test_filter_does_not_confuse_true_with_one():
    """A bool param matches only a bool: True is not 1."""
    make_run("flag", {"x": True})
    make_run("one", {"x": 1})
    listed = hypertuner.runs()
    assert [r.name for r in listed.filter(x=True)] == ["flag"]
    assert [r.name for r in listed.filter(x=1)] == ["one"]


def test_filter_with_a_function():
    """A function of the run keeps the runs it returns true for; it combines with keywords."""
    make_run("slow", {"lr": 0.0001})
    make_run("fast", {"lr": 0.01})
    make_run("none")
    listed = hypertuner.runs()
    assert [r.name for r in listed.filter(lambda run: run.params.get("lr", 0) > 0.001)] == ["fast"]
    assert [r.name for r in listed.filter(lambda run: "lr" in run.params, status="finished")] == [
        "slow",
        "fast",
    ]
    assert [r.name for r in listed.filter(lambda run: run["loss"].values.min() < 0.3)] == [
        "slow",
        "fast",
        "none",
    ]


def test_filter_rejects_a_bad_status_and_a_non_function():
    """A status no run can have, or a predicate that is not callable, is a clear error."""
    listed = hypertuner.runs(make_run("a").path.parent)
    with pytest.raises(ValueError) as info:
        listed.filter(status="done")
    assert str(info.value) == (
        "status must be one of 'running', 'finished', 'crashed', 'interrupted', 'pruned' "
        "(got 'done')"
    )
    with pytest.raises(TypeError) as info:
        listed.filter("lr")
    assert str(info.value) == (
        "filter() takes a function of a run, or keyword arguments such as "
        "status='finished' (got 'lr' that is str)"
    )


def test_a_slice_is_a_runlist():
    """Slicing a RunList gives a RunList (which prints as a table); indexing a Run."""
    make_run("a")
    make_run("b")
    listed = hypertuner.runs()
    assert isinstance(listed[:1], RunList) and [r.name for r in listed[:1]] == ["a"]
    assert listed[-1].name == "b"


# -- varying --------------------------------------------------------------------------------


def test_varying_names_the_params_that_differ_in_first_seen_order():
    """varying() gives dotted names of params whose values differ, in first-seen order."""
    make_run("a", {"lr": 0.1, "model": {"hidden": 64, "act": "tanh"}, "seed": 0, "tags": [1, 2]})
    make_run("b", {"lr": 0.1, "model": {"hidden": 128, "act": "tanh"}, "seed": 1, "tags": [1, 2]})
    make_run("c", {"lr": 0.1, "model": {"hidden": 64, "act": "tanh"}, "seed": 0, "tags": [1, 3]})
    listed = hypertuner.runs()
    assert listed.varying() == ["model.hidden", "seed", "tags"]
    assert listed.filter(lambda run: run.name != "c").varying() == ["model.hidden", "seed"]
    assert listed[:1].varying() == []
    assert RunList().varying() == []


def test_a_param_some_runs_lack_varies():
    """A param present in some runs and missing in others varies; 1 and 1.0 do not differ."""
    make_run("a", {"lr": 1, "extra": None})
    make_run("b", {"lr": 1.0})
    assert hypertuner.runs().varying() == ["extra"]


# -- summary -------------------------------------------------------------------------------


def test_summary_columns_and_values():
    """summary(): status, created, duration, points, params (varying first), metric stats."""
    import pandas as pd

    make_run(
        "a",
        {"seed": 0, "lr": 0.1, "model": {"hidden": 64}},
        clock=Clock(),
        losses=(2.0, math.nan, 0.5),
        acc=[0.1, 0.2, 0.3],
        phase=["w", "w", "m"],
        best=[False, True, False],
    )
    make_run(
        "b",
        {"seed": 0, "lr": 0.01, "model": {"hidden": 64}},
        losses=(1.0, 0.25, math.nan),
        clock=Clock(),
    )
    frame = hypertuner.runs().summary()
    assert list(frame.columns) == [
        "status",
        "created",
        "duration",
        "points",
        "lr",
        "seed",
        "model.hidden",
        "loss/last",
        "loss/min",
        "loss/max",
        "acc/last",
        "acc/min",
        "acc/max",
    ]
    assert frame.index.name == "name" and list(frame.index) == ["a", "b"]
    assert frame["status"].tolist() == ["finished", "finished"]
    assert str(frame["created"].dtype) == "datetime64[ns, UTC]"
    assert frame.loc["a", "created"] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    assert frame["duration"].tolist() == [10.0, 10.0]
    assert frame["points"].tolist() == [12, 3]
    assert frame["lr"].tolist() == [0.1, 0.01] and frame["model.hidden"].tolist() == [64, 64]
    assert frame.loc["a", ["loss/last", "loss/min", "loss/max"]].tolist() == [0.5, 0.5, 2.0]
    b = frame.loc["b"]
    assert math.isnan(b["loss/last"]) and (b["loss/min"], b["loss/max"]) == (0.25, 1.0)
    assert frame.loc["a", ["acc/last", "acc/min", "acc/max"]].tolist() == [0.3, 0.1, 0.3]
    assert frame.loc["b", ["acc/last", "acc/min", "acc/max"]].isna().all()


def test_summary_of_chosen_metrics():
    """summary(metrics) covers only those keys; a bool key counts as 0/1, a text key as none."""

    make_run("a", losses=(1.0, 0.5), best=[False, True], phase=["w", "m"])
    frame = hypertuner.runs().summary(["best", "phase", "missing"])
    assert list(frame.columns)[4:] == [
        "best/last",
        "best/min",
        "best/max",
        "phase/last",
        "phase/min",
        "phase/max",
        "missing/last",
        "missing/min",
        "missing/max",
    ]
    assert frame.loc["a", ["best/last", "best/min", "best/max"]].tolist() == [1.0, 0.0, 1.0]
    assert frame.loc["a", "phase/last":].isna().all()
    assert list(hypertuner.runs().summary("loss").columns)[4:] == [
        "loss/last",
        "loss/min",
        "loss/max",
    ]


def test_summary_of_a_running_run_measures_duration_so_far():
    """A running run's duration is the time since it was created."""

    live = Logger(name="live")
    live.log({"loss": 1.0}, 0)
    time.sleep(0.05)
    before = time.time()
    frame = hypertuner.runs().summary()
    after = time.time()
    created = hypertuner.load(live.path).created
    assert before - created <= frame.loc["live", "duration"] <= after - created
    assert frame.loc["live", "status"] == "running"
    live.close()


def test_summary_renames_a_param_that_shares_a_column_name():
    """A param called like a fixed column is named params.<name> instead."""

    make_run("a", {"status": "draft", "points": 3})
    frame = hypertuner.runs().summary()
    assert list(frame.columns)[:6] == [
        "status",
        "created",
        "duration",
        "points",
        "params.status",
        "params.points",
    ]
    assert frame.loc["a", "status"] == "finished" and frame.loc["a", "params.status"] == "draft"


def test_summary_of_no_runs_has_the_fixed_columns():
    """An empty RunList summarises to an empty frame with the fixed columns."""

    frame = RunList().summary()
    assert list(frame.columns) == ["status", "created", "duration", "points"] and len(frame) == 0


def test_summary_without_pandas(monkeypatch):
    """Without pandas, summary() says how to install it."""
    make_run("a")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError) as info:
        hypertuner.runs().summary()
    assert str(info.value) == "summary() needs pandas, which is not installed: pip install pandas"


# -- the table -------------------------------------------------------------------------------


def test_repr_is_a_table_of_runs_with_their_varying_params():
    """The table shows name, status, start, duration, points and the params that vary."""
    make_run("a", {"lr": 0.1, "seed": 0, "model": {"hidden": 64}}, clock=Clock())
    make_run(
        "b", {"lr": 0.01, "seed": 0, "model": {"hidden": 128}}, losses=(1.0,) * 1200, clock=Clock()
    )
    lines = repr(hypertuner.runs()).splitlines()
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_700_000_000))
    assert lines == [
        "name  status    started              duration  points  params",
        f"a     finished  {started}       10s       3  lr=0.1, model.hidden=64",
        f"b     finished  {started}       10s   1,200  lr=0.01, model.hidden=128",
    ]


def test_repr_shows_every_param_when_none_vary():
    """With nothing varying (one run, or identical ones), the table shows all params."""
    make_run("a", {"lr": 0.1, "opt": "sgd"})
    assert repr(hypertuner.runs()).splitlines()[1].endswith("lr=0.1, opt='sgd'")
    assert repr(RunList()) == "RunList([])"


def test_repr_counts_points_without_loading_them():
    """Printing the table leaves the runs' points unread, and counts as the reader would."""
    path = make_run("a", losses=(1.0,) * 50).path
    with open(path / "points.htr", "ab") as handle:
        handle.write(b"\x10\x00\x00\x00garbage at the tail")
    listed = hypertuner.runs()
    assert repr(listed).splitlines()[1].split()[5] == "50"
    assert listed[0].bytes_read == 0
    assert listed[0].points == 50


def test_repr_marks_a_points_file_it_cannot_read():
    """A run whose points file is not a points file shows '?' points instead of failing."""
    path = make_run("a").path
    (path / "points.htr").write_bytes(b"this is not a hypertuner file")
    assert repr(hypertuner.runs()).splitlines()[1].split()[5] == "?"


# -- refresh -------------------------------------------------------------------------------


def test_refresh_picks_up_new_points_and_new_runs_reading_only_appended_bytes():
    """refresh() lists new run folders and reads only what loaded runs appended since."""
    first = Logger(name="first", flush_every=1000)
    first.log({"x": 1.0}, 0)
    first.flush()
    listed = hypertuner.runs()
    run = listed[0]
    assert run["x"].values.tolist() == [1.0]
    size = (first.path / "points.htr").stat().st_size
    assert run.bytes_read == size

    first.log({"x": 2.0}, 1)
    first.log({"x": 3.0}, 2)
    first.flush()
    second = make_run("second")
    assert listed.refresh() == 2
    assert [r.name for r in listed] == ["first", "second"] and listed[0] is run
    assert run["x"].values.tolist() == [1.0, 2.0, 3.0]
    new_size = (first.path / "points.htr").stat().st_size
    assert run.bytes_read == new_size and run._reader.bytes_reread == 0
    assert listed[1].bytes_read == 0  # a new run's points are read when needed
    assert listed.refresh() == 0 and run.bytes_read == new_size
    assert second.path.parent == first.path.parent
    first.close()


def test_refresh_updates_the_status_of_runs_not_loaded():
    """refresh() re-reads run.json, so a run that finished reads as finished, points unread."""
    live = Logger(name="live")
    live.log({"loss": 1.0}, 0)
    listed = hypertuner.runs()
    assert listed[0].status == "running"
    live.close()
    assert listed.refresh() == 0
    assert listed[0].status == "finished" and listed[0].ended is not None
    assert listed[0].bytes_read == 0


def test_refresh_drops_deleted_runs():
    """A run whose folder was deleted leaves the list on refresh."""
    make_run("a")
    gone = make_run("b")
    listed = hypertuner.runs()
    assert listed[1].points == 3  # a loaded run goes too
    shutil.rmtree(gone.path)
    listed.refresh()
    assert [r.name for r in listed] == ["a"]


def test_refresh_of_a_filtered_list_applies_its_test_again():
    """A filtered list's refresh() brings in new matching runs and lets go of others."""
    make_run("a", {"lr": 0.1})
    live = Logger(name="live", params={"lr": 0.01})
    live.log({"loss": 1.0}, 0)
    listed = hypertuner.runs()
    running = listed.filter(status="running")
    small = listed.filter(lr=0.01)
    assert [r.name for r in running] == ["live"] and [r.name for r in small] == ["live"]
    make_run("b", {"lr": 0.01})
    live.close()
    running.refresh()
    small.refresh()
    assert list(running) == []
    assert [r.name for r in small] == ["live", "b"]
    assert [r.name for r in listed] == ["a", "live", "b"]


def test_refresh_of_a_hand_made_list_updates_its_runs_only():
    """A RunList built by hand refreshes its runs and lists no folder."""
    live = Logger(name="live", flush_every=1000)
    live.log({"x": 1.0}, 0)
    live.flush()
    mine = RunList([hypertuner.load(live.path)])
    assert mine[0].points == 1
    live.log({"x": 2.0}, 1)
    live.flush()
    make_run("other")
    assert mine.refresh() == 1
    assert [r.name for r in mine] == ["live"]
    live.close()


# -- damaged and dead runs -------------------------------------------------------------------


def test_a_corrupt_run_json_is_skipped_with_a_warning(runs_folder):
    """A run folder whose run.json cannot be read is skipped, with a warning naming it."""
    make_run("good")
    bad = make_run("bad").path
    corrupt(bad)
    with pytest.warns(HypertunerWarning) as caught:
        listed = hypertuner.runs()
    assert [r.name for r in listed] == ["good"]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(f"skipped run folder {str(bad)!r}: cannot read its run.json (")
    assert "is not valid JSON" in message


FULL = '"format": 1, "id": "x", "name": "x", "status": "finished"'


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"format": 1, "name": "x"}', ": 'id' is missing (it must be a string); "),
        (
            "{" + FULL + ', "created": "soon"}',
            ": 'created' must be a finite number (got 'soon' that is a str); ",
        ),
        ("{" + FULL + ', "created": 1, "params": [1]}', ": 'params' must be a JSON object "),
        ("[1, 2]", " is not a hypertuner run description)"),
        ('{"format": 99, "name": "x", "created": 1}', "; upgrade hypertuner to read it)"),
    ],
)
def test_a_damaged_run_json_is_skipped(text, reason):
    """run.json missing fields, of the wrong shape or from a newer format is skipped too."""
    path = make_run("good").path
    bad = make_run("bad").path
    corrupt(bad, text)
    with pytest.warns(HypertunerWarning) as caught:
        assert [r.path for r in hypertuner.runs()] == [path]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(
        f"skipped run folder {str(bad)!r}: cannot read its run.json ({bad / 'run.json'}"
    )
    assert reason in message


def test_a_run_json_that_is_a_folder_or_not_utf8_is_skipped():
    """A run.json that is a folder, or not UTF-8, is skipped with a warning naming it."""
    make_run("good")
    folder = make_run("folder").path / "run.json"
    folder.unlink()
    folder.mkdir()
    (make_run("latin").path / "run.json").write_bytes(b'{"name": "caf\xe9"}')
    with pytest.warns(HypertunerWarning) as caught:
        assert [r.name for r in hypertuner.runs()] == ["good"]
    assert [str(w.message) for w in caught] == [
        f"skipped run folder {str(folder.parent)!r}: cannot read its run.json "
        f"({folder} is a folder, not a file; fix or remove the run folder)",
        f"skipped run folder {str(folder.parent.parent / 'latin')!r}: cannot read its run.json "
        f"({folder.parent.parent / 'latin' / 'run.json'} is not UTF-8 text "
        "(invalid continuation byte at byte 13); fix the file or remove the run folder)",
    ]


def test_refresh_warns_about_a_corrupt_new_run():
    """A corrupt run folder appearing later is skipped by refresh() with a warning."""
    make_run("good")
    listed = hypertuner.runs()
    corrupt(make_run("bad").path)
    with pytest.warns(HypertunerWarning, match="skipped run folder .*bad"):
        assert listed.refresh() == 0
    assert [r.name for r in listed] == ["good"]


def test_refresh_warns_about_a_run_that_became_unreadable():
    """A listed run whose files turn unreadable stays listed; refresh() warns and goes on."""
    path = make_run("a").path
    listed = hypertuner.runs()
    assert listed[0].points == 3
    corrupt(path)
    with pytest.warns(HypertunerWarning) as caught:
        assert listed.refresh() == 0
    assert str(caught[0].message).startswith(f"could not refresh run {str(path)!r}: ")
    assert [r.name for r in listed] == ["a"] and listed[0].points == 3


def test_a_run_whose_process_died_is_listed_as_crashed(tmp_path):
    """A writer that exits without closing leaves a run that runs() lists as crashed."""
    code = (
        "import os, hypertuner\n"
        f"lg = hypertuner.Logger(dir={str(tmp_path)!r}, name='dead', params={{'lr': 0.1}})\n"
        "for i in range(5): lg.log({'loss': 1.0 / (i + 1)}, i)\n"
        "lg.flush()\n"
        "os._exit(0)\n"  # no close, no exit handlers: as if killed
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    listed = hypertuner.runs(tmp_path)
    assert [(r.name, r.status) for r in listed] == [("dead", "crashed")]
    assert [r.name for r in listed.filter(status="crashed")] == ["dead"]
    assert repr(listed).splitlines()[1].split()[:2] == ["dead", "crashed"]

    frame = listed.summary()
    assert frame.loc["dead", "points"] == 5 and frame.loc["dead", "loss/last"] == 0.2
    assert 0 <= frame.loc["dead", "duration"] < 60


def test_runs_reads_only_run_json():
    """runs() reads no points; each run reads its own when first asked."""
    for name in ("a", "b", "c"):
        make_run(name)
    listed = hypertuner.runs()
    assert [r.bytes_read for r in listed] == [0, 0, 0]
    assert listed[1].points == 3  # from run.json's summary: still no points read
    assert [r.bytes_read for r in listed] == [0, 0, 0]
    assert np.array_equal(listed[1]["loss"].values, [1.0, 0.5, 0.25])
    assert [r.bytes_read > 0 for r in listed] == [False, True, False]


def test_listing_and_comparing_closed_runs_read_no_points_file():
    """The summary table, the repr and the compare table of runs closed cleanly come
    from run.json (a folder of 1,000 runs lists without reading their points); a
    run still being written is read, and the compare view reads the lines it holds."""
    from hypertuner.board.compare import HELD, Compare

    names = [f"run-{number:02d}" for number in range(HELD + 3)]
    for name in names:
        make_run(name)
    live = hypertuner.Logger(name="zz-live")
    live.log({"loss": 9.0}, 0)
    live.flush()
    listed = hypertuner.runs()
    table = listed.summary()
    assert table.loc["run-01", "loss/min"] == 0.25 and table.loc["zz-live", "loss/last"] == 9.0
    assert table.loc["run-01", "points"] == 3
    repr(listed)
    assert [run.name for run in listed if run.loaded] == ["zz-live"]
    view = Compare(listed._dir, follow=False)
    rows = {row["name"]: row for row in view._table.rows}
    assert rows["run-00"]["metrics"]["loss"] == {"last": 0.25, "min": 0.25, "max": 1.0}
    assert rows["run-00"]["points"] == 3
    held = {source.name for source in view._board.sources}
    assert len(held) == HELD and "run-00" not in held
    assert {run.name for run in view._runs if run.loaded} == held  # read for their lines
    view.close()
    live.close()


def test_runs_are_sorted_by_creation_time_then_name(runs_folder):
    """Runs come oldest first, whatever their folder names; ties go by name."""
    make_run("z-old", clock=Clock(1000.0))
    make_run("a-new", clock=Clock(2000.0))
    make_run("m-new", clock=Clock(2000.0))
    assert [r.name for r in hypertuner.runs()] == ["z-old", "a-new", "m-new"]
    info = json.loads((runs_folder / "z-old" / "run.json").read_text())
    assert info["created"] == 1000.0
