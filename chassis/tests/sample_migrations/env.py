from cashroom_chassis.migrations import run_env
from sample_service import metadata

run_env(metadata)
