"""Trainers' scenarios: the shipped files, their validation, `sealdesk demo` (sandbox) and
`sealdesk train` (the quiz), driven through Pilot on real registers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
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
from test_tui import screen_text  # what the terminal shows

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
    from sealdesk.core.engine.plugins import default_registry

    n = sum(len(load_scenario(p).cases) for p in shipped(default_registry()))
    assert good.stdout.splitlines()[-1] == f"{n} 个案例，{n} 个符合预期"  # a summary even when all pass
    f = tmp_path / "wrong.toml"
    f.write_text('title = "错的预期"\njurisdiction = "national"\n\n[[case]]\nquery = "无犯罪记录证明"\n'
                 'expect = "issue"\n', encoding="utf-8")
    bad = run_cli("scenarios", "--check", str(f))
    assert bad.returncode == 1
    assert f"{f}:4" in bad.stderr and "预期 出具" in bad.stderr and "实际 不予出具" in bad.stderr
    assert bad.stdout.splitlines()[-1] == "1 个案例，0 个符合预期"


# -- validation: file:line, in Chinese ------------------------------------------------------------
BROKEN = [
    ('title = "x"\njurisdiction = "national"\n[[case]\nquery = "a"\n', 3, "TOML 格式错误"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nnotes = "x"\n', 7,
     "未知字段 notes"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "maybe"\n', 6, "expect 应为"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nfacts = { rich = true }\n',
     7, "未知情形“rich”"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nfacts = { verifiable = 1 }\n',
     7, "应为 true 或 false"),
    ('title = "x"\njurisdiction = "atlantis"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\n', 2, "未知辖区“atlantis”（已安装："),
    # names are quoted as written, with the installed ids nearest to them
    ('title = "x"\njurisdiction = "chongqin"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\n', 2,
     "未知辖区“chongqin”；是否指 chongqing、chongqing-yubei？"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\njurisdiction = "qinhai"\nexpect = "refuse"\n', 6,
     "第 1 个 [[case]]：未知辖区“qinhai”；是否指 qinghai？"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nfacts = { verifable = true }\n',
     7, "未知情形“verifable”；是否指 verifiable？"),
    ('title = "x"\njurisdiction = "chongqing"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nitem = "居民养狗证明"\n', 7,
     "item“居民养狗证明”不是 chongqing 及其上级辖区清单上的事项编号或名称；是否指 chongqing.negative.4（居民养犬证明）"),
    ('title = "x"\njurisdiction = "chongqing"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nitem = "chongqing.negative.41"\n', 7,
     "item“chongqing.negative.41”不是 chongqing 及其上级辖区清单上的事项编号或名称；是否指 chongqing.negative.4（居民养犬证明）"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nitem = "chongqing.negative.2"\n', 7,
     "item“chongqing.negative.2”不是 national 及其上级辖区"),  # an item of another chain
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\nroute = ""\n', 7, "route 不能为空"),
    ('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "a"\nexpect = "refuse"\non = "明天"\n', 7, "on 应为日期"),
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
    fields = lambda c: (c.query, c.purpose, c.requester, c.facts, c.expect, c.note, c.jurisdiction, c.on, c.item,  # noqa: E731
                        c.route)
    assert [fields(c) for c in back.cases] == [fields(c) for c in sc.cases]
    assert all(c.item for c in back.cases)
    # a case's own jurisdiction and date are kept too
    own = tmp_path / "own.toml"
    own.write_text(CASE_KEYS_SCENARIO, encoding="utf-8")
    keys = load_scenario(own, registry)
    again = load_scenario(save_scenario(keys, tmp_path / "own-copy"), registry)
    assert [fields(c) for c in again.cases] == [fields(c) for c in keys.cases]
    before = out.read_bytes()
    with pytest.raises(FileExistsError):
        save_scenario(sc, out)
    assert out.read_bytes() == before


# -- a case is checked on everything it states --------------------------------------------------------------
def test_shipped_cases_state_the_item_and_route_they_teach(registry):
    """Every shipped case names the item it is decided as (or "unlisted"), and a refusal with a route
    names a fragment of it: a lesson is held to what its note teaches, not only to its outcome."""
    from sealdesk.core.engine.protocol import decide

    for p in shipped(registry):
        sc = load_scenario(p, registry)
        for c in sc.cases:
            d = decide(sc.case_view(registry, c), c.request())
            assert c.item, f"{p}:{c.line}: the case does not say which item it teaches"
            if d.route:
                assert c.route, f"{p}:{c.line}: a refusal with a route: the case gives no fragment of it"


def test_shipped_route_fragments_are_verbatim_passages_of_the_seeds(registry):
    from conftest import SEEDS

    if not SEEDS.exists():  # a clone away from the project's shared/ folder
        pytest.skip(f"seeds {SEEDS} not available")
    seeds = "".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    seeds = "".join(seeds.split())  # the seeds break lines inside passages
    for p in shipped(registry):
        for c in load_scenario(p, registry).cases:
            if c.route:
                assert c.route in seeds, f"{p}:{c.line}: route {c.route!r} is not a passage of the seeds"


TAUGHT_WRONG = """title = "吉林：养犬证明"
jurisdiction = "jilin"

