package flavor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// GTIDMode is how a replica positions itself on its source.
type GTIDMode int

const (
	// GTIDUnchanged leaves the server's setting as it is, except that a
	// File:Pos implies GTIDOff and DemoteToReplica implies GTIDAutoPosition.
	GTIDUnchanged GTIDMode = iota
	// GTIDOff replicates from File:Pos (MySQL SOURCE_AUTO_POSITION = 0,
	// MariaDB MASTER_USE_GTID = no).
	GTIDOff
	// GTIDAutoPosition lets the replica ask the source for what it has not
	// applied yet: MySQL SOURCE_AUTO_POSITION = 1; MariaDB MASTER_USE_GTID =
	// slave_pos, which resumes from gtid_slave_pos.
	GTIDAutoPosition
	// GTIDCurrentPos is MariaDB's MASTER_USE_GTID = current_pos, which also
	// counts this server's own binlog; deprecated from 10.10 in favour of
	// DemoteToReplica (MDEV-20122). An error on MySQL.
	GTIDCurrentPos
)

// SSLMode turns encryption of the replication connection on or off.
type SSLMode int

const (
	SSLUnchanged SSLMode = iota
	SSLOff
	SSLOn
)

// ChangeSourceOptions is what ChangeSource writes. The statement changes
// only what is set; a zero field keeps the server's current value.
type ChangeSourceOptions struct {
	Host string
	Port int // 1-65535; 0 keeps the port
	User string
	// Password is written when it is not empty or when User is set, so that
	// setting a user without a password sets an empty one.
	Password string

	// File and Pos are the source binlog coordinates to start from; both or
	// neither. They conflict with GTIDAutoPosition, GTIDCurrentPos and
	// DemoteToReplica.
	File string
	Pos  uint64
	GTID GTIDMode
	// DemoteToReplica adds MASTER_DEMOTE_TO_SLAVE = 1 (MariaDB 10.10+; an
	// error elsewhere): the old primary's own binlogged GTIDs join
	// gtid_slave_pos so that it can follow the new primary with slave_pos.
	DemoteToReplica bool

	ConnectRetry time.Duration // whole seconds between reconnects; 0 keeps it
	// Heartbeat is the heartbeat period, to the millisecond. 0 leaves it out
	// of the statement, which does not keep it: on MariaDB 10.11 any CHANGE
	// MASTER without MASTER_HEARTBEAT_PERIOD put 2.5s back to the default
	// 30s (slave_net_timeout/2; measured), so give it on every change.
	Heartbeat time.Duration
	SSL       SSLMode
	SSLCA     string // CA file to verify the source's certificate
	// SSLVerifyServerCert checks the source's certificate against its
	// host name, and makes TLS mandatory: on MariaDB 10.11, MASTER_SSL = 1
	// with a CA checks the chain of a certificate the source presents, but
	// replicates in plain text from a source without TLS; with
	// MASTER_SSL_VERIFY_SERVER_CERT = 1 the receiver refuses ("SSL is
	// required, but the server does not support it"). Both measured.
	SSLVerifyServerCert SSLMode
	Delay               *time.Duration // applier delay in whole seconds; nil keeps it

	// GetSourcePublicKey asks the source for its RSA public key (GET_SOURCE_
	// or GET_MASTER_PUBLIC_KEY = 1), and SourcePublicKeyPath names a copy of
	// it on the replica's host (SOURCE_ or MASTER_PUBLIC_KEY_PATH). Without
	// TLS, an account of MySQL 8's default caching_sha2_password cannot log
	// in without one of them (see NeedsSourcePublicKey). A fetched key is
	// not authenticated, so the path is the safer of the two. MySQL 8.0.4+
	// only; at most one of them.
	GetSourcePublicKey  bool
	SourcePublicKeyPath string
}

