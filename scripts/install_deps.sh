#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need, plus
# any package names given as arguments (bench/install_deps.sh adds its own).
# Idempotent; needs root (it is a no-op when everything is already there).
set -euo pipefail

packages=(
    postgresql-15                # server, pg_dump, pg_regress's server binaries
    postgresql-server-dev-15     # PGXS, server headers, pg_regress
    postgresql-client-15         # psql
    postgresql-15-cron           # pg_cron 1.4: test/t/005_pg_cron.pl schedules run_due_syncs() with it
    libcurl4-openssl-dev         # HTTP delivery
    libjansson-dev               # JSON
    libpq-dev                    # remote sources (libpq)
    libssl-dev                   # HMAC signing, base64 (OpenSSL, as libcurl uses)
    g++ make                     # the build (g++ also brings libasan and libubsan: scripts/sanitize.sh)
    libgtest-dev                 # GoogleTest: the unit tests of the server-free core (test/unit)
    tzdata                       # time zones: the unit tests' DST cases read them (PostgreSQL's packages need it too)
    clang libclang-rt-14-dev     # the fuzz targets: clang++ with libFuzzer and its sanitizer runtimes (test/fuzz)
    llvm                         # llvm-symbolizer: source lines in fuzzer crash reports
    perl libipc-run-perl         # prove and PostgreSQL::Test::Cluster (IPC::Run) for the TAP tests
    python3                      # mock destinations in test/
    nodejs npm                   # the reference verifiers of signed webhooks (test/verifiers, npm ci)
    curl                         # tests talk to the mocks from psql (COPY ... FROM PROGRAM)
    openssl                      # the Google Sheets tests make a service account's key pair and the mock verifies its JWTs
    util-linux                   # runuser: the server runs as an unprivileged user
    git                          # the upgrade test builds each release from its commit
    "$@"
)

# What the installed packages provide counts too: a Node.js package from
# elsewhere that bundles npm provides "npm", and conflicts with Debian's.
provided=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null |
    awk '$1 == "ii" { $1 = ""; print }' | tr ',' '\n' | sed 's/([^)]*)//; s/^ *//; s/ *$//' | tr '\n' ' ') "
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        [[ "$provided" == *" $package "* ]] || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_deps: missing packages: ${missing[*]}; run as root (or with sudo)" >&2
    exit 1
fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
