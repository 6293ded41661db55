"""Trainers' scenarios: the shipped files, their validation, `sealdesk demo` (sandbox) and
`sealdesk train` (the quiz), driven through Pilot on real registers."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from textual.widgets import OptionList

from sealdesk.core.cli.scenario import sandbox
from sealdesk.core.register.community import REGISTER_NAME, demo_community, save_community
from sealdesk.core.desk.counter import Desk
from sealdesk.core.engine.model import OUTCOME_LABELS, Outcome
from sealdesk.core.training.quiz import CHOICES, Quiz
from sealdesk.core.training.scenario import (Scenario, ScenarioError, find_scenario, load_scenario, mismatches,
                                    save_scenario, shipped)
from sealdesk.tui.app import SealdeskApp, TrainApp
from sealdesk.tui.session import Session

from conftest import VALID_IDS

SIZE = (80, 24)
SEALDESK = [sys.executable, "-m", "sealdesk.core.cli.main"]


def run_cli(*args, cwd=None, env=None):
    return subprocess.run([*SEALDESK, *args], capture_output=True, text=True, cwd=cwd, env=env, stdin=subprocess.DEVNULL)


def scenario_ids(registry) -> list[str]:
    return [p.stem for p in shipped(registry)]


# -- the shipped scenarios ------------------------------------------------------------------------
def test_every_jurisdiction_ships_a_scenario(registry):
    covered = {load_scenario(p, registry).jurisdiction for p in shipped(registry)}
    assert covered == set(registry.ids())


def test_shipped_scenarios_expect_what_the_engine_decides(registry):
    for p in shipped(registry):
        sc = load_scenario(p, registry)
        assert mismatches(registry, sc) == [], p
        assert all(c.note for c in sc.cases), f"{p}: every shipped case carries a teaching note"


def test_scenarios_check_command_reports_a_wrong_expectation_with_file_and_line(tmp_path):
    good = run_cli("scenarios", "--check")
    assert good.returncode == 0, good.stderr
    assert "national-basics" in good.stdout and "qinghai-commitment" in good.stdout
    f = tmp_path / "wrong.toml"
    f.write_text('title = "错的预期"\njurisdiction = "national"\n\n[[case]]\nquery = "无犯罪记录证明"\n'
                 'expect = "issue"\n', encoding="utf-8")
    bad = run_cli("scenarios", "--check", str(f))
    assert bad.returncode == 1
    assert f"{f}:4" in bad.stderr and "预期 出具" in bad.stderr and "实际 不予出具" in bad.stderr


# -- validation: file:line, in Chinese ------------------------------------------------------------
BROKEN = [
    ('title = "x"\njurisdiction = "national"\n[[case]\nquery = "a"\n', 3, "TOML 格式错误"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nnotes = "x"\n', 7,
     "未知字段 notes"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "maybe"\n', 6, "expect 应为"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "ask"\n', 6, "expect 应为"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nfacts = { rich = true }\n',
     7, "未知情形 'rich'"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nfacts = { verifiable = 1 }\n',
     7, "应为 true 或 false"),
    ('title = "x"\njurisdiction = "atlantis"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\n', 2, "未知辖区 'atlantis'"),
    ('title = "x"\njurisdiction = "national"\non = "2026-13-01"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\n', 3,
     "on 应为日期"),
    ('title = "x"\njurisdiction = "national"\n', None, "至少需要一个 [[case]]"),
    ('jurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\n', None, "缺少必填项 title"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\n\n[[case]]\nexpect = "refuse"\n',
     8, "第 2 个 [[case]]：缺少必填项 query"),
]


@pytest.mark.parametrize("text,line,problem", BROKEN)
def test_broken_scenario_names_file_line_and_problem(tmp_path, registry, text, line, problem):
    f = tmp_path / "s.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(f, registry)
    msg = str(exc.value)
    assert msg.startswith(f"{f}:{line}: " if line else f"{f}: "), msg
    assert problem in msg


def test_demo_with_a_broken_or_unknown_scenario_exits_2_in_chinese(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('title = "x"\njurisdiction = "national"\n[[case]\n', encoding="utf-8")
    for args in (["demo", str(f)], ["train", "no-such-scenario"], ["demo", str(tmp_path / "missing.toml")]):
        r = run_cli(*args)
        assert r.returncode == 2, args
        assert r.stderr.count("\n") == 1 and "演示案例有误" in r.stderr, r.stderr


def test_save_and_load_round_trip_and_never_overwrite(tmp_path, registry):
    sc = find_scenario(registry, "qinghai-commitment")
    out = save_scenario(Scenario("copy", sc.title, sc.jurisdiction, sc.cases, sc.on, sc.description), tmp_path / "copy")
    assert out.suffix == ".toml"
    back = load_scenario(out, registry)
    assert (back.title, back.jurisdiction, back.on) == (sc.title, sc.jurisdiction, sc.on)
    assert [(c.query, c.purpose, c.requester, c.facts, c.expect, c.note) for c in back.cases] == \
        [(c.query, c.purpose, c.requester, c.facts, c.expect, c.note) for c in sc.cases]
    before = out.read_bytes()
    with pytest.raises(FileExistsError):
        save_scenario(sc, out)
    assert out.read_bytes() == before


# -- the quiz ------------------------------------------------------------------------------------------
def test_quiz_scores_outcomes_and_routes(registry):
    quiz = Quiz.build(registry, find_scenario(registry, "national-basics"))
    first = quiz.current
    assert first.outcome == "refuse" and first.route and first.route in first.routes
    assert len(first.routes) == len(set(first.routes)) >= 2
    m = quiz.answer("refuse", next(r for r in first.routes if r != first.route))
    assert (m.outcome_ok, m.route_ok, m.points) == (True, False, 1)
    second = quiz.current
    assert second.outcome == "issue" and second.routes == []  # issued: no route to choose
    m = quiz.answer("refuse")
    assert (m.outcome_ok, m.route_ok, m.points) == (False, None, 0)
    lines = quiz.summary_lines()
    assert lines[0] == "得分 1/3（2 题）"
    assert "应为出具" in lines[2]


OLD_SCENARIO = """title = "写于居民常用说法之前"
jurisdiction = "national"

