"""A small rule language for cross-field consistency (`end >= start`), parsed, never evaluated as code.

Grammar (keywords are case-insensitive):

    rule       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" or ")" | comparison
    comparison := operand ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
    operand    := column | number | 'text' | true | false
    column     := a bare name (letters, digits, _; Japanese too) or a `quoted name`

A rule is evaluated on whole columns at once (numpy); a record is checked only where every column
the rule names has a readable value (docs/quality.md).
"""

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from typing import Literal as TypingLiteral

import numpy as np
import numpy.typing as npt

Kind = TypingLiteral["number", "datetime", "string", "boolean"]
BoolArray = npt.NDArray[np.bool_]
MAX_DEPTH = 20
MAX_COMPARISONS = 20
KEYWORDS = {"and", "or", "not", "true", "false"}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[+-]?\d+(?:\.\d+)?(?![^\W\d]))
      | (?P<text>'(?:[^']|'')*')
      | (?P<quoted>`[^`]+`)
      | (?P<op>==|!=|<=|>=|<|>)
      | (?P<paren>[()])
      | (?P<word>[^\W\d]\w*)
    )""",
    re.VERBOSE,
)
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class RuleSyntaxError(ValueError):
    """A rule does not follow the grammar."""


class RuleTypeError(ValueError):
    """A rule compares values of different kinds (a number with a date, say)."""


@dataclass(frozen=True)
class Column:
    name: str


@dataclass(frozen=True)
class Constant:
    value: float | str | bool


Operand = Column | Constant


@dataclass(frozen=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Not:
    item: "RuleNode"


@dataclass(frozen=True)
class All:
    items: tuple["RuleNode", ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple["RuleNode", ...]


RuleNode = Compare | Not | All | AnyOf


@dataclass(frozen=True)
class Rule:
    """A parsed rule and its source text."""

    text: str
    root: RuleNode

    def columns(self) -> set[str]:
        """The columns the rule names."""
        return set(_columns(self.root))


def _columns(node: RuleNode) -> Iterator[str]:
    if isinstance(node, Compare):
        yield from (o.name for o in (node.left, node.right) if isinstance(o, Column))
    elif isinstance(node, Not):
        yield from _columns(node.item)
    else:
        for item in node.items:
            yield from _columns(item)


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise RuleSyntaxError(f"cannot read the rule at character {position + 1}")
        found.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0
        self.comparisons = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.position += 1
            return True
        return False

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise RuleSyntaxError("the rule ends too early")
        self.position += 1
        return token

    def any_(self, depth: int) -> RuleNode:
        items = [self.all_(depth)]
        while self.keyword("or"):
            items.append(self.all_(depth))
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def all_(self, depth: int) -> RuleNode:
        items = [self.not_(depth)]
        while self.keyword("and"):
            items.append(self.not_(depth))
        return items[0] if len(items) == 1 else All(tuple(items))

    def not_(self, depth: int) -> RuleNode:
        if depth > MAX_DEPTH:
            raise RuleSyntaxError(f"the rule nests deeper than {MAX_DEPTH} levels")
        if self.keyword("not"):
            return Not(self.not_(depth + 1))
        if self.peek() == ("paren", "("):
            self.position += 1
            node = self.any_(depth + 1)
            if self.take() != ("paren", ")"):
                raise RuleSyntaxError("a parenthesis is not closed")
            return node
        return self.comparison()

    def comparison(self) -> Compare:
        left = self.operand()
        kind, op = self.take()
        if kind != "op":
            raise RuleSyntaxError(f"expected a comparison (== != < <= > >=), found {op!r}")
        right = self.operand()
        if isinstance(left, Constant) and isinstance(right, Constant):
            raise RuleSyntaxError("a comparison needs at least one column")
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise RuleSyntaxError(f"a rule holds at most {MAX_COMPARISONS} comparisons")
        return Compare(op, left, right)

    def operand(self) -> Operand:
        kind, value = self.take()
        if kind == "number":
            return Constant(float(value))
        if kind == "text":
            return Constant(value[1:-1].replace("''", "'"))
        if kind == "quoted":
            return Column(value[1:-1])
        if kind == "word":
            lowered = value.lower()
            if lowered in ("true", "false"):
                return Constant(lowered == "true")
            if lowered in KEYWORDS:
                raise RuleSyntaxError(f"expected a column or a value, found {value!r}")
            return Column(value)
        raise RuleSyntaxError(f"expected a column or a value, found {value!r}")


def parse_rule(text: str) -> Rule:
    """Parse one rule; raise RuleSyntaxError saying what is wrong."""
    parser = _Parser(text)
    if not parser.tokens:
        raise RuleSyntaxError("the rule is empty")
    root = parser.any_(0)
    leftover = parser.peek()
    if leftover is not None:
        raise RuleSyntaxError(f"unexpected {leftover[1]!r} after a complete rule")
    return Rule(text, root)


@dataclass(frozen=True)
class Values:
    """One column's readable values in its kind, with a mask of the records where it has one."""

    kind: Kind
    values: npt.NDArray[np.generic]
    readable: BoolArray


ColumnSource = Callable[[str], Values]
ConstantCoercion = Callable[[Kind, float | str | bool], object]


@dataclass(frozen=True)
class RuleOutcome:
    """Where a rule could be checked, and where it held."""

    checked: BoolArray
    holds: BoolArray


def evaluate(rule: Rule, column: ColumnSource, coerce: ConstantCoercion, rows: int) -> RuleOutcome:
    """Check a rule on every record; raise RuleTypeError when it compares different kinds."""
    checked = np.ones(rows, dtype=bool)
    for name in sorted(rule.columns()):
        checked &= column(name).readable
    return RuleOutcome(checked, _holds(rule.root, column, coerce) & checked)


def _holds(node: RuleNode, column: ColumnSource, coerce: ConstantCoercion) -> BoolArray:
    if isinstance(node, Not):
        return ~_holds(node.item, column, coerce)
    if isinstance(node, All | AnyOf):
        combine = np.logical_and if isinstance(node, All) else np.logical_or
        result = _holds(node.items[0], column, coerce)
        for item in node.items[1:]:
            result = combine(result, _holds(item, column, coerce))
        return result
    return _compare(node, column, coerce)


def _compare(node: Compare, column: ColumnSource, coerce: ConstantCoercion) -> BoolArray:
    kinds = [column(o.name).kind for o in (node.left, node.right) if isinstance(o, Column)]
    kind = kinds[0]
    if any(k != kind for k in kinds):
        raise RuleTypeError(f"compares a {kinds[0]} column with a {kinds[1]} column")
    if kind == "boolean" and node.op not in ("==", "!="):
        raise RuleTypeError("boolean columns are compared only with == and !=")
    sides = [
        column(o.name).values if isinstance(o, Column) else coerce(kind, o.value)
        for o in (node.left, node.right)
    ]
    with np.errstate(invalid="ignore"):
        result = _COMPARE[node.op](sides[0], sides[1])
    return np.asarray(result, dtype=bool)
