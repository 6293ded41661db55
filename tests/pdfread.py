"""Reading a printed paper's lines back with ``pdftotext -bbox-layout`` (not a test module)."""

from __future__ import annotations

import html
import re
import subprocess


def layout(pdf: bytes, tmp_path) -> str:
    """The paper as pdftotext's bbox-layout XHTML: pages, blocks, lines and words with their boxes."""
    f = tmp_path / "read.pdf"
    f.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-bbox-layout", str(f), "-"], capture_output=True, text=True,
                          check=True).stdout


def parts(xml: str, tag: str) -> list[str]:
    """Each ``<page>`` or ``<block>`` of ``xml``, as text."""
    return re.findall(rf"<{tag} .*?</{tag}>", xml, re.S)


def lines(fragment: str) -> list[dict]:
    """The printed lines of a fragment: text without spaces, box in pt (x0, y0, x1, y1)."""
    out = []
    for x0, y0, x1, y1, body in re.findall(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                                           r'yMax="([\d.]+)">(.*?)</line>', fragment, re.S):
        words = re.findall(r"<word [^>]*>([^<]*)</word>", body)
        out.append({"text": html.unescape("".join(words)), "x0": float(x0), "y0": float(y0), "x1": float(x1),
                    "y1": float(y1)})
    return out
