"""GB/T 9704 layout of papers (issue 17), read back as printed.

Every paper here is a real PDF read back with ``pdftotext -bbox-layout`` (lines and their boxes, page
by page), ``pdfinfo`` and ``pdffonts``: the text block is 156 × 225 mm with 28 三号 characters a line
and 22 lines a page; a certificate with the most a clerk can type is one page a copy in every
jurisdiction; the seal stays on the page of the last lines of its text (the page tightened first,
else two lines carried over), a heading is never last on a page, the footer and the notes after a
table never stand alone; page numbers 「— 1 —」 appear exactly when a paper (a copy) runs to more
than one page; list items hang; every drawn character is in the paper's font, and only those; the
township's fonts (a .ttc face, a separate title font) print with a synthesised bold, and a wrong
face number is one Chinese line.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zlib

import pytest

import pdfread
from conftest import VALID_IDS

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")

JURISDICTIONS = ["national", "jilin", "qinghai", "shaanxi", "anhui-luan", "chongqing", "chongqing-yubei"]
MM = 25.4 / 72  # mm per pt
LEFT, RIGHT, TOP, BOTTOM = 28, 210 - 26, 37, 297 - 35  # GB/T 9704's text block on A4 (mm)
PITCH = 225 / 22  # mm per body line
CELL = 156 / 28  # mm per character of the grid
CREATED = dt.datetime(2026, 1, 10, 9, tzinfo=dt.timezone.utc)
NOTO = "/usr/share/fonts/opentype/noto"
SIGNER = "幸福社区居民委员会"
CHECK = ["登记号：12", "用印记录：第 34 条", "核验码：0123 4567 89ab cdef"]
PAGE_NUMBER = re.compile(r"—\d+—")


def seal(**extra):
    from sealdesk.core.papers.content import Block

    return Block("seal", SIGNER, extra={"date": "2026年1月10日", "label": "（基层群众性自治组织盖章）", "check": CHECK,
                                        **extra})


def paper(*blocks, kind="refusal", orientation="portrait"):
    from sealdesk.core.papers.content import Paper

    return Paper(kind, "测试文书", list(blocks), CREATED, orientation)


def render(p, fonts=None) -> bytes:
    from sealdesk.core.papers.typeset import render as _render

    return _render(p, fonts)


def B(kind, text="", **extra):
    from sealdesk.core.papers.content import Block

    return Block(kind, text, extra=extra)


def read(pdf: bytes, tmp_path) -> list[list[dict]]:
    """Each page's printed lines: text without spaces, box in mm (x0, y0, x1, y1)."""
    pages = []
    for page in pdfread.parts(pdfread.layout(pdf, tmp_path), "page"):
        lines = [{**ln, **{k: ln[k] * MM for k in ("x0", "y0", "x1", "y1")}} for ln in pdfread.lines(page)]
        pages.append(sorted(lines, key=lambda ln: (round(ln["y0"], 1), ln["x0"])))
    return pages


def texts(page) -> list[str]:
    return [ln["text"] for ln in page]


def page_of(pages, needle: str) -> int:
    found = [i for i, page in enumerate(pages) if any(needle in t for t in texts(page))]
    assert len(found) == 1, (needle, found)
    return found[0]


def numbers(page) -> list[dict]:
    return [ln for ln in page if PAGE_NUMBER.fullmatch(ln["text"])]


def content_streams(pdf: bytes) -> str:
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            out.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            pass
    return "\n".join(out)


def pdffonts(pdf: bytes, tmp_path) -> list[str]:
    f = tmp_path / "fonts.pdf"
    f.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(f)], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines()[2:]]


