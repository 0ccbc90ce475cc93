"""Turns a pipeline and parameters into step jobs, runs them on compute targets, records everything."""
