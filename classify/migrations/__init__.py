"""The classify stage's schema migrations (``mNNNN_<what>.py``, numbers 0100-0199), registered by `classify.plugin`
through the ``register_migrations`` hook. Their names are what a workspace records, so they never change."""
