package harness

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// WrongPassword gives the server a password of its own in the sandbox's
// deployment file, a wrong one: the server runs, and refuses the tool's
// login, as after a rotated secret. Undo puts back the file as it was
// before the first WrongPassword.
func (f *Injector) WrongPassword(name string) error {
	if _, ok := f.sb.Instance(name); !ok {
		return fmt.Errorf("wrong_password %s: no server %q in the sandbox %s", name, name, f.sb.Dir)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	before, err := os.ReadFile(f.sb.DeploymentPath)
	if err != nil {
		return fmt.Errorf("wrong_password %s: %w", name, err)
	}
	if err := WrongPassword(f.sb.DeploymentPath, f.sb.User.Name, name); err != nil {
		return fmt.Errorf("wrong_password %s: %w", name, err)
	}
	if f.depText != nil {
		return nil
	}
	f.depText = before
	path := f.sb.DeploymentPath
	// Appended under f.mu, which push would take again.
	f.undo = append(f.undo, undoEntry{key: "wrong_password", fault: "wrong_password", server: name,
		undo: func(context.Context) error {
			f.mu.Lock()
			text := f.depText
			f.depText = nil
			f.mu.Unlock()
			return writeFileAtomic(path, text)
		}})
	return nil
}

// WrongPassword gives server name of the deployment file at path a
// password of its own for account user, a wrong one. The file is the
// sandbox's own (`    NAME = { host = "127.0.0.1", `): an entry it
// cannot find is an error. The wrong password is a fixed word, never a
// secret of the sandbox.
func WrongPassword(path, user, name string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	entry := "    " + name + " = { host = \"127.0.0.1\", "
	text := string(b)
	if !strings.Contains(text, entry) {
		return fmt.Errorf("no entry %q in %s", entry, path)
	}
	if strings.Contains(text, entry+"user = { name = ") {
		return nil // already given one
	}
	text = strings.Replace(text, entry, entry+"user = { name = "+luaString(user)+", password = \"not-the-password\" }, ", 1)
	return writeFileAtomic(path, []byte(text))
}

// luaString quotes an account name for the deployment file.
func luaString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
