package flavor

import (
	"testing"
	"time"
)

func TestParseSemiSync(t *testing.T) {
	// MariaDB 10.11 names (information_schema spells them in capitals).
	got := ParseSemiSync(map[string]string{
		"RPL_SEMI_SYNC_MASTER_ENABLED": "ON", "RPL_SEMI_SYNC_SLAVE_ENABLED": "OFF",
		"RPL_SEMI_SYNC_MASTER_TIMEOUT": "10000", "RPL_SEMI_SYNC_MASTER_WAIT_POINT": "AFTER_SYNC",
		"RPL_SEMI_SYNC_MASTER_STATUS": "ON", "RPL_SEMI_SYNC_MASTER_CLIENTS": "2",
		"RPL_SEMI_SYNC_MASTER_YES_TX": "1701", "RPL_SEMI_SYNC_MASTER_NO_TX": "3",
		"RPL_SEMI_SYNC_SLAVE_STATUS": "OFF",
	})
	want := SemiSync{Available: true, PrimaryEnabled: true, PrimaryActive: true, Clients: 2,
		AckedTx: 1701, UnackedTx: 3, Timeout: 10 * time.Second, WaitPoint: "AFTER_SYNC"}
	if got != want {
		t.Errorf("mariadb:\n got %+v\nwant %+v", got, want)
	}
	// MySQL 8.0.26+ plugin names, as SHOW VARIABLES / SHOW STATUS spell them.
	got = ParseSemiSync(map[string]string{
		"rpl_semi_sync_replica_enabled": "ON", "Rpl_semi_sync_replica_status": "ON",
	})
	if want := (SemiSync{Available: true, ReplicaEnabled: true, ReplicaActive: true}); got != want {
		t.Errorf("mysql replica:\n got %+v\nwant %+v", got, want)
	}
	// No plugin loaded: nothing is there, which is not "off".
	if got := ParseSemiSync(nil); got.Available {
		t.Errorf("empty: %+v, want not available", got)
	}
}

func TestSetSemiSyncRefuses(t *testing.T) {
	f := MustParse("10.11.19-MariaDB")
	if _, err := f.SetSemiSync(SemiSyncSettings{}); err == nil {
		t.Error("empty settings: no error")
	}
	if _, err := f.SetSemiSync(SemiSyncSettings{WaitPoint: "after_flush"}); err == nil {
		t.Error("wait point after_flush: no error")
	}
	neg := -time.Second
	if _, err := f.SetSemiSync(SemiSyncSettings{Timeout: &neg}); err == nil {
		t.Error("negative timeout: no error")
	}
}
