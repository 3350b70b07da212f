package bindings

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// secret is the value of env "X", file "path" and prompt "question" inside a deployment
// file. It is a userdata whose tostring is "******", so even a deployment
// that prints its own table leaks nothing.
type secret struct{ value server.Secret }

var (
	deploymentKeys = optSpec{"user": optTable, "repl_user": optTable, "servers": optTable,
		"tls": optStringOrTable, "repl_tls": optTable, "connect_timeout": optDuration, "replication": optTable,
		"proxies": optTable, "cluster": optString, "coordinator": optTable}
	coordinatorKeys = optSpec{"etcd": optTable}
	etcdKeys        = optSpec{"endpoints": optTable, "tls": optTable, "prefix": optString, "ttl": optDuration}
	etcdTLSKeys     = optSpec{"ca": optString, "cert": optString, "key": optString}
	proxyKeys       = optSpec{"kind": optString, "socket": optString, "backend": optString, "servers": optTable}
	replicationKeys = optSpec{"connect_retry": optDuration, "heartbeat": optDuration}
	replTLSKeys     = optSpec{"ca": optString}
	userKeys        = optSpec{"name": optString, "password": optAny}
	serverKeys      = optSpec{"host": optString, "port": optInt, "socket": optString,
		"replication_host": optString, "replication_port": optInt,
		"promotion": optString, "tls": optStringOrTable, "user": optTable,
		"machine": optTable, "option_file": optString, "role": optStringOrTable, "server_id": optInt}
	roleKeys = optSpec{"kind": optString, "master": optString}
)

// Ask asks the operator for a secret on the terminal, without echo. nil
// means there is no terminal to ask on.
type Ask func(question string) (string, error)

// LoadDeployment runs a deployment file in a fresh interpreter that has
// the helpers env, file and prompt, and reads the table it returns. Errors
// name the file, and the server and key where the shape is wrong. prompt
// "question" asks through ask, once per distinct question.
func LoadDeployment(ctx context.Context, path string, ask Ask) (*deploy.Deployment, error) {
	L := lua.NewState()
	defer L.Close()
	L.SetContext(ctx)
	secretMeta := L.NewTable()
	secretMeta.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("******"))
		return 1
	}))
	newSecret := func(L *lua.LState, v string) int {
		ud := L.NewUserData()
		ud.Value = secret{server.Secret(v)}
		L.SetMetatable(ud, secretMeta)
		L.Push(ud)
		return 1
	}
	L.SetGlobal("env", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		v, ok := os.LookupEnv(name)
		if !ok {
			L.RaiseError("env %q: the variable is not set", name)
		}
		return newSecret(L, v)
	}))
	dir := filepath.Dir(path)
	L.SetGlobal("file", L.NewFunction(func(L *lua.LState) int {
		p := L.CheckString(1)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			// The error names the path only; the content never appears.
			L.RaiseError("file %q: %v", p, errors.Unwrap(err))
		}
		return newSecret(L, strings.TrimRight(string(b), "\r\n"))
	}))
	asked := map[string]string{}
	L.SetGlobal("prompt", L.NewFunction(func(L *lua.LState) int {
		q := L.CheckString(1)
		if v, ok := asked[q]; ok {
			return newSecret(L, v)
		}
		if ask == nil {
			L.RaiseError("prompt %q: no terminal to ask on (give this secret with env or file)", q)
		}
		v, err := ask(q)
		if err != nil {
			L.RaiseError("prompt %q: %v", q, err)
		}
		asked[q] = v
		return newSecret(L, v)
	}))
	if err := L.DoFile(path); err != nil {
		var apiErr *lua.ApiError
		if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorFile {
			return nil, fmt.Errorf("deployment %s: cannot read it: %v", path, apiErr.Cause)
		}
		if errors.As(err, &apiErr) {
			// The message only: the traceback of a deployment file (an
			// env or file secret that is missing) is noise to the operator.
			return nil, fmt.Errorf("deployment %s", apiErr.Object.String())
		}
		return nil, fmt.Errorf("deployment %v", err)
	}
	t, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("deployment %s: must return a table, returned %s", path, L.Get(-1).Type())
	}
	d, err := decodeDeployment(t, path)
	if err != nil {
		var uk *unknownKeyError
		if src, rerr := os.ReadFile(path); rerr == nil && errors.As(err, &uk) {
			if line := keyLine(string(src), uk.Key, uk.Within); line > 0 {
				return nil, fmt.Errorf("deployment %s:%d: %w", path, line, err)
			}
		}
		return nil, fmt.Errorf("deployment %s: %w", path, err)
	}
	return d, d.Validate()
}

