"""A report document rendered as JSON (frontend), CSV (spreadsheets) or PDF (the file)."""
