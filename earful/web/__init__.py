"""Earful's web app (`earful serve`): the chat, report and notebook pages over one workspace (app.py, render.py)."""
