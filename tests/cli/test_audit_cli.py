"""`trialdesk audit verify | anchor | new-key | rotate-key`: receipts, keys, and one line for bad input."""

from __future__ import annotations

import json

import pytest

from trialdesk.audit.keys import parse_key_file
from trialdesk.audit.services import Actor, audited, record
from trialdesk.cli import main

pytestmark = pytest.mark.django_db


def _write(n: int) -> None:
    for i in range(n):
        with audited():
            record(Actor.system(), "change", object_type="thing", object_id=i, new_value=i)


def test_anchor_writes_a_receipt_that_verify_accepts(tmp_path, capsys):
    _write(3)
    receipt = tmp_path / "receipt.json"
    assert main(["audit", "anchor", "--out", str(receipt)]) == 0
    assert json.loads(receipt.read_text())["sequence"] == 3
    assert main(["audit", "verify", "--anchor", str(receipt)]) == 0
    assert "still holds the receipt's event 3" in capsys.readouterr().out


def test_verify_with_a_receipt_of_a_longer_trail_exits_1_and_says_what_is_missing(tmp_path, capsys):
    _write(2)
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps({"format": "trialdesk-audit-anchor/1", "sequence": 5, "mac": "a" * 64}))
    assert main(["audit", "verify", "--anchor", str(receipt)]) == 1
    assert "events 3 to 5 are missing" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, says",
    [("not json at all", "not JSON"), ('{"sequence": 3}', "not an anchor receipt"),
     ('{"format": "trialdesk-audit-anchor/1", "sequence": "3", "mac": "x"}', "whole number")],
)
def test_a_file_that_is_not_a_receipt_is_one_line_and_exit_3(tmp_path, capsys, content, says):
    bad = tmp_path / "receipt.json"
    bad.write_text(content)
    assert main(["audit", "verify", "--anchor", str(bad)]) == 3
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_verify_with_another_key_says_wrong_key(tmp_path, capsys):
    _write(2)
    other = tmp_path / "other.key"
    assert main(["audit", "new-key", "--out", str(other)]) == 0
    assert main(["audit", "verify", "--key-file", str(other)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("WRONG KEY") and "not in the key ring" in err


def test_a_missing_key_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["audit", "verify", "--key-file", str(tmp_path / "absent.key")]) == 2
    assert "cannot read the audit key file" in capsys.readouterr().err


def test_new_key_refuses_to_overwrite_and_rotate_key_keeps_the_former_keys(tmp_path, capsys):
    path = tmp_path / "audit.key"
    assert main(["audit", "new-key", "--out", str(path)]) == 0
    first = parse_key_file(path.read_text())
    assert main(["audit", "new-key", "--out", str(path)]) == 2
    assert main(["audit", "rotate-key", "--file", str(path)]) == 0
    keys = parse_key_file(path.read_text())
    assert keys[:1] == first and len(keys) == 2 and keys[1] != first[0]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