# -- the text block ----------------------------------------------------------------------------------
def test_a_full_body_line_holds_28_characters_and_a_page_22_lines(tmp_path):
    pages = read(render(paper(B("addressee", "甲" * 28 * 30))), tmp_path)
    body = [ln for ln in pages[0] if ln["text"].startswith("甲")]
    assert len(body) == 22
    for ln in body:
        assert ln["text"] == "甲" * 28, ln
        assert ln["x0"] == pytest.approx(LEFT, abs=0.1) and ln["x1"] == pytest.approx(RIGHT, abs=0.15), ln
        assert ln["y1"] - ln["y0"] == pytest.approx(16 * MM, abs=0.1)  # 三号
    rows = [ln["y0"] for ln in body]
    assert all(b - a == pytest.approx(PITCH, abs=0.02) for a, b in zip(rows, rows[1:]))  # 22 lines to 225 mm
    assert body[0]["y0"] >= TOP and body[-1]["y1"] <= BOTTOM
    assert body[-1]["y1"] + (PITCH - 16 * MM) / 2 == pytest.approx(BOTTOM, abs=0.1)  # the 22nd line ends the block
    assert [len(ln["text"]) for ln in pages[1] if ln["text"].startswith("甲")] == [28] * 8
    # The title: 二号, centred, on the first line of the text block.
    (title,) = read(render(paper(B("title", "关于测试的证明"))), tmp_path)[0]
    assert title["y1"] - title["y0"] == pytest.approx(22 * MM, abs=0.1)
    assert (title["x0"] + title["x1"]) / 2 == pytest.approx((LEFT + RIGHT) / 2, abs=0.1)
    assert title["y0"] == pytest.approx(TOP + (PITCH - 22 * MM) / 2, abs=0.1)


def test_landscape_reports_keep_their_margins_and_columns(demo, tmp_path):
    cli = demo("qinghai")
    out = tmp_path / "n.pdf"
    cli.json("report", "notice", "-o", str(out), "--as", "inspector")
    pages = read(out.read_bytes(), tmp_path)
    cells = [ln for page in pages for ln in page if ln["text"].startswith("序号")]
    assert cells and all(15 < ln["x0"] < 15 + 12 for ln in cells)  # the first column, 12 mm from the margin
    assert all(ln["x1"] <= 297 - 15 + 0.1 for page in pages for ln in page)


# -- the certificate: one page a copy --------------------------------------------------------------------
LONG_NAME = "欧阳" + "䶮𠮷㛃堃喆" * 7 + "王阿依"  # 40 characters, the most a name may have
LONG_PURPOSE = "办理" + "不动产登记" * 19 + "手续之"  # 100
LONG_REQUESTER = "县" + "不动产登记中心第二分中心" * 8 + "窗口甲"  # 100


@pytest.mark.parametrize("jid", JURISDICTIONS)
def test_a_certificate_with_the_most_content_is_one_page_a_copy(demo, tmp_path, jid):
    from sealdesk.core.papers.content import CONTENT_MAX

    assert (len(LONG_NAME), len(LONG_PURPOSE), len(LONG_REQUESTER)) == (40, 100, 100)
    cli = demo(jid)
    entry = cli.json("request", "居民财产证明", "--resident-name", LONG_NAME, "--resident-id", VALID_IDS[0],
                     "--purpose", LONG_PURPOSE, "--requester", LONG_REQUESTER, "--fact", "party_requires",
                     "--fact", "within_duties", "--fact", "verifiable", "--as", "clerk")["entry"]
    cli.json("approve", str(entry), "--as", "director")
    cli.json("stamp", str(entry), "--as", "keeper")
    content = ("该居民" + "在本社区居住并从事个体经营" * 23)[:CONTENT_MAX - 4] + "家庭三人"
    assert len(content) == CONTENT_MAX
    out = tmp_path / "c.pdf"
    cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", content, "--as", "clerk")
    pdf = out.read_bytes()
    pages = read(pdf, tmp_path)
    assert len(pages) == 2, jid  # two copies, one page each
    for page in pages:
        flat = "".join(texts(page))
        assert LONG_NAME in flat and content in flat and "手续之事务" in flat and LONG_REQUESTER + "：" in flat
        assert SIGNER in flat and "（基层群众性自治组织盖章）" in flat and "本证明一式两份" in flat
        assert not numbers(page)  # one page a copy: no page number
        for ln in page:  # inside the text block (the copy mark above it)
            assert LEFT - 0.1 <= ln["x0"] and ln["x1"] <= RIGHT + 0.2, (jid, ln)
            assert ln["y1"] <= BOTTOM + 0.1, (jid, ln)
    again = tmp_path / "again.pdf"
    cli.json("paper", "certificate", str(entry), "-o", str(again), "--as", "clerk")
    assert again.read_bytes() == pdf  # deterministic, fitted or not


