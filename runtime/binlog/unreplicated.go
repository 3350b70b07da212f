package binlog

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// FileReader reads a file where the server runs: a dead primary's machine
// (machine.Machine has this method).
type FileReader interface {
	ReadFile(ctx context.Context, path string) ([]byte, error)
}

// Unreplicated is what a dead primary's binary log holds that another
// server lacks.
type Unreplicated struct {
	GTIDs []string // in log order
	Files []string // the files that hold them, base names
}

// Text is "0-1-305..0-1-607, 303 transactions; they are in db1's binary
// log mysql-bin.000001" (the first and last GTID, in log order), or "none".
func (u Unreplicated) Text(server string) string {
	if len(u.GTIDs) == 0 {
		return "none"
	}
	span := u.GTIDs[0]
	if len(u.GTIDs) > 1 {
		span += ".." + u.GTIDs[len(u.GTIDs)-1]
	}
	noun := "transactions"
	if len(u.GTIDs) == 1 {
		noun = "transaction"
	}
	return fmt.Sprintf("%s, %d %s; they are in %s's binary log %s", span, len(u.GTIDs), noun, server,
		strings.Join(u.Files, ", "))
}

// UnreplicatedInFiles reads the binary logs of a server that does not run
// (a killed primary) from its files: the index file <logBin>.index, then
// the logs it lists, newest first, and returns the GTIDs that have does
// not contain. It stops at the first log (going back) whose transactions
// have all contains: older logs are older still. logBin is the log-bin
// option, relative to datadir unless absolute. Only for a stopped server:
// the last event of a running server's log may be half written.
func UnreplicatedInFiles(ctx context.Context, r FileReader, datadir, logBin string, have gtid.Set) (Unreplicated, error) {
	var u Unreplicated
	base := logBin
	if !filepath.IsAbs(base) {
		base = filepath.Join(datadir, base)
	}
	index, err := r.ReadFile(ctx, base+".index")
	if err != nil {
		return u, fmt.Errorf("binary log index: %w", err)
	}
	var files []string
	for _, line := range strings.Split(string(index), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if !filepath.IsAbs(line) {
				line = filepath.Join(datadir, line)
			}
			files = append(files, line)
		}
	}
	for i := len(files) - 1; i >= 0; i-- {
		data, err := r.ReadFile(ctx, files[i])
		if err != nil {
			return u, fmt.Errorf("binary log %s: %w", files[i], err)
		}
		lacking, err := lackingGTIDs(data, have)
		if err != nil {
			return u, fmt.Errorf("binary log %s: %w", files[i], err)
		}
		if len(lacking) == 0 {
			break
		}
		u.GTIDs = append(lacking, u.GTIDs...)
		u.Files = append([]string{filepath.Base(files[i])}, u.Files...)
	}
	return u, nil
}

// lackingGTIDs parses one binary log file and returns its transactions'
// GTIDs that have does not contain. A log cut short by a kill ends in a
// partial event, which is not an error: what was before it counts.
func lackingGTIDs(data []byte, have gtid.Set) ([]string, error) {
	if !bytes.HasPrefix(data, replication.BinLogFileHeader) {
		return nil, fmt.Errorf("not a binary log (no magic number)")
	}
	p := replication.NewBinlogParser()
	flavor := gtid.MySQL
	if have.Flavor() == gtid.MariaDB {
		p.SetFlavor(gomysql.MariaDBFlavor)
		flavor = gtid.MariaDB
	}
	var out []string
	var parseErr error
	err := p.ParseReader(bytes.NewReader(data[len(replication.BinLogFileHeader):]), func(e *replication.BinlogEvent) error {
		text := ""
		switch ev := e.Event.(type) {
		case *replication.MariadbGTIDEvent:
			text = fmt.Sprintf("%d-%d-%d", ev.GTID.DomainID, ev.GTID.ServerID, ev.GTID.SequenceNumber)
		case *replication.GTIDEvent:
			text = uuidText(ev.SID) + ":" + strconv.FormatInt(ev.GNO, 10)
		default:
			return nil
		}
		one, err := gtid.Parse(text, flavor)
		if err != nil {
			parseErr = err
			return err
		}
		if in, err := have.Contains(one); err != nil || !in {
			out = append(out, text)
		}
		return nil
	})
	if parseErr != nil {
		return nil, parseErr
	}
	if err != nil && len(out) == 0 && !strings.Contains(err.Error(), "EOF") {
		return nil, err
	}
	return out, nil
}

func uuidText(b []byte) string {
	h := hex.EncodeToString(b)
	if len(h) != 32 {
		return h
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
