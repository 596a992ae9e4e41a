"""Scanner templates: where a model of scanner burns identity into its images.

A template is a condition on the header (Modality, Manufacturer, model, image size...) and the
rectangles to redact when it holds. Veil's own templates are JSON (``resources/redaction/
templates.json``, user-editable); sites can also bring RSNA CTP's
``DicomPixelAnonymizer.script``, whose format this module reads:

    { Modality.equals("US") * Manufacturer.containsIgnoreCase("acme") * Rows.equals("480") }
      (0,0,640,45) (0,440,640,40)

A condition is a boolean expression over element tests (``*`` and, ``+`` or, ``!`` not,
parentheses); an element is named by keyword or ``[gggg,eeee]``; the tests are equals,
equalsIgnoreCase, contains, containsIgnoreCase, startsWith, startsWithIgnoreCase, endsWith,
endsWithIgnoreCase, matches (a regular expression on the whole value), and isBlank. Regions are
``(left,top,width,height)`` in pixels (in Veil's JSON, a negative left or top counts from
the right or bottom edge). Lines starting with ``#`` or ``//`` are comments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom.datadict
from pydicom.dataset import Dataset

from desktop.core.common.errors import VeilError
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect

Region = tuple[int, int, int, int]  # left, top, width, height
Condition = Callable[[Dataset], bool]


@dataclass(frozen=True)
class Template:
    name: str
    condition: Condition
    regions: tuple[Region, ...]
    source: str = ""

    def matches(self, ds: Dataset) -> bool:
        try:
            return bool(self.condition(ds))
        except Exception:  # noqa: BLE001 - the tests read hostile values (lazy conversion)
            return False

    def mask(self, rows: int, columns: int) -> Mask:
        """The template's regions as a mask on every same-size image of the series."""
        mask = Mask(rows, columns, scope=Scope.SERIES)
        for left, top, width, height in self.regions:
            left = left if left >= 0 else columns + left  # negative: from the right or bottom
            top = top if top >= 0 else rows + top
            mask = mask.with_shape(Rect(0, max(0, left), max(0, top), min(columns, left + width),
                                        min(rows, top + height)))
        return mask


def _value(ds: Dataset, name: str) -> str:
    name = name.strip()
    tag: int | None
    if name.startswith(("[", "(")):
        digits = re.sub(r"[^0-9A-Fa-f]", "", name)
        if len(digits) != 8:
            raise VeilError(f"'{name}' is not an element tag")
        tag = int(digits, 16)
    else:
        tag = pydicom.datadict.tag_for_keyword(name)
        if tag is None:
            raise VeilError(f"'{name}' is not a DICOM keyword")
    elem = ds.get(tag)
    if elem is None or elem.value is None:
        return ""
    value = elem.value
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


_TESTS: dict[str, Callable[[str, str], bool]] = {
    "equals": lambda v, a: v == a,
    "equalsignorecase": lambda v, a: v.lower() == a.lower(),
    "contains": lambda v, a: a in v,
    "containsignorecase": lambda v, a: a.lower() in v.lower(),
    "startswith": lambda v, a: v.startswith(a),
    "startswithignorecase": lambda v, a: v.lower().startswith(a.lower()),
    "endswith": lambda v, a: v.endswith(a),
    "endswithignorecase": lambda v, a: v.lower().endswith(a.lower()),
    "matches": lambda v, a: re.fullmatch(a, v) is not None,
    "isblank": lambda v, a: not v.strip(),
}
_TOKEN = re.compile(r"""\s*(?:(?P<op>[*+!()])|(?P<test>(?:\[[0-9A-Fa-f,\s]+\]|\([0-9A-Fa-f,\s]+\)|[A-Za-z][A-Za-z0-9]*)
                        \s*\.\s*(?P<method>[A-Za-z]+)\s*\(\s*(?:"(?P<arg>(?:[^"\\]|\\.)*)")?\s*\)))""", re.VERBOSE)