# -- keep-together -------------------------------------------------------------------------------------
def lines_paper(n: int, *tail, head=()):
    """A title, ``n`` one-line paragraphs 第00行…, and ``tail``."""
    return paper(B("title", "证明"), *head, *[B("para", f"第{i:02d}行" + "文" * 20) for i in range(n)], *tail)


def test_the_seal_stays_on_the_page_of_the_last_lines_of_its_text(tmp_path):
    # The seal moved down the page one line at a time, over the page break: the page is tightened
    # first (down to 1.3 em), and only then do the last two lines go over with the seal.
    tightened = []
    for n in range(8, 30):
        pages = read(render(lines_paper(n, seal(), B("footer", "本证明一式两份。"))), tmp_path)
        at = page_of(pages, SIGNER)
        page = texts(pages[at])
        assert f"第{n - 1:02d}行{'文' * 20}" in page, n  # the last line of text
        assert "本证明一式两份。" in page, n  # the footer with them
        assert all(c.replace(" ", "") in page for c in CHECK), n
        if at:
            assert f"第{n - 2:02d}行{'文' * 20}" in page, n  # two lines carried over, never one
        rows = [ln["y0"] for ln in pages[0] if ln["text"].startswith("第")]
        pitch = min(b - a for a, b in zip(rows, rows[1:]))
        assert pitch >= 1.3 * 16 * MM - 0.02, n  # never tighter than 1.3 em
        if len(pages) == 1 and pitch < PITCH - 0.05:
            tightened.append(n)
        if len(pages) > 1:
            assert pitch == pytest.approx(PITCH, abs=0.02), n  # carried over: page 1 keeps its pitch
    # Some lengths fit only because the page was tightened; then the seal went over with two lines.
    assert tightened and max(tightened) < 29, tightened


def test_a_footer_is_never_alone_on_a_page(tmp_path):
    for n in range(15, 26):
        pages = read(render(lines_paper(n, B("footer", "本告知书一式两份。"))), tmp_path)
        at = page_of(pages, "本告知书一式两份。")
        page = texts(pages[at])
        assert f"第{n - 1:02d}行{'文' * 20}" in page, n
        if at:
            assert f"第{n - 2:02d}行{'文' * 20}" in page, n
        footer = next(ln for ln in pages[at] if ln["text"] == "本告知书一式两份。")
        assert footer["y1"] == pytest.approx(BOTTOM - 2.6, abs=1.5)  # at the foot of the text block


def test_a_heading_is_never_last_on_a_page_it_takes_two_lines_with_it(tmp_path):
    after = B("para", "后" * 80)  # three lines
    for n in range(14, 26):
        pages = read(render(lines_paper(n, B("heading", "二、办事途径"), after)), tmp_path)
        at = page_of(pages, "二、办事途径")
        page = [t for t in texts(pages[at]) if not PAGE_NUMBER.fullmatch(t)]
        i = page.index("二、办事途径")
        assert len(page) - i - 1 >= 2 and page[i + 1].startswith("后"), (n, page[i:])
        if at:  # it went over: with it the lines it would have been left without
            assert any(t.startswith("第") for t in texts(pages[at - 1]))


def test_notes_after_a_table_carry_its_last_row_and_the_header_repeats(tmp_path):
    columns = [{"title": "序号", "width": 14}, {"title": "证明名称", "width": 70}, {"title": "办事途径", "width": 72}]
    for n in range(24, 40):
        rows = [[i, f"证明{i:02d}", "向有关部门申请"] for i in range(1, n + 1)]
        pages = read(render(paper(B("title", "清单"), B("table", columns=columns, rows=rows),
                                  B("note", "统计期间登记若干件。"), B("note", "填表人：王小红"))), tmp_path)
        at = page_of(pages, "填表人：王小红")
        page = texts(pages[at])
        assert "统计期间登记若干件。" in page and f"证明{n:02d}" in page, (n, page)  # with the last row
        for p in pages:  # every page of the table starts with its header
            cells = [t for t in texts(p) if t.startswith("证明") and t[2:].isdigit()]
            if cells:
                assert "序号" in texts(p) and "证明名称" in texts(p), n
        assert sum(1 for p in pages for t in texts(p) if t.startswith("证明") and t[2:].isdigit()) == n


