# Sourced by scripts/test and scripts/bench-state: starts a throwaway PostgreSQL
# cluster (Debian's `postgresql`, installed when missing) in a temporary folder,
# listening on 127.0.0.1 only, and stops it by its pid file when the shell exits.
# Sets MASTHEAD_TEST_DATABASE_URL (trust authentication, user masthead) and
# MASTHEAD_TEST_DATABASE_CA: the server also speaks TLS, with a certificate for
# 127.0.0.1 from a throwaway CA (that file), for the sslmode=require tests.
# initdb refuses to run as root: as root, the cluster runs as the `postgres` user.

pg_initdb=$(command -v initdb || ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_initdb" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_initdb=$(ls -1 /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
fi
pg_bin=$(dirname "$(readlink -f "$pg_initdb")")
pg_dir=$(mktemp -d /tmp/masthead-pg.XXXXXX)
pg_as=()
if [ "$(id -u)" = 0 ]; then
  id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  chown postgres "$pg_dir"
  pg_as=(runuser -u postgres --)
fi
command -v openssl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pg_dir/ca.key" -out "$pg_dir/ca.pem" -days 2 \
  -subj /CN=masthead-test-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$pg_dir/server.key" -out "$pg_dir/server.csr" -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$pg_dir/server.ext"
openssl x509 -req -in "$pg_dir/server.csr" -CA "$pg_dir/ca.pem" -CAkey "$pg_dir/ca.key" -CAcreateserial \
  -out "$pg_dir/server.crt" -days 2 -extfile "$pg_dir/server.ext" 2>/dev/null
chmod 600 "$pg_dir/server.key"
[ "$(id -u)" = 0 ] && chown postgres "$pg_dir/server.key" "$pg_dir/server.crt"
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${pg_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U masthead --auth=trust -E UTF8 --no-sync >"$pg_dir/initdb.log" 2>&1 \
  || { cat "$pg_dir/initdb.log" >&2; exit 1; }
"${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 \
  -o "-k $pg_dir -p $pg_port -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$pg_dir/server.crt -c ssl_key_file=$pg_dir/server.key ${MASTHEAD_PG_OPTIONS:-}" start >/dev/null \
  || { cat "$pg_dir/server.log" >&2; exit 1; }

stop_postgres() {
  local pid
  pid=$(head -n 1 "$pg_dir/data/postmaster.pid" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$pg_dir"
}
trap stop_postgres EXIT
trap 'exit 143' INT TERM
export MASTHEAD_TEST_DATABASE_URL="postgres://masthead@127.0.0.1:$pg_port/postgres"
export MASTHEAD_TEST_DATABASE_CA="$pg_dir/ca.pem"
