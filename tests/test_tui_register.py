"""The register screen (F3) at 80×24, keyboard only, on real registers (issue 16).

Enter opens the matter under the cursor at once, also right behind arrow keys; a/s/f/v show the
matter and what it still needs and act only on y/Enter (Esc and n leave the register as it was);
a search puts the cursor on its first hit; and however many matters there are, the table holds
one page and the clerk reaches every matter: the oldest too, by page, by End or by 登记号 — also
through the register service, and in a search's or a filter's results of several pages.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading

import pytest
from textual import events
from textual.widgets import DataTable, Static

from sealdesk.core.desk.counter import Desk
from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.register.resident import InvalidInput, mask_id
from sealdesk.tui.app import SealdeskApp
from sealdesk.tui.screens.dialogs import AskText, Message
from sealdesk.tui.screens.matter import ConfirmAction
from sealdesk.tui.screens.register import PAGE, RegisterScreen
from sealdesk.tui.session import Session

from conftest import VALID_IDS
from test_tui import SIZE, screen_text

ISSUED = "亲属关系证明"  # with the use 公证: 出具, so it goes on to 审批 and 用印
REFUSED = "无犯罪记录证明"  # 不予出具: recorded, no workflow
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红梅玉"


def name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)]


@pytest.fixture
def home(tmp_path, registry):
    """A demo community's home; ``home.fill(n)`` registers n matters (登记号 1..n, odd ones refused,
    even ones issued and awaiting approval), ``home.desk`` reads its register."""
    path = tmp_path / "home"
    save_community(demo_community(path, "national", registry.jurisdictions["national"].name))

    class Home:
        def __init__(self):
            self.path = path
            self.desk = Desk(path, registry=registry)

        def add(self, query: str, resident: str) -> int:
            return self.desk.request(query, resident_name=resident, resident_id=VALID_IDS[0], purpose="公证",
                                     requester="公证处", as_login="clerk")["entry"]

        def fill(self, n: int) -> None:
            for i in range(1, n + 1):
                self.add(ISSUED if i % 2 == 0 else REFUSED, name(i))

        def records(self) -> int:
            return self.desk.register.count()

        def app(self, as_login: str = "clerk", socket: str | None = None) -> SealdeskApp:
            return SealdeskApp(Session(path, as_login=as_login, registry=registry, socket=socket))

    h = Home()
    yield h
    h.desk.close()


def burst(app, *keys: str) -> None:
    """Keys as one read of a slow link delivers them: all queued before the app handles the first
    (``Pilot.press`` waits for the app to be idle after each)."""
    named = {"enter": "\r", "escape": "\x1b"}
    for key in keys:
        app._driver.send_message(events.Key(key, named.get(key, key if len(key) == 1 else None)))


def current(app) -> dict:
    return app.screen._current()


def page_line(app) -> str:
    return str(app.screen.query_one("#detail", Static).border_title or "")


def table(app) -> DataTable:
    return app.screen.query_one("#matters", DataTable)


# -- Enter -------------------------------------------------------------------------------------------
async def test_enter_opens_the_matter_under_the_cursor_also_right_after_arrow_keys(home):
    home.fill(3)
    app = home.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, Message) and app.screen.title_text == "登记号 3"
        shown = screen_text(app)
        assert name(3) in shown and mask_id(VALID_IDS[0]) in shown and "记录：" in shown
        await pilot.press("escape", "down", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, Message) and app.screen.title_text == "登记号 1"
        # One read of a slow link: closed, two rows up, opened — each key in its turn.
        burst(app, "escape", "up", "up", "enter")
        await pilot.pause()
        assert isinstance(app.screen, Message) and app.screen.title_text == "登记号 3"
        burst(app, "escape", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, Message) and app.screen.title_text == "登记号 2"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RegisterScreen) and current(app)["entry"] == 2


# -- a/s/f/v ask first ---------------------------------------------------------------------------------
async def test_approve_stamp_and_void_show_the_matter_and_its_requirements_and_act_only_on_yes(home):
    home.add(REFUSED, "钱堃")
    entry = home.add(ISSUED, "王䶮")
    app = home.app("director")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert current(app)["entry"] == entry
        n = home.records()

        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmAction)
        shown = screen_text(app)
        for part in (f"审批登记号 {entry}？", f"登记号 {entry}", "状态：待审批", "证明：亲属关系证明（负面清单第1项）",
                     f"居民：王䶮（{mask_id(VALID_IDS[0])}）", "用途：公证", "索要单位：公证处", "决定：出具",
                     "须办理：调查核实", "审批即确认以上各项已经办理", "审批　本次", "用印　待办",
                     "y/Enter 确认审批", "n/Esc 取消"):
            assert part in shown, part
        assert VALID_IDS[0] not in shown  # the ID number masked
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RegisterScreen) and home.records() == n
        await pilot.press("a", "n")
        await pilot.pause()
        assert isinstance(app.screen, RegisterScreen) and home.records() == n
        assert home.desk.show(entry)["status"] == "awaiting_approval"
        await pilot.press("a", "y")
        await pilot.pause()
        assert isinstance(app.screen, RegisterScreen) and home.records() == n + 1
        assert home.desk.show(entry)["status"] == "awaiting_stamp"
        assert current(app)["status"] == "awaiting_stamp"  # the page read again, the cursor kept

        app.session.switch_person("keeper")
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmAction)
        shown = screen_text(app)
        assert "用印登记号" in shown and "状态：待用印" in shown and "用印　本次" in shown
        assert "审批　已办　李建国（负责人）" in shown and "审批时已确认办理" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert home.records() == n + 1
        await pilot.press("s", "enter")
        await pilot.pause()
        assert home.records() == n + 2 and home.desk.show(entry)["serial"] == 1

        app.session.switch_person("director")
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmAction)
        shown = screen_text(app)
        assert "作废登记号" in shown and "证明编号：" in shown and "作废：本次" in shown and "用印　已办" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert home.records() == n + 2
        await pilot.press("v", "y")  # then the reason, as before; Esc there records nothing either
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        await pilot.press("escape")
        await pilot.pause()
        assert home.records() == n + 2 and home.desk.show(entry)["status"] == "stamped"
        await pilot.press("v", "y", *"居民申请撤回", "enter")
        await pilot.pause()
        assert home.records() == n + 3
        shown = home.desk.show(entry)
        assert shown["status"] == "voided" and shown["void_reason"] == "居民申请撤回"


async def test_an_action_the_rules_refuse_shows_the_matter_and_why_and_records_nothing(home):
    entry = home.add(ISSUED, "王䶮")
    app = home.app("clerk")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        n = home.records()
        for key, label in (("a", "审批"), ("s", "用印"), ("v", "作废")):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, Message) and app.screen.title_text == f"不能{label}：登记号 {entry}"
            shown = screen_text(app)
            assert f"不能{label}，原因：" in shown and "经办人" in shown and "证明：亲属关系证明" in shown
            await pilot.press("y")  # no question asked: y does nothing here
            await pilot.pause()
            assert isinstance(app.screen, Message)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, RegisterScreen)
        assert home.records() == n


async def test_a_burst_of_confirmations_acts_in_the_order_typed(home):
    """``a y ↓ a y Enter`` in one read: each approval is recorded before the key behind it runs, so
    the second is of the next matter and Enter shows that matter approved."""
    first = home.add(ISSUED, "王䶮")
    second = home.add(ISSUED, "钱堃")
    app = home.app("director")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        n = home.records()
        burst(app, "a", "y", "down", "a", "y", "enter")
        await pilot.pause()
        assert home.records() == n + 2
        assert home.desk.show(first)["status"] == home.desk.show(second)["status"] == "awaiting_stamp"
        assert isinstance(app.screen, Message) and app.screen.title_text == f"登记号 {first}"
        assert "审批 李建国（负责人）" in screen_text(app)


# -- search ------------------------------------------------------------------------------------------
async def test_a_search_puts_the_cursor_on_its_first_hit(home):
    for resident in ("张三", "李四", "张五", "王六", "张七"):
        home.add(REFUSED, resident)
    app = home.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("down", "down", "down")
        assert current(app)["entry"] == 2
        await pilot.press("slash", *"张", "enter")
        await pilot.pause()
        assert [r["entry"] for r in app.screen.rows_on_page()] == [5, 3, 1]
        assert table(app).cursor_row == 0 and current(app)["entry"] == 5
        assert "张七" in str(app.screen.query_one("#detail", Static).render())
        assert app.focused is table(app)
        # Enter right after the search opens its first hit.
        await pilot.press("slash", "ctrl+u", *"王", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, Message) and app.screen.title_text == "登记号 4"


# -- a register of many pages ---------------------------------------------------------------------------
async def _reach_the_oldest(app, pilot, total: int) -> None:
    await pilot.press("f3")
    await pilot.pause()
    assert table(app).row_count == PAGE and current(app)["entry"] == total
    assert page_line(app).startswith(f"第 1–{PAGE} 件，共 {total} 件")
    assert "PgDn 更早　End 最早　g 登记号" in screen_text(app)

    # ↓ on a page's last row goes on to the next page; ↑ on its first row back.
    await pilot.press(*["down"] * (PAGE - 1))
    assert current(app)["entry"] == total - PAGE + 1
    await pilot.press("down")
    assert table(app).cursor_row == 0 and current(app)["entry"] == total - PAGE
    assert page_line(app).startswith(f"第 {PAGE + 1}–{2 * PAGE} 件，共 {total} 件")
    await pilot.press("up")
    assert table(app).cursor_row == PAGE - 1 and current(app)["entry"] == total - PAGE + 1

    # End: the oldest matter at once; Home: the newest.
    await pilot.press("end")
    assert current(app)["entry"] == 1 and table(app).row_count == PAGE
    assert page_line(app).startswith(f"第 {total - PAGE + 1}–{total} 件，共 {total} 件")
    await pilot.press("home")
    assert current(app)["entry"] == total

    # PgDn page after page down to the oldest; never more than a page in the table.
    seen = [current(app)["entry"]]
    for _ in range(10 * total // PAGE):
        await pilot.press("pagedown")
        assert table(app).row_count <= PAGE
        if current(app)["entry"] == 1:
            break
        assert current(app)["entry"] < seen[-1]
        seen.append(current(app)["entry"])
    assert current(app)["entry"] == 1
    assert app.screen.above == []  # nothing kept per page turned: the pages above are found again by record
    # and PgUp back up to the newest
    for _ in range(10 * total // PAGE):
        await pilot.press("pageup")
        if current(app)["entry"] == total:
            break
    assert current(app)["entry"] == total

    # g: straight to a 登记号; ↑ from there reads the page above it.
    await pilot.press("g")
    await pilot.pause()
    assert isinstance(app.screen, AskText)
    await pilot.press(*"123", "enter")
    await pilot.pause()
    assert current(app)["entry"] == 123 and table(app).cursor_row == 0
    assert page_line(app).startswith(f"第 {total - 123 + 1}–{total - 123 + PAGE} 件，共 {total} 件")
    await pilot.press("up")
    assert current(app)["entry"] == 124 and table(app).cursor_row == min(PAGE, total - 123) - 1
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, Message) and app.screen.title_text == "登记号 124"
    await pilot.press("escape")


async def test_a_register_of_many_pages_lets_the_clerk_reach_its_oldest_matter(home):
    home.fill(450)
    app = home.app()
    async with app.run_test(size=SIZE) as pilot:
        await _reach_the_oldest(app, pilot, 450)


async def test_the_same_through_the_register_service(home):
    from sealdesk.core.desk.service import RegisterServer

    home.fill(160)
    sockdir = tempfile.mkdtemp(prefix="sealdesk-test-")
    path = os.path.join(sockdir, "register.sock")
    served = Desk(home.path)
    server = RegisterServer(path, served, mode=0o600)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app = home.app(socket=path)
        assert type(app.session.desk).__name__ == "RemoteDesk"
        async with app.run_test(size=SIZE) as pilot:
            await _reach_the_oldest(app, pilot, 160)
    finally:
        server.shutdown()
        server.server_close()
        served.close()
        shutil.rmtree(sockdir, ignore_errors=True)


async def test_a_search_and_a_filter_of_several_pages_are_read_page_by_page(home):
    home.fill(260)  # 130 issued (even 登记号), awaiting approval; 130 refused
    app = home.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "slash", *"亲属", "enter")
        await pilot.pause()
        assert current(app)["entry"] == 260 and page_line(app).startswith(f"第 1–{PAGE} 件，后面还有")
        await pilot.press("end")  # no End in a search's results: it says to page
        await pilot.pause()
        assert current(app)["entry"] == 260 and "PgDn" in screen_text(app)
        entries = []
        for _ in range(20):
            entries += [r["entry"] for r in app.screen.rows_on_page() if r["entry"] not in entries]
            if not app.screen.more:
                break
            table(app).move_cursor(row=table(app).row_count - 1)
            await pilot.press("pagedown")
        assert entries == list(range(260, 0, -2))
        assert page_line(app).startswith(f"第 {2 * PAGE + 1}–130 件，共 130 件")
        await pilot.press("pageup")
        assert page_line(app).startswith(f"第 {PAGE + 1}–{2 * PAGE} 件")
        # the status filter (t): 待审批, the same matters
        await pilot.press("slash", "ctrl+u", "enter", "t")
        await pilot.pause()
        choices = [value for value, _label in app.screen.choices]  # the Choose dialog
        await pilot.press(*["down"] * choices.index("awaiting_approval"), "enter")
        await pilot.pause()
        assert app.screen.status_filter == "awaiting_approval" and current(app)["entry"] == 260
        await pilot.press(*["pagedown"] * 40)
        assert current(app)["entry"] == 2 and not app.screen.more


async def test_matters_leaving_a_filter_keep_the_clerk_on_a_page_that_has_some(home):
    """On the last page of 待审批, approving its only matters empties it: the page above is shown."""
    home.fill(2 * PAGE + 2)  # 51 awaiting approval: a page and one
    app = home.app("director")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "t")
        await pilot.pause()
        choices = [value for value, _label in app.screen.choices]  # the Choose dialog
        await pilot.press(*["down"] * choices.index("awaiting_approval"), "enter")
        await pilot.pause()
        table(app).move_cursor(row=PAGE - 1)
        await pilot.press("pagedown")
        assert table(app).row_count == 1 and current(app)["entry"] == 2
        await pilot.press("a", "y")
        await pilot.pause()
        assert table(app).row_count == PAGE and current(app)["entry"] == 4
        assert home.desk.show(2)["status"] == "awaiting_stamp"


# -- the register's pages ------------------------------------------------------------------------------
@pytest.mark.parametrize("register_backend", ["sqlite", "postgresql"])
def test_pages_read_with_before_are_the_whole_list_in_order(demo, register_backend):
    """``Desk.list(before=…)`` pages the list as the screen does: page after page, each below the
    last row of the one before, gives the whole list once — searches through the n-gram batches
    (written every 1,024 records) and the matters after them too; in a register file and in a
    county's PostgreSQL register."""
    desk = Desk(demo("national").home)
    for i in range(1, 1101):
        desk.request(ISSUED if i % 2 == 0 else REFUSED, resident_name=name(i), resident_id=VALID_IDS[0],
                     purpose="公证", requester="公证处", as_login="clerk")
    if register_backend == "sqlite":
        assert int(desk.register.meta()["grams"]) == 1024
    for status, search in ((None, ""), ("awaiting_approval", ""), ("refused", ""), (None, "王"), (None, "亲属"),
                           (None, name(7)), ("awaiting_approval", "公证"), (None, "无此人")):
        whole = [r["entry"] for r in desk.list(status=status, limit=None, search=search)]
        paged, before = [], None
        while True:
            rows = desk.list(status=status, limit=37, search=search, before=before)
            if not rows:
                break
            assert len(rows) <= 37
            paged += [r["entry"] for r in rows]
            before = rows[-1]["record"]
        assert paged == whole, (status, search)
    for bad in (0, -1, "3", True, 1.5):
        with pytest.raises(InvalidInput, match="before"):
            desk.list(before=bad)
    desk.close()


async def test_the_empty_register_says_so_and_no_key_fails(home):
    app = home.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert page_line(app) == "" and "登记簿中还没有符合条件的事项" in screen_text(app)
        for key in ("enter", "a", "v", "down", "pagedown", "end", "home", "up", "pageup"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, RegisterScreen)


async def test_c_verifies_the_chain_without_holding_up_the_screen(home):
    import sqlite3

    home.fill(6)
    app = home.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("c")
        for _ in range(50):
            await pilot.pause(0.05)
            if "校验通过" in screen_text(app):
                break
        assert "哈希链校验通过：共" in screen_text(app)
        # An insider's edit: the next c names the record.
        con = sqlite3.connect(home.path / "register.sqlite3")
        con.execute("UPDATE records SET actor = 'x' WHERE seq = 3")
        con.commit()
        con.close()
        await pilot.press("c")
        for _ in range(50):
            await pilot.pause(0.05)
            if "校验失败" in screen_text(app):
                break
        assert "登记簿校验失败：第 3 条记录" in screen_text(app)