// ChangeSource returns CHANGE MASTER TO (MySQL before 8.0.23, MariaDB) or
// CHANGE REPLICATION SOURCE TO (MySQL 8.0.23+) for opts. The replica
// threads must be stopped. The statement contains the password: log it
// through Redact. Errors name options, never their values.
//
// Values are quoted with QuoteString, because CHANGE MASTER accepts no
// placeholders; run it on a session without NO_BACKSLASH_ESCAPES.
func (f Flavor) ChangeSource(opts ChangeSourceOptions) (string, error) {
	if err := f.checkChangeSource(opts); err != nil {
		return "", fmt.Errorf("change source: %w", err)
	}
	p := "MASTER_"
	head := "CHANGE MASTER TO "
	if f.sourceOptions() {
		p = "SOURCE_"
		head = "CHANGE REPLICATION SOURCE TO "
	}
	var o []string
	add := func(name, value string) { o = append(o, p+name+" = "+value) }
	if opts.Host != "" {
		add("HOST", QuoteString(opts.Host))
	}
	if opts.Port != 0 {
		add("PORT", strconv.Itoa(opts.Port))
	}
	if opts.User != "" {
		add("USER", QuoteString(opts.User))
	}
	if opts.User != "" || opts.Password != "" {
		add("PASSWORD", QuoteString(opts.Password))
	}
	if opts.File != "" {
		add("LOG_FILE", QuoteString(opts.File))
		add("LOG_POS", strconv.FormatUint(opts.Pos, 10))
	}
	if clause := f.gtidClause(opts); clause != "" {
		o = append(o, clause)
	}
	if opts.DemoteToReplica {
		o = append(o, "MASTER_DEMOTE_TO_SLAVE = 1")
	}
	if opts.ConnectRetry != 0 {
		add("CONNECT_RETRY", strconv.FormatInt(int64(opts.ConnectRetry/time.Second), 10))
	}
	if opts.Heartbeat != 0 {
		add("HEARTBEAT_PERIOD", strconv.FormatFloat(opts.Heartbeat.Seconds(), 'f', -1, 64))
	}
	switch opts.SSL {
	case SSLOff:
		add("SSL", "0")
	case SSLOn:
		add("SSL", "1")
	}
	if opts.SSLCA != "" {
		add("SSL_CA", QuoteString(opts.SSLCA))
	}
	switch opts.SSLVerifyServerCert {
	case SSLOff:
		add("SSL_VERIFY_SERVER_CERT", "0")
	case SSLOn:
		add("SSL_VERIFY_SERVER_CERT", "1")
	}
	if opts.SourcePublicKeyPath != "" {
		add("PUBLIC_KEY_PATH", QuoteString(opts.SourcePublicKeyPath))
	}
	if opts.GetSourcePublicKey {
		o = append(o, "GET_"+p+"PUBLIC_KEY = 1")
	}
	if opts.Delay != nil {
		add("DELAY", strconv.FormatInt(int64(*opts.Delay/time.Second), 10))
	}
	if len(o) == 0 {
		return "", fmt.Errorf("change source: no option set")
	}
	return head + strings.Join(o, ", "), nil
}

// gtidClause writes the positioning mode. A File:Pos with GTIDUnchanged
// says GTIDOff out loud: MariaDB 10.11 otherwise keeps Using_Gtid=Slave_Pos
// and ignores the coordinates ("Note 1618 <MASTER_LOG_FILE> option ignored"
// when both are given; measured), and MySQL refuses coordinates while
// SOURCE_AUTO_POSITION is 1. DemoteToReplica says slave_pos out loud:
// "ERROR 4191 ... option 'MASTER_DEMOTE_TO_SLAVE=TRUE' is missing
// requirement Using_Gtid=Slave_Pos" otherwise (10.11, measured).
func (f Flavor) gtidClause(opts ChangeSourceOptions) string {
	mode := opts.GTID
	switch {
	case mode == GTIDUnchanged && opts.File != "":
		mode = GTIDOff
	case mode == GTIDUnchanged && opts.DemoteToReplica:
		mode = GTIDAutoPosition
	}
	if f.IsMariaDB() {
		switch mode {
		case GTIDOff:
			return "MASTER_USE_GTID = no"
		case GTIDAutoPosition:
			return "MASTER_USE_GTID = slave_pos"
		case GTIDCurrentPos:
			return "MASTER_USE_GTID = current_pos"
		}
		return ""
	}
	p := "MASTER_"
	if f.sourceOptions() {
		p = "SOURCE_"
	}
	switch mode {
	case GTIDOff:
		return p + "AUTO_POSITION = 0"
	case GTIDAutoPosition:
		return p + "AUTO_POSITION = 1"
	}
	return ""
}

