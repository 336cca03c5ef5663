"""Advisories: feed formats in, one normalised model, a store indexed by package."""
