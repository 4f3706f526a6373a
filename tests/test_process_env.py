"""Importing Earful leaves the process environment alone; its programs (CLI, demo) set their offline defaults."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from earful.config import PROCESS_ENV, apply_process_env

PROBE = """
import json, os, sys
before = dict(os.environ)
import earful, earful.config, earful.store, earful.errors, earful.ingest, earful.qa_agent
after = dict(os.environ)
print(json.dumps({k: [before.get(k), after.get(k)] for k in set(before) | set(after) if before.get(k) != after.get(k)}))
"""


def test_importing_earful_changes_no_environment_variable():
    env = {k: v for k, v in os.environ.items() if k not in PROCESS_ENV}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {}


def test_the_cli_process_runs_offline_but_a_users_choice_stands(monkeypatch):
    for key in PROCESS_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "info")
    apply_process_env()
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "info"


def test_the_cli_entry_point_applies_it():
    probe = ("import os, sys; from earful.cli import main; sys.argv = ['earful', '--help']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print('HF_HUB_OFFLINE=' + os.environ.get('HF_HUB_OFFLINE', 'unset'))")
    env = {k: v for k, v in os.environ.items() if k not in PROCESS_ENV}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "HF_HUB_OFFLINE=1", out.stderr[-2000:]
