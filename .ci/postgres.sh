# Sourced by .ci/run (bash): make a PostgreSQL server from Debian's packages
# listen on 127.0.0.1, with a role `airtight` owning a database `airtight_test`,
# and export AIRTIGHT_TEST_PG_URL for the issuer database suite
# (test/issuer/db). Idempotent: installs only when no server binary is present,
# creates a cluster only when none exists, starts it only when it is down, and
# creates the role and database only when missing. Runs as root (CI does).
# Also runnable alone to set up a developer machine: `bash .ci/postgres.sh`.

airtight_pg_setup() {
  local ver cluster_line port status i
  # Debian's server packages put the binaries under /usr/lib/postgresql/<major>/bin;
  # a bare pg_ctl elsewhere on PATH without a Debian cluster is no use to us.
  if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || ! command -v pg_ctlcluster >/dev/null; then
    echo "postgres: installing Debian's postgresql package"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  # The newest installed major, found rather than assumed (bookworm ships 15).
  ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  cluster_line=$(pg_lsclusters --no-header | awk -v v="$ver" '$1 == v && $2 == "main"')
  if [ -z "$cluster_line" ]; then
    echo "postgres: creating cluster $ver/main"
    pg_createcluster "$ver" main >/dev/null
    cluster_line=$(pg_lsclusters --no-header | awk -v v="$ver" '$1 == v && $2 == "main"')
  fi
  port=$(echo "$cluster_line" | awk '{ print $3 }')
  status=$(echo "$cluster_line" | awk '{ print $4 }')
  if [ "$status" != online ]; then
    echo "postgres: starting cluster $ver/main on port $port"
    # No systemd in CI containers: pg_ctlcluster starts the server directly.
    pg_ctlcluster "$ver" main start
  fi
  for i in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    [ "$i" = 30 ] && { echo "postgres: not accepting connections on 127.0.0.1:$port" >&2; return 1; }
    sleep 1
  done
  # Role and database, created only when missing (psql -v quoting keeps this
  # parameterized; the password is a fixed test-only value on a loopback server).
  runuser -u postgres -- psql -q -p "$port" -v ON_ERROR_STOP=1 -d postgres <<'SQL'
SELECT 'CREATE ROLE airtight LOGIN PASSWORD ''airtight'''
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'airtight') \gexec
SELECT 'CREATE DATABASE airtight_test OWNER airtight'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'airtight_test') \gexec
SQL
  export AIRTIGHT_TEST_PG_URL="postgres://airtight:airtight@127.0.0.1:$port/airtight_test"
  echo "postgres: $ver/main ready on 127.0.0.1:$port (AIRTIGHT_TEST_PG_URL exported)"
}

airtight_pg_setup
