#!/usr/bin/env bash
# Installs what the tests need on a Debian machine: MariaDB's server,
# client and backup tools, OpenSSH's server and client (the remote machine
# tests start their own sshd on 127.0.0.1), sysbench, HAProxy and etcd. The packages' system
# services are not started: nothing listens on 3306 or 22 afterwards.
set -euo pipefail

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
command -v mariadb-backup >/dev/null 2>&1 || need+=(mariadb-backup)
# The remote machine tests run a real sshd on 127.0.0.1 and the ssh client.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
# A real client for the load tests and benchmarks (oltp_write_only).
command -v sysbench >/dev/null 2>&1 || need+=(sysbench)
# The traffic tests drive a real HAProxy through its runtime API (the
# tests start it on loopback ports with their own config).
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
# The coordination tests start a real 3-member etcd cluster on loopback
# ports (etcd-server) and revoke its leases with etcdctl (etcd-client).
[ -x /usr/bin/etcd ] || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
# The completion scripts for zsh and fish are syntax-checked by those shells.
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${need[*]}; install them as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi

# policy-rc.d answering 101 tells the package scripts not to start the
# service. Put one in place only for the install, if the machine has none.
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${need[@]}"
