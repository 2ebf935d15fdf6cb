"""The rules file's JSON Schema (``docs/rules-schema.json``): current, valid, and true to the loader.

The schema is generated from the models the loader reads with (``rules/reader/specs.py``); editors
use it to complete and check a rules file. The default rules and every example of ``docs/rules.md``
must pass it (and load); a file the loader refuses for its shape must fail it too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from floorwatch import cli
from services.alerts.core import RulesError, load_rules
from services.alerts.core.rules.defaults import default_rules
from services.alerts.core.rules.reader.specs import json_schema, rules_data, schema_text
from tests.unit.test_rules_messages import CASES

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "docs" / "rules-schema.json"
VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def test_published_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/rules-schema.json is stale; run: floorwatch rules schema > docs/rules-schema.json"
    )


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def test_rules_schema_command_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rules", "schema"]) == 0
    assert capsys.readouterr().out == SCHEMA_FILE.read_text(encoding="utf-8")


def test_default_rules_pass_the_schema_and_read_back(capsys: pytest.CaptureFixture[str]) -> None:
    """``floorwatch rules defaults`` prints the built-in rules as a rules file: it passes the schema
    and reads back into the very same rules."""
    assert cli.main(["rules", "defaults"]) == 0
    text = capsys.readouterr().out
    data = yaml.safe_load(text)
    assert data == rules_data(default_rules().rules)
    assert [e.message for e in VALIDATOR.iter_errors(data)] == []
    assert load_rules(text).rules == default_rules().rules
    assert len(data["rules"]) == len(default_rules().rules) == 14


def _doc_examples() -> list[tuple[str, Any]]:
    text = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    out = []
    for match in re.finditer(r"```yaml\n(.*?)```", text, re.S):
        line = text[: match.start()].count("\n") + 1
        data = yaml.safe_load(match.group(1))
        if data is None:
            continue  # a comment only (the editor hint)
        if isinstance(data, list):
            data = {"rules": data}  # a fragment: rules
        data.setdefault("rules", [])
        out.append((f"docs/rules.md:{line}", data))
    return out


EXAMPLES = _doc_examples()


def test_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize(("where", "data"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_docs_examples_pass_the_schema_and_load(where: str, data: dict[str, Any]) -> None:
    assert [e.message for e in VALIDATOR.iter_errors(data)] == []
    load_rules(json.dumps(data, ensure_ascii=False), name=where)


# messages about the shape of a file: the schema must refuse what the loader refuses for these
SHAPE = re.compile(
    r"^(unknown key|unknown top-level key|rule is missing|project is missing|inhibit rule is missing"
    r"|missing top-level key|expected a|bad duration|unknown kind|unknown severity|bad op|unknown metric"
    r"|bad rule name|'\w+' must be a list|\w+ must be a (mapping|list)|a rule must be|the rules file must"
    r"|when item is missing|window needs|kind \w+ works per|bad time of day|hourly must be)"
)
SHAPE_CASES = [
    (case, text)
    for case, text, expected in CASES
    if expected and all(SHAPE.match(message) for _, message in expected) and "duplicate" not in text
]


def test_shape_cases_are_many() -> None:
    assert len(SHAPE_CASES) >= 100


@pytest.mark.parametrize(("case", "text"), SHAPE_CASES, ids=[c for c, _ in SHAPE_CASES])
def test_schema_refuses_what_the_loader_refuses_for_its_shape(case: str, text: str) -> None:
    with pytest.raises(RulesError):
        load_rules(text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return  # not YAML: nothing for a schema to say
    assert not VALIDATOR.is_valid(data), case
