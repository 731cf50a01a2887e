"""Scan orchestration: plans, scan rows, the tracker that drives them on the scanner backend."""
