"""Golden tests: the committed samples through the whole pipeline, compared with stored results."""