def test_the_receipt_line_stays_with_the_seal_under_a_rule(tmp_path):
    receipt = "签收人（签字）：＿＿＿＿＿＿　　签收日期：＿＿＿＿年＿＿月＿＿日"
    for n in range(8, 24):
        pdf = render(lines_paper(n, B("closing", "特此告知。"), seal(), B("receipt", receipt)))
        pages = read(pdf, tmp_path)
        at = page_of(pages, SIGNER)
        flat = "".join(texts(pages[at]))
        assert "签收人（签字）" in flat and "签收日期" in flat and "特此告知。" in flat, n
        assert f"第{n - 1:02d}行" in flat, n
    # one line (set smaller rather than broken), under a rule across the text block
    lines = [ln for ln in pages[at] if "签收" in ln["text"]]
    assert len({round(ln["y0"], 1) for ln in lines}) == 1
    assert re.search(rf"{LEFT / MM:.2f} [\d.]+ m {RIGHT / MM:.2f} [\d.]+ l S", content_streams(pdf))


def test_closing_attachment_and_hanging_items(tmp_path):
    from sealdesk.core.papers.layout import Face
    from sealdesk.core.papers.typeset import faces

    long = "该事项列入负面清单，" + "居民可以向有关部门申请办理" * 3 + "。"
    items = ["1. " + long, "（2）" + long, "3、" + long, "四、" + long, "依据" + long]
    pdf = render(paper(B("attachment", "附件1"), B("title", "告知单"), B("para", "正文" * 5),
                       *[B("item", t) for t in items], B("closing", "特此告知。")))
    lines = read(pdf, tmp_path)[0]
    mark, title = lines[0], lines[1]
    assert mark["text"] == "附件1" and mark["x0"] == pytest.approx(LEFT, abs=0.1)  # flush left…
    assert mark["y0"] < title["y0"] and mark["y0"] == pytest.approx(TOP + (PITCH - 16 * MM) / 2, abs=0.3)  # …first line
    indent = LEFT + 2 * CELL
    regular: Face = faces().regular
    for text in items:
        first = next(i for i, ln in enumerate(lines) if ln["text"].startswith(text[:4].replace(" ", "")))
        assert lines[first]["x0"] == pytest.approx(indent, abs=0.1), text
        number = re.match(r"1\. |（2）|3、|四、", text)
        # Wrapped lines align with the text after the number (an item without a number wraps to the margin).
        hang = indent + regular.width(number.group(), 16) + len(number.group()) * (CELL - 16 * MM) if number else LEFT
        nxt = lines[first + 1]
        assert nxt["x0"] == pytest.approx(hang, abs=0.15), (text, nxt)
    closing = next(i for i, ln in enumerate(lines) if ln["text"] == "特此告知。")
    assert lines[closing]["x0"] == pytest.approx(indent, abs=0.1)  # indented like a paragraph…
    assert lines[closing]["y0"] - lines[closing - 1]["y0"] == pytest.approx(1.5 * PITCH, abs=0.05)  # …half a line lower


# -- page numbers -----------------------------------------------------------------------------------------
def test_page_numbers_appear_exactly_when_a_paper_runs_over_a_page(tmp_path):
    one = read(render(lines_paper(5, seal())), tmp_path)
    assert len(one) == 1 and not numbers(one[0])
    pages = read(render(lines_paper(50, seal())), tmp_path)
    assert len(pages) == 3
    for k, page in enumerate(pages, 1):
        (n,) = numbers(page)
        assert n["text"] == f"—{k}—"
        assert n["y1"] - n["y0"] == pytest.approx(14 * MM, abs=0.1)  # 四号
        em = 14 * MM  # the 一字线's top (0.293 em over the baseline in Noto) 7 mm under the text block
        assert n["y1"] - 0.12 * em - 0.293 * em == pytest.approx(BOTTOM + 7, abs=0.1)
        if k % 2:  # odd pages right, even left, one character in
            assert n["x1"] == pytest.approx(RIGHT - 16 * MM, abs=0.2)
        else:
            assert n["x0"] == pytest.approx(LEFT + 16 * MM, abs=0.2)