[[case]]
query = "宠物证明"
expect = "refuse"
item = "居民养犬证明"
route = "养犬居民应当自行征求利害关系人的同意"
note = "负面清单第4项：按办事途径告诉居民自行征求利害关系人的同意。"

[[case]]
query = "居民养犬证明"
expect = "refuse"
item = "national.negative.4"
route = "养犬居民应当自行征求利害关系人的同意"
note = "负面清单第4项（民发〔2020〕20号 附件第4项）。"
"""


def test_a_note_teaching_a_route_fails_when_the_name_is_decided_as_unlisted(tmp_path, registry):
    """The outcome agrees (an unlisted item is refused too): only the item and route tell."""
    f = tmp_path / "dogs.toml"
    f.write_text(TAUGHT_WRONG, encoding="utf-8")
    sc = load_scenario(f, registry)
    (problem,) = mismatches(registry, sc)
    assert problem.startswith(f"{f}:4: 第 1 个案例 宠物证明：")
    assert "事项预期“居民养犬证明”，实际 未列入清单事项" in problem and "预期 不予出具" not in problem
    assert "办事途径预期含“养犬居民应当自行征求利害关系人的同意”，实际 无办事途径" in problem
    r = run_cli("scenarios", "--check", str(f))
    assert r.returncode == 1 and problem in r.stderr
    assert r.stdout.splitlines()[-1] == "2 个案例，1 个符合预期"


CASE_KEYS_SCENARIO = """title = "各辖区、各日期"
jurisdiction = "national"

[[case]]
query = "农民身份证明"
jurisdiction = "qinghai"
on = 2026-01-10
purpose = "农民专业合作社设立登记"
expect = "issue"
item = "qinghai.retained.1"
note = "青民发〔2021〕103号 附件3示例"

[[case]]
query = "农民身份证明"
jurisdiction = "qinghai"
on = 2026-09-01
purpose = "农民专业合作社设立登记"
expect = "refuse"
item = "unlisted"
note = "青民发〔2021〕103号已失效"

[[case]]
query = "关系证明"
expect = "ask"
item = "婚姻状况证明"
note = "相近的名称须问明"