func decodeDeployment(t *lua.LTable, path string) (*deploy.Deployment, error) {
	if err := validateOptions(t, deploymentKeys); err != nil {
		return nil, err
	}
	o := options{t: t}
	d := &deploy.Deployment{Path: path, Servers: map[string]deploy.Server{}}
	var err error
	if d.User, err = decodeUser(o.value("user"), "user"); err != nil {
		return nil, err
	}
	if d.ReplUser, err = decodeUser(o.value("repl_user"), "repl_user"); err != nil {
		return nil, err
	}
	if o.has("tls") {
		if d.TLS, err = decodeTLS(o.value("tls")); err != nil {
			return nil, err
		}
	}
	if o.has("repl_tls") {
		if d.ReplCA, err = decodeReplTLS(o.value("repl_tls").(*lua.LTable)); err != nil {
			return nil, err
		}
	}
	d.ConnectTimeout = o.duration("connect_timeout")
	if o.has("proxies") {
		if d.Proxies, err = decodeProxies(o.value("proxies").(*lua.LTable)); err != nil {
			return nil, err
		}
	}
	if o.has("replication") {
		r := o.value("replication").(*lua.LTable)
		if err := validateOptions(r, replicationKeys); err != nil {
			return nil, fmt.Errorf("replication: %w", err)
		}
		ro := options{t: r}
		d.ReplConnectRetry, d.ReplHeartbeat = ro.duration("connect_retry"), ro.duration("heartbeat")
		if d.ReplConnectRetry%time.Second != 0 || d.ReplConnectRetry < 0 {
			return nil, fmt.Errorf("replication: connect_retry %s: want whole seconds", d.ReplConnectRetry)
		}
		if d.ReplHeartbeat < 0 || (d.ReplHeartbeat > 0 && d.ReplHeartbeat < time.Millisecond) {
			return nil, fmt.Errorf("replication: heartbeat %s: want at least 1ms", d.ReplHeartbeat)
		}
	}
	d.Cluster = o.str("cluster")
	if o.has("coordinator") {
		if d.Coordinator, err = decodeCoordinator(o.value("coordinator").(*lua.LTable)); err != nil {
			return nil, fmt.Errorf("coordinator: %w", err)
		}
		if d.Cluster == "" {
			return nil, fmt.Errorf(`coordinator: the deployment must name its cluster (cluster = "shop"): its lock and leadership are keyed by it`)
		}
	}
	servers, _ := o.value("servers").(*lua.LTable)
	if servers == nil {
		return nil, fmt.Errorf("no servers table")
	}
	servers.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		name, isName := k.(lua.LString)
		st, isTable := v.(*lua.LTable)
		if !isName || !isTable {
			err = fmt.Errorf("servers: want name = { host = ..., port = ... }, got [%s] = %s", k, v.Type())
			return
		}
		var sv deploy.Server
		sv, err = decodeServer(string(name), st)
		d.Servers[string(name)] = sv
	})
	return d, err
}

