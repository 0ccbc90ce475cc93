"""Value objects: data links, parameters, steps (definitions only), pipelines and graphs."""
