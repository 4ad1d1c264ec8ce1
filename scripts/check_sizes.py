#!/usr/bin/env python3
"""House limits: no source file over 400 lines, no function over 80 lines outside tests.

Test code is exempt: files under a `tests/` folder, `tests.rs`/`testutil.rs` modules, and
everything after a `#[cfg(test)]` line; so is generated code (`*_generated.rs`, flatc's output
from TensorFlow's schema). Prints offenders and exits 1 if there are any.
"""
import pathlib
import re
import sys

MAX_FILE, MAX_FN = 400, 80
root = pathlib.Path(__file__).resolve().parent.parent
bad = []
for path in sorted(root.glob("*/**/*.rs")):
    rel = path.relative_to(root)
    if rel.parts[0] in ("target", ".venv") or "tests" in rel.parts[1:-1] or rel.parts[0] == "tests":
        continue
    if path.name.endswith("_generated.rs"):
        continue
    lines = path.read_text().splitlines()
    if len(lines) > MAX_FILE:
        bad.append(f"{rel}: {len(lines)} lines (limit {MAX_FILE})")
    if path.name in ("tests.rs", "testutil.rs"):
        continue
    end = next((i for i, l in enumerate(lines) if l.strip() == "#[cfg(test)]"), len(lines))
    i = 0
    while i < end:
        m = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(const )?(unsafe )?fn (\w+)", lines[i])
        if m and not lines[i].rstrip().endswith(";"):
            indent, name = m.group(1), m.group(6)
            j = i + 1
            while j < end and not (lines[j].startswith(indent + "}") and len(lines[j]) - len(lines[j].lstrip()) == len(indent)):
                j += 1
            if j - i + 1 > MAX_FN:
                bad.append(f"{rel}:{i + 1}: fn {name} is {j - i + 1} lines (limit {MAX_FN})")
        i += 1
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
