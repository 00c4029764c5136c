"""The reporting service's tables, in its own schema (search_path)."""

from sqlalchemy import MetaData

metadata = MetaData()