def test_each_copy_is_numbered_on_its_own(tmp_path):
    # Copies are separated by a page block: a one-page copy has no number, a longer one restarts at 1.
    pdf = render(paper(B("copy", "第一联"), B("title", "证明"), B("para", "短。"), seal(), B("page"),
                       B("copy", "第二联"), *lines_paper(30, seal()).blocks))
    pages = read(pdf, tmp_path)
    assert len(pages) == 3
    assert not numbers(pages[0])
    assert [numbers(p)[0]["text"] for p in pages[1:]] == ["—1—", "—2—"]


def test_landscape_reports_are_numbered_in_the_middle(demo, tmp_path):
    cli = demo("chongqing")
    out = tmp_path / "n.pdf"
    cli.json("report", "notice", "-o", str(out), "--as", "clerk")
    pages = read(out.read_bytes(), tmp_path)
    assert len(pages) > 1
    for k, page in enumerate(pages, 1):
        (n,) = numbers(page)
        assert n["text"] == f"—{k}—" and (n["x0"] + n["x1"]) / 2 == pytest.approx(297 / 2, abs=0.3)
        assert n["y0"] > 210 - 20  # under the text block


# -- one text path for glyphs ------------------------------------------------------------------------------
@pytest.fixture
def drawn(monkeypatch):
    """What every paper font holds and what is drawn in it, font by font."""
    from sealdesk.core.papers.pdf import PaperPDF

    held, used = {}, {}
    add, put = PaperPDF.add_paper_font, PaperPDF.put_text

    def add_font(self, key, glyphs, *a, **kw):
        held[key] = {chr(g.cp) for g in glyphs}
        used[key] = set()
        return add(self, key, glyphs, *a, **kw)

    def put_text(self, key, size, x, y, text, *a, **kw):
        assert key in held, key  # no text before its font
        used[key] |= set(text)
        return put(self, key, size, x, y, text, *a, **kw)

    monkeypatch.setattr(PaperPDF, "add_paper_font", add_font)
    monkeypatch.setattr(PaperPDF, "put_text", put_text)
    return held, used


def test_every_paper_font_holds_exactly_the_characters_drawn_in_it(demo, tmp_path, drawn):
    # Issue 17: the digits of number cells once never reached the font and ``report notice`` crashed
    # (paper font lacks '3478'). Now the fonts are built from what is drawn: nothing drawn can be
    # missing, nothing missing is retried, and nothing undrawn is embedded.
    held, used = drawn
    cli = demo("chongqing")
    entries = {
        "certificate": cli.json("request", "居民财产证明", "--resident-name", "王䶮", "--resident-id", VALID_IDS[0],
                                "--fact", "party_requires", "--fact", "within_duties", "--fact", "verifiable",
                                "--as", "clerk")["entry"],
        "refusal": cli.json("request", "无犯罪记录证明", "--resident-name", "李𠮷", "--resident-id", VALID_IDS[0],
                            "--as", "clerk")["entry"],
        "commitment": cli.json("request", "居住证明", "--resident-name", "赵㛃", "--resident-id", VALID_IDS[0],
                               "--fact", "commitment_ok", "--as", "clerk")["entry"],
    }
    cli.json("approve", str(entries["certificate"]), "--as", "director")
    cli.json("stamp", str(entries["certificate"]), "--as", "keeper")
    printed = []
    for name, entry in entries.items():
        held.clear(), used.clear()
        extra = ["--content", "属实"] if name == "certificate" else []
        cli.json("paper", name, str(entry), "-o", str(tmp_path / f"{name}.pdf"), *extra, "--as", "clerk")
        assert held and held == used, name
        printed.append(name)
    for name in ("notice", "retained", "inventory"):
        held.clear(), used.clear()
        cli.json("report", name, "-o", str(tmp_path / f"{name}.pdf"), "--as", "inspector")
        assert held and held == used, name
        printed.append(name)
    assert "—" in held["serif"]  # the page numbers of the notice
    # A table whose numbers and a page number are digits no other text has.
    held.clear(), used.clear()
    rows = [[i * 1111, "证明"] for i in range(1, 10)]
    pdf = render(paper(B("title", "表"), B("table", columns=[{"title": "号", "width": 20}, {"title": "名", "width": 20}],
                                           rows=rows), *[B("para", "文") for _ in range(25)]))
    text = "".join(t for page in read(pdf, tmp_path) for t in texts(page))
    assert "9999" in text and "—2—" in text and held == used


