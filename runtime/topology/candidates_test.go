package topology

import (
	"fmt"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// order is "name:rank" for each candidate, "name:-" when excluded.
func order(cs []Candidate) string {
	var s []string
	for _, c := range cs {
		r := "-"
		if !c.Excluded {
			r = fmt.Sprint(c.Rank)
		}
		s = append(s, c.Node.Name+":"+r)
	}
	return strings.Join(s, " ")
}

func reasonsOf(cs []Candidate, name string) string {
	for _, c := range cs {
		if c.Node.Name == name {
			return strings.Join(c.Reasons, "; ")
		}
	}
	return ""
}

func TestCandidateRanking(t *testing.T) {
	p := same(t, writable(mariadb("p", 1, 1)), "0-1-50", "0-1-50")
	mk := func(name string, port int, pos string) *Node {
		return same(t, replicaOf(mariadb(name, port, uint64(port)), p), pos, pos)
	}
	ahead := mk("ahead", 2, "0-1-50")
	behind := mk("behind", 3, "0-1-45")
	preferred := mk("preferred", 4, "0-1-40")
	preferNot := mk("prefer_not", 5, "0-1-50")
	noLogUpd := mk("no_log_upd", 6, "0-1-50")
	noLogUpd.LogReplicaUpdates = false
	newer := mk("newer", 7, "0-1-50")
	newer.Flavor = flavor.MustParse("11.4.2-MariaDB")
	relayed := same(t, replicaOf(mariadb("relayed", 8, 8), ahead), "0-1-50", "0-1-50")
	mustNot := mk("must_not", 9, "0-1-50")
	down := unreachable(mariadb("down", 10, 10))
	down.Source, down.Via = p, "replica hosts"
	top := New([]*Node{p, ahead, behind, preferred, preferNot, noLogUpd, newer, relayed, mustNot, down}, Options{})
	rules := map[string]string{"preferred": deploy.PromotionPrefer, "prefer_not": deploy.PromotionPreferNot,
		"must_not": deploy.PromotionMustNot}
	cs := top.Candidates(CandidateOptions{Promotion: func(n *Node) string { return rules[n.Name] }})
	// The most advanced first: preferred is behind five others, so its rule
	// does not lift it; among equals prefer_not is last and relayed, two
	// levels down, after the direct replicas.
	want := "newer:1 ahead:2 relayed:3 prefer_not:4 behind:5 preferred:6 down:- must_not:- no_log_upd:-"
	if got := order(cs); got != want {
		t.Errorf("order\n got %s\nwant %s", got, want)
	}
	for name, want := range map[string]string{
		"preferred":  "replicates from the primary p; promotion rule prefer; gtid 0-1-40 is behind ahead, behind,",
		"ahead":      "gtid 0-1-50 is ahead of behind and preferred; gtid 0-1-50, the same as prefer_not, newer, relayed; log_slave_updates ON; version mariadb 10.11.19",
		"no_log_upd": "log_slave_updates is OFF",
		"relayed":    "replicates from ahead, 2 levels under the primary: move it under p first",
		"must_not":   "promotion rule must_not",
		"down":       "unreachable: dial tcp",
	} {
		if got := reasonsOf(cs, name); !strings.Contains(got, want) {
			t.Errorf("%s: reasons %q lack %q", name, got, want)
		}
	}
}

// Without a primary (all servers read-only), every reachable server is
// ranked by GTID position alone.
func TestCandidatesWithoutPrimary(t *testing.T) {
	a := same(t, mariadb("a", 1, 1), "0-1-7", "0-1-7")
	b := same(t, mariadb("b", 2, 2), "0-1-9", "0-1-9")
	top := New([]*Node{a, b}, Options{})
	cs := top.Candidates(CandidateOptions{})
	if got := order(cs); got != "b:1 a:2" {
		t.Errorf("order %s", got)
	}
	if r := reasonsOf(cs, "b"); !strings.HasPrefix(r, "no primary known") {
		t.Errorf("reasons %q", r)
	}
}

// Semi-sync breaks ties between equally advanced replicas, and only those:
// a semi-sync replica behind another is still ranked behind it.
func TestCandidatesSemiSync(t *testing.T) {
	for _, primaryDead := range []bool{false, true} {
		p := same(t, writable(mariadb("p", 1, 1)), "0-1-50", "0-1-50")
		if primaryDead {
			p = unreachable(mariadb("p", 1, 1))
			p.Role = RolePrimary
		}
		mk := func(name string, port int, pos string, semi *flavor.SemiSync) *Node {
			n := same(t, replicaOf(mariadb(name, port, uint64(port)), p), pos, pos)
			n.SemiSync = semi
			if primaryDead { // the receiver lost the dead primary: its semi-sync status went with it
				n.Replica.IORunning, n.Replica.IOThread = false, "Connecting"
				if semi != nil {
					semi.ReplicaActive = false
				}
			}
			return n
		}
		async := mk("a_async", 2, "0-1-50", nil)
		inactive := mk("b_inactive", 3, "0-1-50", &flavor.SemiSync{Available: true, ReplicaEnabled: true})
		semi := mk("c_semi", 4, "0-1-50", &flavor.SemiSync{Available: true, ReplicaEnabled: true, ReplicaActive: true})
		behind := mk("d_semi_behind", 5, "0-1-49", &flavor.SemiSync{Available: true, ReplicaEnabled: true, ReplicaActive: true})
		top := New([]*Node{p, async, inactive, semi, behind}, Options{})
		if primaryDead {
			top.primary = p
		}
		cs := top.Candidates(CandidateOptions{})
		// While the primary answers, only an active semi-sync connection
		// counts; once it is dead, the setting does (b_inactive too).
		want := "c_semi:1 a_async:2 b_inactive:3 d_semi_behind:4"
		if primaryDead {
			want = "b_inactive:1 c_semi:2 a_async:3 d_semi_behind:4"
		}
		if got := order(cs); got != want {
			t.Errorf("primary dead %v: order\n got %s\nwant %s", primaryDead, got, want)
		}
		if r := reasonsOf(cs, "c_semi"); !strings.Contains(r, "semi-sync replica: acknowledged the primary's last transactions") {
			t.Errorf("c_semi reasons %q", r)
		}
		if r := reasonsOf(cs, "a_async"); strings.Contains(r, "semi-sync") {
			t.Errorf("a_async reasons %q", r)
		}
	}
}

func TestFailoverLoss(t *testing.T) {
	p := unreachable(mariadb("db1", 1, 1))
	p.Role = RolePrimary
	db2 := same(t, replicaOf(mariadb("db2", 2, 2), p), "0-1-1234", "0-1-1234")
	db3 := same(t, replicaOf(mariadb("db3", 3, 3), p), "0-1-1200", "0-1-1200")
	top := New([]*Node{p, db2, db3}, Options{})
	top.primary = p
	semi, text := top.FailoverLoss(db2)
	if want := "replication was asynchronous: writes db1 acknowledged after 0-1-1234 (db2's position) may be lost"; semi || !strings.Contains(text, want) {
		t.Errorf("async: %v %q, want %q", semi, text, want)
	}
	db3.SemiSync = &flavor.SemiSync{Available: true, ReplicaEnabled: true}
	semi, text = top.FailoverLoss(db2)
	if want := "semi-synchronous replication was on (db3)"; !semi || !strings.Contains(text, want) {
		t.Errorf("semi-sync: %v %q, want %q", semi, text, want)
	}
}
