"""The program that runs *inside* the sandbox: one job (SQL or Python) read as JSON on stdin, one JSON reply out.

Design decision: this file imports nothing from Earful (the sandbox mounts only the interpreter, the virtualenv,
this file and the workspace database, read-only), and it opens the database itself with DuckDB ``read_only``,
``enable_external_access = false`` and ``lock_configuration``. The reply is printed after a per-job random marker
so that whatever the generated code prints cannot be confused with it.

Python jobs see ``con`` (that connection) and ``duckdb``; they set ``result`` (a DataFrame / arrow table / dict
of lists / list of dicts), optionally ``tables = {name: frame}``, and ``fig`` / ``figures`` (plotly figures).
"""
import contextlib
import datetime
import decimal
import io
import json
import math
import sys
import traceback


def _plain(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if hasattr(v, "item"):
        try:
            return _plain(v.item())
        except Exception:
            pass
    return str(v)


def _table(name, obj, max_rows):
    """Anything table-like -> {name, columns, rows, truncated}."""
    if hasattr(obj, "to_arrow"):                    # polars DataFrame, duckdb relation
        obj = obj.to_arrow() if not hasattr(obj, "to_arrow_table") else obj.to_arrow_table()
    elif hasattr(obj, "to_arrow_table"):
        obj = obj.to_arrow_table()
    elif type(obj).__module__.startswith("pandas"):
        obj = {str(c): obj[c].tolist() for c in obj.columns} if hasattr(obj, "columns") else {"value": obj.tolist()}
    if hasattr(obj, "column_names") and hasattr(obj, "to_pylist"):   # pyarrow Table
        cols = [str(c) for c in obj.column_names]
        n = obj.num_rows
        data = obj.slice(0, max_rows).to_pylist()
        return {"name": name, "columns": cols, "rows": [[_plain(r[c]) for c in cols] for r in data],
                "truncated": n > max_rows}
    if isinstance(obj, dict):
        cols = [str(c) for c in obj]
        vals = [v if isinstance(v, (list, tuple)) else [v] for v in obj.values()]
        n = max((len(v) for v in vals), default=0)
        rows = [[_plain(v[i]) if i < len(v) else None for v in vals] for i in range(min(n, max_rows))]
        return {"name": name, "columns": cols, "rows": rows, "truncated": n > max_rows}
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], dict):
            cols = list(dict.fromkeys(k for r in obj for k in r))
            return {"name": name, "columns": [str(c) for c in cols],
                    "rows": [[_plain(r.get(c)) for c in cols] for r in obj[:max_rows]],
                    "truncated": len(obj) > max_rows}
        return {"name": name, "columns": ["value"], "rows": [[_plain(x)] for x in obj[:max_rows]],
                "truncated": len(obj) > max_rows}
    return {"name": name, "columns": ["value"], "rows": [[_plain(obj)]], "truncated": False}


def _unpack(obj):
    """plotly 6 stores arrays as {"dtype", "bdata": base64}; give plain lists so any consumer can read them."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            import base64

            import numpy as np

            arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            if obj.get("shape"):
                arr = arr.reshape([int(x) for x in str(obj["shape"]).split(",")])
            return arr.tolist()
        return {k: _unpack(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unpack(v) for v in obj]
    return obj


def _figure(fig):
    # to_plotly_json keeps numpy arrays (fig.to_json would emit plotly 6's base64 "bdata"): make them lists.
    data = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else dict(fig)
    data = _unpack(json.loads(json.dumps(data, default=lambda o: o.tolist() if hasattr(o, "tolist") else _plain(o))))
    layout = data.get("layout") or {}
    title = layout.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    data.pop("config", None)
    if isinstance(layout, dict):
        layout.pop("template", None)   # plotly's default template is ~10 KB of styling per figure
    return {"title": title or "chart", "plotly": data}


def connect(db, memory_mb, lake_dirs=()):
    """`db` read-only, no external access; a lake catalog's `lake_dirs` (its lake folders) readable, nothing else."""
    import duckdb

    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False, "threads": 2,
              "memory_limit": f"{max(64, memory_mb // 2)}MB"}
    if not lake_dirs:
        config["enable_external_access"] = False
    con = duckdb.connect(db, read_only=True, config=config)
    if lake_dirs:   # DuckDB takes allowed_directories only while external access is on: set it, then turn it off
        con.execute("SET allowed_directories = ?", [[str(d) for d in lake_dirs]])
        con.execute("SET enable_external_access = false")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET lock_configuration = true")
    if con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0]:
        raise RuntimeError("the sandbox's connection allows external access; refusing to run")
    return con


def run(job):
    max_rows = int(job.get("max_rows", 10000))
    con = connect(job["db"], int(job.get("memory_mb", 1024)), job.get("lake_dirs") or ())
    if job["kind"] == "sql":
        stmts = job["statements"]
        for s in stmts[:-1]:
            con.execute(s)
        cur = con.execute(stmts[-1])        # fetch through the cursor: importing pyarrow would cost ~0.2 s here
        cols = [str(d[0]) for d in (cur.description or [])]
        got = cur.fetchmany(max_rows + 1) if cols else []
        tables = [{"name": "result", "columns": cols, "rows": [[_plain(v) for v in r] for r in got[:max_rows]],
                   "truncated": len(got) > max_rows}]
        return {"ok": True, "tables": tables, "charts": [], "stdout": ""}
    import duckdb

    env = {"__name__": "__earful__", "con": con, "duckdb": duckdb}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(job["code"], "<generated>", "exec"), env)  # noqa: S102 - this process IS the sandbox
    tables = []
    if env.get("result") is not None:
        tables.append(_table("result", env["result"], max_rows))
    for name, obj in (env.get("tables") or {}).items():
        tables.append(_table(str(name), obj, max_rows))
    figs = list(env.get("figures") or []) + ([env["fig"]] if env.get("fig") is not None else [])
    out = buf.getvalue()
    return {"ok": True, "tables": tables, "charts": [_figure(f) for f in figs], "stdout": out[-20000:]}


def main():
    if len(sys.argv) > 1:      # started with -S: the parent names the site-packages to use (faster start-up)
        sys.path.append(sys.argv[1])
    job = json.loads(sys.stdin.read())
    marker = job["marker"]
    try:
        reply = run(job)
    except MemoryError:
        reply = {"ok": False, "error": "MemoryError: the code ran out of its memory limit"}
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as text
        tb = traceback.format_exc(limit=-3)
        kind = type(exc).__name__
        first = (str(exc).splitlines() or [""])[0]
        reply = {"ok": False, "error": f"{kind}: {first}", "traceback": tb[-4000:]}
    text = json.dumps(reply, default=str)
    sys.__stdout__.write("\n" + marker + "\n" + text + "\n")
    sys.__stdout__.flush()


if __name__ == "__main__":
    main()
