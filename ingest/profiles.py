"""Named profiles for real exports, detected by their column names and registered like any loader.

Design decision: a profile only says which columns mean text / time / rating / id / author; every original column
is still kept in ``src_<source>`` and the source's view. ``earful ingest --profile NAME`` forces one; otherwise the
first profile whose ``required`` columns are all present wins, and the summary names it. `ingest.plugin` registers
`BUILTIN_PROFILES` through the ``register_profiles`` hook, like a plugin package would.
"""
from __future__ import annotations

from earful.ingest.base import Profile

BUILTIN_PROFILES = (
    Profile(
        name="google_play",
        description="Google Play Console review export (reviews_<app>_<yyyymm>.csv, UTF-16)",
        text=["Review Title", "Review Text"], join_text=True,
        time="Review Submit Date and Time", rating="Star Rating", id="Review Link",
        required=("Package Name", "Review Submit Date and Time", "Star Rating", "Review Text")),

    Profile(
        name="app_store",
        description="Apple App Store Connect customer reviews (API/export: title, body, rating, reviewerNickname)",
        text=["title", "body"], join_text=True,
        time="createdDate", rating="rating", id="id", author="reviewerNickname",
        required=("reviewerNickname", "body", "rating")),

    Profile(
        name="app_store_api",
        description="App Store Connect API customer reviews JSON ({\"data\": [{type, id, attributes: {rating, title, "
                    "body, reviewerNickname, createdDate, territory}}]})",
        text=["attributes.title", "attributes.body"], join_text=True,
        time="attributes.createdDate", rating="attributes.rating", id="id", author="attributes.reviewerNickname",
        required=("id", "attributes.reviewerNickname", "attributes.body", "attributes.rating")),

    Profile(
        name="zendesk",
        description="Zendesk ticket export JSON ({\"tickets\": [...]}: subject + description)",
        text=["subject", "description"], join_text=True,
        time="created_at", id="id", author="requester_id",
        required=("subject", "description", "requester_id")),

    Profile(
        name="github_issues",
        description="GitHub issues JSON: `gh issue list --json number,title,body,author,createdAt,...` or the REST "
                    "API `GET /repos/{owner}/{repo}/issues` (user.login, created_at, html_url; a null body leaves the "
                    "title)",
        text=["title", "body"], join_text=True,
        time=["createdAt", "created_at"], id=["html_url", "number"], author=["author.login", "user.login"],
        required=("number", "title", "body", "author"),
        also_required=(("number", "title", "html_url", "user.login", "created_at"),)),

    Profile(
        name="openreview",
        description="OpenReview notes JSONL (id, forum, invitation, cdate, content.review / content.rating)",
        text=["content.review", "content.main_review", "content.summary_of_the_review", "content.comment"],
        time="cdate", rating="content.rating", id="id",
        required=("forum", "invitation", "content")),

    Profile(
        name="peer_review",
        description="Flat peer-review JSONL/CSV (DISAPERE-style: review_id, forum_id, reviewer, rating, text)",
        text=["text", "review", "review_text"], rating="rating", id="review_id", author="reviewer",
        required=("review_id", "forum_id", "reviewer")),

    Profile(
        name="wildbench",
        description="WildBench judge critiques JSONL (strengths + weaknesses as text; score; judged model)",
        text=["strengths", "weaknesses"], join_text=True, rating="score", author="judge",
        required=("session_id", "strengths", "weaknesses", "score")),

    Profile(
        name="llm_critique",
        description="LLM critique/judgment JSONL (model, prompt, response, critique, score)",
        text=["critique", "judgment", "feedback"], rating="score", id="id", author="judge",
        required=("model", "critique")),
)
