"""Tables line up for people, whatever the script of the names in them."""

from __future__ import annotations

import pytest

from cli.output import emit_table, width


def test_columns_line_up_with_wide_characters(capsys: pytest.CaptureFixture[str]) -> None:
    emit_table(["NAME", "RUNS", "OWNER"], [["印章大模型", "3", "LL"], ["sft", "12", "ZH"]])
    lines = capsys.readouterr().out.splitlines()
    # The second column starts at the same terminal column on every line.
    starts = [width(line[:line.index(cell)]) for line, cell in zip(lines, ("RUNS", "3", "12"),
                                                                  strict=True)]
    assert len(set(starts)) == 1 and width("印章大模型") == 10
