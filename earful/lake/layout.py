"""Where things live in a lake, and the two primitives every writer uses: partitioned writes and the manifest.

Design decision: partitions are written by this module (not by ``pyarrow.dataset.write_dataset``) so that a
partition key never has to be a data column: the raw tables keep their own ``date`` or ``source`` columns untouched.
A writer opens a `PartitionWriter`; the first time it touches a partition in ``replace`` mode it deletes that
partition's files, so a rerun rewrites only the partitions it writes (Hive layout, values percent-encoded as pyarrow
does; ``__HIVE_DEFAULT_PARTITION__`` is NULL, which DuckDB reads back as NULL).
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from earful.errors import InputError, NotFoundError

MANIFEST = "_lake.json"
FORMAT = "earful-lake-1"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def part_value(value) -> str:
    if value is None:
        return NULL_PARTITION
    return quote(str(value), safe="")


class Lake:
    """A lake rooted at a local folder or a URL (``s3://``, ``gs://``, ``file://``) that pyarrow can open."""

    def __init__(self, url: str, *, create: bool = False):
        import pyarrow.fs as pafs

        self.url = str(url)
        try:
            self.fs, path = pafs.FileSystem.from_uri(self.url) if "://" in self.url else \
                (pafs.LocalFileSystem(), self._local(self.url))
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad URL
            raise InputError(f"cannot open the lake at {self.url}: {exc}",
                             hint="pass a folder, or an s3:// / gs:// URL pyarrow can reach") from exc
        self.root = path.rstrip("/")
        self.local = isinstance(self.fs, pafs.LocalFileSystem)
        if "://" not in self.url:
            self.url = self.root   # a relative folder is stored (catalog, manifest) as the absolute one
        if create:
            self._prepare()
        elif not self.exists(MANIFEST):
            raise NotFoundError(f"no lake at {self.url} (no {MANIFEST})",
                                hint="write one with 'earful export --to URL' from a workspace, or start an empty one "
                                      "with 'earful lake init URL --create' (then 'earful ingest FILE')")

    def _prepare(self) -> None:
        """Make the folder a lake can be written to, or say why not: a file, a folder that holds other things (not a
        lake: no manifest), a folder that cannot be created or written. Nothing is written before these checks."""
        import pyarrow.fs as pafs

        hint = "pick a new or empty folder, or an existing Earful lake (a folder with _lake.json)"
        try:
            kind = self.fs.get_file_info(self.root).type
            if kind == pafs.FileType.File:
                raise InputError(f"{self.url} is a file, not a folder: a lake is a folder; nothing was written",
                                 hint=hint)
            if kind == pafs.FileType.Directory and not self.exists(MANIFEST):
                inside = self.fs.get_file_info(pafs.FileSelector(self.root, recursive=False))
                if inside:
                    names = ", ".join(sorted(i.base_name for i in inside)[:3]) + (", ..." if len(inside) > 3 else "")
                    raise InputError(f"{self.url} is not empty ({names}) and is not an Earful lake (no {MANIFEST}); "
                                     "nothing was written", hint=hint)
            self.fs.create_dir(self.root, recursive=True)
            probe = self.path(f".earful-write-check-{uuid.uuid4().hex[:8]}")
            with self.fs.open_output_stream(probe) as f:
                f.write(b"")
            self.fs.delete_file(probe)
        except OSError as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise InputError(f"cannot write the lake at {self.url}: {reason}; nothing was written",
                             hint="pick a folder you can write to") from exc

    @staticmethod
    def _local(path: str) -> str:
        from pathlib import Path

        return str(Path(path).expanduser().resolve())

    # -- paths -----------------------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return "/".join([self.root, *[p.strip("/") for p in parts if p]])

    def uri(self, *parts: str) -> str:
        """What DuckDB's ``read_parquet`` is given: a plain path locally, the URL's scheme kept otherwise."""
        p = self.path(*parts)
        if self.local:
            return p
        scheme = self.url.split("://", 1)[0]
        return f"{scheme}://{p}"

    def partition(self, dataset: str, keys: dict) -> str:
        return self.path(dataset, *[f"{k}={part_value(v)}" for k, v in keys.items()])

    def exists(self, *parts: str) -> bool:
        import pyarrow.fs as pafs

        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def files(self, *parts: str) -> list[str]:
        """Every ``.parquet`` file under a folder of the lake (recursively), sorted."""
        import pyarrow.fs as pafs

        if not self.exists(*parts):
            return []
        sel = pafs.FileSelector(self.path(*parts), recursive=True)
        return sorted(i.path for i in self.fs.get_file_info(sel)
                      if i.type == pafs.FileType.File and i.path.endswith(".parquet"))

    def sizes(self, *parts: str) -> dict[str, int]:
        """{path relative to the root: size in bytes} of every ``.parquet`` file under a folder (one listing)."""
        import pyarrow.fs as pafs

        if not self.exists(*parts):
            return {}
        sel = pafs.FileSelector(self.path(*parts), recursive=True)
        cut = len(self.root) + 1
        return {i.path[cut:]: i.size for i in self.fs.get_file_info(sel)
                if i.type == pafs.FileType.File and i.path.endswith(".parquet")}

    def has_data(self, *parts: str) -> bool:
        return bool(self.files(*parts))

    def delete(self, *parts: str) -> None:
        if self.exists(*parts):
            self.fs.delete_dir(self.path(*parts))

    # -- small files -----------------------------------------------------------------------------------------
    def write_table(self, table, *parts: str) -> None:
        import pyarrow.parquet as pq

        full = self.path(*parts)
        self.fs.create_dir(full.rsplit("/", 1)[0], recursive=True)
        pq.write_table(table, full, filesystem=self.fs, compression="zstd")

    def read_table(self, *parts: str):
        import pyarrow.parquet as pq

        return pq.read_table(self.path(*parts), filesystem=self.fs)

    # -- the manifest ----------------------------------------------------------------------------------------
    def manifest(self) -> dict:
        if not self.exists(MANIFEST):
            return {"format": FORMAT, "current": {"embeddings": [], "labels": {}, "topics": []}}
        with self.fs.open_input_stream(self.path(MANIFEST)) as f:
            data = json.loads(f.read().decode("utf-8"))
        if data.get("format") != FORMAT:
            raise InputError(f"{self.url} is a lake of format {data.get('format')!r}; this Earful reads {FORMAT}")
        data.setdefault("current", {}).setdefault("labels", {})
        data["current"].setdefault("embeddings", [])
        data["current"].setdefault("topics", [])
        return data

    def save_manifest(self, data: dict) -> None:
        data = {**data, "format": FORMAT, "updated_at": datetime.now(UTC).isoformat()}
        self.fs.create_dir(self.root, recursive=True)
        tmp = self.path(f".{MANIFEST}.{uuid.uuid4().hex[:8]}")
        with self.fs.open_output_stream(tmp) as f:
            f.write(json.dumps(data, indent=2, sort_keys=True).encode("utf-8"))
        self.fs.move(tmp, self.path(MANIFEST))

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"


class PartitionWriter:
    """Writes Arrow tables into Hive partitions of one dataset: ``write(table, {key: value})`` adds one file.

    ``replace=True``: a partition's existing files are deleted the first time this writer touches it (a rerun rewrites
    only its partitions). ``replace=False``: files are only added (append-only datasets such as embeddings).
    """

    def __init__(self, lake: Lake, dataset: str, *, replace: bool, tag: str | None = None):
        self.lake, self.dataset, self.replace = lake, dataset, replace
        self.tag = tag or uuid.uuid4().hex[:12]
        self.touched: dict[str, int] = {}   # partition folder -> files written there
        self.keys: list[dict] = []          # the partition keys written, in order
        self.rows = 0

    def write(self, table, keys: dict) -> str | None:
        import pyarrow.parquet as pq

        if table.num_rows == 0:
            return None
        folder = self.lake.partition(self.dataset, keys)
        if folder not in self.touched:
            if self.replace and self.lake.exists(folder[len(self.lake.root) + 1:]):
                self.lake.fs.delete_dir(folder)
            self.lake.fs.create_dir(folder, recursive=True)
            self.touched[folder] = 0
            self.keys.append(dict(keys))
        n = self.touched[folder]
        self.touched[folder] = n + 1
        path = f"{folder}/part-{self.tag}-{n:05d}.parquet"
        pq.write_table(table, path, filesystem=self.lake.fs, compression="zstd")
        self.rows += table.num_rows
        return path


def split_by(table, columns: list[str]):
    """Yield (key dict, sub-table without those columns) for each distinct combination of `columns`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return
    keys = table.select(columns).group_by(columns).aggregate([]).to_pylist()
    rest = [c for c in table.column_names if c not in columns]
    for key in keys:
        mask = None
        for c in columns:
            col = table.column(c)
            m = pc.is_null(col) if key[c] is None else pc.equal(col, pa.scalar(key[c], col.type))
            m = pc.fill_null(m, False)
            mask = m if mask is None else pc.and_(mask, m)
        yield key, table.filter(mask).select(rest)
