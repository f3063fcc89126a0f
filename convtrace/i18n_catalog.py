"""The Spanish catalog's upkeep, in Python only (CI machines have no gettext tools).

    python -m convtrace.i18n_catalog          # extract msgids, merge into the .po, compile the .mo

Extraction reads every module of the package with ``ast``: the first argument
of ``_()``, ``N_()`` and ``Msg()``, the first two of ``ngettext()`` and ``plural()``, when it
is a string literal (what ``xgettext --keyword=N_ --keyword=Msg --keyword=ngettext:1,2
--keyword=plural:1,2`` finds). In ``cli/`` also the ``--help`` texts: every literal ``help=``
keyword and each prose paragraph of a command's docstring (see ``help_paragraphs``), which
``cli/help.py`` translates when it prints the help. The merge keeps every existing
translation, adds new msgids with an empty msgstr and drops the ones the code no longer
has; the ``.mo`` is written from the ``.po`` (GNU format, what ``msgfmt`` writes, without its
hash table).
The tests use the same functions to prove the catalog complete and the ``.mo`` current.
"""

from __future__ import annotations

import ast
import struct
from pathlib import Path

PACKAGE = Path(__file__).parent
PO = PACKAGE / "locale" / "es" / "LC_MESSAGES" / "convtrace.po"
MO = PO.with_suffix(".mo")
SKIP: tuple[str, ...] = ()  # top-level folders of the package left out of the catalog
SINGLE = {"_", "N_", "Msg"}
PLURAL = {"ngettext", "plural"}

HEADER = (
    "Project-Id-Version: convtrace\n"
    "Language: es\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Plural-Forms: nplurals=2; plural=(n != 1);\n"
)

#: A key is a msgid, or (singular, plural) for a plural entry.
Key = str | tuple[str, str]


def _modules(package: Path = PACKAGE):
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] in SKIP:
            continue
        yield path, relative


def _string(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def help_paragraphs(doc: str) -> list[str]:
    """The paragraphs of a command's docstring that are prose (not indented example lines):
    the msgids of its ``--help``."""
    import inspect
    import re

    return [p for p in re.split(r"\n\s*\n", inspect.cleandoc(doc)) if p and not p.startswith("  ")]


def _help_texts(tree, where: str, found: dict) -> None:
    """``help="..."`` literals and command docstrings' prose paragraphs of a cli/ module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "help" and (text := _string(keyword.value)):
                    found.setdefault(text, []).append(f"{where}:{node.lineno}")
        elif isinstance(node, ast.FunctionDef) and node.name[0] != "_":
            doc = ast.get_docstring(node, clean=False)
            commands = any("command" in ast.unparse(d) for d in node.decorator_list)
            if doc and (commands or node.name.endswith("_command")):
                for paragraph in help_paragraphs(doc):
                    found.setdefault(paragraph, []).append(f"{where}:{node.lineno}")


def extract(package: Path = PACKAGE) -> dict[Key, list[str]]:
    """Every msgid the package marks, with where it is (``render/stages.py:42``)."""
    found: dict[Key, list[str]] = {}
    for path, relative in _modules(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if relative.parts[0] == "cli":
            _help_texts(tree, relative.as_posix(), found)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else None
            if name in SINGLE and not any(k.arg == "_raw" for k in node.keywords):
                key = _string(node.args[0])
            elif name in PLURAL and len(node.args) >= 2:
                one, many = _string(node.args[0]), _string(node.args[1])
                key = (one, many) if one is not None and many is not None else None
            else:
                continue
            if key:
                found.setdefault(key, []).append(f"{relative.as_posix()}:{node.lineno}")
    return found


# ------------------------------------------------------------------------------ .po
def _unquote(text: str) -> str:
    return ast.literal_eval(text)


def read_po(path: Path = PO) -> dict[Key, str | list[str]]:
    """The .po's entries: msgid -> msgstr, (msgid, msgid_plural) -> [msgstr[0], msgstr[1]]."""
    entries: dict[Key, str | list[str]] = {}
    if not path.exists():
        return entries
    current: dict[str, str] = {}
    field = None

    def flush():
        if "msgid" in current:
            if "msgid_plural" in current:
                forms = [current.get(f"msgstr[{i}]", "") for i in range(2)]
                entries[(current["msgid"], current["msgid_plural"])] = forms
            else:
                entries[current["msgid"]] = current.get("msgstr", "")
        current.clear()

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = line.strip()
        if not line or line.startswith("#"):
            if not line and current:
                flush()
                field = None
            continue
        if line.startswith('"'):
            current[field] += _unquote(line)
            continue
        field, _, value = line.partition(" ")
        if field == "msgid" and "msgid" in current:
            flush()
        current[field] = _unquote(value)
    flush()
    return entries


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'"{escaped}"'
    parts = [line + "\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return '""\n' + "\n".join(f'"{p}"' for p in parts)


def write_po(found: dict[Key, list[str]], old: dict, path: Path = PO) -> None:
    """The .po for ``found`` msgids (in source order), keeping ``old``'s translations."""
    out = ["# Spanish translation of convtrace (the course is taught in Spanish).",
           "# Update with: python -m convtrace.i18n_catalog", 'msgid ""',
           "msgstr " + _quote(HEADER), ""]  # fmt: skip
    for key, where in found.items():
        out.append("#: " + " ".join(where[:4]))
        if "{" in (key if isinstance(key, str) else key[0]):
            out.append("#, python-brace-format")
        if isinstance(key, tuple):
            forms = old.get(key) or ["", ""]
            out += [f"msgid {_quote(key[0])}", f"msgid_plural {_quote(key[1])}",
                    f"msgstr[0] {_quote(forms[0])}", f"msgstr[1] {_quote(forms[1])}"]  # fmt: skip
        else:
            out += [f"msgid {_quote(key)}", f"msgstr {_quote(old.get(key) or '')}"]
        out.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


# ------------------------------------------------------------------------------ .mo
def mo_bytes(entries: dict[Key, str | list[str]]) -> bytes:
    """GNU .mo for the translated entries (untranslated ones are left out, as msgfmt does)."""
    pairs = {"": HEADER}
    for key, value in entries.items():
        if isinstance(key, tuple):
            if all(value):
                pairs["\0".join(key)] = "\0".join(value)
        elif key and value:
            pairs[key] = value
    keys = sorted(pairs, key=lambda k: k.encode("utf-8"))
    ids = [k.encode("utf-8") for k in keys]
    strs = [pairs[k].encode("utf-8") for k in keys]
    start = 7 * 4 + 16 * len(keys)
    id_table, str_table, blob = [], [], b""
    for data in ids:
        id_table += [len(data), start + len(blob)]
        blob += data + b"\0"
    for data in strs:
        str_table += [len(data), start + len(blob)]
        blob += data + b"\0"
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0)
    return header + struct.pack(f"{len(id_table)}i", *id_table) + struct.pack(
        f"{len(str_table)}i", *str_table
    ) + blob  # fmt: skip


def update(po: Path = PO) -> tuple[int, list[Key]]:
    """Extract, merge into ``po``, compile its .mo; returns (msgids, untranslated keys)."""
    found = extract()
    write_po(found, read_po(po), po)
    entries = read_po(po)
    po.with_suffix(".mo").write_bytes(mo_bytes(entries))
    missing = [k for k, v in entries.items() if k and not (all(v) if isinstance(v, list) else v)]
    return len(found), missing


if __name__ == "__main__":
    count, missing = update()
    print(f"{count} msgids, {len(missing)} without a Spanish msgstr")
    for key in missing:
        print("  ", key)
