"""trialdesk.rules — the small, safe expression language of eligibility criteria,
edit checks and form conditions. Pure core (never imports Django).

    from trialdesk.rules import parse, Tri
    expr = parse("age_years >= 18 and ast <= 5 * ast_uln")   # parse once
    expr.fields                        # frozenset({'age_years', 'ast', 'ast_uln'})
    expr.evaluate({"age_years": 40})   # Tri.UNKNOWN (ast is missing)
    expr.explain(values)               # Evaluation(result, comparisons=[ComparisonTrace...])

Language: numbers (``12``, ``20.5``), strings (``'b_all'`` / ``"b_all"``), ``true``,
``false``, ``null``, dates ``date("2024-01-31")``, lists after ``in`` / ``not in``;
field codes ``[a-z_][a-z0-9_]*``, qualified names ``previous.weight_kg`` (one dot, a letter
after it: values beyond the record, named in the values mapping as written); ``+ - * /``, unary ``-``, parentheses; ``< <= > >= ==
!=``; ``and``, ``or``, ``not``; functions ``present(x)``, ``abs(x)``, ``min(a, b, ...)``,
``max(a, b, ...)``, ``days_between(d1, d2)`` (d2 - d1 in days).

Three-valued (Kleene) logic: a missing field (absent or None) makes any comparison
using it UNKNOWN; ``UNKNOWN and FALSE`` is FALSE, ``UNKNOWN or TRUE`` is TRUE. Type
errors found in the data (a text where a number is expected, division by zero)
give UNKNOWN, never an exception. Type errors visible in the text itself
(``1 + 'a'``, ``age > date("2020-01-01")``, a rule that is a number) are
``RuleSyntaxError`` at parse time. Rules are never run through Python's eval.
"""

from trialdesk.rules.errors import RuleSyntaxError
from trialdesk.rules.evaluator import ComparisonTrace, Evaluation
from trialdesk.rules.expression import Expression, parse
from trialdesk.rules.nodes import FUNCTIONS, KEYWORDS
from trialdesk.rules.parser import MAX_DEPTH, MAX_LENGTH, MAX_NESTING
from trialdesk.rules.render import render
from trialdesk.rules.tri import Tri

__all__ = [
    "FUNCTIONS",
    "KEYWORDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NESTING",
    "ComparisonTrace",
    "Evaluation",
    "Expression",
    "RuleSyntaxError",
    "Tri",
    "parse",
    "render",
]
