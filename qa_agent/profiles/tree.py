"""The category tree a profile is built over: parsed from a taxonomy file, or made from a column's values.

Design decision: a tree is a flat list of `Node`s in pre-order (the root first, each parent before its children),
so every statistic is an array indexed by node and "all items under a node" is one matrix product with the
`descendants` indicator, never a recursive walk. Items reach a node by *name*: a category value names a node by
its path (``Coding & Debugging / Code review`` or ``... > ...``) or by its own name when that is unique in the tree;
an ambiguous or unknown value is reported, never guessed.

Accepted files (JSON or YAML), all nestings of one mapping:
- Feedbacker's ``cata_tree.json``: ``{"writing": {"Creative Stages": {"Research": {}, ...}}}``, ``{}`` leaves;
- a list of leaf names under a node: ``{"Math & Data Analysis": ["Math", "Data Analysis"]}``;
- a string value is a leaf with a description: ``{"Math": "calculations, equations, proofs"}``;
- a node with a description and children: ``{"Coding": {"description": "...", "children": {...}}}``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from earful.errors import InputError

ROOT = "(all)"
_SEP = re.compile(r"\s+/\s+|\s*>\s*")   # "A / B" or "A > B"; a bare slash ("Information/Advice") is a name


@dataclass
class Node:
    """One node: its name, its path from the top (root excluded), depth (root 0), parent index and description."""

    name: str
    path: tuple[str, ...]
    parent: int | None
    description: str = ""
    children: list[int] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def label(self) -> str:
        return " / ".join(self.path) if self.path else ROOT


class Tree:
    """A rooted category tree; node 0 is the root (every item)."""

    def __init__(self, nodes: list[Node], origin: str = ""):
        self.nodes = nodes
        self.origin = origin
        self._by_path = {tuple(p.lower() for p in n.path): i for i, n in enumerate(nodes)}
        self._by_name: dict[str, list[int]] = {}
        for i, n in enumerate(nodes[1:], start=1):
            self._by_name.setdefault(n.name.lower(), []).append(i)

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def top(self) -> list[int]:
        """The top-level categories (the root's children)."""
        return list(self.nodes[0].children)

    def leaves(self) -> list[int]:
        return [i for i, n in enumerate(self.nodes) if i and not n.children]

    def descendants(self) -> np.ndarray:
        """(n_nodes, n_nodes) 0/1 matrix: ``D[v, a] = 1`` when node `a` is `v` or below it."""
        n = len(self.nodes)
        d = np.eye(n, dtype=np.float64)
        for i in range(n - 1, 0, -1):   # pre-order: children come after parents, so walk back up
            d[self.nodes[i].parent] += d[i]
        return np.minimum(d, 1.0)

    def resolve(self, value) -> tuple[int | None, str | None]:
        """The node a category value names, or (None, why not)."""
        if value is None:
            return None, "missing"
        text = str(value).strip()
        if not text:
            return None, "missing"
        parts = tuple(p.lower() for p in _SEP.split(text) if p)
        if len(parts) > 1 and parts in self._by_path:
            return self._by_path[parts], None
        hits = self._chain(self._by_name.get(text.lower(), []))
        if len(hits) == 1:
            return hits[0], None
        if len(hits) > 1:
            return None, f"'{text}' names {len(hits)} nodes ({', '.join(self.nodes[h].label for h in hits[:3])}); " \
                         f"give its path"
        if len(parts) > 1:   # a path whose last part is a unique name
            hits = self._chain(self._by_name.get(parts[-1], []))
            if len(hits) == 1:
                return hits[0], None
        return None, f"'{text}' is not a node of the tree"

    def _chain(self, hits: list[int]) -> list[int]:
        """Nodes of one name that all lie on one path from the root (WildBench's "Coding & Debugging" group holds a
        "Coding & Debugging" tag) are one category: the deepest. Otherwise the name stays ambiguous."""
        if len(hits) < 2:
            return hits
        deepest = max(hits, key=lambda i: self.nodes[i].depth)
        chain, i = set(), deepest
        while i is not None:
            chain.add(i)
            i = self.nodes[i].parent
        return [deepest] if all(h in chain for h in hits) else hits

    def to_dict(self) -> dict:
        """Feedbacker's nesting: dicts of children, ``{}`` at the leaves."""
        def sub(i: int) -> dict:
            return {self.nodes[c].name: sub(c) for c in self.nodes[i].children}
        return sub(0)

    def descriptions(self) -> dict[str, str]:
        return {n.label: n.description for n in self.nodes[1:] if n.description}


def _add(nodes: list[Node], parent: int, name: str, description: str = "") -> int:
    name = str(name).strip()
    if not name:
        raise InputError(f"the tree has a node with an empty name under '{nodes[parent].label}'",
                         hint="give every node a name")
    if any(nodes[c].name.lower() == name.lower() for c in nodes[parent].children):
        raise InputError(f"the tree names '{name}' twice under '{nodes[parent].label}'",
                         hint="merge the two nodes or rename one")
    nodes.append(Node(name=name, path=(*nodes[parent].path, name), parent=parent, description=description))
    i = len(nodes) - 1
    nodes[parent].children.append(i)
    return i


def _walk(nodes: list[Node], parent: int, spec, where: str) -> None:
    if isinstance(spec, list):
        for x in spec:
            if isinstance(x, dict):
                _walk(nodes, parent, x, where)
            elif isinstance(x, str) and x.strip():
                _add(nodes, parent, x)
            else:
                raise InputError(f"{where}: under '{nodes[parent].label}' a list holds {x!r}, not a category name",
                                 hint="list entries are category names (text) or mappings; see Feedbacker's "
                                      "cata_tree.json: nested dicts, {} leaves")
        return
    if not isinstance(spec, dict):
        raise InputError(f"{where}: under '{nodes[parent].label}' expected a mapping or list, got "
                         f"{type(spec).__name__}", hint="see Feedbacker's cata_tree.json: nested dicts, {} leaves")
    for name, value in spec.items():
        if value is None or value == {} or value == []:
            _add(nodes, parent, name)
        elif isinstance(value, str):
            _add(nodes, parent, name, description=value)
        elif isinstance(value, dict) and set(value) <= {"description", "children"} and \
                isinstance(value.get("description", ""), str) and not isinstance(value.get("children", {}), str):
            i = _add(nodes, parent, name, description=value.get("description", ""))
            _walk(nodes, i, value.get("children") or {}, where)
        else:
            i = _add(nodes, parent, name)
            _walk(nodes, i, value, where)


def tree_from_spec(spec, origin: str = "<spec>") -> Tree:
    """A tree from an already parsed nesting (see the module docstring for the shapes)."""
    nodes = [Node(name=ROOT, path=(), parent=None)]
    if isinstance(spec, dict) and set(spec) == {"tree"}:   # {"tree": {...}} wrapper
        spec = spec["tree"]
    _walk(nodes, 0, spec, origin)
    if len(nodes) < 2:
        raise InputError(f"{origin} has no categories", hint="a tree needs at least one node under the root")
    return Tree(nodes, origin=origin)


def load_tree(path: str | Path) -> Tree:
    """A tree from a JSON or YAML file (Feedbacker's ``cata_tree.json`` included)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"tree file {p} does not exist", hint="pass a JSON or YAML taxonomy file")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            spec = json.loads(text)
        else:
            import yaml

            spec = yaml.safe_load(text)
    except (json.JSONDecodeError, ValueError) as exc:
        raise InputError(f"tree file {p} is not valid {p.suffix.lstrip('.').upper() or 'YAML'}: "
                         f"{str(exc).splitlines()[0]}", hint="fix the file; nested dicts with {} leaves") from exc
    except Exception as exc:  # noqa: BLE001 - yaml's errors share no base we import eagerly
        raise InputError(f"tree file {p} could not be read: {str(exc).splitlines()[0]}",
                         hint="fix the file; nested dicts with {} leaves") from exc
    return tree_from_spec(spec, origin=str(p))


def tree_from_values(values, column: str = "category") -> Tree:
    """A tree whose nodes are the distinct values (sorted); a value with `` / `` or ``>`` nests (``A > B``)."""
    nodes = [Node(name=ROOT, path=(), parent=None)]
    index: dict[tuple[str, ...], int] = {(): 0}
    for v in sorted({str(v).strip() for v in values if v is not None and str(v).strip()}):
        parts = tuple(p for p in _SEP.split(v) if p) or (v,)
        for k in range(1, len(parts) + 1):
            key = tuple(p.lower() for p in parts[:k])
            if key not in index:
                index[key] = _add(nodes, index[tuple(p.lower() for p in parts[:k - 1])], parts[k - 1])
    if len(nodes) < 2:
        raise InputError(f"the column '{column}' has no category values", hint="pick a column with categories")
    return _preorder(Tree(nodes, origin=f"column {column}"))


def _preorder(tree: Tree) -> Tree:
    """The same tree with its nodes renumbered in pre-order (needed by `Tree.descendants`)."""
    order: list[int] = []

    def visit(i: int) -> None:
        order.append(i)
        for c in tree.nodes[i].children:
            visit(c)
    visit(0)
    new = {old: k for k, old in enumerate(order)}
    nodes = []
    for old in order:
        n = tree.nodes[old]
        nodes.append(Node(name=n.name, path=n.path, parent=None if n.parent is None else new[n.parent],
                          description=n.description, children=[new[c] for c in n.children]))
    return Tree(nodes, origin=tree.origin)
