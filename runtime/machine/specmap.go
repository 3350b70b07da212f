package machine

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// specFields maps each key of a machine table to the decoder of its
// field. It is the one list of keys: SpecFromMap and its error messages
// read it.
var specFields = map[string]func(*Spec, string, any) error{
	"kind":            str(func(s *Spec) *string { return &s.Kind }),
	"ssh":             str(func(s *Spec) *string { return &s.SSH }),
	"port":            port,
	"identity":        str(func(s *Spec) *string { return &s.Identity }),
	"ssh_config":      str(func(s *Spec) *string { return &s.SSHConfig }),
	"ssh_options":     strs(func(s *Spec) *[]string { return &s.SSHOptions }),
	"connect_timeout": dur(func(s *Spec) *time.Duration { return &s.ConnectTimeout }),
	"service":         str(func(s *Spec) *string { return &s.Service }),
	"defaults_file":   str(func(s *Spec) *string { return &s.DefaultsFile }),
	"binary":          str(func(s *Spec) *string { return &s.Binary }),
	"args":            strs(func(s *Spec) *[]string { return &s.Args }),
	"pid_file":        str(func(s *Spec) *string { return &s.PidFile }),
	"error_log":       str(func(s *Spec) *string { return &s.ErrorLog }),
	"console_log":     str(func(s *Spec) *string { return &s.ConsoleLog }),
	"start_timeout":   dur(func(s *Spec) *time.Duration { return &s.StartTimeout }),
	"stop_timeout":    dur(func(s *Spec) *time.Duration { return &s.StopTimeout }),
}

// SpecKeys lists the keys of a machine table, sorted.
func SpecKeys() []string {
	keys := make([]string, 0, len(specFields))
	for k := range specFields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SpecFromMap decodes a machine table (as the deployment file's reader
// hands it over: strings, numbers, lists as []any or []string) strictly:
// an unknown key or a value of the wrong type is an error naming the key.
// Durations are "30s"-style strings or seconds. The result is validated.
func SpecFromMap(m map[string]any) (Spec, error) {
	var s Spec
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same error first, every time
	for _, k := range keys {
		decode, ok := specFields[k]
		if !ok {
			return Spec{}, fmt.Errorf("machine: unknown key %q (known keys: %s)", k, strings.Join(SpecKeys(), ", "))
		}
		if err := decode(&s, k, m[k]); err != nil {
			return Spec{}, fmt.Errorf("machine: key %q: %w", k, err)
		}
	}
	return s, s.Validate()
}

func str(field func(*Spec) *string) func(*Spec, string, any) error {
	return func(s *Spec, _ string, v any) error {
		x, ok := v.(string)
		if !ok {
			return wrongType("a string", v)
		}
		if x == "" {
			return fmt.Errorf("empty string")
		}
		*field(s) = x
		return nil
	}
}

func strs(field func(*Spec) *[]string) func(*Spec, string, any) error {
	return func(s *Spec, _ string, v any) error {
		var out []string
		switch x := v.(type) {
		case []string:
			out = slices.Clone(x)
		case []any:
			for i, e := range x {
				es, ok := e.(string)
				if !ok {
					return fmt.Errorf("item %d: %w", i+1, wrongType("a string", e))
				}
				out = append(out, es)
			}
		default:
			return wrongType("a list of strings", v)
		}
		*field(s) = out
		return nil
	}
}

func port(s *Spec, _ string, v any) error {
	n, ok := integer(v)
	if !ok {
		return wrongType("an integer", v)
	}
	if n < 1 || n > 65535 {
		return fmt.Errorf("%d: want 1-65535", n)
	}
	s.Port = int(n)
	return nil
}

func dur(field func(*Spec) *time.Duration) func(*Spec, string, any) error {
	return func(s *Spec, _ string, v any) error {
		var d time.Duration
		switch x := v.(type) {
		case string:
			var err error
			if d, err = time.ParseDuration(x); err != nil {
				return fmt.Errorf("%q: want a duration such as \"30s\" or seconds", x)
			}
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) || x > math.MaxInt64/float64(time.Second) {
				return fmt.Errorf("%v: not a duration", x)
			}
			d = time.Duration(x * float64(time.Second))
		default:
			n, ok := integer(v)
			if !ok {
				return wrongType(`a duration ("30s" or seconds)`, v)
			}
			d = time.Duration(n) * time.Second
		}
		if d <= 0 {
			return fmt.Errorf("%s: want a positive duration", d)
		}
		*field(s) = d
		return nil
	}
}

// integer accepts the integer types and an integral float64 (a Lua number).
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

func wrongType(want string, v any) error {
	return fmt.Errorf("want %s, got %T %v", want, v, v)
}
