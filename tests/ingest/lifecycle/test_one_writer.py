"""The lifecycle is the only writer of statuses: no other module of the code base assigns a
status, builds a status-carrying copy, or sets a caption track (read by the AST, not by grep)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("api", "cli", "config", "ingest", "runtime", "workers")
STATUS_ENUMS = {"AssetStatus", "CaptionStatus", "DeliveryState", "LiveStatus"}
STATUS_FIELDS = {"status", "state"}


def _is_status_value(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in STATUS_ENUMS)


def status_writes(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        lines += [t.lineno for t in targets
                  if isinstance(t, ast.Attribute) and t.attr in STATUS_FIELDS]
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "set_caption":
                lines.append(node.lineno)
            for kw in node.keywords:
                if kw.arg in STATUS_FIELDS and _is_status_value(kw.value):
                    lines.append(node.lineno)
                if kw.arg == "update" and isinstance(kw.value, ast.Dict):
                    keys = [k.value for k in kw.value.keys if isinstance(k, ast.Constant)]
                    if STATUS_FIELDS & set(keys):
                        lines.append(node.lineno)
    return lines


def test_status_writes_are_found() -> None:
    sample = ("a.status = AssetStatus.READY\nt = CaptionTrack(status=CaptionStatus.READY)\n"
              "a.set_caption(t)\nt.model_copy(update={'status': 'ready'})\n"
              "d.state = s\nx = a.status == AssetStatus.READY\n")
    assert sorted(status_writes(ast.parse(sample))) == [1, 2, 3, 4, 5]


def test_only_the_lifecycle_writes_statuses() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("ingest/lifecycle/"):
                continue
            found += [f"{rel}:{line}" for line in status_writes(ast.parse(path.read_text()))]
    assert found == [], "status changes outside ingest/lifecycle/: " + ", ".join(found)
