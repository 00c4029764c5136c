"""`python -m cashroom_reporting`: the reporting service's HTTP API and consumers in one process."""

from cashroom_chassis.runtime import serve

from cashroom_reporting.app import build
from cashroom_reporting.settings import Settings

settings = Settings()
serve(build(settings), settings)
