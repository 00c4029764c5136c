from cashroom_chassis.migrations import run_env
from cashroom_ledger.db.tables import metadata

run_env(metadata)
