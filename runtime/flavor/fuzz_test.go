package flavor

import (
	"fmt"
	"strings"
	"testing"
)

// parseOptions splits "NAME = value, NAME = value" as the server's parser
// would, reading quoted values with the server's unescaping: a value that
// breaks out of its quotes shows up as a parse error or an extra option.
func parseOptions(s string) (map[string]string, error) {
	opts := map[string]string{}
	for s != "" {
		name, rest, ok := strings.Cut(s, " = ")
		if !ok || strings.ContainsAny(name, " ',") {
			return nil, fmt.Errorf("bad option name at %q", s)
		}
		var value string
		if strings.HasPrefix(rest, "'") {
			v, n, err := scanLiteral(rest)
			if err != nil {
				return nil, err
			}
			value, rest = v, rest[n:]
		} else {
			end := strings.Index(rest, ", ")
			if end < 0 {
				end = len(rest)
			}
			value, rest = rest[:end], rest[end:]
		}
		if _, dup := opts[name]; dup {
			return nil, fmt.Errorf("option %s twice", name)
		}
		opts[name] = value
		if rest != "" && !strings.HasPrefix(rest, ", ") {
			return nil, fmt.Errorf("junk after %s: %q", name, rest)
		}
		s = strings.TrimPrefix(rest, ", ")
	}
	return opts, nil
}

// FuzzChangeSource: whatever the text values, the statement parses back
// into exactly the options given, with the values given.
func FuzzChangeSource(f *testing.F) {
	f.Add("db1", "repl", "pw", "mysql-bin.000001", uint64(4), uint8(0))
	f.Add("h', MASTER_HOST = 'evil", `\`, `'; DROP`, "b'x", uint64(3), uint8(1))
	f.Add("🔑", "", "a\x1a\\'", "", uint64(0), uint8(2))
	f.Fuzz(func(t *testing.T, host, user, pw, file string, pos uint64, which uint8) {
		fl := []Flavor{MustParse("5.7.44"), MustParse("8.4.0"), MustParse("10.11.6-MariaDB")}[which%3]
		opts := ChangeSourceOptions{Host: host, User: user, Password: pw, File: file, Pos: pos}
		stmt, err := fl.ChangeSource(opts)
		if err != nil {
			return
		}
		head, p := "CHANGE MASTER TO ", "MASTER_"
		if fl.sourceOptions() {
			head, p = "CHANGE REPLICATION SOURCE TO ", "SOURCE_"
		}
		body, ok := strings.CutPrefix(stmt, head)
		if !ok {
			t.Fatalf("%s: no %q", stmt, head)
		}
		got, err := parseOptions(body)
		if err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		want := map[string]string{}
		if host != "" {
			want[p+"HOST"] = host
		}
		if user != "" {
			want[p+"USER"] = user
		}
		if user != "" || pw != "" {
			want[p+"PASSWORD"] = pw
		}
		if file != "" {
			want[p+"LOG_FILE"], want[p+"LOG_POS"] = file, fmt.Sprint(pos)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: %s = %q, want %q", stmt, k, got[k], v)
			}
			delete(got, k)
		}
		for k := range got {
			if !strings.HasSuffix(k, "AUTO_POSITION") && k != "MASTER_USE_GTID" {
				t.Fatalf("%s: unexpected option %s", stmt, k)
			}
		}
	})
}

// FuzzStartReplicaUntil: an accepted GTID set ends up as one literal that
// reads back as the set without its whitespace.
func FuzzStartReplicaUntil(f *testing.F) {
	f.Add("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:1-2", false)
	f.Add("0-1-5, 1-2-7", true)
	f.Add("x'; START", false)
	f.Fuzz(func(t *testing.T, gtids string, maria bool) {
		fl := MustParse("8.0.23")
		if maria {
			fl = MustParse("10.11.6-MariaDB")
		}
		stmt, err := fl.StartReplicaUntil(BothThreads, UntilAfter(gtids))
		if err != nil {
			return
		}
		_, lit, ok := strings.Cut(stmt, " = ")
		if !ok {
			t.Fatalf("%s: no literal", stmt)
		}
		got, err := UnquoteString(lit)
		want := strings.NewReplacer(" ", "", "\t", "", "\n", "", "\r", "").Replace(gtids)
		if err != nil || got != want {
			t.Fatalf("%s: literal reads %q, %v; want %q", stmt, got, err, want)
		}
	})
}

// FuzzParseBinlogStatus: no panic, and an accepted row keeps its file.
func FuzzParseBinlogStatus(f *testing.F) {
	f.Add("mysql-bin.000001", "1168", "")
	f.Add("", "x", "u:1-5")
	f.Fuzz(func(t *testing.T, file, pos, gtids string) {
		bs, err := ParseBinlogStatus(map[string]any{"File": []byte(file), "Position": pos, "Executed_Gtid_Set": gtids})
		if err == nil && (bs.Position.File != file || bs.ExecutedGTIDs != gtids) {
			t.Fatalf("%q %q %q parsed as %+v", file, pos, gtids, bs)
		}
	})
}
