"""Signed checkpoints: the register's head, kept outside the register (DOMAIN.md section 8; issue 15).

The head a register keeps in its own file (``meta.head``) proves nothing against someone who can
write the file: they delete the last records and rewrite the head, put back an older copy, or
recompute every hash after an edit, and ``verify`` passes. A checkpoint is the community's signed
statement "at this time the register held N records and record N had this hash". Copies taken
away (by the township, an inspector, the county) bind the register: a later register must still
hold record N with that hash, which no rewrite, truncation or rollback can arrange without the
community's private key — and a new key does not match the public key the holders kept.

This is the idea of Certificate Transparency's signed tree heads and of sigsum/transparency-dev
checkpoints at the scale of one community, with a hash chain in place of a Merkle tree (the
register is verified whole anyway). The text format, one statement per file::

    sealdesk register checkpoint
    community 幸福社区居民委员会
    records 1234
    head 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    time 2026-12-05T10:00:00+08:00

    — ed25519 <public key, base64> <signature, base64>

The signature (Ed25519, the ``cryptography`` package) covers the UTF-8 bytes of the lines above
the blank line, each ending in a newline. The key is the community's: ``checkpoint.key`` (0600)
beside ``community.toml``, made on first use, and ``checkpoint.pub``, the public key to hand to
whoever collects checkpoints; a verifier trusts the public key it was given, not the one a
checkpoint names.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from sealdesk.core.register.store import RegisterError, now

HEADER = "sealdesk register checkpoint"
KEY_NAME = "checkpoint.key"
PUB_NAME = "checkpoint.pub"
_DASH = "\u2014"  # "—": as in transparency-dev's signed notes


class CheckpointError(RegisterError):
    """A checkpoint that cannot be read, is not signed by the key given, or that the register does
    not extend. The message is Chinese and names the file."""


@dataclass(frozen=True)
class Checkpoint:
    community: str
    records: int
    head: str
    time: str
    key: str = ""        # the signer's public key (base64), as the checkpoint states it
    signature: str = ""  # base64

    def body(self) -> str:
        return (f"{HEADER}\ncommunity {self.community}\nrecords {self.records}\nhead {self.head}\n"
                f"time {self.time}\n")

    def text(self) -> str:
        return f"{self.body()}\n{_DASH} ed25519 {self.key} {self.signature}\n"


def _keys():
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - a dependency of the package
        raise CheckpointError("未安装 cryptography，无法签署或核验检查点（pip install cryptography）") from None
    return ed25519


def _raw_public(public) -> str:
    from cryptography.hazmat.primitives import serialization

    return base64.b64encode(public.public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)).decode("ascii")


def signing_key(home: Path):
    """The community's private key, made (0600 from the first byte) with its public key on first use."""
    from cryptography.hazmat.primitives import serialization

    ed25519 = _keys()
    path = Path(home) / KEY_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        key = ed25519.Ed25519PrivateKey.generate()
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it a moment ago: use that one
            return signing_key(home)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64encode(raw) + b"\n")
        (Path(home) / PUB_NAME).write_text(_raw_public(key.public_key()) + "\n", encoding="ascii")
        return key
    except OSError as exc:
        raise CheckpointError(f"无法读取签名密钥 {path}：{exc.strerror}") from None
    try:
        return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(data.strip(), validate=True))
    except ValueError:
        raise CheckpointError(f"签名密钥 {path} 已损坏") from None


def public_key(home: Path) -> str:
    """The community's public key (base64), as handed to those who collect its checkpoints. A
    verifier never makes a key: without one, nothing has been signed here to check against."""
    path = Path(home) / PUB_NAME
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise CheckpointError(f"本社区尚无检查点公钥（{path}）：请用 --key 给出保存检查点一方的公钥") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"无法读取公钥 {path}：{exc}") from None


def make(home: Path, community: str, records: int, head: str, when: dt.datetime | None = None) -> Checkpoint:
    """A checkpoint of the register's state now, signed with the community's key."""
    key = signing_key(home)
    cp = Checkpoint(community, records, head, (when or now()).isoformat())
    signature = base64.b64encode(key.sign(cp.body().encode("utf-8"))).decode("ascii")
    return Checkpoint(cp.community, cp.records, cp.head, cp.time, _raw_public(key.public_key()), signature)


def parse(text: str, source: str = "检查点") -> Checkpoint:
    """Read a checkpoint's text (not yet checked: see :func:`check_signature`)."""
    body, sep, sig = text.partition("\n\n")
    lines = body.split("\n")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(" ")
        fields[name] = value
    sig_parts = sig.strip().split(" ")
    if (not sep or lines[0] != HEADER or set(fields) != {"community", "records", "head", "time"}
            or len(sig_parts) != 4 or sig_parts[0] != _DASH or sig_parts[1] != "ed25519"):
        raise CheckpointError(f"{source} 不是 sealdesk 检查点（格式见 docs/register.md）")
    try:
        records = int(fields["records"])
    except ValueError:
        raise CheckpointError(f"{source} 的记录数不是数字") from None
    head = fields["head"]
    if records < 0 or len(head) != 64 or any(c not in "0123456789abcdef" for c in head):
        raise CheckpointError(f"{source} 的记录数或链头哈希不合规")
    return Checkpoint(fields["community"], records, head, fields["time"], sig_parts[2], sig_parts[3])


def check_signature(cp: Checkpoint, trusted_key: str, source: str = "检查点") -> None:
    """Refuse a checkpoint not signed by ``trusted_key`` (base64): the key it names is not enough."""
    from cryptography.exceptions import InvalidSignature

    ed25519 = _keys()
    if cp.key != trusted_key:
        raise CheckpointError(f"{source} 不是用本社区的密钥签署的（签署密钥与所给公钥不同）")
    try:
        public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(trusted_key, validate=True))
        public.verify(base64.b64decode(cp.signature, validate=True), cp.body().encode("utf-8"))
    except (InvalidSignature, ValueError):
        raise CheckpointError(f"{source} 的签名无效：内容被改动，或不是本社区签署的") from None


def extends(register, cp: Checkpoint, source: str = "检查点") -> str | None:
    """Why the register does not extend ``cp`` (None if it does): it must hold record ``cp.records``
    with the hash ``cp.head`` (the chain up to it is ``verify``'s part)."""
    if cp.records == 0:
        return None
    rec = register.get(cp.records)
    if rec is None:
        count = register.count()
        return (f"{source}（{cp.time}）时登记簿有 {cp.records} 条记录，现在只有 {count} 条："
                "末尾的记录被删除，或登记簿被换成了更早的副本")
    if rec.hash != cp.head:
        return (f"{source}（{cp.time}）时第 {cp.records} 条记录的哈希是 {cp.head[:16]}…，现在是 {rec.hash[:16]}…："
                "记录被改写（哈希被重新计算）或登记簿被替换")
    return None
