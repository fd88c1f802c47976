"""Measurements on this machine with torch: microbenchmarks for calibration (`calibrate`) and real eager
latency of whole models for validation (`validate`).  Like `ingest`, this package may import torch; the
engine and hardware packages never do."""
