"""Image analysis: stream layers once, hand wanted files to analyzers, merge layers."""
