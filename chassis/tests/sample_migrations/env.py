from sample_service import metadata

from cashroom_chassis.migrations import run_env

run_env(metadata)
