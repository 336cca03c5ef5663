"""VEX documents: statements of whether a product is affected, read and written."""
