"""`python -m clio_connector`: the connector service's HTTP API and consumers in one process."""

from cashroom_chassis.runtime import serve
from clio_connector.app import build
from clio_connector.settings import Settings

settings = Settings()
serve(build(settings), settings)
