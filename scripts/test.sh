#!/usr/bin/env bash
# The whole test suite, as README.md gives it: installs MariaDB when it is
# missing, then runs the unit tests and the integration tests, which start
# sandboxes of real servers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
go vet ./...
go test -count=1 -timeout 30m ./...