# -- the township's fonts ----------------------------------------------------------------------------------
def configure(cli, **papers) -> None:
    config = cli.home / "community.toml"
    lines = "".join(f"{k} = {v!r}\n" if isinstance(v, str) else f"{k} = {v}\n" for k, v in papers.items())
    config.write_text(config.read_text(encoding="utf-8").split("\n[papers]")[0] + "\n[papers]\n" + lines,
                      encoding="utf-8")


def refusal(cli, tmp_path, name="r.pdf") -> tuple[int, bytes, str]:
    entry = cli.json("request", "无犯罪记录证明", "--resident-name", "李四", "--resident-id", VALID_IDS[0],
                     "--as", "clerk")["entry"]
    out = tmp_path / name
    code, _, err = cli("paper", "refusal", str(entry), "-o", str(out), "--as", "clerk")
    return code, out.read_bytes() if out.exists() else b"", err


@pytest.mark.skipif(not shutil.os.path.exists(f"{NOTO}/NotoSerifCJK-Regular.ttc"), reason="fonts-noto-cjk")
def test_a_configured_ttc_face_prints_with_a_synthesised_bold(demo, tmp_path):
    cli = demo("national")
    code, default, err = refusal(cli, tmp_path, "default.pdf")
    assert code == 0, err
    assert sorted(f.split("+")[1] for f in pdffonts(default, tmp_path)) == ["SealdeskSerif", "SealdeskSerifBold"]
    assert " Tr " not in content_streams(default)  # a real bold face: nothing stroked

    configure(cli, font=f"{NOTO}/NotoSerifCJK-Regular.ttc", font_index=2)  # face 2: SC
    code, sc, err = refusal(cli, tmp_path, "sc.pdf")
    assert code == 0, err
    assert [f.split("+")[1] for f in pdffonts(sc, tmp_path)] == ["SealdeskSerif"]  # no bold face…
    streams = content_streams(sc)
    # …the title (22 pt) and headings (16 pt) are the regular outlines filled and stroked 0.03 em wide
    assert "q 0 G 0.660 w 2 Tr BT" in streams and "q 0 G 0.480 w 2 Tr BT" in streams
    f = tmp_path / "sc.pdf"
    read_sc = subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True).stdout
    assert "不予出具证明告知单" in read_sc and "不予出具的理由" in read_sc

    configure(cli, font=f"{NOTO}/NotoSerifCJK-Regular.ttc", font_index=0)  # face 0: JP, other outlines
    code, jp, err = refusal(cli, tmp_path, "jp.pdf")
    assert code == 0 and jp != sc

    from sealdesk.core.register.community import load_community

    c = load_community(cli.home)
    assert (c.paper_font_index, c.paper_fonts.font_index) == (0, 0)


@pytest.mark.skipif(not shutil.os.path.exists(f"{NOTO}/NotoSansCJK-Bold.ttc"), reason="fonts-noto-cjk")
def test_titles_take_the_configured_title_font(demo, tmp_path):
    cli = demo("national")
    # A 黑体 (Noto Sans CJK SC Bold) stands in for a 小标宋 file.
    configure(cli, title_font=f"{NOTO}/NotoSansCJK-Bold.ttc", title_font_index=2)
    code, pdf, err = refusal(cli, tmp_path)
    assert code == 0, err
    fonts = sorted(f.split("+")[1] for f in pdffonts(pdf, tmp_path))
    assert fonts == ["SealdeskSerif", "SealdeskSerifBold", "SealdeskTitle"]
    from sealdesk.core.register.community import load_community, save_community

    c = load_community(cli.home)
    assert (c.title_font, c.title_font_index) == (f"{NOTO}/NotoSansCJK-Bold.ttc", 2)
    save_community(c, overwrite=True)  # written back as read
    assert load_community(cli.home).paper_fonts == c.paper_fonts


