"""The community a sealdesk installation serves: its names, jurisdiction and people.

The configuration is one TOML file, ``community.toml`` in the home directory,
written with tomli-w by ``sealdesk init`` and read with tomllib. People are
identified by their operating-system login (DOMAIN.md section 8).

Home directory: ``--home DIR``, else ``$SEALDESK_HOME``, else platformdirs'
per-user data directory (``~/.local/share/sealdesk`` on Linux).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from sealdesk.core.register.resident import InvalidInput, clean_text

CONFIG_NAME = "community.toml"
REGISTER_NAME = "register.sqlite3"

ROLES = {
    "clerk": "经办人",
    "director": "负责人",
    "keeper": "印章保管人",
    "inspector": "监督检查",
    "trainer": "培训",
}

# The demo community: one person per role, logins as the issue and README name them.
DEMO_PEOPLE = (
    ("clerk", "王小红", ("clerk",)),
    ("director", "李建国", ("director",)),
    ("keeper", "赵敏", ("keeper",)),
    ("inspector", "陈静", ("inspector",)),
    ("trainer", "刘洋", ("trainer",)),
)


class ConfigError(Exception):
    """The configuration is missing or cannot be used; the message is Chinese."""


@dataclass(frozen=True)
class PaperFonts:
    """The township's fonts for papers (``[papers]``): the body font (a 仿宋 or 宋体 file) and the
    title font (a 小标宋), each with its face number inside a .ttc collection; empty: the default
    chain. Whether a file exists and holds that face is checked when a paper is printed."""

    font: str = ""
    font_index: int = 0
    title_font: str = ""
    title_font_index: int = 0


@dataclass(frozen=True)
class Person:
    login: str
    name: str
    roles: tuple[str, ...]

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def role_labels(self) -> str:
        return "、".join(ROLES[r] for r in self.roles)


@dataclass
class Community:
    name: str
    township: str
    county: str
    jurisdiction: str
    people: tuple[Person, ...]
    demo: bool = False
    register: str = REGISTER_NAME  # relative to home unless absolute
    register_mode: int = 0o600
    register_group: str = ""
    register_url: str = ""  # [register] url: a county's PostgreSQL register (postgresql://…); empty: the file
    socket: str = ""  # register service socket; empty: use the register file directly
    validity_days: int = 90
    paper_font: str = ""  # [papers] font: the township's 仿宋/宋体 file, first in the font chain
    paper_font_index: int = 0  # [papers] font_index: its face in a .ttc collection
    title_font: str = ""  # [papers] title_font: the titles' font (小标宋), else the body font's bold
    title_font_index: int = 0  # [papers] title_font_index
    paper_folder: str = ""  # [papers] folder: where the TUI saves papers; relative to home unless absolute
    printer: str = ""  # [papers] printer: the CUPS queue for lp (empty: the default printer)
    # [tui] ascii_borders: lines and marks in ASCII, for terminals that draw East-Asian-ambiguous
    # characters (─ “ ” · □ →) two cells wide (Xshell, PuTTY set so): an 80-cell line would wrap.
    ascii_borders: bool = False
    training_results: str = ""  # [training] results: the folder of trainees' results files (sealdesk train)
    home: Path = field(default=Path("."), compare=False)

    def person(self, login: str) -> Person | None:
        return next((p for p in self.people if p.login == login), None)

    @property
    def paper_fonts(self) -> PaperFonts:
        return PaperFonts(self.paper_font, self.paper_font_index, self.title_font, self.title_font_index)

    @property
    def register_path(self) -> Path:
        p = Path(self.register)
        return p if p.is_absolute() else self.home / p

    @property
    def register_label(self) -> str:
        """Where the register is, as messages show it: the file, or the county database without its password."""
        if self.register_url:
            import re

            return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", self.register_url)
        return str(self.register_path)

    def to_toml(self) -> dict:
        data = {
            "community": {
                "name": self.name,
                "township": self.township,
                "county": self.county,
                "jurisdiction": self.jurisdiction,
                "demo": self.demo,
                "validity_days": self.validity_days,
            },
            "register": {"path": self.register, "mode": f"{self.register_mode:04o}"},
            "people": [{"login": p.login, "name": p.name, "roles": list(p.roles)} for p in self.people],
        }
        if self.register_group:
            data["register"]["group"] = self.register_group
        if self.register_url:
            data["register"]["url"] = self.register_url
        if self.socket:
            data["service"] = {"socket": self.socket}
        papers = {k: v for k, v in (("font", self.paper_font), ("font_index", self.paper_font_index),
                                    ("title_font", self.title_font), ("title_font_index", self.title_font_index),
                                    ("folder", self.paper_folder), ("printer", self.printer)) if v}
        if papers:
            data["papers"] = papers
        if self.ascii_borders:
            data["tui"] = {"ascii_borders": True}
        if self.training_results:
            data["training"] = {"results": self.training_results}
        return data


def default_home() -> Path:
    env = os.environ.get("SEALDESK_HOME")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("sealdesk", appauthor=False))


def resolve_home(arg: str | os.PathLike | None) -> Path:
    return Path(arg).expanduser() if arg else default_home()


def config_path(home: Path) -> Path:
    return Path(home) / CONFIG_NAME


def _str(table: dict, key: str, where: str, required: bool = True) -> str:
    v = table.get(key, "")
    if not isinstance(v, str):
        raise ConfigError(f"{where}.{key} 应为字符串")
    if required and not v.strip():
        raise ConfigError(f"{where}.{key} 不能为空")
    return v.strip()


def parse_person(entry, where: str) -> Person:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} 应为表（[[people]]）")
    login, name = _str(entry, "login", where), _str(entry, "name", where)
    roles = entry.get("roles", [])
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise ConfigError(f"{where}.roles 应为非空的角色列表（{', '.join(ROLES)}）")
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ConfigError(f"{where}.roles：未知角色 {bad[0]!r}（可用：{', '.join(ROLES)}）")
    return Person(login, name, tuple(dict.fromkeys(roles)))


def from_toml(data: dict, home: Path, source: str = CONFIG_NAME) -> Community:
    c = data.get("community")
    if not isinstance(c, dict):
        raise ConfigError(f"{source} 缺少 [community] 表")
    people_raw = data.get("people", [])
    if not isinstance(people_raw, list):
        raise ConfigError(f"{source}：people 应为 [[people]] 表的列表")
    people = tuple(parse_person(p, f"people[{i + 1}]") for i, p in enumerate(people_raw))
    logins = [p.login for p in people]
    dup = next((x for x in logins if logins.count(x) > 1), None)
    if dup:
        raise ConfigError(f"{source}：登录名 {dup!r} 出现了两次")
    reg = data.get("register", {}) or {}
    svc = data.get("service", {}) or {}
    papers = data.get("papers", {}) or {}
    if not isinstance(reg, dict) or not isinstance(svc, dict) or not isinstance(papers, dict):
        raise ConfigError(f"{source}：[register]、[service] 和 [papers] 应为表")
    try:
        mode = int(str(reg.get("mode", "0600")), 8)
    except ValueError:
        raise ConfigError(f"{source}：register.mode 应为八进制权限，例如 \"0600\"") from None
    if mode & 0o007:
        raise ConfigError(f"{source}：register.mode {mode:04o} 让其他用户可以读写登记簿，不允许（用 0600 或 0660）")
    if mode & ~0o660 or (mode & 0o600) != 0o600:
        # Execute, setuid/setgid/sticky bits mean nothing on a register file; a mode without owner
        # read-write locks the service out of its own file.
        raise ConfigError(f"{source}：register.mode {mode:04o} 不是登记簿可用的权限（用 0600、0640 或 0660）")
    demo = c.get("demo", False)
    if not isinstance(demo, bool):
        # A string "false" is true to Python: demo (and --as) must never be switched on by a typo.
        raise ConfigError(f"{source}：community.demo 应为 true 或 false（不加引号），而不是 {demo!r}")
    tui = data.get("tui", {}) or {}
    if not isinstance(tui, dict):
        raise ConfigError(f"{source}：[tui] 应为表")
    ascii_borders = tui.get("ascii_borders", False)
    if not isinstance(ascii_borders, bool):
        raise ConfigError(f"{source}：tui.ascii_borders 应为 true 或 false（不加引号），而不是 {ascii_borders!r}")
    training = data.get("training", {}) or {}
    if not isinstance(training, dict):
        raise ConfigError(f"{source}：[training] 应为表")
    days = c.get("validity_days", 90)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3660:
        raise ConfigError(f"{source}：community.validity_days 应为 1 到 3660 之间的天数")
    return Community(
        name=_str(c, "name", "community"),
        township=_str(c, "township", "community", required=False),
        county=_str(c, "county", "community", required=False),
        jurisdiction=_str(c, "jurisdiction", "community"),
        people=people,
        demo=demo,
        register=_str(reg, "path", "register", required=False) or REGISTER_NAME,
        register_mode=mode,
        register_group=_str(reg, "group", "register", required=False),
        register_url=_register_url(reg, source),
        socket=_str(svc, "socket", "service", required=False),
        validity_days=days,
        paper_font=_str(papers, "font", "papers", required=False),
        paper_font_index=_face_index(papers, "font", source),
        title_font=_str(papers, "title_font", "papers", required=False),
        title_font_index=_face_index(papers, "title_font", source),
        paper_folder=_str(papers, "folder", "papers", required=False),
        printer=_str(papers, "printer", "papers", required=False),
        ascii_borders=ascii_borders,
        training_results=_str(training, "results", "training", required=False),
        home=Path(home),
    )


def _face_index(papers: dict, font: str, source: str) -> int:
    """``papers.<font>_index``: the face inside a .ttc collection, an integer from 0, given only with the font."""
    key = f"{font}_index"
    v = papers.get(key, 0)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ConfigError(f"{source}：papers.{key} 应为 0 或正整数（.ttc 字体集合中的字体序号，不加引号），而不是 {v!r}")
    if v and not _str(papers, font, "papers", required=False):
        raise ConfigError(f"{source}：papers.{key} 只能与 papers.{font} 一起配置")
    return v


def _register_url(reg: dict, source: str) -> str:
    url = _str(reg, "url", "register", required=False)
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{source}：register.url 应为 PostgreSQL 连接地址（postgresql://…），而不是 {url[:40]!r}")
    return url


def load_community(home: Path) -> Community:
    path = config_path(home)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"尚未配置社区：{path} 不存在。请先运行 sealdesk init（或 sealdesk init --demo 建立演示社区）") from None
    except OSError as exc:
        raise ConfigError(f"无法读取社区配置 {path}：{exc.strerror}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ConfigError(f"社区配置 {path} 以 UTF-8 BOM 开头（记事本“UTF-8 带 BOM”保存）：请另存为不带 BOM 的 UTF-8")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"社区配置 {path} 不是 UTF-8 文本") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"社区配置 {path} 格式错误：{exc}") from None
    return from_toml(data, home, str(path))


def save_community(community: Community, overwrite: bool = False) -> Path:
    """Write ``community.toml`` (mode 0600: it names the staff). Never replaces a file unless asked."""
    home = Path(community.home)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = config_path(home)
    text = tomli_w.dumps(community.to_toml())
    # Round trip before writing: what we write must load back as the same community.
    from_toml(tomllib.loads(text), home)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise ConfigError(f"社区配置 {path} 已存在，未覆盖（如确需重建，请加 --force）") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# sealdesk 社区配置（由 sealdesk init 生成；人员以服务器登录名识别）\n")
        f.write(text)
    return path


def demo_community(home: Path, jurisdiction: str = "national", jurisdiction_name: str = "") -> Community:
    region = jurisdiction_name or "示范"
    return Community(
        name="幸福社区居民委员会",
        township="示范街道办事处",
        county=f"{region}示范县" if jurisdiction_name else "示范县",
        jurisdiction=jurisdiction,
        people=tuple(Person(login, name, roles) for login, name, roles in DEMO_PEOPLE),
        demo=True,
        home=Path(home),
    )


def parse_person_arg(text: str) -> Person:
    """``LOGIN:姓名:role[,role]`` from ``sealdesk init --person``."""
    parts = text.split(":")
    if len(parts) != 3:
        raise InvalidInput(f"--person 格式应为 登录名:姓名:角色[,角色]，而不是 {text!r}")
    login = clean_text(parts[0], "登录名", 32, required=True)
    name = clean_text(parts[1], "姓名", 40, required=True)
    roles = [r.strip() for r in parts[2].split(",") if r.strip()]
    try:
        return parse_person({"login": login, "name": name, "roles": roles}, "--person")
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from None
