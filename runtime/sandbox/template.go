package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// innodbSizes keep a server at ≈90 MiB RSS; the template and every
// instance must agree on the log file size.
var innodbSizes = []string{"--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M"}

// PrepareTemplate initialises a fresh datadir in dir (which must not exist)
// with mariadb-install-db, for Options.Template. It holds no sandbox
// accounts: Up adds those, with the sandbox's own passwords, to its copy.
func PrepareTemplate(ctx context.Context, binary, dir string) error {
	script, err := installDB(binary)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("sandbox: datadir %s already exists", dir)
	}
	// Its own tmpdir: parallel initialisations sharing /tmp failed 5 times
	// in 17 with "Could not remove temporary table '/tmp/#sql…'".
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".install-tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{
		"--no-defaults",
		"--basedir=" + filepath.Dir(filepath.Dir(binary)),
		"--datadir=" + dir,
		// Without "normal", root exists only for unix_socket and the
		// bootstrap over the socket would depend on the OS user's name.
		"--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve",
		"--tmpdir=" + tmp,
	}
	args = append(args, innodbSizes...)
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	out, err := exec.CommandContext(ctx, script, args...).CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("sandbox: %s --datadir=%s: %w\n%s", script, dir, err, machine.LastLines(string(out), 10))
	}
	return nil
}

// accountsSQL is run by mariadbd --bootstrap on the seed datadir. install-db
// leaves anonymous accounts (empty user name) at localhost and at the host
// name, which shadow user@'%' for logins over 127.0.0.1, and
// root@127.0.0.1/::1/hostname without a password: only root@localhost (the
// unix socket, in a 0700 directory) stays. The datadir has no binary log yet, so none of this replicates.
const accountsSQL = `DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host<>'localhost');
DELETE FROM mysql.proxies_priv WHERE User='' OR (User='root' AND Host<>'localhost');
FLUSH PRIVILEGES;
CREATE USER '%[1]s'@'%%' IDENTIFIED BY '%[2]s';
GRANT ALL PRIVILEGES ON *.* TO '%[1]s'@'%%' WITH GRANT OPTION;
CREATE USER '%[3]s'@'%%' IDENTIFIED BY '%[4]s';
GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR ON *.* TO '%[3]s'@'%%';
CREATE USER '%[5]s'@'%%' IDENTIFIED BY '%[6]s';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER ON *.* TO '%[5]s'@'%%';
`

// addAccounts creates the sandbox's accounts in datadir with
// `mariadbd --bootstrap` (≈0.25 s, against ≈0.6 s to start a server,
// connect and shut it down). The passwords go through stdin, never the command line; its
// output is redacted because a syntax error would quote the statement.
func addAccounts(ctx context.Context, binary, datadir, tmpdir string, s *Sandbox) error {
	var secrets []string
	var args []any
	for _, c := range []Credential{s.User, s.ReplUser, s.AppUser} {
		pw, err := c.Password()
		if err != nil {
			return err
		}
		secrets = append(secrets, pw)
		args = append(args, c.Name, sqlEscape(pw))
	}
	cmdArgs := []string{"--no-defaults", "--bootstrap", "--datadir=" + datadir, "--tmpdir=" + tmpdir, "--log-warnings=0"}
	cmdArgs = append(cmdArgs, innodbSizes...)
	if os.Geteuid() == 0 {
		cmdArgs = append(cmdArgs, "--user=root")
	}
	cmd := exec.CommandContext(ctx, binary, cmdArgs...)
	cmd.Stdin = strings.NewReader(fmt.Sprintf(accountsSQL, args...))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("sandbox: creating accounts with %s --bootstrap: %w\n%s",
			binary, err, redact(machine.LastLines(string(out), 5), secrets...))
	}
	return nil
}

// newPassword returns 24 characters of [A-Za-z0-9_-]: nothing an SQL
// literal, an option file or a shell would need to quote.
func newPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// writeSecrets generates a password per account into dir/secrets/NAME.pw,
// readable by the owner only.
func writeSecrets(dir string, creds ...*Credential) error {
	sdir := filepath.Join(dir, secretsDir)
	if err := os.MkdirAll(sdir, 0o700); err != nil {
		return err
	}
	for _, c := range creds {
		pw, err := newPassword()
		if err != nil {
			return err
		}
		c.PasswordFile = filepath.Join(sdir, c.Name+".pw")
		if err := os.WriteFile(c.PasswordFile, []byte(pw+"\n"), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// sqlEscape makes s safe inside a single-quoted SQL literal.
func sqlEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// redact hides every secret in text.
func redact(text string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "******")
		}
	}
	return text
}

// copyDir copies a datadir with `cp -a` (0.04–0.2 s for 26 MB here):
// modes and ownership must survive, and a stopped datadir is all it is
// ever given (copying a running one would be inconsistent).
func copyDir(ctx context.Context, src, dst string) error {
	out, err := exec.CommandContext(ctx, "cp", "-a", "--", src, dst).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sandbox: cp -a %s %s: %w: %s", src, dst, err, strings.TrimSpace(string(out)))
	}
	return nil
}