// checkChangeSource rejects combinations the server would refuse or, worse,
// accept with a meaning nobody asked for.
func (f Flavor) checkChangeSource(o ChangeSourceOptions) error {
	if err := checkText(o); err != nil {
		return err
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("port %d out of range 1-65535", o.Port)
	}
	if err := f.checkPositioning(o); err != nil {
		return err
	}
	if err := checkDurations(o); err != nil {
		return err
	}
	if o.SSL == SSLOff && o.SSLCA != "" {
		return fmt.Errorf("SSL CA given with SSL off")
	}
	if o.SSL == SSLOff && o.SSLVerifyServerCert == SSLOn {
		return fmt.Errorf("server certificate verification with SSL off")
	}
	if o.GetSourcePublicKey || o.SourcePublicKeyPath != "" {
		if !f.sourcePublicKey() {
			return fmt.Errorf("%s has no GET_SOURCE_PUBLIC_KEY or SOURCE_PUBLIC_KEY_PATH: "+
				"they need MySQL 8.0.4 or later", f)
		}
		if o.GetSourcePublicKey && o.SourcePublicKeyPath != "" {
			return fmt.Errorf("source public key both fetched and given as a file: choose one")
		}
	}
	if o.SSL < SSLUnchanged || o.SSL > SSLOn {
		return fmt.Errorf("unknown SSL mode %d", o.SSL)
	}
	if o.SSLVerifyServerCert < SSLUnchanged || o.SSLVerifyServerCert > SSLOn {
		return fmt.Errorf("unknown SSL server certificate verification mode %d", o.SSLVerifyServerCert)
	}
	return nil
}

func (f Flavor) checkPositioning(o ChangeSourceOptions) error {
	if o.GTID < GTIDUnchanged || o.GTID > GTIDCurrentPos {
		return fmt.Errorf("unknown GTID mode %d", o.GTID)
	}
	if o.File != "" || o.Pos != 0 {
		if err := checkBinlogFile(o.File, o.Pos); err != nil {
			return err
		}
		if o.GTID == GTIDAutoPosition || o.GTID == GTIDCurrentPos {
			return fmt.Errorf("file:pos %s:%d conflicts with GTID auto-positioning", o.File, o.Pos)
		}
		if o.DemoteToReplica {
			return fmt.Errorf("file:pos %s:%d conflicts with demote to replica, "+
				"which needs GTID positioning", o.File, o.Pos)
		}
	}
	if o.GTID == GTIDCurrentPos && !f.IsMariaDB() {
		return fmt.Errorf("%s has no MASTER_USE_GTID = current_pos (MariaDB only)", f)
	}
	if o.DemoteToReplica {
		if !f.SupportsDemoteToReplica() {
			return fmt.Errorf("%s has no MASTER_DEMOTE_TO_SLAVE: it needs MariaDB 10.10 or later", f)
		}
		if o.GTID == GTIDOff || o.GTID == GTIDCurrentPos {
			return fmt.Errorf("demote to replica needs GTID auto-positioning (slave_pos)")
		}
	}
	return nil
}

// checkText refuses NUL, newline and carriage return in quoted options:
// MariaDB keeps the connection settings in master.info, one value per line,
// where a newline would split the value at the next restart, and the
// replica hands host, user and password to the client library as C strings,
// where NUL ends them.
func checkText(o ChangeSourceOptions) error {
	for _, field := range []struct{ name, value string }{
		{"host", o.Host}, {"user", o.User}, {"password", o.Password}, {"SSL CA", o.SSLCA},
		{"source public key path", o.SourcePublicKeyPath},
	} {
		if strings.ContainsAny(field.value, "\x00\n\r") {
			return fmt.Errorf("%s contains a NUL, newline or carriage return", field.name)
		}
	}
	return nil
}

// checkDurations: CONNECT_RETRY and DELAY are whole seconds, the heartbeat
// period has millisecond resolution and a maximum of 4294967 seconds
// (refman, CHANGE REPLICATION SOURCE TO); MASTER_DELAY is at most 2^31-1
// seconds.
func checkDurations(o ChangeSourceOptions) error {
	if o.ConnectRetry < 0 || o.ConnectRetry%time.Second != 0 {
		return fmt.Errorf("connect retry %v: want whole seconds", o.ConnectRetry)
	}
	if o.Heartbeat < 0 || o.Heartbeat%time.Millisecond != 0 || o.Heartbeat > 4294967*time.Second {
		return fmt.Errorf("heartbeat %v: want 1ms to 4294967s in whole milliseconds", o.Heartbeat)
	}
	if d := o.Delay; d != nil && (*d < 0 || *d%time.Second != 0 || *d > math.MaxInt32*time.Second) {
		return fmt.Errorf("delay %v: want whole seconds from 0 to %ds", *d, math.MaxInt32)
	}
	return nil
}