[[case]]
query = "无犯罪记录证明"
expect = "refuse"
item = "national.negative.5"
route = "公安部门"
note = "负面清单第5项"
"""


def test_cases_set_their_own_jurisdiction_and_date_and_may_expect_ask(tmp_path, registry):
    f = tmp_path / "keys.toml"
    f.write_text(CASE_KEYS_SCENARIO, encoding="utf-8")
    sc = load_scenario(f, registry)
    assert [(c.jurisdiction, c.on) for c in sc.cases[:2]] == [("qinghai", dt.date(2026, 1, 10)),
                                                            ("qinghai", dt.date(2026, 9, 1))]
    assert mismatches(registry, sc) == []
    r = run_cli("scenarios", "--check", str(f))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.splitlines()[-1] == "4 个案例，4 个符合预期"
    r = run_cli("scenarios", "--check", "--json", str(f))
    (row,) = json.loads(r.stdout)
    assert (row["cases"], row["as_expected"], row["mismatches"]) == (4, 4, [])
    # the quiz decides each case where and when it says, and offers 待补充 for the ask
    quiz = Quiz.build(registry, sc)
    assert [q.outcome for q in quiz.questions] == ["issue", "refuse", "ask", "refuse"]
    assert Outcome.ASK in quiz.choices
    assert quiz.questions[3].route and quiz.questions[3].route in quiz.questions[3].routes
    # and a case said otherwise is reported with its own jurisdiction and date
    wrong = f.read_text(encoding="utf-8").replace('expect = "issue"', 'expect = "refuse"', 1)
    f.write_text(wrong, encoding="utf-8")
    (problem,) = mismatches(registry, load_scenario(f, registry))
    assert problem == f"{f}:4: 第 1 个案例 农民身份证明（qinghai，2026-01-10）：预期 不予出具，实际 出具"


def test_a_case_on_a_broken_jurisdiction_is_reported_not_raised(tmp_path, make_plugin):
    from sealdesk.core.engine.plugins import Registry

    make_plugin("kit_broken_sc", files={"catalog.toml": '[[negative]]\nnumber = 1\nname = "甲证明"\n'})
    reg = Registry()
    assert "kit-broken-sc" not in reg.ids()
    f = tmp_path / "b.toml"
    f.write_text('title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "甲证明"\njurisdiction = "kit-broken-sc"\n'
                 'expect = "refuse"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(f, reg)
    assert str(exc.value).startswith(f"{f}:6: 第 1 个 [[case]]：辖区“kit-broken-sc”无法使用："), exc.value
    from sealdesk.core.training.scenario import check_files

    report = check_files(reg, [f])
    assert (report.cases, len(report.errors)) == (0, 1) and report.summary() == "0 个案例，0 个符合预期；1 个文件无法读取"


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
    # outcome and route points apart, never summed
    assert lines[0] == "得分：处理结果 1/2 题　办事途径 0/1 题"
    assert (quiz.outcome_points, quiz.route_points, quiz.route_possible) == (1, 0, 1)
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
    app = TrainApp(s, Quiz.build(registry, sc), trainee="测试学员")
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



def train_app(registry, tmp_path, scenario, seed: int | None = None, trainee: str | None = "测试学员",
              results=None) -> TrainApp:
    """``sealdesk train`` on a sandboxed demo community: ``scenario`` a shipped id or a Scenario; a
    ``seed`` shuffles (and Ctrl+R reshuffles); ``trainee`` None asks the name; ``results`` a folder."""
    sc = find_scenario(registry, scenario) if isinstance(scenario, str) else scenario
    home = tmp_path / f"train-{sc.id}"
    save_community(demo_community(home, sc.jurisdiction, registry.jurisdictions[sc.jurisdiction].name))
    s = Session(home, as_login="trainer", registry=registry)
    s.sandbox, s.on = True, sc.on
    return TrainApp(s, Quiz.build(registry, sc, seed=seed), trainee=trainee, results=results,
                    reshuffle=lambda new: Quiz.build(registry, sc, seed=new))


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
            if q.routes and q is not wrong:  # the route is asked with a refusal only
                await choose(pilot, str(q.routes.index(q.route)))
            text = screen_text(app)
            assert ("回答错误" if q is wrong else "回答正确") in text
            assert f"正确答案：{OUTCOME_LABELS[Outcome(q.outcome)]}" in text
            if q is wrong:  # the trainee's answer beside the right one, and why it is not it
                assert "你的答案：出具" in text and "为什么不是“出具”" in text
            assert q.case.note[:12] in text  # the teaching note, with its citation
            await pilot.press("enter")
            await pilot.pause()
        assert quiz.done
        text = screen_text(app)
        routes = sum(bool(q.routes) for q in quiz.questions)
        score = f"处理结果 {len(quiz.questions) - 1}/{len(quiz.questions)} 题"
        if routes:
            score += f"　办事途径 {routes - bool(wrong.routes)}/{routes} 题"
        assert "训练结束" in text and score in text, text
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
        n, routes = len(app.quiz.questions), sum(bool(q.routes) for q in app.quiz.questions)
        assert f"处理结果 {n}/{n} 题" + (f"　办事途径 {routes}/{routes} 题" if routes else "") in screen_text(app)


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


async def test_train_shows_a_cases_own_jurisdiction_and_date(tmp_path, registry):
    f = tmp_path / "keys.toml"
    f.write_text(CASE_KEYS_SCENARIO, encoding="utf-8")
    sc = load_scenario(f, registry)
    home = tmp_path / "train-keys"
    save_community(demo_community(home, sc.jurisdiction, registry.jurisdictions[sc.jurisdiction].name))
    s = Session(home, as_login="trainer", registry=registry)
    s.sandbox = True
    app = TrainApp(s, Quiz.build(registry, sc), trainee="测试学员")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "辖区：青海省" in text and "决定日期：2026-01-10" in text
        await choose(pilot, "issue")
        assert "回答正确" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert "决定日期：2026-09-01" in screen_text(app)
