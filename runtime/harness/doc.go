// Package harness starts what a playbook test needs around a sandbox —
// fault proxies, faults, HAProxy, a continuous writer — and undoes it.
//
// It is the Go side of the replicant.test module: a Writer is the
// application whose acknowledged rows a playbook must not lose, an
// HAProxy is the proxy a playbook moves the writes in. Everything it
// starts is stopped by pid, never by name.
package harness
