from cashroom_chassis.migrations import run_env
from clio_connector.db.tables import metadata

run_env(metadata)
