"""Issue 16, the paper screens: a certificate's wording before it is printed, and ZMODEM only when asked.

* The clerk types the facts only; :func:`certificate_content` drops the formula a clerk repeats
  (兹证明, 兹有, 特此证明) and the punctuation around it, the same in the TUI, the CLI and the
  service (it runs in ``Desk.paper``); pdftotext reads the real PDFs.
* :class:`CertificatePreview` shows the sentence as it will print, from the template, and says
  that printing fixes it; Enter 打印, e 修改, Esc 取消 (Pilot at 80×24, real registers).
* ``z`` says first which terminals receive ZMODEM; the send is real sz on a real pty, which no
  one answers (PuTTY, tmux) or real rz answers; last, the real app in tmux, which does not.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sealdesk.core.desk.counter import Desk
from sealdesk.core.papers import content as P
from sealdesk.core.papers import delivery
from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.register.resident import InvalidInput, mask_id
from sealdesk.tui.app import SealdeskApp
from sealdesk.tui.screens.dialogs import AskText, Message
from sealdesk.tui.screens.paper import (ASK_TITLE, FINAL, CertificatePreview, PaperDone, ZmodemAsk,
                                        certificate_wording)
from sealdesk.tui.session import Session
from sealdesk.tui.widgets.prose import Prose

from conftest import VALID_IDS

SIZE = (80, 24)
FACTS = "李四与王某系母子关系"
WHOLE = "兹证明兹证明李四与王某系母子关系。特此证明。"  # what a clerk typed in the report
needs_pdftotext = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
needs_sz = pytest.mark.skipif(not shutil.which("sz"), reason="sz (lrzsz) is not installed; scripts/setup installs it")


def flat_pdf(path) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"\s+", "", out.stdout)


# -- cleaning the facts -----------------------------------------------------------------------------
@pytest.mark.parametrize("typed, facts", [
    (FACTS, FACTS),
    (WHOLE, FACTS),
    ("兹证明李四与王某系母子关系，特此证明", FACTS),
    ("  兹证明：李四与王某系母子关系。  ", FACTS),
    ("\u3000兹证明 李四与王某系母子关系\u3000", FACTS),
    ("特此证明：李四与王某系母子关系", FACTS),
    ("兹有我社区居民李四，自2019年起在本社区居住。", "我社区居民李四，自2019年起在本社区居住"),
    ("……该居民自2019年起在本社区居住……", "该居民自2019年起在本社区居住"),
    ("——该居民自2019年起在本社区居住!", "该居民自2019年起在本社区居住"),
    # punctuation inside stays; so do brackets and quotes at either end: they belong to the facts
    ("李四、王五均系本社区居民；现居住于幸福路1号。", "李四、王五均系本社区居民；现居住于幸福路1号"),
    ("该居民与王某系母子关系（见户口簿）。", "该居民与王某系母子关系（见户口簿）"),
    ("“李四”系本社区居民", "“李四”系本社区居民"),
    ("该居民的收入占家庭收入的50%", "该居民的收入占家庭收入的50%"),
])
def test_certificate_content_keeps_the_facts_only(typed, facts):
    assert P.certificate_content(typed) == facts


@pytest.mark.parametrize("typed", ["", "   ", "兹证明", "兹证明……", "特此证明。", "兹证明：特此证明。", "。，", "兹有",
                                   "兹证明兹证明", None, 3])
def test_certificate_content_without_facts_is_refused_in_chinese(typed):
    with pytest.raises(InvalidInput) as err:
        P.certificate_content(typed)
    assert "证明" in str(err.value) and not re.search(r"[A-Za-z]{4}", str(err.value))


EDGES = sorted(P.CONTENT_EDGE) + [" ", "\u3000"]
inner = st.text(alphabet=st.sampled_from(list("李四王某系母子关系居民本社区自年起在住满五") + list("0123456789") + EDGES
                                         + list("（）“”%")), max_size=30)
end_char = st.sampled_from(list("李四王某系母子关系居民社区年住") + list("0123456789（）“”%"))


@st.composite
def facts_text(draw) -> str:
    f = draw(end_char) + draw(inner) + draw(end_char)
    for opening in P.CONTENT_OPENINGS:
        f = f.removeprefix(opening)
    return f


junk = st.lists(st.sampled_from([*P.CONTENT_OPENINGS, *EDGES]), max_size=6).map("".join)
tail = st.lists(st.sampled_from([*P.CONTENT_CLOSINGS, *EDGES]), max_size=6).map("".join)


@settings(max_examples=300, deadline=None)
@given(facts=facts_text(), before=junk, after=tail)
def test_the_formula_and_edge_punctuation_around_any_facts_go(facts, before, after):
    assume(facts and facts[0] not in EDGES and facts[-1] not in EDGES)  # a removed opening can expose one
    assume(not facts.startswith(P.CONTENT_OPENINGS) and not facts.endswith(P.CONTENT_CLOSINGS))
    assert P.certificate_content(before + facts + after) == facts


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_cleaning_is_a_trim_and_idempotent(text):
    try:
        out = P.certificate_content(text)
    except InvalidInput:
        return
    assert out and out in text  # only the ends are removed: the inside is the clerk's, untouched
    assert P.certificate_content(out) == out
    assert out[0] not in EDGES and out[-1] not in EDGES and not out[0].isspace() and not out[-1].isspace()
    assert not out.startswith(P.CONTENT_OPENINGS) and not out.endswith(P.CONTENT_CLOSINGS)


# -- the same cleaning in Desk.paper: the CLI and the service ---------------------------------------
def issued(cli, purpose="公证", requester="公证处") -> int:
    entry = cli.json("request", "居民财产证明", "--resident-name", "王䶮", "--resident-id", VALID_IDS[0],
                     "--purpose", purpose, "--requester", requester, "--fact", "party_requires",
                     "--fact", "within_duties", "--fact", "verifiable", "--as", "clerk")["entry"]
    cli.json("approve", str(entry), "--as", "director")
    cli.json("stamp", str(entry), "--as", "keeper")
    return entry


@needs_pdftotext
def test_cli_certificate_typed_as_a_whole_sentence_reads_once(demo, tmp_path):
    cli = demo("national")
    entry = issued(cli)
    out = tmp_path / "证明.pdf"
    first = cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", WHOLE, "--as", "clerk")
    f = flat_pdf(out)
    assert f"兹证明{FACTS}，用于办理公证事务。" in f
    assert "兹证明兹证明" not in f and "。，" not in f and "特此证明" not in f
    desk = Desk(cli.home)
    try:
        assert desk.matter(entry).papers[-1].data["content"] == FACTS  # the register holds the facts
    finally:
        desk.close()
    # the same words typed again are the same certificate; only the facts differ from them
    again = cli.json("paper", "certificate", str(entry), "-o", str(tmp_path / "b.pdf"), "--content", WHOLE,
                     "--as", "clerk")
    assert again["sha256"] == first["sha256"] and not again["new"]
    assert cli.json("paper", "certificate", str(entry), "-o", str(tmp_path / "c.pdf"), "--content", f" {FACTS}。",
                    "--as", "clerk")["sha256"] == first["sha256"]


def test_cli_refuses_the_formula_alone_and_records_nothing(demo, tmp_path):
    cli = demo("national")
    entry = issued(cli)
    before = cli.json("register", "verify")["records"]
    code, _, err = cli("paper", "certificate", str(entry), "-o", str(tmp_path / "x.pdf"), "--content", "兹证明……特此证明。",
                       "--as", "clerk")
    assert code != 0 and "请填写证明的事实" in err and "Traceback" not in err
    assert cli.json("register", "verify")["records"] == before and not (tmp_path / "x.pdf").exists()


def test_the_preview_is_the_papers_own_wording_in_every_jurisdiction(demo, registry):
    """The screen fills the template from ``Desk.show`` (the service's register too); it must say
    exactly what ``content.certificate`` prints, jurisdiction by jurisdiction (the ID number masked)."""
    for jid in registry.ids():
        cli = demo(jid)
        entry = issued(cli)
        desk = Desk(cli.home, registry=registry)
        try:
            matter = desk.matter(entry)
            d = matter.entry.data["decision"]
            view = registry.view(d["jurisdiction"], dt.date.fromisoformat(d["date"]))
            built = P.certificate(matter, desk.community, view, P.template("certificate", view, registry), FACTS)
            shown = desk.show(entry, as_login="clerk")
            wording = certificate_wording(shown, desk.community, registry, FACTS).plain.split("\n")
        finally:
            desk.close()
        printed = [b.text.replace(VALID_IDS[0], mask_id(VALID_IDS[0])) for b in built.blocks
                   if b.kind in ("number", "addressee", "para")]
        copies = max(1, sum(1 for b in built.blocks if b.kind == "title"))  # the same words on each copy
        seal = next(b for b in built.blocks if b.kind == "seal")
        assert [w.removeprefix("　　") for w in wording[:-1]] == printed[: len(printed) // copies], jid
        assert wording[-1] == f"{seal.text}　{seal.extra['date']}", jid
        assert any(FACTS in w for w in wording), jid


# -- the preview in the TUI ---------------------------------------------------------------------------
@pytest.fixture
def stamped(tmp_path, registry):
    """A demo community with one stamped certificate matter; returns (home, entry)."""
    def make(jid: str = "national", purpose: str = "公证") -> tuple[Path, int]:
        home = tmp_path / f"home-{jid}"
        save_community(demo_community(home, jid, registry.jurisdictions[jid].name))
        desk = Desk(home, registry=registry)
        try:
            out = desk.request("居民财产证明", resident_name="王䶮", resident_id=VALID_IDS[0], purpose=purpose,
                               requester="公证处", facts={"party_requires": True, "within_duties": True,
                                                        "verifiable": True}, as_login="clerk")
            entry = out["entry"]
            desk.approve(entry, as_login="director")
            desk.stamp(entry, as_login="keeper")
        finally:
            desk.close()
        return home, entry

    return make


def records(home, registry) -> int:
    desk = Desk(home, registry=registry)
    try:
        return desk.verify()["records"]
    finally:
        desk.close()


def prose(app, selector: str) -> str:
    return "".join(app.screen.query_one(selector, Prose).lines)


def fits(app) -> bool:
    box = app.screen.query_one(".dialog").region
    return box.x >= 0 and box.y >= 0 and box.right <= SIZE[0] and box.bottom <= SIZE[1]


async def test_first_print_asks_for_the_facts_previews_and_prints_only_on_enter(stamped, registry):
    home, entry = stamped()
    n = records(home, registry)
    app = SealdeskApp(Session(home, as_login="clerk", registry=registry))
    async with app.run_test(size=SIZE) as pilot:
        app.print_paper("certificate", entry)
        await pilot.pause()
        assert isinstance(app.screen, AskText) and app.screen.title_text == ASK_TITLE
        assert "不必写“兹证明”和“特此证明”" in ASK_TITLE and P.CONTENT_EXAMPLE in app.screen.hint
        await pilot.press(*WHOLE, "enter")
        await pilot.pause()
        assert isinstance(app.screen, CertificatePreview) and fits(app)
        words = prose(app, "#wording")
        assert f"兹证明{FACTS}，用于办理公证事务。" in words and "兹证明兹证明" not in words and "。，" not in words
        assert "王䶮" in words and mask_id(VALID_IDS[0]) in words and VALID_IDS[0] not in words
        assert re.search(r"证明〔\d{4}〕第1号", words) and "公证处：" in words and "此证明有效期至" in words
        assert prose(app, "#final") == FINAL and "作废" in FINAL and "不能修改" in FINAL
        assert "已按文书格式去掉“兹证明”" in "".join(w for p in app.screen.query(Prose) for w in p.lines)
        assert records(home, registry) == n  # nothing recorded before Enter
        await pilot.press("e")  # 修改: the cleaned facts to change
        await pilot.pause()
        assert isinstance(app.screen, AskText) and app.screen.query_one("#text").value == FACTS
        await pilot.press("end")
        app.screen.query_one("#text").insert_text_at_cursor("，现居住在本社区。")  # Pilot has no key for "，"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CertificatePreview)
        assert f"兹证明{FACTS}，现居住在本社区，用于办理公证事务。" in prose(app, "#wording")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PaperDone)
        saved = app.screen.path
    assert records(home, registry) == n + 1
    if shutil.which("pdftotext"):
        f = flat_pdf(saved)
        assert f"兹证明{FACTS}，现居住在本社区，用于办理公证事务。" in f and "兹证明兹证明" not in f and "。，" not in f


async def test_escape_prints_nothing_and_the_next_print_asks_again(stamped, registry):
    home, entry = stamped()
    n = records(home, registry)
    app = SealdeskApp(Session(home, as_login="clerk", registry=registry))
    async with app.run_test(size=SIZE) as pilot:
        app.print_paper("certificate", entry, "兹证明属实。")  # the register screen's prompt answered
        await pilot.pause()
        assert isinstance(app.screen, CertificatePreview)
        assert "兹证明属实，用于办理公证事务。" in prose(app, "#wording")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, (CertificatePreview, PaperDone, AskText))
        assert any("未打印证明" in note.message for note in app._notifications)
        app.print_paper("certificate", entry)
        await pilot.pause()
        assert isinstance(app.screen, AskText)  # not recorded: asked again
        await pilot.press("escape")
        await pilot.pause()
    assert records(home, registry) == n


async def test_the_longest_facts_still_fit_80x24_with_the_keys_and_the_warning(stamped, registry):
    home, entry = stamped()
    facts = "该居民" + "在本社区居住并从事个体经营" * 22  # 289 characters, near CONTENT_MAX
    app = SealdeskApp(Session(home, as_login="clerk", registry=registry))
    async with app.run_test(size=SIZE) as pilot:
        app.print_paper("certificate", entry, facts)
        await pilot.pause()
        assert isinstance(app.screen, CertificatePreview) and fits(app)
        for selector in ("#final", ".dialog > Static.hint"):
            box = app.screen.query(selector).last().region
            assert box.height and box.bottom <= SIZE[1], selector  # the warning and the keys stay on screen
        assert prose(app, "#final") == FINAL and facts in prose(app, "#wording")


async def test_the_formula_alone_is_refused_and_asked_again_with_what_was_typed(stamped, registry):
    home, entry = stamped()
    app = SealdeskApp(Session(home, as_login="clerk", registry=registry))
    async with app.run_test(size=SIZE) as pilot:
        app.print_paper("certificate", entry)
        await pilot.pause()
        await pilot.press(*"兹证明")
        app.screen.query_one("#text").insert_text_at_cursor("……")  # Pilot has no key for "…"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, Message) and "请填写证明的事实" in " ".join(app.screen.lines)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AskText) and app.screen.query_one("#text").value == "兹证明……"


async def test_a_printed_certificate_prints_again_without_asking(stamped, registry):
    home, entry = stamped()
    app = SealdeskApp(Session(home, as_login="clerk", registry=registry))
    async with app.run_test(size=SIZE) as pilot:
        app.print_paper("certificate", entry, FACTS)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        first = app.screen.result
        assert isinstance(app.screen, PaperDone) and first["new"]
        await pilot.press("escape")
        await pilot.pause()
        app.print_paper("certificate", entry)  # the register screen's p on a printed certificate
        await pilot.pause()
        assert isinstance(app.screen, PaperDone)
        assert app.screen.result["sha256"] == first["sha256"] and not app.screen.result["new"]


# -- z: ZMODEM only when asked, honest about the result ------------------------------------------
@pytest.fixture
def refusal(tmp_path, registry):
    """A demo community with a refusal notice made and saved; returns (app, path of the PDF)."""
    home = tmp_path / "home"
    save_community(demo_community(home, "national", registry.jurisdictions["national"].name))
    desk = Desk(home, registry=registry)
    try:
        entry = desk.request("无犯罪记录证明", resident_name="张三", resident_id=VALID_IDS[0], as_login="clerk")["entry"]
    finally:
        desk.close()
    return SealdeskApp(Session(home, as_login="clerk", registry=registry)), entry


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_z_says_first_what_will_happen_and_escape_sends_nothing(refusal, monkeypatch):
    app, entry = refusal
    monkeypatch.setattr(delivery, "send_zmodem", lambda *a, **k: pytest.fail("sent without the clerk's Enter"))
    monkeypatch.setattr(delivery, "can_zmodem", lambda: True)
    async with app.run_test(size=SIZE) as pilot:
        app.print_paper("refusal", entry)
        await pilot.pause()
        assert isinstance(app.screen, PaperDone)
        await pilot.press("z")
        await pilot.pause()
        assert isinstance(app.screen, ZmodemAsk) and fits(app)
        said = "".join(w for p in app.screen.query(Prose) for w in p.lines)
        for name in ("Xshell", "SecureCRT", "MobaXterm", "PuTTY", "tmux", "Ctrl+C", "**B0000"):
            assert name in said, name
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PaperDone)


async def test_z_where_the_terminal_cannot_be_handed_over_says_not_sent(refusal, monkeypatch):
    app, entry = refusal
    monkeypatch.setattr(delivery, "can_zmodem", lambda: True)
    async with app.run_test(size=SIZE) as pilot:  # Pilot's headless driver cannot suspend
        app.print_paper("refusal", entry)
        await pilot.pause()
        path = str(app.screen.path)
        await pilot.press("z", "enter")
        await pilot.pause()
        assert isinstance(app.screen, Message) and app.screen.title_text == "未发送"
        assert path in " ".join(app.screen.lines)
        assert not any("已通过" in m for m in notes(app))


class Pty:
    """A real pty: the slave is the clerk's terminal as send_zmodem sees it; the master side is the
    terminal program, silent (PuTTY, tmux) unless rz is put on it."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.got = bytearray()
        self.reader = None

    def silent(self) -> None:
        from ptyread import drain

        self.reader = threading.Thread(target=drain, args=(self.master, self.got.extend), daemon=True)
        self.reader.start()

    def close(self) -> None:
        os.close(self.slave)  # the reader sees EIO and ends before its descriptor can be reused
        if self.reader is not None:
            self.reader.join(5)
        os.close(self.master)


@needs_sz
async def test_z_to_a_terminal_that_never_answers_is_not_sent(refusal, monkeypatch):
    app, entry = refusal
    pty = Pty()
    pty.silent()
    monkeypatch.setattr(delivery, "send_zmodem", functools.partial(delivery.send_zmodem, tty=pty.slave, answer=2))
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)  # the terminal is the pty, not Pilot's
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.print_paper("refusal", entry)
            await pilot.pause()
            path = str(app.screen.path)
            t0 = time.monotonic()
            await pilot.press("z", "enter")
            await pilot.pause()
            assert time.monotonic() - t0 < 8
            assert isinstance(app.screen, Message) and app.screen.title_text == "未发送"
            said = " ".join(app.screen.lines)
            assert "终端不支持 ZMODEM" in said and path in said
            assert not any("已通过" in m for m in notes(app))
    finally:
        pty.close()
    assert b"**\x18B00000000000000" in pty.got and pty.got.endswith(delivery.ZMODEM_CANCEL)


