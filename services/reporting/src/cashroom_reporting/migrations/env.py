from cashroom_chassis.migrations import run_env
from cashroom_reporting.db.tables import metadata

run_env(metadata)
