"""The AWS side of orchestration: Lambda handlers (and, later, the rendered AWS resources)."""