@pytest.mark.parametrize("papers, words", [
    ({"font": f"{NOTO}/NotoSerifCJK-Regular.ttc", "font_index": 9}, ["配置的公文字体", "只有 5 个字体", "序号 9"]),
    ({"title_font": f"{NOTO}/NotoSerifCJK-Regular.ttc", "title_font_index": 5}, ["配置的标题字体", "序号 5"]),
    ({"font": "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf", "font_index": 1}, ["不是字体集合", "序号 1"]),
    ({"font": "/etc/hostname"}, ["不是 TrueType/OpenType 字体文件"]),
    ({"font": "/nonexistent/仿宋.ttc", "font_index": 1}, ["/nonexistent/仿宋.ttc", "不存在"]),
    ({"font": f"{NOTO}/NotoSerifCJK-Regular.ttc", "font_index": -1}, ["papers.font_index", "0 或正整数"]),
    ({"font": f"{NOTO}/NotoSerifCJK-Regular.ttc", "font_index": "2"}, ["papers.font_index", "不加引号"]),
    ({"title_font_index": 2}, ["papers.title_font_index", "只能与 papers.title_font 一起配置"]),
])
def test_a_wrong_font_or_face_number_is_one_chinese_line(demo, tmp_path, papers, words):
    import os

    if any(isinstance(v, str) and v.startswith("/usr") and not os.path.exists(v) for v in papers.values()):
        pytest.skip("font not installed")
    cli = demo("national")
    entry = cli.json("request", "无犯罪记录证明", "--resident-name", "李四", "--resident-id", VALID_IDS[0],
                     "--as", "clerk")["entry"]
    configure(cli, **papers)
    out = tmp_path / "r.pdf"
    code, _, err = cli("paper", "refusal", str(entry), "-o", str(out), "--as", "clerk")
    assert code == 2 and not out.exists(), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


# -- anything the builders may emit ---------------------------------------------------------------------
def test_any_sequence_of_blocks_stays_inside_the_text_block_and_prints_the_same_twice(tmp_path):
    # Random papers of every block kind (long and empty texts, rare characters, spaces no font draws,
    # tables taller than a page, two footers, signers wider than the line), portrait and landscape:
    # nothing but the page number is set outside the text block, and a second rendering is the same.
    import random

    rnd = random.Random(17)
    alphabet = "社区居民委员会证明办理县王李䶮𠮷，。、；：（）《》“”0123456789ABC abc—…\u3000\u00a0\u200b\t"

    def text(a, b):
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(a, b)))

    def block(kind):
        if kind == "fields":
            return B(kind, rows=[(text(1, 8), text(0, 80), rnd.randint(1, 3)) for _ in range(rnd.randint(1, 8))])
        if kind == "table":
            return B(kind, columns=[{"title": text(1, 10), "width": w} for w in (14, 60, 82)],
                     rows=[[rnd.randint(0, 99999), text(0, 40), text(0, 300)] for _ in range(rnd.randint(1, 50))])
        if kind == "signatures":
            return B(kind, lines=[text(1, 20) for _ in range(rnd.randint(1, 3))])
        if kind == "seal":
            return B(kind, text(1, 30), date=text(0, 12), label=text(0, 14),
                     check=[text(3, 30) for _ in range(rnd.randint(0, 3))])
        if kind == "item":
            return B(kind, rnd.choice(["1. ", "（2）", "三、", ""]) + text(0, 200))
        return B(kind, text(0, 300 if kind in ("para", "note", "footer") else 40))

    kinds = ["attachment", "title", "number", "subtitle", "copy", "addressee", "heading", "para", "closing", "item",
             "note", "fields", "table", "signatures", "seal", "receipt", "footer", "page"]
    for i in range(40):
        orientation = rnd.choice(["portrait", "landscape"])
        p = paper(*[block(rnd.choice(kinds)) for _ in range(rnd.randint(1, 25))],
                  kind=rnd.choice(["certificate", "refusal"]), orientation=orientation)
        pdf = render(p)
        assert render(p) == pdf, i
        left, right, bottom = (LEFT, RIGHT, BOTTOM) if orientation == "portrait" else (15, 297 - 15, 210 - 20)
        for page in read(pdf, tmp_path):
            for ln in page:
                if not PAGE_NUMBER.fullmatch(ln["text"]):
                    assert left - 0.3 <= ln["x0"] and ln["x1"] <= right + 0.3, (i, orientation, ln)
                    assert ln["y1"] <= bottom + 0.3, (i, orientation, ln)
