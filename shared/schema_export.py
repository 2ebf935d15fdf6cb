"""Write the canonical event's JSON Schema.

    python -m shared.schema_export docs/event-schema.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shared.events import json_schema


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(render(), encoding="utf-8")
