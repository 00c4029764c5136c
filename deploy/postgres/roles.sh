#!/usr/bin/env bash
# One role and one schema per service; a service can read and write only its own schema.
set -euo pipefail
for service in connector ledger reconciliation reporting; do
  var="$(echo "$service" | tr a-z A-Z)_DB_PASSWORD"
  psql -v ON_ERROR_STOP=1 --username postgres --dbname cashroom <<SQL
CREATE ROLE ${service} LOGIN PASSWORD '${!var}';
CREATE SCHEMA ${service} AUTHORIZATION ${service};
REVOKE ALL ON SCHEMA public FROM ${service};
ALTER ROLE ${service} SET search_path = ${service};
SQL
done