[[case]]
query = "关系证明"
expect = "refuse"
note = "当时按未列入清单事项不予出具"

[[case]]
query = "无犯罪记录证明"
expect = "refuse"
note = "负面清单第5项"
"""


def test_a_case_now_answered_ask_is_reported_and_can_still_be_trained(tmp_path, registry):
    f = tmp_path / "old.toml"
    f.write_text(OLD_SCENARIO, encoding="utf-8")
    sc = load_scenario(f, registry)
    (problem,) = mismatches(registry, sc)  # scenarios --check tells the trainer
    assert f"{f}:4" in problem and "实际 待补充" in problem
    quiz = Quiz.build(registry, sc)
    first = quiz.current
    assert first.outcome == "ask" and first.routes == [] and len(first.decision["candidates"]) == 2
    assert Outcome.ASK in quiz.choices and quiz.choices[:len(CHOICES)] == CHOICES
    assert (quiz.answer("ask").points, quiz.answer("refuse", quiz.current.route).points) == (1, 2)
    # shipped quizzes have no such case, and offer no 待补充
    assert Outcome.ASK not in Quiz.build(registry, find_scenario(registry, "national-basics")).choices


async def test_train_a_case_answered_ask_names_the_items_to_ask_about(tmp_path, registry):
    f = tmp_path / "old.toml"
    f.write_text(OLD_SCENARIO, encoding="utf-8")
    sc = load_scenario(f, registry)
    home = tmp_path / "train-old"
    save_community(demo_community(home, "national", registry.jurisdictions["national"].name))
    s = Session(home, as_login="trainer", registry=registry)
    s.sandbox = True
    app = TrainApp(s, Quiz.build(registry, sc))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "待补充" in screen_text(app)
        await choose(pilot, "ask")
        text = screen_text(app)
        assert "回答正确" in text and "正确答案：待补充" in text
        assert "亲属关系证明（负面清单第1项）" in text and "婚姻状况证明（负面清单第8项）" in text


def test_route_choices_are_the_same_for_every_trainee(registry):
    sc = find_scenario(registry, "chongqing-lists")
    assert [q.routes for q in Quiz.build(registry, sc).questions] == \
        [q.routes for q in Quiz.build(registry, sc).questions]


def screen_text(app) -> str:
    import html
    import re

    return html.unescape("".join(re.findall(r">([^<>]*)</text>", app.export_screenshot()))).replace("\xa0", " ")


def train_app(registry, tmp_path, name: str) -> TrainApp:
    sc = find_scenario(registry, name)
    home = tmp_path / f"train-{name}"
    save_community(demo_community(home, sc.jurisdiction, registry.jurisdictions[sc.jurisdiction].name))
    s = Session(home, as_login="trainer", registry=registry)
    s.sandbox, s.on = True, sc.on
    return TrainApp(s, Quiz.build(registry, sc))


async def choose(pilot, option_id: str) -> None:
    ol = pilot.app.screen.query_one("#choices", OptionList)
    ids = [ol.get_option_at_index(i).id for i in range(ol.option_count)]
    for _ in range(ids.index(option_id)):
        await pilot.press("down")
    await pilot.press("enter")
    await pilot.pause()


async def test_full_quiz_in_the_tui_scores_explains_and_sums_up(registry, tmp_path):
    app = train_app(registry, tmp_path, "qinghai-commitment")
    async with app.run_test(size=SIZE) as pilot:
        quiz = app.quiz
        await pilot.pause()
        assert "第 1/4 题" in screen_text(app) and "居住证明" in screen_text(app)
        wrong_done, wrong = False, None
        for q in quiz.questions:
            if not wrong_done and q.outcome == "refuse":
                # one wrong answer: 出具 where the rule refuses
                await choose(pilot, "issue")
                wrong_done = True
                wrong = q
            else:
                await choose(pilot, q.outcome)
            if q.routes:
                await choose(pilot, str(q.routes.index(q.route)))
            text = screen_text(app)
            assert ("回答错误" if q is wrong else "回答正确") in text
            assert f"正确答案：{OUTCOME_LABELS[Outcome(q.outcome)]}" in text
            assert q.case.note[:12] in text  # the teaching note, with its citation
            await pilot.press("enter")
            await pilot.pause()
        assert quiz.done
        text = screen_text(app)
        possible = sum(1 + bool(q.routes) for q in quiz.questions)
        assert "训练结束" in text and f"得分 {possible - 1}/{possible}" in text
        assert f"{wrong.case.query}：✗" in text
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not quiz.marks and "第 1/4 题" in screen_text(app)


@pytest.mark.parametrize("name", ["national-basics", "jilin-basics", "qinghai-commitment", "shaanxi-transitional",
                                  "anhui-luan-basics", "chongqing-lists", "yubei-unlisted"])
async def test_train_every_shipped_scenario_answering_right_scores_full_marks(registry, tmp_path, name):
    assert name in scenario_ids(registry)
    app = train_app(registry, tmp_path, name)
    async with app.run_test(size=SIZE) as pilot:
        for q in app.quiz.questions:
            await choose(pilot, q.outcome)
            if q.routes:
                await choose(pilot, str(q.routes.index(q.route)))
            await pilot.press("enter")
            await pilot.pause()
        possible = sum(1 + bool(q.routes) for q in app.quiz.questions)
        assert f"得分 {possible}/{possible}" in screen_text(app)


# -- the demo sandbox -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["national-basics", "jilin-basics", "qinghai-commitment", "shaanxi-transitional",
                                  "anhui-luan-basics", "chongqing-lists", "yubei-unlisted"])
async def test_demo_steps_through_every_shipped_scenario_in_a_sandbox(registry, name):
    sc = find_scenario(registry, name)
    with sandbox(registry, sc.jurisdiction) as home:
        s = Session(home, as_login="clerk", registry=registry)
        s.sandbox, s.on = True, sc.on
        app = SealdeskApp(s, scenario=sc)
        async with app.run_test(size=SIZE) as pilot:
            for i, case in enumerate(sc.cases, 1):
                await pilot.press("f6")
                await pilot.pause()
                text = screen_text(app)
                assert f"案例 {i}/{len(sc.cases)}" in text
                assert app.screen.decision["outcome"] == case.expect
                assert "✓ 与决定一致" in text
        assert len(app.demo_log) == len(sc.cases)
    assert not home.exists()


async def test_demo_records_in_the_sandbox_only_and_saves_a_scenario(registry, tmp_path, monkeypatch):
    # A real community with a real register, configured the way a township server has it.
    real = tmp_path / "real"
    save_community(demo_community(real, "national", "全国"))
    desk = Desk(real, registry=registry)
    desk.request("无犯罪记录证明", resident_name="李四", resident_id=VALID_IDS[1], as_login="clerk")
    desk.close()
    db = real / REGISTER_NAME
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    monkeypatch.setenv("SEALDESK_HOME", str(real))
    monkeypatch.chdir(tmp_path)

    sc = find_scenario(registry, "national-basics")
    with sandbox(registry, sc.jurisdiction) as home:
        assert "SEALDESK_HOME" not in os.environ
        s = Session(home, as_login="clerk", registry=registry)
        s.sandbox = True
        app = SealdeskApp(s, scenario=sc)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f6")
            await pilot.pause()
            await pilot.press("r")
            await pilot.pause()
            await pilot.press(*"张三", "tab", *VALID_IDS[0], "enter")
            await pilot.pause()
            await pilot.pause()
            assert app.screen.entry is not None  # recorded, in the sandbox's register
            await pilot.press("f6", "f6")
            await pilot.pause()
            app.save_scenario()
            await pilot.pause()
            target = tmp_path / "saved.toml"
            field = app.screen.query_one("Input")
            field.value = str(target)
            await pilot.press("enter")
            await pilot.pause()
        assert home.exists()
    assert not home.exists()
    assert os.environ.get("SEALDESK_HOME") == str(real)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # the real register is untouched

    saved = load_scenario(target, registry)
    assert [c.query for c in saved.cases] == [c.query for c in sc.cases[:3]]
    assert [c.expect for c in saved.cases] == [c.expect for c in sc.cases[:3]]
    assert saved.jurisdiction == "national"
    raw = tomllib.loads(target.read_text(encoding="utf-8"))
    assert "张三" not in target.read_text(encoding="utf-8") and VALID_IDS[0] not in str(raw)  # no personal data


def test_demo_and_train_need_a_terminal():
    for cmd in ("demo", "train"):
        r = run_cli(cmd, "national-basics")
        assert r.returncode == 2 and "需要终端" in r.stderr


def test_sandbox_removes_what_killed_sessions_left_behind_but_not_a_running_one(registry, tmp_path, monkeypatch):
    import tempfile as tf

    monkeypatch.setattr(tf, "tempdir", str(tmp_path))
    stale, running = tmp_path / "sealdesk-demo-old", tmp_path / "sealdesk-demo-now"
    for d in (stale, running):
        (d / "national").mkdir(parents=True)
    os.utime(stale, (0, 0))
    with sandbox(registry, "national") as home:
        assert home.parent.parent == tmp_path and home.exists()
        assert not stale.exists() and running.exists()
    assert not home.parent.exists()


# -- snapshots at 80×24 ------------------------------------------------------------------------------
def test_snapshot_train_question_and_explanation(snap_compare, tmp_path):
    from sealdesk.core.engine.plugins import default_registry

    reg = default_registry()
    app = train_app(reg, tmp_path, "jilin-basics")
    # 出生证明: 不予出具 is the last choice; then the first route offered; the explanation shows.
    assert snap_compare(app, terminal_size=SIZE, press=["end", "enter", "enter"])


def test_snapshot_demo_case(snap_compare, tmp_path):
    from sealdesk.core.engine.plugins import default_registry

    reg = default_registry()
    sc = find_scenario(reg, "chongqing-lists")
    home = tmp_path / "demo"
    save_community(demo_community(home, sc.jurisdiction, reg.jurisdictions[sc.jurisdiction].name))
    s = Session(home, as_login="clerk", registry=reg)
    s.sandbox = True
    assert snap_compare(SealdeskApp(s, scenario=sc), terminal_size=SIZE, press=["f6"])


async def test_route_choices_take_one_line_each_at_80_columns(registry, tmp_path):
    from rich.cells import cell_len

    app = train_app(registry, tmp_path, "national-basics")
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "refuse")  # 无犯罪记录证明: the route question follows
        ol = app.screen.query_one("#choices", OptionList)
        labels = [str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count)]
        assert len(labels) == len(app.quiz.current.routes) == 4
        assert all(cell_len(label) <= SIZE[0] - 6 for label in labels), labels
        assert ol.virtual_size.height == ol.option_count  # no choice wraps, none scrolled out of view
