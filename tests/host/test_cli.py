"""The `gaitchain protocol` commands, through the real entry point."""

import pytest
from gaitchain.cli import main

EXAMPLE = (
    "100302010700000040420f000000000015287f000200000000000008000000000000ffff010000080a00f6ff0000"
)


def test_decode_prints_fields_and_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "decode", EXAMPLE]) == 0
    out = capsys.readouterr().out
    assert "SampleBatch (46 bytes)" in out
    assert "[-1, 1, 2048]" in out
    assert "2 samples at 120.000 Hz" in out


def test_decode_reports_bad_input_and_keeps_going(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "decode", "10zz", "1003", EXAMPLE]) == 1
    captured = capsys.readouterr()
    assert "not hexadecimal" in captured.err
    assert "truncated" in captured.err
    assert "SampleBatch" in captured.out


def test_info_names_the_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "info"]) == 0
    assert "009b5b60-fd97-49d9-84b1-4cf07f3efb76" in capsys.readouterr().out
