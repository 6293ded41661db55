"""`sealdesk demo` at the counter (issue 19): F6/F7 at the ends of a scenario say so, 保存为演示案例
keeps each request once as last decided, and F8 fills in fictitious sample residents (a lesson's own
[[resident]] tables, checked as the counter checks ID numbers, or the built-in ones). Real Pilot, real
sandboxes and registers, real files."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
import tomllib

import pytest

from sealdesk.core.cli.scenario import sandbox
from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.register.resident import check_digit, mask_id, validate_id
from sealdesk.core.training.residents import BUILT_IN, sample_id
from sealdesk.core.training.scenario import ScenarioError, find_scenario, load_scenario, save_scenario
from sealdesk.tui.app import SealdeskApp
from sealdesk.tui.session import Session

from conftest import VALID_IDS

SIZE = (80, 24)


@contextlib.contextmanager
def demo(registry, scenario):
    """``sealdesk demo SCENARIO`` as the CLI starts it: the counter on a sandboxed demo community."""
    sc = find_scenario(registry, scenario) if isinstance(scenario, str) else scenario
    with sandbox(registry, sc.jurisdiction) as home:
        s = Session(home, as_login="clerk", registry=registry)
        s.sandbox, s.on = True, sc.on
        yield SealdeskApp(s, scenario=sc)


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def casebar(app) -> str:
    return str(app.screen.query_one("#casebar").render())


def keybar(app) -> str:
    return app.screen.query_one("KeyBar").render().plain


def field(app, wid: str) -> str:
    return app.screen.query_one(f"#{wid}").value


async def save_from_palette(pilot, target) -> None:
    """Ctrl+P, 保存为演示案例, the file name, Enter: as a trainer saves."""
    from textual.command import CommandList

    app = pilot.app
    await pilot.press("ctrl+p", *"保存为演示案例")
    for _ in range(40):  # the palette searches in the background
        await pilot.pause(0.05)
        if app.screen.query_one(CommandList).option_count:
            break
    await pilot.press("down", "enter")
    await pilot.pause()
    app.screen.query_one("#text").value = str(target)
    await pilot.press("enter")
    await pilot.pause()


LESSON = """\
title = "示例居民"
jurisdiction = "national"

[[case]]
query = "无犯罪记录证明"
purpose = "应聘"
expect = "refuse"

[[resident]]
name = "孙示例"
id = "{first}"
note = "虚构：男，1968 年生"

