"""Lambda handlers: one module per function of template.yaml. Each parses its event, calls
one domain operation and shapes the reply; the domain code lives elsewhere."""
