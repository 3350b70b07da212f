package flavor

import (
	"fmt"
	"regexp"
)

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SetVariable returns the statement that sets global variable name to the
// value of one placeholder. With persist, the value also survives a
// restart: SET PERSIST on MySQL 8.0+. MariaDB and MySQL 5.7 have no SET
// PERSIST; there the option file is the only lasting place, so persist is
// an error that says so rather than a change that quietly reverts at the
// next restart.
func (f Flavor) SetVariable(name string, persist bool) (string, error) {
	if !variableName.MatchString(name) {
		return "", fmt.Errorf("set variable: %q is not a variable name", name)
	}
	if !persist {
		return "SET GLOBAL " + name + " = ?", nil
	}
	if f.IsMariaDB() || !f.AtLeast(8, 0, 0) {
		return "", fmt.Errorf("set variable %s: %s has no SET PERSIST; set it in the option file too", name, f)
	}
	return "SET PERSIST " + name + " = ?", nil
}