[[resident]]
name = "周示例"
id = "{second}"
"""
SUN = sample_id("500112", dt.date(1968, 5, 20), 215)
ZHOU = sample_id("110101", dt.date(1972, 2, 29), 88)


def lesson(tmp_path, first=SUN, second=ZHOU):
    path = tmp_path / "residents.toml"
    path.write_text(LESSON.format(first=first, second=second), encoding="utf-8")
    return path


# -- F6 / F7 at the ends -------------------------------------------------------------------------------
async def test_f6_past_the_last_case_and_f7_before_the_first_say_where_the_demo_is(registry):
    with demo(registry, "national-basics") as app:
        n = len(app.scenario.cases)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f7")  # nothing on the counter yet
            await pilot.pause()
            assert notes(app) == [f"演示尚未开始：F6 第一个案例（共 {n} 个）"]
            assert app.screen.case is None
            for _ in range(n):
                await pilot.press("f6")
            await pilot.pause()
            last = app.screen.decision
            await pilot.press("f6")
            await pilot.pause()
            assert notes(app)[-1] == f"已是最后一个案例（共 {n} 个）；F7 上一个"
            assert f"案例 {n}/{n}" in casebar(app) and app.screen.decision == last  # the last case stays
            assert "f6 下一案例" in keybar(app)  # still listed (dimmed), not gone
            for _ in range(n - 1):
                await pilot.press("f7")
            await pilot.press("f7")
            await pilot.pause()
            assert notes(app)[-1] == f"已是第一个案例（共 {n} 个）；F6 下一个"
            assert f"案例 1/{n}" in casebar(app)
            assert app.screen.decision["query"] == app.scenario.cases[0].query


# -- 保存为演示案例: each request once, as last decided --------------------------------------------------
async def test_going_back_with_f7_and_deciding_again_saves_each_case_once_in_order(registry, tmp_path):
    target = tmp_path / "lesson.toml"
    with demo(registry, "national-basics") as app:
        sc = app.scenario
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f6", "f6", "f6", "f7", "f7", "f6", "f6", "f6")  # 1 2 3, back to 1, on to 4
            await pilot.pause()
            assert len(app.demo_log) == len(sc.cases)
            await save_from_palette(pilot, target)
            assert any(f"已保存 {len(sc.cases)} 个案例" in m for m in notes(app)), notes(app)
    saved = load_scenario(target, registry)
    assert [(c.query, c.purpose, c.expect) for c in saved.cases] == [(c.query, c.purpose, c.expect) for c in sc.cases]
    assert [c.note for c in saved.cases] == [c.note for c in sc.cases]  # the teaching notes come along


async def test_a_case_decided_again_otherwise_replaces_its_entry_where_it_stands(registry):
    with demo(registry, "national-basics") as app:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f6", "f6", "f6", "f7")  # back to case 2: 亲属关系证明 for 公证 (issue)
            await pilot.pause()
            app.screen.set_focus(app.screen.query_one("#purpose"))  # into 用途 again, its text selected
            await pilot.pause()
            await pilot.press(*"出国探亲", "f5")
            await pilot.pause()
            assert app.screen.decision["outcome"] == "refuse"
            log = app.demo_log
            assert [c.query for c in log] == [c.query for c in app.scenario.cases[:3]]
            assert (log[1].purpose, log[1].expect) == ("出国探亲", "refuse")  # case 2, as last shown


async def test_requests_typed_at_the_counter_are_kept_once_each(registry):
    with demo(registry, "national-basics") as app:
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(2):  # the same request twice in a row: once
                await pilot.press("ctrl+n", *"无犯罪记录证明", "f5")
                await pilot.pause()
            assert [c.query for c in app.demo_log] == ["无犯罪记录证明"]
            await pilot.press("ctrl+n", *"亲属关系证明", "enter", *"出国探亲", "f5")
            await pilot.pause()
            app.screen.set_focus(app.screen.query_one("#purpose"))
            await pilot.pause()
            await pilot.press(*"公证", "f5")  # the resident corrects the use: the same request
            await pilot.pause()
            assert [(c.query, c.purpose, c.expect) for c in app.demo_log] == [
                ("无犯罪记录证明", "", "refuse"), ("亲属关系证明", "公证", "issue")]


async def test_a_request_decided_after_switching_jurisdiction_keeps_its_own(registry, tmp_path):
    target = tmp_path / "two.toml"
    with demo(registry, "national-basics") as app:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f6")
            await pilot.pause()
            app.session.switch_jurisdiction("qinghai")  # what 切换辖区 in the palette does
            app._reset_modes()
            await pilot.pause()
            await pilot.press(*"无业证明", "f5")
            await pilot.pause()
            expected = app.screen.decision["outcome"]
            await save_from_palette(pilot, target)
    saved = load_scenario(target, registry)
    assert saved.jurisdiction == "national"
    assert [(c.query, c.jurisdiction, c.expect) for c in saved.cases] == [
        ("无犯罪记录证明", "", "refuse"), ("无业证明", "qinghai", expected)]
    from sealdesk.core.training.scenario import mismatches

    assert mismatches(registry, saved) == []  # the lesson the tool wrote checks out


async def test_the_same_words_asked_again_after_the_counter_was_rebuilt_are_a_new_request(registry):
    # A counter rebuilt by 切换辖区 (or by a case of another jurisdiction) starts its own requests: one
    # typed there is not taken for the earlier screen's request of the same words.
    with demo(registry, "national-basics") as app:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*"无业证明", "f5")
            await pilot.pause()
            app.session.switch_jurisdiction("qinghai")
            app._reset_modes()
            await pilot.pause()
            await pilot.press(*"无业证明", "f5")
            await pilot.pause()
            assert [(c.query, c.jurisdiction) for c in app.demo_log] == [("无业证明", "national"), ("无业证明", "qinghai")]


# -- sample residents ----------------------------------------------------------------------------------
def test_built_in_residents_are_fictitious_and_pass_the_counters_check():
    assert len(BUILT_IN) == 6
    assert all(r.name.endswith("示例") for r in BUILT_IN)
    assert len({r.id for r in BUILT_IN}) == 6 and len({r.id[:6] for r in BUILT_IN}) == 6
    for r in BUILT_IN:
        assert validate_id(r.id) == r.id and r.id[-1] == check_digit(r.id[:17])
        assert r.masked == mask_id(r.id) and r.id[6:14] not in r.masked
    assert any(r.id.endswith("X") for r in BUILT_IN)  # the check character X, as the counter must accept it
    # generated as GB 11643's own example number is made
    assert sample_id("110105", dt.date(1949, 12, 31), 2) == VALID_IDS[0]


async def test_f8_fills_a_sample_resident_and_the_request_is_recorded(registry, tmp_path):
    target = tmp_path / "saved.toml"
    with demo(registry, "national-basics") as app:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f6")
            await pilot.pause()
            assert "f8" not in keybar(app)  # the footer keeps its room for the decision's keys
            await pilot.press("r")  # nobody filled in yet: asked for, and told of F8
            await pilot.pause()
            assert "F8 填入示例居民" in notes(app)[-1]
            assert app.focused.id == "rname" and "f8 示例居民" in keybar(app)
            await pilot.press("f8")
            await pilot.pause()
            first = BUILT_IN[0]
            assert (field(app, "rname"), field(app, "rid")) == (first.name, first.id)
            assert notes(app)[-1] == f"示例居民 1/6：{first.name}　{first.masked}（虚构，仅供演示）"
            assert not any(first.id in m for m in notes(app))  # the number in a notice: masked
            assert app.focused.id == "rid"
            await pilot.press("enter")  # records
            await pilot.pause()
            await pilot.pause()
            assert app.screen.entry is not None  # in the sandbox's register
            await pilot.press("f8")  # anywhere on the counter, the next one
            await pilot.pause()
            assert field(app, "rname") == BUILT_IN[1].name
            await save_from_palette(pilot, target)
    text = target.read_text(encoding="utf-8")
    assert "[[resident]]" not in text and first.name not in text and first.id not in text  # not the samples


async def test_f8_cycles_through_a_lessons_own_residents(registry, tmp_path):
    sc = load_scenario(lesson(tmp_path), registry)
    assert [(r.name, r.id, r.note) for r in sc.residents] == [("孙示例", SUN, "虚构：男，1968 年生"), ("周示例", ZHOU, "")]
    target = tmp_path / "again.toml"
    with demo(registry, sc) as app:
        async with app.run_test(size=SIZE) as pilot:
            names = []
            for _ in range(3):
                await pilot.press("f8")
                await pilot.pause()
                names.append((field(app, "rname"), field(app, "rid")))
            assert names == [("孙示例", SUN), ("周示例", ZHOU), ("孙示例", SUN)]
            assert notes(app)[-1] == f"示例居民 1/2：孙示例　{mask_id(SUN)}（虚构，仅供演示）"
            await pilot.press("f6")
            await pilot.pause()
            await save_from_palette(pilot, target)
    again = load_scenario(target, registry)  # the lesson's residents are kept when it is saved again
    assert [(r.name, r.id, r.note) for r in again.residents] == [(r.name, r.id, r.note) for r in sc.residents]
    assert tomllib.loads(target.read_text(encoding="utf-8"))["resident"][0] == {
        "name": "孙示例", "id": SUN, "note": "虚构：男，1968 年生"}


async def test_f8_does_nothing_at_a_real_communitys_counter(registry, tmp_path):
    home = tmp_path / "real"
    save_community(demo_community(home, "national", "全国"))
    app = SealdeskApp(Session(home, as_login="clerk", registry=registry))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"无犯罪记录证明", "f5")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert app.focused.id == "rname" and "f8" not in keybar(app)
        assert "F8" not in notes(app)[-1]
        await pilot.press("f8")
        await pilot.pause()
        assert field(app, "rname") == "" and field(app, "rid") == ""


@pytest.mark.parametrize("first,second,line,problem", [
    (SUN[:17] + ("0" if SUN[17] != "0" else "1"), ZHOU, 11, "第 1 个 [[resident]]：id 身份证号码校验位错误"),
    (SUN, SUN, 16, "第 2 个 [[resident]]：id 与第 1 个 [[resident]] 的相同"),
    (SUN, ZHOU[:17], 16, "第 2 个 [[resident]]：id 身份证号码应为18位"),
    (SUN, "990101199001010011", 16, "id 身份证号码的地区码 99 不存在"),
])
def test_a_bad_resident_is_an_error_of_the_file_with_its_line(tmp_path, registry, first, second, line, problem):
    path = lesson(tmp_path, first, second)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path, registry)
    assert str(exc.value).startswith(f"{path}:{line}: "), str(exc.value)
    assert problem in str(exc.value)


HEAD = 'title = "x"\njurisdiction = "national"\n\n[[case]]\nquery = "无业证明"\nexpect = "refuse"\n\n'


@pytest.mark.parametrize("text,line,problem", [
    (HEAD + '[[resident]]\nname = "孙示例"\nid = 500112196805202159\n', 10, "第 1 个 [[resident]]：id 应为字符串"),
    (HEAD + f'[[resident]]\nname = "孙示例"\nid = "{SUN}"\nsex = "男"\n', 11, "未知字段 sex（可用：id、name、note）"),
    (HEAD + f'[[resident]]\nid = "{SUN}"\n', 8, "第 1 个 [[resident]]：缺少必填项 name"),
    (HEAD + f'[[resident]]\nname = "孙示例2"\nid = "{SUN}"\n', 9, "name 居民姓名不应包含数字"),
    ('resident = "孙示例"\n' + HEAD, 1, "resident 应写成 [[resident]] 表"),
])
def test_resident_keys_and_types_are_checked(tmp_path, registry, text, line, problem):
    path = tmp_path / "r.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path, registry)
    assert str(exc.value).startswith(f"{path}:{line}: ") and problem in str(exc.value), str(exc.value)


def test_a_bad_resident_stops_demo_with_one_line_in_chinese(tmp_path, registry):
    path = lesson(tmp_path, SUN[:17] + ("0" if SUN[17] != "0" else "1"))
    r = subprocess.run([sys.executable, "-m", "sealdesk.core.cli.main", "demo", str(path)],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and f"{path}:11:" in r.stderr and "校验位错误" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_residents_round_trip_through_save(tmp_path, registry):
    sc = load_scenario(lesson(tmp_path), registry)
    back = load_scenario(save_scenario(sc, tmp_path / "copy"), registry)
    assert [(r.name, r.id, r.note) for r in back.residents] == [(r.name, r.id, r.note) for r in sc.residents]
    bad = tmp_path / "copy.toml"
    bad.write_text(bad.read_text(encoding="utf-8").replace(SUN, SUN[:17] + "1"), encoding="utf-8")
    with pytest.raises(ScenarioError, match="校验位错误"):  # the saved file is checked as a hand-written one
        load_scenario(bad, registry)


async def test_a_lesson_mixing_jurisdictions_is_shown_where_and_when_each_case_says(registry, tmp_path):
    from pathlib import Path

    from sealdesk.core.training.scenario import mismatches

    lesson_file = Path(__file__).resolve().parents[1] / "examples" / "lessons" / "classroom-mixed.toml"
    sc = load_scenario(lesson_file, registry)
    with demo(registry, sc) as app:
        async with app.run_test(size=SIZE) as pilot:
            seen = []
            for i, case in enumerate(sc.cases):
                await pilot.press("f6")
                for _ in range(40):  # another jurisdiction rebuilds the counter
                    await pilot.pause(0.05)
                    if app.screen.query("#casebar") and f"案例 {i + 1}/" in casebar(app):
                        break
                s = app.session
                seen.append((s.community.jurisdiction, s.today))
                assert s.community.jurisdiction == sc.jurisdiction_of(case)
                assert s.today == (case.on or sc.on or dt.date.today())
                await pilot.pause()
                assert app.screen.decision and app.screen.decision["outcome"] == case.expect  # the counter's own decision
            assert len({j for j, _ in seen}) >= 4
            await pilot.press("f7")  # back across a jurisdiction: the case before, where it belongs
            for _ in range(40):
                await pilot.pause(0.05)
                if f"案例 {len(sc.cases) - 1}/" in casebar(app):
                    break
            assert app.session.community.jurisdiction == sc.jurisdiction_of(sc.cases[-2])
            target = tmp_path / "recorded.toml"
            await save_from_palette(pilot, target)
    saved = load_scenario(target, registry)
    assert len(saved.cases) == len(sc.cases)  # each case once, the one decided twice too
    assert [saved.jurisdiction_of(c) for c in saved.cases] == [sc.jurisdiction_of(c) for c in sc.cases]
    assert mismatches(registry, saved) == []  # every case, decided again where it was, says the same
