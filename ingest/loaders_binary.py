"""Binary-format loaders: Parquet (read by DuckDB directly) and Excel .xlsx (read with openpyxl, lazily imported).

Design decision: an .xlsx sheet is turned into an Arrow table (header row = column names, every cell kept with the
type openpyxl gives it) and registered on the store's connection, so the rest of the pipeline is the same SQL as for
every other format.
"""
from __future__ import annotations

from pathlib import Path

from earful.errors import InputError, require
from earful.ingest.base import Loaded, Loader
from earful.ingest.loaders import lit


class ParquetLoader(Loader):
    name = "parquet"
    extensions = (".parquet", ".pq")

    def load(self, con, path: Path, options: dict) -> Loaded:
        # rows come in file order: the pipeline numbers them while staging (in parallel; no row_number window)
        return Loaded(relation=con.sql(f"SELECT * FROM read_parquet({lit(path)})"), loader=self.name, numbered=False)


class XlsxLoader(Loader):
    name = "xlsx"
    extensions = (".xlsx", ".xlsm")

    def load(self, con, path: Path, options: dict) -> Loaded:
        import datetime as dt

        import pyarrow as pa

        openpyxl = require("openpyxl", purpose="reading Excel files")
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises zipfile/KeyError/ValueError on broken files
            raise InputError(f"{path}: not a readable .xlsx workbook ({exc})",
                             hint="re-save it from Excel as .xlsx") from exc
        sheet_name = options.get("sheet")
        ws = wb[sheet_name] if sheet_name else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise InputError(f"{path}: the first sheet is empty", hint="put a header row in the first sheet")
        names, seen = [], set()
        for i, h in enumerate(header):
            n = str(h).strip() if h is not None and str(h).strip() else f"column{i}"
            while n in seen:
                n += "_"
            seen.add(n)
            names.append(n)
        data = [list(r[:len(names)]) + [None] * (len(names) - len(r)) for r in rows
                if any(v is not None and v != "" for v in r)]
        wb.close()
        columns = {}
        for j, n in enumerate(names):
            vals = [r[j] for r in data]
            kinds = {type(v) for v in vals if v is not None}
            if kinds <= {int} or kinds <= {int, float}:
                columns[n] = pa.array(vals, type=pa.int64() if kinds <= {int} else pa.float64())
            elif kinds <= {dt.datetime, dt.date}:
                columns[n] = pa.array([v if v is None or isinstance(v, dt.datetime)
                                       else dt.datetime(v.year, v.month, v.day) for v in vals], type=pa.timestamp("us"))
            else:
                columns[n] = pa.array([None if v is None else str(v) for v in vals], type=pa.string())
        table = pa.table(columns)
        view = f"_xlsx_{abs(hash(str(path))) % 10**8}"
        con.register(view, table)
        return Loaded(relation=con.sql(f'SELECT row_number() OVER () AS __record_no, * FROM "{view}"'),
                      loader=self.name)
