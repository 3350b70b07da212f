package sandbox

import (
	"context"
	"errors"
	"fmt"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// InstallHint says how to get a server on Debian and Ubuntu, where the
// sandbox is developed and tested.
const InstallHint = `install one with "apt-get install mariadb-server" (no service needs to run), or pass its path`

// ErrNoServerBinary means no mariadbd or mysqld could be found; its message
// carries InstallHint.
var ErrNoServerBinary = errors.New("no MariaDB server binary found")

// ErrUnsupportedServer means the binary is not a MariaDB server.
var ErrUnsupportedServer = errors.New("unsupported server")

// serverNames are looked up in this order: mysqld is a link to mariadbd on
// Debian, and the name of MySQL's server elsewhere.
var serverNames = []string{"mariadbd", "mysqld"}

// sbinDirs are searched after PATH because ordinary users on Debian do not
// have /usr/sbin on their PATH.
var sbinDirs = []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"}

// FindBinary returns the absolute path of the server to run: path itself
// when given, else the first of mariadbd, mysqld on PATH or in /usr/sbin.
// The error wraps ErrNoServerBinary and says how to install one.
func FindBinary(path string) (string, error) {
	if path != "" {
		if err := isExecutable(path); err != nil {
			return "", fmt.Errorf("sandbox: server binary %s: %w (%v); %s", path, ErrNoServerBinary, err, InstallHint)
		}
		return filepath.Abs(path)
	}
	for _, name := range serverNames {
		if p, err := exec.LookPath(name); err == nil {
			return filepath.Abs(p)
		}
	}
	for _, dir := range sbinDirs {
		for _, name := range serverNames {
			p := filepath.Join(dir, name)
			if isExecutable(p) == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("sandbox: %w (looked for %s on PATH and in %s); %s",
		ErrNoServerBinary, strings.Join(serverNames, ", "), strings.Join(sbinDirs, ", "), InstallHint)
}

func isExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("not an executable file")
	}
	return nil
}

// serverFlavor runs `binary --version` ("mariadbd  Ver 10.11.19-MariaDB-0+deb12u1
// for debian-linux-gnu on x86_64") and accepts MariaDB 10.5 or later: the
// option file and the CHANGE MASTER ... MASTER_USE_GTID the sandbox writes
// are MariaDB's, and BINLOG MONITOR / REPLICATION SLAVE ADMIN exist from 10.5.
func serverFlavor(ctx context.Context, binary string) (flavor.Flavor, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--no-defaults", "--version").CombinedOutput()
	if err != nil {
		return flavor.Flavor{}, fmt.Errorf("sandbox: %s --version: %w: %s", binary, err, machine.LastLines(string(out), 3))
	}
	f, err := flavor.Parse(versionField(string(out)))
	if err != nil {
		return f, fmt.Errorf("sandbox: %s --version: %w", binary, err)
	}
	if f.Kind != flavor.MariaDB || f.Major < 10 || (f.Major == 10 && f.Minor < 5) {
		return f, fmt.Errorf("sandbox: %s is %s %d.%d: %w; the sandbox runs MariaDB 10.5 or later only for now (MySQL is not supported yet); %s",
			binary, f.Kind, f.Major, f.Minor, ErrUnsupportedServer, InstallHint)
	}
	return f, nil
}

// versionField picks the word after "Ver" in the --version line.
func versionField(out string) string {
	fields := strings.Fields(out)
	for i, w := range fields {
		if w == "Ver" && i+1 < len(fields) {
			return fields[i+1]
		}
	}
	return strings.TrimSpace(out)
}

// installDB finds mariadb-install-db for binary: next to it (tarballs keep
// it in bin/ or scripts/ beside the server), then on PATH. Debian puts the
// server in /usr/sbin and the script in /usr/bin.
func installDB(binary string) (string, error) {
	names := []string{"mariadb-install-db", "mysql_install_db"}
	base := filepath.Dir(filepath.Dir(binary))
	for _, dir := range []string{filepath.Dir(binary), filepath.Join(base, "bin"), filepath.Join(base, "scripts")} {
		for _, name := range names {
			p := filepath.Join(dir, name)
			if isExecutable(p) == nil {
				return p, nil
			}
		}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("sandbox: mariadb-install-db not found next to %s nor on PATH; %s", binary, InstallHint)
}