#: ("op", operator) or ("test", (attribute, test, argument)).
_Token = tuple[str, str | tuple[str, str, str]]


def parse_condition(text: str) -> Condition:
    """Compile a CTP-style condition (see the module docstring)."""
    tokens: list[_Token] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise VeilError(f"cannot read the condition near '{text[pos:pos + 20]}'")
        if match.group("op"):
            tokens.append(("op", match.group("op")))
        else:
            name = match.group("test").split(".")[0].strip()
            method = match.group("method").lower()
            if method not in _TESTS:
                raise VeilError(f"unknown test '{match.group('method')}'")
            arg = (match.group("arg") or "").replace('\\"', '"')
            if method == "matches":
                re.compile(arg)
            tokens.append(("test", (name, method, arg)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    if not tokens:
        return lambda ds: True
    parser = _Parser(tokens)
    condition = parser.expression()
    if parser.at < len(tokens):
        raise VeilError("the condition has something left over after its end")
    return condition


class _Parser:
    """or := and ('+' and)* ; and := unary ('*' unary)* ; unary := '!' unary | '(' or ')' | test"""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.at = tokens, 0

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def expression(self) -> Condition:
        parts = [self._and()]
        while self._peek() == ("op", "+"):
            self.at += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda ds: any(p(ds) for p in parts))

    def _and(self) -> Condition:
        parts = [self._unary()]
        while self._peek() == ("op", "*"):
            self.at += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda ds: all(p(ds) for p in parts))

    def _unary(self) -> Condition:
        token = self._peek()
        if token is None:
            raise VeilError("the condition ends too early")
        self.at += 1
        if token == ("op", "!"):
            inner = self._unary()
            return lambda ds: not inner(ds)
        if token == ("op", "("):
            inner = self.expression()
            if self._peek() != ("op", ")"):
                raise VeilError("a parenthesis is not closed")
            self.at += 1
            return inner
        kind, value = token
        if kind != "test" or not isinstance(value, tuple):
            raise VeilError(f"unexpected '{value}'")
        name, method, arg = value
        test = _TESTS[method]
        return lambda ds: test(_value(ds, name), arg)


_REGION = re.compile(r"\(\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)")


def parse_ctp_script(text: str, source: str = "DicomPixelAnonymizer.script") -> list[Template]:
    """Read RSNA CTP's DicomPixelAnonymizer.script: ``{ condition }`` then its regions."""
    templates = []
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "//")))
    for n, match in enumerate(re.finditer(r"\{(?P<cond>[^{}]*)\}(?P<regions>[^{]*)", body), 1):
        try:
            condition = parse_condition(match.group("cond"))
        except VeilError as exc:
            raise VeilError(f"{source}, rule {n}: {exc}") from None
        regions = tuple(_region(r.groups()) for r in _REGION.finditer(match.group("regions")))
        if regions:
            templates.append(Template(f"{source} rule {n}", condition, regions, source))
    return templates


def _region(values: Sequence[Any]) -> Region:
    """(left, top, width, height) from four numbers, as text or JSON numbers."""
    numbers = [int(v) for v in values]
    if len(numbers) != 4:
        raise ValueError("a region is (left, top, width, height)")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def load_templates(path: Path) -> list[Template]:
    """Veil's JSON templates (a list of {name, when, regions}) or a CTP script, by content."""
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix.lower() != ".json":
        return parse_ctp_script(text, Path(path).name)
    try:
        entries = json.loads(text)["templates"]
        out = []
        for entry in entries:
            regions = tuple(_region(r) for r in entry["regions"])
            out.append(Template(str(entry["name"]), parse_condition(str(entry.get("when", ""))),
                                regions, Path(path).name))
        return out
    except VeilError as exc:
        raise VeilError(f"{Path(path).name}: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise VeilError(f"{Path(path).name} is not a template file ({exc}).") from None


def matching(templates: list[Template], ds: Dataset) -> list[Template]:
    return [t for t in templates if t.matches(ds)]
