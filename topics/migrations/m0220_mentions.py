"""Mentions and aspects: an item split into mention units (sentences, clauses at "but"/"however"/"except"/
"although"), each with its offsets, its polarity and its aspect; aspect topics with stable ids, overrides, lineage.

Design decision: a mention is keyed ``<item_id>:<seq>`` and carries exact character offsets into its item's text
(``substring(items.text, start_char + 1, end_char - start_char) = mentions.text``), so every number can say whether it
counts items or mentions and every quote can be traced back. Its ``content_hash`` is ``md5(text)`` like an item's,
so mention vectors live in the same ``embeddings`` cache (a one-sentence review's vector is its only mention's).
Polarity and aspect are columns of the mention, not topics. Aspect ids -1 (no aspect close enough) and -2 (nothing
but evaluative or generic words: "great app", "love it") are not rows of ``aspects``.
"""


def migrate(con):
    con.execute("""
        CREATE TABLE mentions (
            mention_id VARCHAR PRIMARY KEY,
            item_id VARCHAR NOT NULL,
            seq INTEGER NOT NULL,
            start_char INTEGER NOT NULL,
            end_char INTEGER NOT NULL,
            text VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,
            kind VARCHAR,
            segmenter VARCHAR,
            polarity VARCHAR,
            polarity_score DOUBLE,
            polarity_method VARCHAR,
            aspect_id INTEGER,
            aspect_score DOUBLE,
            aspect_method VARCHAR,
            segmented_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE mention_runs (
            run_id VARCHAR PRIMARY KEY,
            stage VARCHAR NOT NULL,
            source VARCHAR,
            params JSON,
            n BIGINT,
            seconds DOUBLE,
            created_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE aspects (
            aspect_id INTEGER PRIMARY KEY,
            name VARCHAR,
            description VARCHAR,
            label_source VARCHAR,
            keywords VARCHAR[],
            representative_ids VARCHAR[],
            size BIGINT DEFAULT 0,
            centroid FLOAT[],
            status VARCHAR DEFAULT 'active',
            parent_id INTEGER,
            run_id VARCHAR,
            created_at TIMESTAMPTZ,
            updated_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE aspect_overrides (
            seq INTEGER PRIMARY KEY,
            op VARCHAR NOT NULL,
            aspect_ids INTEGER[] NOT NULL,
            value VARCHAR,
            created_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE aspect_lineage (
            run_id VARCHAR,
            event VARCHAR NOT NULL,
            aspect_id INTEGER,
            prev_aspect_id INTEGER,
            similarity DOUBLE,
            created_at TIMESTAMPTZ
        )""")
    # One row per mention with its item's source and time and its aspect's name: what "top complaints" groups by.
    con.execute("""
        CREATE VIEW mention_items AS
        SELECT m.mention_id, m.item_id, i.source, i.created_at, i.rating, m.seq, m.start_char, m.end_char, m.text,
               m.polarity, m.polarity_score, m.aspect_id,
               CASE WHEN m.aspect_id = -1 THEN 'outlier' WHEN m.aspect_id = -2 THEN 'general' ELSE a.name END
                   AS aspect
        FROM mentions m JOIN items i ON i.item_id = m.item_id
        LEFT JOIN aspects a ON a.aspect_id = m.aspect_id""")
    # Item-level aspects derived from mentions: an item has every aspect one of its mentions has.
    con.execute("""
        CREATE VIEW item_aspects AS
        SELECT item_id, aspect_id, any_value(aspect) AS aspect, count(*) AS mentions,
               count(*) FILTER (WHERE polarity = 'negative') AS negative,
               count(*) FILTER (WHERE polarity = 'positive') AS positive
        FROM mention_items WHERE aspect_id IS NOT NULL GROUP BY item_id, aspect_id""")
