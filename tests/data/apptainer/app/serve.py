"""A tiny server the `full` image copies in (fixture for tests/test_apptainer.py)."""
print("serving")
