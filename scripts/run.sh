#!/bin/sh
# run.sh - what `make run` does after building: database, migrations, the CRM
# sample loaded into workspace 'demo' (first start only), an admin key for it,
# then serve in the foreground.
set -eu
bin=${1:-build/revopsd}
if [ -z "${DATABASE_URL:-}" ]; then
    DATABASE_URL=$(scripts/devdb start | tail -1)
fi
export DATABASE_URL
listen=${REVOPS_LISTEN:-127.0.0.1:8080}
"$bin" migrate
"$bin" demo load --dir data/crm-sample --workspace demo
key=$("$bin" keys create --workspace demo --role admin --name "make run" | tail -1)
cat <<MSG

revopsd: database $DATABASE_URL
revopsd: admin key for workspace 'demo' (shown once): $key
revopsd: console: http://$listen/ (sign in with that key; the demo's data ends in 2017-Q4)

  curl -s http://$listen/readyz
  curl -s -H 'Authorization: Bearer $key' http://$listen/v1/workspace
  curl -s -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' \\
       -X POST http://$listen/v1/keys -d '{"role":"read","name":"dashboard"}'

MSG
exec "$bin" serve --listen "$listen"
