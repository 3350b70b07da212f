package main

import (
	"fmt"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/coord"
	"github.com/replicant-lua/replicant-lua/runtime/deploy"
)

// coordinator is the etcd configuration of a run: the deployment's
// coordinator key, its endpoints replaced by --coordinator when given.
// ok is false when neither names one: the run works on this host alone.
func coordinator(flag string, d *deploy.Deployment) (cfg coord.Config, cluster string, ok bool, err error) {
	if d != nil && d.Coordinator != nil {
		c := d.Coordinator
		cfg = coord.Config{Endpoints: c.Endpoints, CA: c.CA, Cert: c.Cert, Key: c.Key, Prefix: c.Prefix, TTL: c.TTL}
		ok = true
	}
	if flag != "" {
		u, err := coord.ParseURL(flag)
		if err != nil {
			return cfg, "", false, fmt.Errorf("--coordinator: %w", err)
		}
		cfg.Endpoints, ok = u.Endpoints, true
	}
	if !ok {
		return cfg, "", false, nil
	}
	if d == nil {
		return cfg, "", false, fmt.Errorf("--coordinator %s: it keeps a cluster's lock: give the deployment (-d FILE)",
			strings.Join(cfg.Endpoints, ","))
	}
	if d.Cluster == "" {
		return cfg, "", false, fmt.Errorf(`%s: --coordinator needs the deployment to name its cluster (cluster = "shop"): its lock and leadership are keyed by it`, d.Path)
	}
	return cfg, d.Cluster, true, nil
}

// commandName is what a Holder says the process does: "run switchover",
// "watch", "-e".
func commandName(rest []string, eval []string) string {
	switch {
	case len(rest) >= 2 && rest[0] == "run":
		return "run " + rest[1]
	case len(rest) >= 1:
		return rest[0]
	case len(eval) > 0:
		return "-e"
	}
	return "run"
}
