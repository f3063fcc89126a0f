"""--json through the CLI: held to the element budget, always strict JSON (issue 10, item 17)."""

from __future__ import annotations

import json


def test_cli_refuses_a_json_document_beyond_the_budget(invoke):
    result = invoke("run", "--json", "--max-elements", 300)
    assert result.exit_code == 2
    assert result.output.startswith("Error: the --json document would hold")
    assert "--only" in result.output
    ok = invoke("run", "--json", "--max-elements", 300, "--only", "grad.conv.weight")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["stages"]