// decodeCoordinator reads coordinator = { etcd = { endpoints = {...},
// tls = { ca =, cert =, key = }, prefix =, ttl = } }.
func decodeCoordinator(t *lua.LTable) (*deploy.Coordinator, error) {
	if err := validateOptions(t, coordinatorKeys); err != nil {
		return nil, err
	}
	et, _ := t.RawGetString("etcd").(*lua.LTable)
	if et == nil {
		return nil, errors.New("want etcd = { endpoints = { \"host:port\", ... } }")
	}
	if err := validateOptions(et, etcdKeys); err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	eo := options{t: et}
	c := &deploy.Coordinator{Prefix: eo.str("prefix"), TTL: eo.duration("ttl")}
	if eps, _ := eo.value("endpoints").(*lua.LTable); eps != nil {
		for i := 1; i <= eps.Len(); i++ {
			ep, ok := eps.RawGetInt(i).(lua.LString)
			if !ok || !strings.Contains(string(ep), ":") {
				return nil, fmt.Errorf("etcd: endpoints[%d]: want \"host:port\"", i)
			}
			c.Endpoints = append(c.Endpoints, string(ep))
		}
	}
	if len(c.Endpoints) == 0 {
		return nil, errors.New("etcd: endpoints: want at least one \"host:port\"")
	}
	if c.TTL != 0 && (c.TTL < time.Second || c.TTL%time.Second != 0) {
		return nil, fmt.Errorf("etcd: ttl %s: want whole seconds, at least 1s", c.TTL)
	}
	if tt, ok := eo.value("tls").(*lua.LTable); ok {
		if err := validateOptions(tt, etcdTLSKeys); err != nil {
			return nil, fmt.Errorf("etcd: tls: %w", err)
		}
		to := options{t: tt}
		c.CA, c.Cert, c.Key = to.str("ca"), to.str("cert"), to.str("key")
		if (c.Cert == "") != (c.Key == "") {
			return nil, errors.New("etcd: tls: cert and key go together")
		}
	}
	return c, nil
}

func decodeServer(name string, t *lua.LTable) (deploy.Server, error) {
	sv := deploy.Server{Name: name}
	if err := validateOptions(t, serverKeys); err != nil {
		var uk *unknownKeyError
		if errors.As(err, &uk) {
			uk.Within = name
		}
		return sv, fmt.Errorf("server %s: %w", name, err)
	}
	o := options{t: t}
	sv.Host, sv.Port, sv.Socket, sv.Promotion = o.str("host"), o.int("port"), o.str("socket"), o.str("promotion")
	if sv.Port == 0 && sv.Socket == "" {
		sv.Port = server.DefaultPort
	}
	sv.ReplicationHost, sv.ReplicationPort = o.str("replication_host"), o.int("replication_port")
	if sv.ReplicationPort < 0 || sv.ReplicationPort > 65535 {
		return sv, fmt.Errorf("server %s: replication_port %d is out of range", name, sv.ReplicationPort)
	}
	if o.has("tls") {
		tc, err := decodeTLS(o.value("tls"))
		if err != nil {
			return sv, fmt.Errorf("server %s: %w", name, err)
		}
		sv.TLS = tc
	}
	if o.has("user") {
		u, err := decodeUser(o.value("user"), "server "+name+": user")
		if err != nil {
			return sv, err
		}
		sv.User = &u
	}
	if o.has("machine") {
		spec, err := machine.SpecFromMap(luaToMap(o.value("machine").(*lua.LTable)))
		if err != nil {
			return sv, fmt.Errorf("server %s: %w", name, err)
		}
		sv.Machine = &spec
		sv.OptionFile = spec.DefaultsFile
	}
	if o.has("option_file") {
		sv.OptionFile = o.str("option_file")
	}
	sv.ServerID = o.int("server_id")
	return sv, decodeRole(&sv, o.value("role"))
}

