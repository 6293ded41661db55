"""A class at once (issue 19's acceptance): two trainees run the eight-case classroom lesson (four
jurisdictions, one case to ask about) at the same time, each in the real ``sealdesk train`` on a
real pty, answering each case in one burst (``↓↓⏎ ↓⏎ ⏎`` in one write, as a slow SSH link delivers
it). Their results files and the trainer's ``sealdesk results`` must say what they answered.

The answers are planned from the quiz itself (the same seed gives the same order and choices), so
the test knows no case's answer but the engine's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("pyte")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_tui_keys import DOWN, ENTER, SEALDESK, Pty  # noqa: E402

from sealdesk.core.training.quiz import Quiz  # noqa: E402
from sealdesk.core.training.scenario import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = ROOT / "examples" / "lessons" / "classroom-mixed.toml"


def plan(quiz: Quiz, wrong: set[int], wrong_route: set[int]) -> list[tuple[str, str | None]]:
    """Per question as asked: the outcome and route given. ``wrong``: case numbers answered with
    another outcome (not 不予出具, so no route is asked); ``wrong_route``: refusals given a wrong route."""
    out = []
    for q in quiz.questions:
        if q.case_number in wrong:
            out.append((next(o.value for o in q.choices if o.value not in (q.outcome, "refuse")), None))
        elif q.routes and q.outcome == "refuse":
            route = next(r for r in q.routes if r != q.route) if q.case_number in wrong_route else q.route
            out.append((q.outcome, route))
        else:
            out.append((q.outcome, None))
    return out


def keys(q, outcome: str, route: str | None) -> str:
    burst = DOWN * [o.value for o in q.choices].index(outcome) + ENTER
    if route is not None:
        burst += DOWN * q.routes.index(route) + ENTER
    return burst + ENTER  # and on to the next case


def run_trainee(p: Pty, quiz: Quiz, answers, errors: list) -> None:
    try:
        n = len(quiz.questions)
        for i, (q, (outcome, route)) in enumerate(zip(quiz.questions, answers), 1):
            p.wait(lambda s, i=i: f"第 {i}/{n} 题" in s and "如何处理" in s, f"question {i}")
            p.write(keys(q, outcome, route))
        p.wait(lambda s: "训练结束" in s, "the summary")
    except Exception as exc:  # reported by the test's thread
        errors.append(exc)


def test_two_trainees_at_once_give_two_results_files_and_a_summary_of_what_they_answered(tmp_path, registry):
    sc = load_scenario(CLASSROOM, registry)
    results = tmp_path / "results"
    trainees = {
        "学员甲": dict(seed=3, wrong=set(), wrong_route=set()),
        "学员乙": dict(seed=4, wrong={3, 5, 6}, wrong_route={1}),
    }
    started, threads, errors = [], [], []
    try:
        for k, (name, t) in enumerate(trainees.items()):
            quiz = Quiz.build(registry, sc, seed=t["seed"])
            t["quiz"], t["answers"] = quiz, plan(quiz, t["wrong"], t["wrong_route"])
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TERM": "xterm-256color",
                   "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SEALDESK_HOME": str(tmp_path / f"home{k}"),
                   "TMPDIR": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / f"state{k}")}
            p = Pty([str(SEALDESK), "train", str(CLASSROOM), "--trainee", name, "--seed", str(t["seed"]),
                     "--results", str(results)], env)
            started.append(p)
            threads.append(threading.Thread(target=run_trainee, args=(p, quiz, t["answers"], errors)))
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=180)
        assert not errors, errors
    finally:
        for p in started:
            p.close()

    files = sorted(results.glob("*.jsonl"))
    assert len(files) == 2
    by_trainee = {}
    for f in files:
        lines = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines()]
        by_trainee[lines[0]["trainee"]] = lines
    assert set(by_trainee) == set(trainees)
    for name, t in trainees.items():
        start, *answers, end = by_trainee[name]
        assert start["seed"] == t["seed"] and start["order"] == t["quiz"].order
        assert [(a["chosen"], a["chosen_route"]) for a in answers] == t["answers"], name
        assert end["kind"] == "end"
        assert end["outcome_points"] == len(answers) - len(t["wrong"])
        routes = [a for a in answers if a["expected_route"]]
        assert end["route_possible"] == len(routes)
        assert end["route_points"] == sum(a["case"] not in t["wrong"] | t["wrong_route"] for a in routes)

    # the trainer's summary says the same
    r = subprocess.run([str(SEALDESK), "results", str(results), "--json"], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "SEALDESK_HOME": str(tmp_path / "trainer")})
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    for name, t in trainees.items():
        end = by_trainee[name][-1]
        row = _find_trainee(summary, name)
        assert (row["outcome_points"], row["outcome_possible"]) == (end["outcome_points"], end["outcome_possible"])
        assert (row["route_points"], row["route_possible"]) == (end["route_points"], end["route_possible"])
    # per case: the cases 学员乙 missed come first, each missed once
    cases = summary["lessons"][0]["cases"]
    missed = trainees["学员乙"]["wrong"] | trainees["学员乙"]["wrong_route"]
    assert {c["case"] for c in cases[:len(missed)]} == missed and all(c["missed"] == 1 for c in cases[:len(missed)])
    assert all(c["missed"] == 0 for c in cases[len(missed):]) and all(c["answered"] == 2 for c in cases)
    # and the table a trainer reads shows both trainees' two scores apart
    r = subprocess.run([str(SEALDESK), "results", str(results)], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "SEALDESK_HOME": str(tmp_path / "trainer")})
    for name in trainees:
        (line,) = [x for x in r.stdout.splitlines() if x.lstrip().startswith(name)]
        end = by_trainee[name][-1]
        assert f"{end['outcome_points']}/{end['outcome_possible']}" in line
        assert f"{end['route_points']}/{end['route_possible']}" in line


def _find_trainee(summary, name: str) -> dict:
    """The latest attempt of ``name`` in the lesson's summary (``sealdesk results --json``)."""
    (lesson,) = summary["lessons"]
    (row,) = [t for t in lesson["trainees"] if t["trainee"] == name]
    assert row["attempts"] == 1 and row["latest"]["finished"]
    return row["latest"]
