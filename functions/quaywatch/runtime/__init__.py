"""Running the functions of template.yaml: reading the template, provisioning its resources
(on moto or any AWS-compatible endpoint) and wiring handler configuration from it."""
