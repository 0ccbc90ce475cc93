"""A DatabricksStep script that fails before it starts a Spark session."""

raise ValueError("no rows to scale")
