package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/machine/sshdtest"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// sshDeployment is the sandbox's deployment with every server's machine
// reached over ssh through d (the same mariadbd, option file and binary:
// the remote host is this one). Each command ssh runs there is appended
// to the returned log first: the key's forced command writes
// $SSH_ORIGINAL_COMMAND, then runs it as the login shell would.
func sshDeployment(t *testing.T, sb *sandbox.Sandbox, d *sshdtest.SSHD) (deployment, commands string) {
	t.Helper()
	commands = filepath.Join(d.Dir, "commands.log")
	pub, err := os.ReadFile(d.ClientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	forced := fmt.Sprintf(`command="printf '%%s\n' \"$SSH_ORIGINAL_COMMAND\" >> %s; exec sh -c \"$SSH_ORIGINAL_COMMAND\"" `, commands)
	if err := os.WriteFile(filepath.Join(d.Dir, "authorized_keys"), []byte(forced+string(pub)), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(sb.DeploymentPath)
	if err != nil {
		t.Fatal(err)
	}
	var opts []string
	for _, o := range d.Options() {
		opts = append(opts, strconv.Quote(o))
	}
	ssh := fmt.Sprintf("machine = { ssh = %q, port = %d, identity = %q, ssh_config = \"/dev/null\", ssh_options = { %s }, ",
		d.Destination(), d.Port, d.ClientKey, strings.Join(opts, ", "))
	text := string(src)
	if n := strings.Count(text, "machine = { "); n != len(sb.Instances) {
		t.Fatalf("the sandbox's deployment has %d machines for %d servers:\n%s", n, len(sb.Instances), text)
	}
	deployment = filepath.Join(t.TempDir(), "ssh-deployment.lua")
	if err := os.WriteFile(deployment, []byte(strings.ReplaceAll(text, "machine = { ", ssh)), 0o600); err != nil {
		t.Fatal(err)
	}
	return deployment, commands
}

// A primary SIGSTOPped whose machine is reached over ssh: watch judges
// it hung and fences it through its machine, so the kill runs over ssh
// (the loopback sshd's forced command logs it) and reaches the stopped
// process; watch then sees it gone and fails over. The old process is
// gone (or a zombie waiting for the sandbox to reap it), a replica is
// the primary, the other replicates from it, and db1 does not answer.
func TestWatchFencesAHungPrimaryOverSSH(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	d := sshdtest.Start(t)
	deployment, commands := sshDeployment(t, sb, d)
	// The machines are reachable before anything fails (db1's option
	// file read over ssh): a wrong option here would otherwise show as a
	// refused fence.
	check := run(t, "", nil, "-d", deployment, "-e", `rep.server("db1"):config(); return "read"`)
	if check.code != 0 || !strings.Contains(check.stdout, "read") {
		t.Fatalf("db1's machine over ssh: %+v", check)
	}
	w := startWatchOn(t, deployment)
	pid := sb.Primary().Pid
	before, _ := os.ReadFile(commands)
	stopped := time.Now()
	signalPid(t, pid, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	// Each command over ssh is a connection of its own (a handshake, a
	// login shell): the fence and the playbook's option file writes take
	// several seconds on a loaded machine, beyond waitFor's 10 s.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if st := w.status(); st.Last != nil && st.Last.Outcome != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no failover 60 s after the SIGSTOP")
		}
	}
	t.Logf("SIGSTOP → failover %s: %s (its fence and playbook over ssh)", w.status().Last.Outcome, time.Since(stopped).Round(time.Millisecond))
	st := w.status()
	if st.Last.Outcome != "done" || st.Last.Verdict.Kind != "hung_primary" || st.Last.Verdict.Server != "db1" ||
		!st.Last.Fenced || w.count("fencing hung db1") != 1 {
		t.Fatalf("status: %+v %+v", st, st.Last)
	}
	after, _ := os.ReadFile(commands)
	sent := strings.TrimPrefix(string(after), string(before))
	if !strings.Contains(sent, "kill -s KILL "+strconv.Itoa(pid)) && !strings.Contains(sent, "kill -s TERM "+strconv.Itoa(pid)) {
		t.Errorf("no kill of pid %d went over ssh; the commands ssh ran since the SIGSTOP:\n%s", pid, sent)
	}
	if !strings.Contains(sent, "kill -s KILL "+strconv.Itoa(pid)) {
		t.Errorf("the hung pid %d was not sent SIGKILL over ssh (SIGTERM cannot stop a stopped process); commands:\n%s", pid, sent)
	}
	t.Logf("commands run over ssh since the SIGSTOP:\n%s", sent)
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(b), ") Z ") {
		t.Errorf("db1's process %d still exists after the fence: %s", pid, b)
	}
	out := run(t, "", nil, "-d", deployment, "-e", `local t = rep.discover()
local out = {}
for _, n in ipairs(t:nodes()) do
  out[#out + 1] = n.name .. " " .. n.role .. " " .. tostring(n.reachable) .. " " .. (n.source and n.source:name() or "-")
end
return table.concat(out, ", ")`)
	got := strings.Trim(strings.TrimSpace(out.stdout), `"`)
	var want []string // db2 or db3 promoted, the other its replica
	for _, p := range [][2]string{{"db2", "db3"}, {"db3", "db2"}} {
		nodes := map[string]string{"db1": "db1 unknown false -", p[0]: p[0] + " primary true -", p[1]: p[1] + " replica true " + p[0]}
		want = append(want, nodes["db1"]+", "+nodes["db2"]+", "+nodes["db3"])
	}
	if out.code != 0 || !slices.Contains(want, got) {
		t.Errorf("topology after the failover: %q (exit %d, %s)\nwant one of %q", got, out.code, out.stderr, want)
	}
}
