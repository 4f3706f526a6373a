"""The topics stage's schema migrations (``mNNNN_<what>.py``, numbers 0200-0299), registered by `topics.plugin`
through the ``register_migrations`` hook. Their names are what a workspace records, so they never change."""