@needs_sz
@pytest.mark.skipif(not shutil.which("rz"), reason="rz (lrzsz) is not installed")
async def test_z_to_a_terminal_that_receives_says_sent(refusal, monkeypatch, tmp_path):
    app, entry = refusal
    pty = Pty()
    inbox = tmp_path / "downloads"
    inbox.mkdir()
    rz = subprocess.Popen(["rz", "--binary", "--quiet"], stdin=pty.master, stdout=pty.master,
                          stderr=subprocess.DEVNULL, cwd=inbox)
    monkeypatch.setattr(delivery, "send_zmodem", functools.partial(delivery.send_zmodem, tty=pty.slave, answer=10))
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.print_paper("refusal", entry)
            await pilot.pause()
            path = Path(app.screen.path)
            await pilot.press("z", "enter")
            await pilot.pause()
            assert isinstance(app.screen, PaperDone)
            assert any(m.startswith("已通过 ZMODEM 发送") for m in notes(app))
        assert (inbox / path.name).read_bytes() == path.read_bytes()  # closed by rz before sz ended
    finally:
        try:  # rz may wait for an "OO" that sz's exit flushed away (tests/test_delivery.py: RZ)
            rz.wait(1)
        except subprocess.TimeoutExpired:
            rz.kill()
            rz.wait()
        pty.close()


