package binlog

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// DefaultErrantLimit caps how many errant transactions are looked up when
// the caller gives no limit: a replica that was written to by mistake for
// hours can hold millions, and the first few tell what happened.
const DefaultErrantLimit = 100

// Errant is one transaction a replica has and its reference lacks.
type Errant struct {
	Target   Target
	Location *Location // nil when the replica's binary logs do not hold it (purged, or log_slave_updates off)
}

// ErrantTransactions lists the transactions that replica has executed and
// base (usually its primary's executed GTIDs) lacks, newest first, at most
// limit of them (DefaultErrantLimit when limit <= 0), each with where it
// lies in the replica's binary logs and its first statement, so an
// operator can decide whether to inject empty transactions on the primary
// or rebuild the replica. truncated reports that there were more.
func ErrantTransactions(ctx context.Context, replica *server.Server, base gtid.Set, limit int) (list []Errant, truncated bool, err error) {
	executed, err := replica.GTIDExecuted(ctx)
	if err != nil {
		return nil, false, relabel(err, "errant_transactions")
	}
	targets, truncated, err := ErrantTargets(executed, base, limit)
	if err != nil {
		return nil, false, opError(replica, "errant_transactions", err)
	}
	locs, err := Locate(ctx, replica, targets)
	if err != nil {
		return nil, false, relabel(err, "errant_transactions")
	}
	list = make([]Errant, len(targets))
	for i, t := range targets {
		list[i] = Errant{Target: t, Location: locs[i]}
	}
	return list, truncated, nil
}

// ErrantTargets lists the transactions of executed that base lacks, newest
// first, at most limit (DefaultErrantLimit when limit <= 0).
//
// MySQL sets name every transaction, so each GTID of executed − base is a
// target. A MariaDB position only names the last transaction of each
// domain: where executed is ahead of base in a domain, the transactions
// are every seq_no after base's up to executed's; the last one's server id
// is known, the others' are not (Target.AnyServer).
func ErrantTargets(executed, base gtid.Set, limit int) ([]Target, bool, error) {
	if limit <= 0 {
		limit = DefaultErrantLimit
	}
	diff, err := executed.Subtract(base)
	if err != nil {
		return nil, false, err
	}
	if m, ok := diff.MariaDB(); ok {
		b, _ := base.MariaDB()
		return mariadbTargets(m, b, limit), mariadbCount(m, b) > uint64(limit), nil
	}
	return mysqlTargets(diff.String(), limit)
}

func mariadbTargets(diff, base gtid.MariaDBSet, limit int) []Target {
	var out []Target
	for _, g := range diff.GTIDs() {
		from := uint64(0)
		if bg, ok := base.Domain(g.Domain); ok {
			from = bg.Seq
		}
		for seq := g.Seq; seq > from && len(out) < limit; seq-- {
			t := gtid.MariaDBGTID{Domain: g.Domain, Server: g.Server, Seq: seq}
			out = append(out, Target{GTID: t.AsSet().AsSet(), AnyServer: seq != g.Seq})
		}
	}
	return out
}

func mariadbCount(diff, base gtid.MariaDBSet) uint64 {
	var n uint64
	for _, g := range diff.GTIDs() {
		from := uint64(0)
		if bg, ok := base.Domain(g.Domain); ok {
			from = bg.Seq
		}
		n += g.Seq - from
	}
	return n
}

// mysqlTargets walks the canonical text of a MySQL set
// ("uuid:1-5:tag:7,uuid2:3"), newest (highest) sequence number first
// within each UUID and tag, without expanding a range beyond the limit.
func mysqlTargets(set string, limit int) ([]Target, bool, error) {
	var out []Target
	truncated := false
	for _, elem := range strings.Split(set, ",") {
		if elem = strings.TrimSpace(elem); elem == "" {
			continue
		}
		parts := strings.Split(elem, ":")
		prefix := parts[0] + ":"
		// Intervals follow their tag; walk each tag's intervals backwards.
		var groups [][]string
		for _, p := range parts[1:] {
			if p == "" || p[0] < '0' || p[0] > '9' {
				prefix = parts[0] + ":" + p + ":"
				continue
			}
			groups = append(groups, []string{prefix, p})
		}
		for gi := len(groups) - 1; gi >= 0; gi-- {
			lo, hi, err := interval(groups[gi][1])
			if err != nil {
				return nil, false, fmt.Errorf("gtid set %q: %w", set, err)
			}
			for seq := hi; seq >= lo; seq-- {
				if len(out) == limit {
					truncated = true
					break
				}
				g, err := gtid.ParseGTID(groups[gi][0]+strconv.FormatUint(seq, 10), gtid.MySQL)
				if err != nil {
					return nil, false, err
				}
				out = append(out, Target{GTID: g})
			}
		}
	}
	return out, truncated, nil
}

func interval(text string) (lo, hi uint64, err error) {
	a, b, isRange := strings.Cut(text, "-")
	if lo, err = strconv.ParseUint(a, 10, 64); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = strconv.ParseUint(b, 10, 64); err != nil {
			return 0, 0, err
		}
	}
	if lo == 0 || hi < lo {
		return 0, 0, fmt.Errorf("bad interval %q", text)
	}
	return lo, hi, nil
}