// decodeProxies reads proxies = { { kind = "haproxy", socket =, backend =,
// servers = { db1 = "srv1", ... } }, ... }.
func decodeProxies(t *lua.LTable) ([]deploy.Proxy, error) {
	var out []deploy.Proxy
	for i := 1; i <= t.Len(); i++ {
		pt, ok := t.RawGetInt(i).(*lua.LTable)
		if !ok {
			return nil, fmt.Errorf("proxies[%d]: want { kind = \"haproxy\", socket =, backend =, servers = {...} }", i)
		}
		if err := validateOptions(pt, proxyKeys); err != nil {
			return nil, fmt.Errorf("proxies[%d]: %w", i, err)
		}
		o := options{t: pt}
		p := deploy.Proxy{Kind: o.str("kind"), Socket: o.str("socket"), Backend: o.str("backend"), Servers: map[string]string{}}
		switch {
		case p.Kind != "haproxy":
			return nil, fmt.Errorf("proxies[%d]: kind %q: the one kind is haproxy", i, p.Kind)
		case p.Socket == "" || p.Backend == "":
			return nil, fmt.Errorf("proxies[%d]: socket and backend are required", i)
		}
		if st, ok := o.value("servers").(*lua.LTable); ok {
			var bad error
			st.ForEach(func(k, v lua.LValue) {
				ks, kok := k.(lua.LString)
				vs, vok := v.(lua.LString)
				if !kok || !vok {
					bad = fmt.Errorf("proxies[%d]: servers: want db1 = \"name in the backend\", got [%s] = %s", i, k, v.Type())
					return
				}
				p.Servers[string(ks)] = string(vs)
			})
			if bad != nil {
				return nil, bad
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// decodeRole reads role = "master" or role = { kind = "final", master = "db1" }.
func decodeRole(sv *deploy.Server, v lua.LValue) error {
	switch r := v.(type) {
	case *lua.LNilType:
		return nil
	case lua.LString:
		sv.Role = string(r)
	case *lua.LTable:
		if err := validateOptions(r, roleKeys); err != nil {
			return fmt.Errorf("server %s: role: %w", sv.Name, err)
		}
		o := options{t: r}
		sv.Role, sv.RoleSource = o.str("kind"), o.str("master")
	}
	switch sv.Role {
	case "master", "vagabond":
	case "final", "relay":
		if sv.RoleSource == "" {
			return fmt.Errorf("server %s: role %s needs its master: role = { kind = %q, master = \"db1\" }", sv.Name, sv.Role, sv.Role)
		}
	default:
		return fmt.Errorf("server %s: role %q: want master, final, relay or vagabond", sv.Name, sv.Role)
	}
	return nil
}

// luaToMap turns a plain Lua table into Go values for machine.SpecFromMap:
// strings, numbers, booleans and lists of strings.
func luaToMap(t *lua.LTable) map[string]any {
	m := map[string]any{}
	t.ForEach(func(k, v lua.LValue) {
		m[k.String()] = luaToGo(v)
	})
	return m
}

func luaToGo(v lua.LValue) any {
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		if float64(x) == float64(int64(x)) {
			return int64(x)
		}
		return float64(x)
	case lua.LBool:
		return bool(x)
	case *lua.LTable:
		var list []any
		x.ForEach(func(_, item lua.LValue) { list = append(list, luaToGo(item)) })
		return list
	}
	return v.String()
}

func decodeUser(v lua.LValue, what string) (deploy.Credentials, error) {
	var c deploy.Credentials
	t, ok := v.(*lua.LTable)
	if !ok {
		return c, nil // absent: checked by Validate where it matters
	}
	if err := validateOptions(t, userKeys); err != nil {
		return c, fmt.Errorf("%s: %w", what, err)
	}
	o := options{t: t}
	c.Name = o.str("name")
	switch p := o.value("password").(type) {
	case *lua.LNilType:
	case lua.LString:
		c.Password = server.Secret(p)
	case *lua.LUserData:
		s, ok := p.Value.(secret)
		if !ok {
			return c, fmt.Errorf("%s: password: want a string, env \"NAME\" or file \"path\"", what)
		}
		c.Password = s.value
	default:
		return c, fmt.Errorf("%s: password: want a string, env \"NAME\" or file \"path\", got %s", what, p.Type())
	}
	return c, nil
}

// decodeReplTLS reads repl_tls = { ca = "/etc/mysql/ca.pem" }: the CA
// file replicas verify their source's certificate against. Each replica
// server reads it on its own host, so the path must be absolute.
func decodeReplTLS(t *lua.LTable) (string, error) {
	if err := validateOptions(t, replTLSKeys); err != nil {
		return "", fmt.Errorf("repl_tls: %w", err)
	}
	ca := options{t: t}.str("ca")
	if ca == "" {
		return "", fmt.Errorf("repl_tls: ca is required (the CA file replicas verify their source against)")
	}
	if !filepath.IsAbs(ca) {
		return "", fmt.Errorf("repl_tls: ca %q must be an absolute path: each replica server reads it on its own host", ca)
	}
	return ca, nil
}