# -- the real app in tmux: a terminal that does not answer ZMODEM ---------------------------------------
sys.path.insert(0, str(Path(__file__).resolve().parent))
import tui_walk  # noqa: E402

SEALDESK = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "sealdesk"
if not SEALDESK.exists():
    SEALDESK = Path(sys.executable).with_name("sealdesk")


@needs_sz
@pytest.mark.skipif(not tui_walk.tmux_available(), reason="tmux is not installed")
def test_zmodem_in_tmux_ctrl_c_cancels_and_silence_is_not_sent(tmp_path, request):
    home, demo = tmp_path / "home", tmp_path / "demo"
    home.mkdir()
    demo.mkdir()
    env = {"SEALDESK_HOME": str(home), "SEALDESK_DEMO_HOME": str(demo), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "TERM": "tmux-256color"}
    with tui_walk.Tmux(re.sub(r"\W", "-", request.node.name)[:40], 80, 24) as tm:
        tm.start([str(SEALDESK)], env=env)
        tui_walk.wait_counter_ready(tm)
        tm.keys("C-p")  # any paper will do: this year's inventory table, from the command palette
        tm.wait_for("搜索命令")
        tm.wait_settled()
        tm.type("统计表")
        tm.wait_until(lambda shot: shot.count("统计表") >= 2, "统计表 in the palette")
        tm.keys("Enter")
        tm.wait_for("保存在：")
        tm.keys("z")
        tm.wait_for("用 ZMODEM 发送到本机？")
        shot = tm.wait_for("Enter 发送")
        assert "PuTTY" in shot and "tmux" in shot
        # Ctrl+C while sz waits for an answer: cancelled at once, the app back
        tm.keys("Enter")
        tm.wait_for("正在用 ZMODEM 发送")
        t0 = time.monotonic()
        tm.keys("C-c")
        shot = tm.wait_for("已取消", timeout=10)
        assert time.monotonic() - t0 < 6 and "未发送" in shot
        tm.keys("Escape")
        tm.wait_for("保存在：")
        # nobody answers (tmux does not pass ZMODEM): not sent, said so, within the timeout
        tm.keys("z")
        tm.wait_for("Enter 发送")
        t0 = time.monotonic()
        tm.keys("Enter")
        shot = tm.wait_until(lambda shot: "未发送" in shot and "Enter/Esc 关闭" in shot, "the message after sz",
                             timeout=delivery.ZMODEM_ANSWER + 15)
        assert re.search(r"没\s*有\s*响\s*应", shot), shot
        assert time.monotonic() - t0 < delivery.ZMODEM_ANSWER + 10
        assert "未发送" in shot and "已通过" not in shot
        tm.keys("Escape")
        tm.wait_for("保存在：")
        tm.keys("Escape")
        tm.wait_gone("保存在：")  # Esc and Ctrl+Q sent together would read as Alt+Ctrl+Q
        tm.keys("C-q")
        assert tm.wait_exit(10) == 0  # the terminal came back each time: the app still takes keys
