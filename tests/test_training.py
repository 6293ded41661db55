"""The classroom (issue 19): explanations for teaching, why a wrong answer is wrong, seeded shuffles,
results files written as the trainee answers, and the trainee's name.

Every shipped lesson and the example classroom lesson are gone through: the tests know no case's
answer, only what must hold of every explanation (no fact ids, no line that argues with the answer,
a counterfactual the engine itself confirms)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from sealdesk.core.engine.model import Facts, Outcome, Request
from sealdesk.core.engine.protocol import decide
from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.training.explain import counterfactual, teaching_lines, why_not
from sealdesk.core.training.quiz import Quiz
from sealdesk.core.training.scenario import find_scenario, load_scenario, shipped

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_scenarios import train_app as make_app  # noqa: E402  (the quiz's app, as tested there)
from test_tui import screen_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = ROOT / "examples" / "lessons" / "classroom-mixed.toml"
SIZE = (80, 24)
FACT_ID = re.compile(r"(?<![A-Za-z_])[a-z]+_[a-z_]+(?![A-Za-z_])")  # commitment_ok, facts_unclear, …


def lessons(registry):
    return [load_scenario(p, registry) for p in shipped(registry)] + [load_scenario(CLASSROOM, registry)]


def questions(registry):
    for sc in lessons(registry):
        for q in Quiz.build(registry, sc).questions:
            yield sc, q


def test_the_classroom_lesson_mixes_four_jurisdictions_and_teaches_an_ask(registry):
    sc = load_scenario(CLASSROOM, registry)
    quiz = Quiz.build(registry, sc)
    assert len(quiz.questions) == 8
    assert len({q.decision["jurisdiction"] for q in quiz.questions}) >= 4
    assert [q.outcome for q in quiz.questions].count("ask") == 1
    assert Outcome.ASK in quiz.choices


# -- what the trainee reads ------------------------------------------------------------------------
def test_no_explanation_shows_a_fact_id(registry):
    for sc, q in questions(registry):
        texts = [*q.reasons(), *(label for _, label, _ in q.facts)]
        for o in q.choices:
            texts += q.why_not(o.value)
        for text in texts:
            assert not FACT_ID.search(text), (sc.id, q.case.query, text)


def test_a_line_written_before_a_later_rule_changed_the_outcome_says_what_it_would_have_been(registry):
    # Yubei's seal rule: a retained item that would be issued is refused when the facts are unclear.
    view = registry.view("chongqing-yubei", dt.date(2026, 6, 1))
    plain = decide(view, Request("亲属关系证明", "公证"))
    assert plain.outcome.issuing
    d = decide(view, Request("亲属关系证明", "公证", facts=Facts({"facts_unclear": True})))
    assert d.outcome is Outcome.REFUSE
    lines = teaching_lines(d)
    before = [line for line in lines if line.startswith("（本应")]
    assert before and all(f"（本应{plain.outcome.label}）" in line for line in before)
    assert view.facts["facts_unclear"].label in lines[-1] and "不予出具" in lines[-1]
    # and in every lesson, a line is marked exactly when a later rule changed its outcome
    for sc, q in questions(registry):
        d = q.made
        for line, stage, text in zip(d.explanation, d.stages, q.reasons()):
            changed = stage is not None and stage is not d.outcome and stage is not Outcome.ASK
            assert text.startswith("（本应") == changed, (sc.id, q.case.query, text)


def test_facts_shown_up_front_keep_the_decision_and_hide_the_case_facts_among_others(registry):
    hidden = 0
    for sc, q in questions(registry):
        shown = {name: value for name, _, value in q.facts}
        assert {k: shown.get(k) for k in q.case.facts} == dict(q.case.facts)  # all of the case's own
        again = decide(q.view, replace(q.case.request(), facts=Facts(shown)))
        assert (again.outcome, again.route) == (q.made.outcome, q.made.route), (sc.id, q.case.query)
        hidden += len(shown) > len(q.case.facts)
    assert hidden > 10  # most cases carry facts that do not apply beside their own


def test_why_a_wrong_answer_is_wrong_is_a_change_the_engine_confirms_and_the_smallest_one(registry):
    told = 0
    for sc, q in questions(registry):
        for o in q.choices:
            if o.value == q.outcome or Outcome.ASK in (o, q.made.outcome):
                continue
            lines = why_not(q.view, q.case, q.made, o.value)
            found = counterfactual(q.view, q.case, q.made, o)
            if found is None:
                assert "没有哪条规则得出" in lines[0]
                continue
            described, request, d = found
            assert decide(q.view, request).outcome is o  # the engine says so, not the explanation
            assert lines[0].startswith("如果") and lines[0].endswith(f"就会是“{o.label}”。") and lines[1].startswith("那时适用：")
            told += 1
            changed = {k: v for k, v in request.facts.as_dict().items() if q.case.facts.get(k) != v}
            # no change with fewer of those facts gives it (the smallest change is told)
            for k in range(1, len(changed)):
                for subset in itertools.combinations(changed, k):
                    facts = {**q.case.facts, **{n: changed[n] for n in subset}}
                    fewer = decide(q.view, replace(request, facts=Facts(facts)))
                    assert fewer.outcome is not o or request.purpose != q.case.purpose, (sc.id, subset)
    assert told > 20


def test_choosing_ask_where_the_case_is_decided_and_the_reverse_are_explained(registry):
    sc = load_scenario(CLASSROOM, registry)
    quiz = Quiz.build(registry, sc)
    ask = next(q for q in quiz.questions if q.outcome == "ask")
    (line,) = ask.why_not("refuse")
    assert line.startswith("还不能不予出具") and "居民就业状况证明" in line
    decided = next(q for q in quiz.questions if q.outcome == "refuse")
    assert decided.why_not("ask")[0].startswith("不必再问")


# -- order -------------------------------------------------------------------------------------------
def test_a_seed_shuffles_cases_and_choices_the_same_way_every_time(registry):
    sc = load_scenario(CLASSROOM, registry)
    plain = Quiz.build(registry, sc)
    assert plain.order == list(range(1, 9)) and all(q.choices == plain.choices for q in plain.questions)
    a, b = Quiz.build(registry, sc, seed=11), Quiz.build(registry, sc, seed=11)
    assert a.order == b.order and [q.choices for q in a.questions] == [q.choices for q in b.questions]
    assert [q.routes for q in a.questions] == [q.routes for q in b.questions]
    assert sorted(a.order) == plain.order and all(sorted(q.choices) == sorted(plain.choices) for q in a.questions)
    orders = {tuple(Quiz.build(registry, sc, seed=s).order) for s in range(6)}
    assert len(orders) > 1
    choices = {tuple(q.choices) for s in range(3) for q in Quiz.build(registry, sc, seed=s).questions}
    assert len(choices) > 1
    # the same case keeps its answer whatever the order
    right = {q.case_number: q.outcome for q in plain.questions}
    assert all(right[q.case_number] == q.outcome for q in a.questions)


# -- the TUI and the results file ---------------------------------------------------------------------


async def answer(pilot, q, outcome: str, route: str | None = None) -> None:
    """Move to ``outcome`` among the choices as shown, Enter; the route likewise if it is asked."""
    ids = [o.value for o in q.choices]
    await pilot.press(*["down"] * ids.index(outcome), "enter")
    if route is not None:
        await pilot.press(*["down"] * q.routes.index(route), "enter")
    await pilot.press("enter")  # on to the next case (or the summary)
    await pilot.pause()


def records(folder: Path) -> list[list[dict]]:
    return [[json.loads(line) for line in f.read_text(encoding="utf-8").splitlines()]
            for f in sorted(folder.glob("*.jsonl"))]


async def test_each_answer_is_written_as_given_and_the_file_is_0640(registry, tmp_path):
    sc = load_scenario(CLASSROOM, registry)
    results = tmp_path / "results"
    app = make_app(registry, tmp_path, sc, trainee="王芳", results=results, seed=5)
    plan = {}  # case number -> (outcome, route) the trainee gives: right on even cases, a wrong outcome on odd
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for i, q in enumerate(app.quiz.questions):
            if i % 2 == 0:
                outcome, route = q.outcome, (q.route if q.routes else None)
            else:
                outcome, route = next(o.value for o in q.choices if o.value not in (q.outcome, "refuse")), None
            plan[q.case_number] = (outcome, route)
            await answer(pilot, q, outcome, route)
            if i == 2:  # mid-lesson the file already holds what was answered (a dropped link loses nothing)
                (mid,) = records(results)
                assert [r["kind"] for r in mid] == ["start", "answer", "answer", "answer"]
        text = screen_text(app)
        assert "训练结束" in text and "学员：王芳" in text
    (f,) = results.glob("*.jsonl")
    assert stat.S_IMODE(f.stat().st_mode) == 0o640 and "王芳" in f.name
    (rec,) = records(results)
    start, answers, end = rec[0], rec[1:-1], rec[-1]
    assert (start["trainee"], start["seed"], start["lesson"]) == ("王芳", 5, "classroom-mixed")
    assert start["order"] == app.quiz.order and sorted(start["order"]) == list(range(1, 9))
    assert [a["case"] for a in answers] == start["order"]
    for a in answers:
        outcome, route = plan[a["case"]]
        assert (a["chosen"], a["chosen_route"]) == (outcome, route)
        assert a["outcome_ok"] == (a["chosen"] == a["expected"])
    assert end["outcome_points"] == sum(a["outcome_ok"] for a in answers) == 4
    assert end["route_possible"] == sum(a["route_ok"] is not None for a in answers)
    assert end["route_points"] == sum(bool(a["route_ok"]) for a in answers)
    assert f"处理结果 4/8 题" in text


async def test_a_wrong_answer_shows_both_answers_and_why(registry, tmp_path):
    sc = find_scenario(registry, "national-basics")
    app = make_app(registry, tmp_path, sc, trainee="学员甲")
    async with app.run_test(size=SIZE) as pilot:
        q = app.quiz.current
        assert q.outcome == "refuse" and q.routes
        await pilot.press(*["down"] * [o.value for o in q.choices].index("refuse"), "enter")  # right outcome
        wrong = next(r for r in q.routes if r != q.route)
        await pilot.press(*["down"] * q.routes.index(wrong), "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "回答正确" in text and "你的答案：不予出具" in text and "办事途径：选错了" in text
        assert "你选的是" in text  # whose route the wrong one is
        await pilot.press("enter")
        q = app.quiz.current  # 亲属关系证明 for 公证: issued; answer 不予出具
        await pilot.press(*["down"] * [o.value for o in q.choices].index("refuse"), "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "回答错误" in text and "你的答案：不予出具" in text and "正确答案：出具" in text
        assert "为什么不是“不予出具”" in text


async def test_restarting_a_shuffled_lesson_shuffles_again_and_starts_a_new_file(registry, tmp_path):
    sc = load_scenario(CLASSROOM, registry)
    results = tmp_path / "results"
    app = make_app(registry, tmp_path, sc, trainee="赵六", results=results, seed=1)
    async with app.run_test(size=SIZE) as pilot:
        for q in list(app.quiz.questions):
            await answer(pilot, q, q.outcome, q.route if q.routes and q.outcome == "refuse" else None)
        assert "训练结束" in screen_text(app)
        first_order = app.quiz.order
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "第 1/8 题" in screen_text(app)
        assert app.quiz.seed != 1 and not app.quiz.marks
    files = records(results)
    assert len(files) == 2
    seeds = sorted(r[0]["seed"] for r in files)
    assert 1 in seeds and len(set(seeds)) == 2
    assert any(r[0]["order"] == first_order for r in files)


async def test_the_name_is_asked_when_not_given_and_an_empty_one_is_asked_again(registry, tmp_path):
    sc = find_scenario(registry, "jilin-basics")
    results = tmp_path / "results"
    app = make_app(registry, tmp_path, sc, trainee=None, results=results)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "请输入姓名" in screen_text(app)
        await pilot.press("enter")  # nothing typed
        await pilot.pause()
        assert "请输入姓名" in screen_text(app) and not list(results.glob("*.jsonl"))
        await pilot.press(*"孙七", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "学员：孙七" in text and "这份申请应当如何处理" in text
    (f,) = results.glob("*.jsonl")
    assert json.loads(f.read_text(encoding="utf-8").splitlines()[0])["trainee"] == "孙七"


async def test_a_results_folder_that_cannot_be_written_is_said_and_the_quiz_goes_on(registry, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    sc = find_scenario(registry, "jilin-basics")
    app = make_app(registry, tmp_path, sc, trainee="周八", results=blocker / "results")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "成绩未能记录" in text and "这份申请应当如何处理" in text


# -- the command line -------------------------------------------------------------------------------
SEALDESK = ROOT / ".venv" / "bin" / "sealdesk"
if not SEALDESK.exists():
    SEALDESK = Path(sys.executable).with_name("sealdesk")


@pytest.mark.parametrize("args, message", [
    (["--trainee", "  "], "--trainee 不能为空"),
    (["--seed", "x1"], "种子应为"),
    (["--results", "/dev/null/results"], "无法建立成绩目录"),
])
def test_train_refuses_bad_options_in_one_line(tmp_path, args, message):
    r = subprocess.run([str(SEALDESK), "train", "jilin-basics", *args], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SEALDESK_HOME": str(tmp_path / "h"),
                            "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr


def test_the_results_folder_comes_from_the_community_settings(tmp_path):
    from sealdesk.core.training.results import results_folder

    home = tmp_path / "home"
    c = replace(demo_community(home, "national", "全国"), training_results="class-results")
    save_community(c)
    assert results_folder(None, home) == home / "class-results"
    assert results_folder(tmp_path / "x", home) == tmp_path / "x"
    c2 = replace(c, training_results="/srv/results")
    save_community(c2, overwrite=True)
    assert results_folder(None, home) == Path("/srv/results")
