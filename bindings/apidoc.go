package bindings

import (
	"sort"
	"strings"
)

// APIEntry documents one name a script can use: a module function
// ("rep.server"), a method ("server:replica_status"), a field of a value
// ("position.file") or a topic ("errors"). This table is the one source of
// `replicant-lua doc` and of the LuaLS annotations; TestAPIDocCoversBindings
// walks the live module and metatables and fails on a function without an
// entry here, and on an entry that names nothing.
type APIEntry struct {
	Name      string // "rep.server", "server:sql", "topology:node", "gtid:union", "position.file", or a topic
	Class     string // the LuaLS class it belongs to: "replicant", "Server", ...; "" for a topic
	Signature string // how it is called, for doc
	Summary   string // one sentence, the listing's line
	Text      string // more, for doc NAME
	Params    []APIField
	Returns   []APIField
	Fields    []APIField // fields of the table it returns (or of a topic's options table)
}

// APIField is a parameter, a return value or a field; Type is a LuaLS type.
type APIField struct {
	Name, Type, Doc string
}

// APIClass is a type of value scripts handle, with the Lua metatable it
// has at run time ("" for plain tables).
type APIClass struct {
	Name, TypeName, Summary string
	Fields                  []APIField // plain fields (error objects, positions)
}

// APIClasses are the annotations' classes, in the order they print.
var APIClasses = []APIClass{
	{Name: "replicant", Summary: "The module: require \"replicant\" (also the global replicant, and rep in the REPL and -e)."},
	{Name: "replicant.log", Summary: "Timestamped lines on stderr, formatted like string.format."},
	{Name: "replicant.roles", Summary: "Roles a server can be imbued with (db:imbue)."},
	{Name: "Server", TypeName: serverTypeName, Summary: "A connection to one server: one session, kept across calls."},
	{Name: "Topology", TypeName: topologyTypeName, Summary: "A discovered replication tree with its problems and verdicts (read-only)."},
	{Name: "Config", TypeName: configTypeName, Summary: "A server's option file, comments and order kept."},
	{Name: "Gtid", TypeName: gtidTypeName, Summary: "An immutable GTID set (MySQL or MariaDB)."},
	{Name: "Position", TypeName: positionTypeName, Summary: "An immutable binary log position.", Fields: []APIField{
		{"file", "string", "binary log file name"}, {"pos", "integer", "offset in the file"}}},
	{Name: "BinlogEvents", TypeName: binlogReaderTypeName, Summary: "The state of a db:binlog_events iteration."},
	{Name: "Role", TypeName: roleTypeName, Summary: "A role made by rep.roles.*, for db:imbue."},
	{Name: "ReplicantError", TypeName: errorTypeName, Summary: "The error object every failure raises.", Fields: errorFields},
	{Name: "ReplicaStatus", Summary: "What db:replica_status() returns, in one vocabulary for both flavors.", Fields: replicaStatusFields},
	{Name: "Node", Summary: "One server of a topology (topo:node, topo:nodes).", Fields: nodeFields},
	{Name: "Deployment", Summary: "What rep.deployment() returns (no secrets).", Fields: []APIField{
		{"path", "string", "the deployment file"}, {"user", "string", "the login user"}, {"repl_user", "string", "the replication user"},
		{"servers", "table<string, DeploymentServer>", "each server by name"}, {"names", "string[]", "the names, sorted"}}},
	{Name: "DeploymentServer", Summary: "One server entry of rep.deployment().", Fields: []APIField{
		{"name", "string", ""}, {"host", "string", ""}, {"port", "integer", ""}, {"socket", "string", ""},
		{"replication_host", "string", "where replicas reach it (replication_host, else host)"},
		{"replication_port", "integer", "where replicas reach it (replication_port, else port)"},
		{"promotion", "string", "prefer, neutral or must_not"}, {"role", "string?", "the role the entry names"},
		{"role_master", "string?", "the role's source"}}},
	{Name: "Verdict", Summary: "What topo:verdict() returns.", Fields: []APIField{
		{"state", "\"alive\"|\"dead\"|\"unreachable\"|\"none\"", "a failover goes ahead only on dead"},
		{"primary", "Server?", ""}, {"name", "string?", ""}, {"reason", "string", "why"}, {"connected", "string[]", "replicas whose receiver reaches the primary"}}},
}

var errorFields = []APIField{
	{"kind", "string", "server, connection, timeout, usage, auth, no_machine, not_primary, not_replica, replication_stopped (see doc errors)"},
	{"op", "string", "the operation: sql, connect, change_source..."},
	{"server", "string", "the server, as name (address)"},
	{"code", "integer?", "the server's error number"},
	{"sqlstate", "string?", "the SQLSTATE"},
	{"message", "string", "the message"},
	{"where", "string", "the playbook's file:line"},
	{"sent", "boolean?", "false when it failed while connecting: no statement reached the server"},
}

var replicaStatusFields = []APIField{
	{"source_host", "string", ""}, {"source_port", "integer", ""}, {"source_server_id", "integer", ""},
	{"source_uuid", "string", ""}, {"source_user", "string", ""},
	{"io_running", "boolean", "the receiver runs"}, {"io_thread", "string", "Yes, No or Connecting"}, {"io_state", "string", ""},
	{"sql_running", "boolean", "the applier runs"}, {"sql_thread", "string", ""}, {"sql_state", "string", ""},
	{"last_io_errno", "integer", ""}, {"last_io_error", "string", ""}, {"last_sql_errno", "integer", ""}, {"last_sql_error", "string", ""},
	{"seconds_behind", "integer?", "nil when the server says NULL (unknown), never 0"},
	{"read_position", "Position", "how far the receiver read"}, {"executed_position", "Position", "how far the applier got"},
	{"relay_position", "Position", "the relay log position"},
	{"retrieved_gtids", "Gtid", ""}, {"executed_gtids", "Gtid", ""},
	{"using_gtid", "string", "MariaDB's Using_Gtid (No, Slave_Pos, Current_Pos)"}, {"auto_position", "boolean", "MySQL's auto-position"},
	{"ssl_allowed", "string", ""}, {"ssl_ca", "string", ""}, {"ssl_verify_server_cert", "boolean", ""},
	{"sql_delay", "integer", "the applier's delay in seconds"},
	{"connect_retry", "integer", "seconds between the receiver's reconnect attempts"},
	{"heartbeat", "number?", "the heartbeat period in seconds (MariaDB; nil on MySQL, and when heartbeats are off)"},
}

var nodeFields = []APIField{
	{"name", "string", ""}, {"server", "Server", ""}, {"source", "string?", "the source's name"},
	{"replicas", "string[]", "names of its replicas"}, {"server_id", "integer", ""},
	{"lag", "integer?", "seconds behind"}, {"delay", "integer", "configured SQL delay"},
	{"replica_status", "ReplicaStatus?", ""}, {"gtid_binlog_state", "Gtid?", "MariaDB"},
}

var durationType = "string|number"

func p(name, typ, doc string) APIField { return APIField{name, typ, doc} }

// APIEntries is the whole Lua API.
var APIEntries = []APIEntry{
	// The module.
	{Name: "rep.server", Class: "replicant", Signature: "rep.server(name_or_address, opts?) -> Server",
		Summary: "A server object for a deployment name or host:port; the same name and login return the same object.",
		Params: []APIField{p("name_or_address", "string", "\"db1\" or \"127.0.0.1:3307\""),
			p("opts", "{user?: string, password?: string, name?: string, tls?: boolean|string, connect_timeout?: "+durationType+"}?", "login for an address outside the deployment")},
		Returns: []APIField{p("", "Server", "")}},
	{Name: "rep.servers", Class: "replicant", Signature: "rep.servers(name...) -> Server[]",
		Summary: "Every server of the deployment in name order, or the ones named.",
		Params:  []APIField{p("...", "string", "names")}, Returns: []APIField{p("", "Server[]", "")}},
	{Name: "rep.deployment", Class: "replicant", Signature: "rep.deployment() -> Deployment|nil",
		Summary: "A plain description of the deployment (no secrets), or nil when the run has none.",
		Returns: []APIField{p("", "Deployment?", "")}},
	{Name: "rep.deadlines", Class: "replicant", Signature: "rep.deadlines{read=, change=, wait_grace=}",
		Summary: "Sets the deadline of every statement by kind: reads, changes, and the grace added to waits.",
		Params:  []APIField{p("opts", "{read?: "+durationType+", change?: "+durationType+", wait_grace?: "+durationType+"}", "")}},
	{Name: "rep.sleep", Class: "replicant", Signature: "rep.sleep(duration)",
		Summary: "Waits, cut short by the run's deadline or Ctrl-C.", Params: []APIField{p("duration", durationType, "\"2s\", \"500ms\" or seconds")}},
	{Name: "rep.parallel", Class: "replicant", Signature: "rep.parallel(list, fn) -> results, all_ok",
		Summary: "Calls fn(item) for every item at once, server queries running concurrently in Go; one result per item.",
		Text:    "Each result is { ok = true, value = first, values = {...} } or { ok = false, err = error }, in the list's order.",
		Params:  []APIField{p("list", "any[]", ""), p("fn", "fun(item: any): any", "")},
		Returns: []APIField{p("results", "{ok: boolean, value: any, values: any[], err: ReplicantError?}[]", "one per item"), p("all_ok", "boolean", "true when every item succeeded")}},
	{Name: "rep.position", Class: "replicant", Signature: "rep.position(file, pos) or rep.position(\"file:pos\") -> Position",
		Summary: "A binary log position value.", Params: []APIField{p("file", "string", "file, or \"file:pos\""), p("pos", "integer?", "")},
		Returns: []APIField{p("", "Position", "")}},
	{Name: "rep.gtid", Class: "replicant", Signature: "rep.gtid(text, flavor?) -> Gtid",
		Summary: "A GTID set value; flavor is \"mysql\" or \"mariadb\", guessed from the text when not given.",
		Params:  []APIField{p("text", "string", ""), p("flavor", "\"mysql\"|\"mariadb\"?", "")}, Returns: []APIField{p("", "Gtid", "")}},
	{Name: "rep.raise", Class: "replicant", Signature: "rep.raise{kind=, message=, server=, op=, level=}",
		Summary: "Raises an error object like the API's own, so your libraries fail the same way.",
		Params:  []APIField{p("err", "{kind: string, message: string, server?: string, op?: string, level?: integer}", "")}},
	{Name: "rep.to_json", Class: "replicant", Signature: "rep.to_json(value) -> string",
		Summary: "The value as one line of JSON, under the rules of --json output.",
		Params:  []APIField{p("value", "any", "")}, Returns: []APIField{p("", "string", "")}},
	{Name: "rep.step", Class: "replicant", Signature: "rep.step(name, do, undo?, {check=}?) -> do's results",
		Summary: "Runs do() now as a named step; undo runs if the procedure fails before its point of no return. " +
			"A do() that fails with a timeout or a lost connection may have taken effect: it counts as done, " +
			"unless check() returns false.",
		Params: []APIField{p("name", "string", ""), p("do", "fun(): any", ""), p("undo", "fun()?", ""),
			p("opts", "{check: fun(): boolean}?", "check reads whether the effect is in place, under a fresh deadline")},
		Returns: []APIField{p("...", "any", "")}},
	{Name: "rep.point_of_no_return", Class: "replicant", Signature: "rep.point_of_no_return(recovery?)",
		Summary: "From here on the procedure goes forward only: no undo, the recovery text is reported on failure.",
		Params:  []APIField{p("recovery", "string?", "how to finish by hand")}},
	{Name: "rep.procedure", Class: "replicant", Signature: "rep.procedure(name, fn, ...) -> fn's results",
		Summary: "Runs fn(...) as a procedure of its own, with its own steps, undo and point of no return.",
		Params:  []APIField{p("name", "string", ""), p("fn", "function", ""), p("...", "any", "")}, Returns: []APIField{p("...", "any", "")}},
	{Name: "rep.try", Class: "replicant", Signature: "rep.try(fn, ...) -> true, results... | false, err",
		Summary: "pcall for expected failures that does not swallow the run's end (deadline, Ctrl-C).",
		Params:  []APIField{p("fn", "function", ""), p("...", "any", "")}, Returns: []APIField{p("ok", "boolean", ""), p("...", "any", "results or the error")}},
	{Name: "rep.now", Class: "replicant", Signature: "rep.now() -> seconds",
		Summary: "Seconds since the run started, with microsecond precision.", Returns: []APIField{p("", "number", "")}},
	{Name: "rep.lock", Class: "replicant", Signature: "rep.lock(server...)",
		Summary: "Takes the cluster's procedure lock, held until the run ends: in etcd with a coordinator, else GET_LOCK on the deployment's servers (or those given).",
		Text: "GET_LOCK: granted by a majority of the servers (with --force-lock: by any one); each server that did not grant it is named with its reason; checked from the point of no return on. " +
			"etcd (--coordinator, or the deployment's coordinator key): one key under a lease, refused naming its holder; its lease's renewal checked before every step, etcd asked from the point of no return on; without etcd's quorum it is refused (with --force-lock the run goes on with no lock, and says so).",
		Params: []APIField{p("...", "Server", "servers; the deployment's when none")}},
	{Name: "rep.shell", Class: "replicant", Signature: "rep.shell(cmd, {timeout=}) -> output",
		Summary: "Runs an external command through sh -c; audited, recorded instead of run in a dry run.",
		Params:  []APIField{p("cmd", "string", ""), p("opts", "{timeout?: "+durationType+"}?", "")}, Returns: []APIField{p("", "string", "its stdout")}},
	{Name: "rep.unix_request", Class: "replicant", Signature: "rep.unix_request(path, text, {timeout=, read_only=, target=}) -> answer",
		Summary: "Sends text to a Unix socket (a proxy's admin socket) and returns what comes back until it closes; unless read_only, audited and recorded instead of sent in a dry run.",
		Params: []APIField{p("path", "string", "the socket"), p("text", "string", "the request; a newline is added"),
			p("opts", "{timeout?: "+durationType+", read_only?: boolean, target?: string}?", "timeout defaults to 5s; target names it in the plan and audit")},
		Returns: []APIField{p("", "string", "the answer")}},
	{Name: "rep.confirm", Class: "replicant", Signature: "rep.confirm(question) -> boolean",
		Summary: "Asks the operator on the terminal; --yes answers yes.",
		Params:  []APIField{p("question", "string", "")}, Returns: []APIField{p("", "boolean", "")}},
	{Name: "rep.dry_run", Class: "replicant", Signature: "rep.dry_run() -> boolean",
		Summary: "Whether this run is a dry run (--dry-run).", Returns: []APIField{p("", "boolean", "")}},
	{Name: "rep.duration", Class: "replicant", Signature: "rep.duration(v) -> seconds",
		Summary: "Seconds from \"2m\", \"500ms\" or a number: the one parser of every duration.",
		Params:  []APIField{p("v", durationType, "")}, Returns: []APIField{p("", "number", "")}},
	{Name: "rep.discover", Class: "replicant", Signature: "rep.discover(seed_or_list?, {lag_threshold=, timeout=, max_servers=, option_files=}) -> Topology",
		Summary: "Reads every server in parallel and builds the replication tree with its problems.",
		Params: []APIField{p("seed", "Server|string|(Server|string)[]?", "the deployment when nil"),
			p("opts", "{lag_threshold?: "+durationType+", timeout?: "+durationType+", max_servers?: integer, option_files?: boolean}?", "timeout: per server (10s); lag_threshold: lag that is a problem (60s)")},
		Returns: []APIField{p("", "Topology", "")}},
	{Name: "rep.backup", Class: "replicant", Signature: "rep.backup{server=, to=, method=\"logical\"|\"physical\", tool=} -> image",
		Summary: "Takes a backup of a server into a directory.", Params: []APIField{p("opts", "{server: Server|string, to: string, method?: \"logical\"|\"physical\", tool?: string}", "")},
		Returns: []APIField{p("", "table", "the manifest: image, method, server, address, flavor, version, tool, position, gtid, created, seconds, payload_size, sha256")}},
	{Name: "rep.restore", Class: "replicant", Signature: "rep.restore{image=, server=, stop=, start=, datadir=, tool=}",
		Summary: "Restores an image taken by rep.backup onto a server, after verifying its checksums.",
		Params:  []APIField{p("opts", "{image: string, server: Server|string, stop?: function, start?: function, datadir?: string, tool?: string}", "stop/start: how to stop and start the server around a physical restore")},
		Returns: []APIField{p("", "table", "the manifest, plus old_datadir (physical: where the previous datadir was moved)")}},
	{Name: "rep.remove_image", Class: "replicant", Signature: "rep.remove_image(dir) -> removed",
		Summary: "Deletes an image rep.backup wrote, and refuses a directory that is not one; recorded in a dry run's plan.",
		Params:  []APIField{p("dir", "string", "the image directory")},
		Returns: []APIField{p("", "boolean", "false when dir does not exist")}},
	{Name: "rep.locate_gtid", Class: "replicant", Signature: "rep.locate_gtid(server, gtid) -> {gtid=, file=, pos=, end_pos=, ...}|nil",
		Summary: "Where a GTID's transaction is in a server's binary logs, or nil.",
		Params:  []APIField{p("server", "Server", ""), p("gtid", "string|Gtid", "")}, Returns: []APIField{p("", "table?", "gtid, file, pos, end_pos, query, table")}},
	{Name: "rep.null", Class: "replicant", Signature: "rep.null", Summary: "SQL NULL in rows and variables (row.x == rep.null), never the string \"NULL\"."},
	{Name: "rep.version", Class: "replicant", Signature: "rep.version", Summary: "The tool's version, a string."},
	{Name: "rep.log.info", Class: "replicant.log", Signature: "rep.log.info(format, ...)", Summary: "Writes an info line to stderr, formatted like string.format.",
		Params: []APIField{p("format", "string", ""), p("...", "any", "")}},
	{Name: "rep.log.warn", Class: "replicant.log", Signature: "rep.log.warn(format, ...)", Summary: "Writes a warning line to stderr.",
		Params: []APIField{p("format", "string", ""), p("...", "any", "")}},
	{Name: "rep.log.error", Class: "replicant.log", Signature: "rep.log.error(format, ...)", Summary: "Writes an error line to stderr (it does not raise).",
		Params: []APIField{p("format", "string", ""), p("...", "any", "")}},
	{Name: "rep.roles.master", Class: "replicant.roles", Signature: "rep.roles.master{repl_user=, server_id=, options=} -> Role",
		Summary: "A primary: log-bin and the replication user.", Params: []APIField{p("opts", "table?", "")}, Returns: []APIField{p("", "Role", "")}},
	{Name: "rep.roles.final", Class: "replicant.roles", Signature: "rep.roles.final{master=} -> Role",
		Summary: "A replica without a binary log, replicating from master.", Params: []APIField{p("opts", "{master: string}", "")}, Returns: []APIField{p("", "Role", "")}},
	{Name: "rep.roles.relay", Class: "replicant.roles", Signature: "rep.roles.relay{master=} -> Role",
		Summary: "A relay: log-bin and log-slave-updates, tables BLACKHOLE.", Params: []APIField{p("opts", "{master: string}", "")}, Returns: []APIField{p("", "Role", "")}},
	{Name: "rep.roles.vagabond", Class: "replicant.roles", Signature: "rep.roles.vagabond() -> Role",
		Summary: "Out of the deployment: replication forgotten.", Returns: []APIField{p("", "Role", "")}},

	// Server methods.
	{Name: "server:sql", Class: "Server", Signature: "db:sql(query, ...) -> rows, columns",
		Summary: "Runs a query; rows are tables keyed by column, ? placeholders filled on the client.",
		Params:  []APIField{p("query", "string", ""), p("...", "any", "placeholder values")},
		Returns: []APIField{p("rows", "table<string, any>[]", ""), p("columns", "string[]", "")}},
	{Name: "server:exec", Class: "Server", Signature: "db:exec(query, ...) -> affected, last_insert_id",
		Summary: "Runs a statement that changes something; recorded, not run, in a dry run.",
		Params:  []APIField{p("query", "string", ""), p("...", "any", "")}, Returns: []APIField{p("affected", "integer", ""), p("last_insert_id", "integer", "")}},
	{Name: "server:query_row", Class: "Server", Signature: "db:query_row(query, ...) -> row|nil",
		Summary: "The first row of a query, or nil when there is none.",
		Params:  []APIField{p("query", "string", ""), p("...", "any", "")}, Returns: []APIField{p("", "table<string, any>?", "")}},
	{Name: "server:variable", Class: "Server", Signature: "db:variable(name) -> value",
		Summary: "A global variable's value (rep.null when NULL).", Params: []APIField{p("name", "string", "")}, Returns: []APIField{p("", "any", "")}},
	{Name: "server:set_variable", Class: "Server", Signature: "db:set_variable(name, value, {persist=})",
		Summary: "Sets a global variable; persist on MySQL 8.0+.", Params: []APIField{p("name", "string", ""), p("value", "any", ""), p("opts", "{persist?: boolean}?", "")}},
	{Name: "server:flavor", Class: "Server", Signature: "db:flavor() -> \"mariadb\"|\"mysql\"", Summary: "The server's flavor.", Returns: []APIField{p("", "\"mariadb\"|\"mysql\"", "")}},
	{Name: "server:version", Class: "Server", Signature: "db:version() -> \"10.11.6\"", Summary: "The server's version number.", Returns: []APIField{p("", "string", "")}},
	{Name: "server:name", Class: "Server", Signature: "db:name() -> string", Summary: "The deployment name, or the address for a server outside it.", Returns: []APIField{p("", "string", "")}},
	{Name: "server:address", Class: "Server", Signature: "db:address() -> \"host:port\"", Summary: "Where the tool connects.", Returns: []APIField{p("", "string", "")}},
	{Name: "server:close", Class: "Server", Signature: "db:close()", Summary: "Closes the server's session; the next call opens a new one."},
	{Name: "server:connections", Class: "Server", Signature: "db:connections() -> rows",
		Summary: "The client sessions kill_connections would consider: all but ours, the server's threads and dump threads.",
		Returns: []APIField{p("", "{id: integer, user: string, host: string, db: string, command: string, time: integer, state: string, info: string}[]", "")}},
	{Name: "server:kill_connections", Class: "Server", Signature: "db:kill_connections(filter?) -> killed",
		Summary: "Ends client sessions for which filter(row) is true (all when nil); returns the killed ones.",
		Params:  []APIField{p("filter", "(fun(c: table): boolean)?", "sees a row like db:connections()")}, Returns: []APIField{p("", "table[]", "")}},
	{Name: "server:with_session", Class: "Server", Signature: "db:with_session(vars, fn, ...) -> fn's results",
		Summary: "Sets session variables for fn and puts the old values back afterwards, on every path.",
		Params:  []APIField{p("vars", "table<string, any>", ""), p("fn", "function", ""), p("...", "any", "")}, Returns: []APIField{p("...", "any", "")}},
	{Name: "server:position", Class: "Server", Signature: "db:position() -> Position",
		Summary: "The binlog position the server is writing at; raises not_primary without a binary log.", Returns: []APIField{p("", "Position", "")}},
	{Name: "server:gtid_executed", Class: "Server", Signature: "db:gtid_executed() -> Gtid",
		Summary: "The GTID set the server has applied (MariaDB: gtid_current_pos).", Returns: []APIField{p("", "Gtid", "")}},
	{Name: "server:replica_status", Class: "Server", Signature: "db:replica_status() -> ReplicaStatus|nil",
		Summary: "The replica's status in one vocabulary for both flavors, or nil when it is not a replica.",
		Returns: []APIField{p("", "ReplicaStatus?", "")}, Fields: replicaStatusFields},
	{Name: "server:stop_replica", Class: "Server", Signature: "db:stop_replica{thread = \"io\"|\"sql\"}", Summary: "Stops replication, both threads or one.",
		Params: []APIField{p("opts", "{thread?: \"io\"|\"sql\"}?", "")}},
	{Name: "server:start_replica", Class: "Server", Signature: "db:start_replica{thread = \"io\"|\"sql\"}", Summary: "Starts replication, both threads or one.",
		Params: []APIField{p("opts", "{thread?: \"io\"|\"sql\"}?", "")}},
	{Name: "server:reset_replica", Class: "Server", Signature: "db:reset_replica{all = true}", Summary: "Resets the replica's relay logs; all also forgets the source.",
		Params: []APIField{p("opts", "{all?: boolean}?", "")}},
	{Name: "server:change_source", Class: "Server", Signature: "db:change_source(src, opts?)",
		Summary: "Points the replica at src (a server or \"host:port\"): GTID auto-position by default.",
		Text:    "The deployment's repl_user logs in unless user/password are given. position takes a Position or \"file:pos\" instead of GTIDs; gtid sets MariaDB's gtid_slave_pos first.",
		Params: []APIField{p("src", "Server|string", ""), p("opts", "{user?: string, password?: string, position?: Position|string, gtid?: string, demote?: boolean, heartbeat?: "+durationType+
			", connect_retry?: "+durationType+", delay?: "+durationType+", ssl?: boolean, ssl_ca?: string, ssl_verify_server_cert?: boolean}?", "")},
		Fields: []APIField{p("user", "string", "replication login"), p("password", "string", ""), p("position", "Position|string", "file:pos replication instead of GTID"),
			p("gtid", "string", "MariaDB: the gtid_slave_pos to start from"), p("demote", "boolean", "MariaDB 10.10+: MASTER_DEMOTE_TO_SLAVE"),
			p("heartbeat", durationType, "heartbeat period"), p("connect_retry", durationType, "seconds between reconnect attempts"),
			p("delay", durationType, "delayed replica: apply this long after the source"), p("ssl", "boolean", ""), p("ssl_ca", "string", ""),
			p("ssl_verify_server_cert", "boolean", "")}},
	{Name: "server:wait_for", Class: "Server", Signature: "db:wait_for(target, {timeout=}) -> boolean",
		Summary: "Waits until the replica applied a GTID set or position: true, or false on timeout; raises if the applier stops.",
		Params:  []APIField{p("target", "Gtid|Position", ""), p("opts", "{timeout?: "+durationType+"}?", "")}, Returns: []APIField{p("", "boolean", "")}},
	{Name: "server:wait_replicating", Class: "Server", Signature: "db:wait_replicating{timeout=} -> boolean",
		Summary: "True once both replication threads run; raises if one stopped with an error.",
		Params:  []APIField{p("opts", "{timeout?: "+durationType+"}?", "")}, Returns: []APIField{p("", "boolean", "")}},
	{Name: "server:wait_and_stop", Class: "Server", Signature: "db:wait_and_stop(position, {timeout=}) -> boolean",
		Summary: "Applies up to exactly position, then stops the SQL thread.",
		Params:  []APIField{p("position", "Position", ""), p("opts", "{timeout?: "+durationType+"}?", "")}, Returns: []APIField{p("", "boolean", "")}},
	{Name: "server:set_read_only", Class: "Server", Signature: "db:set_read_only(on, {super=, max_time=})",
		Summary: "Sets read_only (super_read_only on MySQL with super = true).",
		Params:  []APIField{p("on", "boolean", ""), p("opts", "{super?: boolean, max_time?: "+durationType+"}?", "")}},
	{Name: "server:semi_sync", Class: "Server", Signature: "db:semi_sync() -> state",
		Summary: "Reads semi-synchronous replication in one query: primary_enabled, replica_enabled, primary_active " +
			"(the primary waits for acknowledgements; false after a timeout fell back to asynchronous), replica_active, " +
			"clients, acked_tx, unacked_tx, timeout (seconds), wait_point (after_sync or after_commit), available " +
			"(false on MySQL without the plugins).",
		Returns: []APIField{p("state", "table", "")}},
	{Name: "server:set_semi_sync", Class: "Server", Signature: "db:set_semi_sync{primary=, replica=, timeout=, wait_point=} -> before, restarted",
		Summary: "Changes the given semi-sync settings (installing the MySQL plugin when missing); a replica-side change " +
			"restarts a running receiver, which reads it only when it connects, and restarted says so. Returns the " +
			"state before, for an undo. A dry run plans the statements.",
		Params:  []APIField{p("opts", "{primary?: boolean, replica?: boolean, timeout?: "+durationType+", wait_point?: string}", "")},
		Returns: []APIField{p("before", "table", "db:semi_sync() before the change"), p("restarted", "boolean", "")}},
	{Name: "server:unreplicated", Class: "Server", Signature: "dead:unreplicated(gtids) -> {text=, count=, first=, last=, files=} | nil, why",
		Summary: "For a stopped server with a machine: the transactions in its binary log files (datadir and log-bin " +
			"from its option file) that the GTID set gtids lacks, newest files first until one has none; nil and why " +
			"when the files cannot be read.",
		Params:  []APIField{p("gtids", "Gtid", "e.g. the new primary's gtid_executed() before it takes writes")},
		Returns: []APIField{p("", "table?", ""), p("why", "string?", "")}},
	{Name: "server:lock_tables", Class: "Server", Signature: "db:lock_tables{lock_wait = \"2s\"}",
		Summary: "FLUSH TABLES WITH READ LOCK on a session of its own; lock_wait bounds the wait behind running statements.",
		Params:  []APIField{p("opts", "{lock_wait?: "+durationType+"}?", "")}},
	{Name: "server:unlock_tables", Class: "Server", Signature: "db:unlock_tables()", Summary: "Releases lock_tables."},
	{Name: "server:settle", Class: "Server", Signature: "db:settle()",
		Summary: "Kills this object's sessions whose statement was abandoned (a timeout, a cancel) and waits until " +
			"the server lists them no more, so no statement sent earlier can still land; raises when the server " +
			"does not answer."},
	{Name: "server:errant_transactions", Class: "Server", Signature: "db:errant_transactions(primary_or_gtid, {limit=}) -> list, truncated",
		Summary: "Transactions this replica has that the primary does not, each with where it is and its first statement.",
		Params:  []APIField{p("primary", "Server|Gtid|string", ""), p("opts", "{limit?: integer}?", "at most limit (100), newest first")},
		Returns: []APIField{p("list", "{gtid: string, found: boolean, file: string?, pos: integer?}[]", "found is false when the binary logs no longer hold it"), p("truncated", "boolean", "")}},
	{Name: "server:binary_logs", Class: "Server", Signature: "db:binary_logs() -> {{name=, size=}, ...}",
		Summary: "The server's binary logs.", Returns: []APIField{p("", "{name: string, size: integer}[]", "")}},
	{Name: "server:binlog_events", Class: "Server", Signature: "db:binlog_events{from=, to=, after=, limit=, follow=, reader=, reconnect=} -> iterator, BinlogEvents",
		Summary: "Iterates over binlog events from a position or GTID, with the show or stream reader.",
		Params:  []APIField{p("opts", "{from?: string|Position|Gtid, to?: string|Position|Gtid, after?: string, limit?: integer, follow?: boolean, reader?: \"show\"|\"stream\", reconnect?: "+durationType+"}?", "")},
		Returns: []APIField{p("it", "fun(): table?", "each event: file, pos, type, gtid, query, table, ..."), p("events", "BinlogEvents", "")}},
	{Name: "server:stop", Class: "Server", Signature: "db:stop()", Summary: "Stops the server through its machine (local process, systemd, ssh)."},
	{Name: "server:fence", Class: "Server", Signature: "db:fence()",
		Summary: "Kills a server that may be hung, at once, through its machine, as watch fences a hung primary: SIGKILL (here or over ssh); systemd: kill, then stop. A dry run plans it."},
	{Name: "server:start", Class: "Server", Signature: "db:start()", Summary: "Starts the server through its machine; an error carries its log."},
	{Name: "server:restart", Class: "Server", Signature: "db:restart()", Summary: "Restarts the server through its machine."},
	{Name: "server:config", Class: "Server", Signature: "db:config() -> Config", Summary: "The server's option file, editable.", Returns: []APIField{p("", "Config", "")}},
	{Name: "server:imbue", Class: "Server", Signature: "db:imbue(role) -> changed",
		Summary: "Edits the option file for a role and restarts only when it changed; a failed restart puts the old file back.",
		Params:  []APIField{p("role", "Role", "")}, Returns: []APIField{p("", "boolean", "")}},

	// Topology.
	{Name: "topology:primary", Class: "Topology", Signature: "topo:primary() -> Server|nil", Summary: "The primary's server object, or nil.", Returns: []APIField{p("", "Server?", "")}},
	{Name: "topology:replicas", Class: "Topology", Signature: "topo:replicas() -> Server[]", Summary: "Every server under the primary, depth first.", Returns: []APIField{p("", "Server[]", "")}},
	{Name: "topology:candidates", Class: "Topology", Signature: "topo:candidates{max_lag=, promotion={name=rule}} -> list",
		Summary: "The promotion ranking: each replica with its rank or the reasons it is excluded.",
		Params:  []APIField{p("opts", "{max_lag?: "+durationType+", promotion?: table<string, string>}?", "promotion overrides the deployment's rules")},
		Returns: []APIField{p("", "{server: Server, name: string, rank: integer?, excluded: boolean, reasons: string[]}[]", "best first; rank is nil when excluded")}},
	{Name: "topology:problems", Class: "Topology", Signature: "topo:problems() -> {{severity=, kind=, server=, name=, message=}, ...}",
		Summary: "What is wrong with the tree, errors first.", Returns: []APIField{p("", "{severity: string, kind: string, server: Server?, name: string, message: string}[]", "")}},
	{Name: "topology:nodes", Class: "Topology", Signature: "topo:nodes() -> Node[]", Summary: "A plain table per server, seeds first.", Returns: []APIField{p("", "Node[]", "")}, Fields: nodeFields},
	{Name: "topology:node", Class: "Topology", Signature: "topo:node(name_or_address_or_server) -> Node|nil", Summary: "One server's node table, or nil.",
		Params: []APIField{p("which", "string|Server", "")}, Returns: []APIField{p("", "Node?", "")}, Fields: nodeFields},
	{Name: "topology:print", Class: "Topology", Signature: "topo:print()", Summary: "Writes the tree, with its problems, to stdout."},
	{Name: "topology:verdict", Class: "Topology", Signature: "topo:verdict() -> Verdict",
		Summary: "Whether the primary is alive, dead (nobody reaches it), unreachable (it runs) or none.", Returns: []APIField{p("", "Verdict", "")}},
	{Name: "topology:bystanders", Class: "Topology", Signature: "topo:bystanders(primary, candidate, {skip=}) -> list",
		Summary: "The servers a switchover repoints, each with its problems.",
		Params:  []APIField{p("primary", "Server", ""), p("candidate", "Server", ""), p("opts", "{skip?: string[]}?", "")},
		Returns: []APIField{p("", "{name: string, server: Server, problems: string[]}[]", "")}},
	{Name: "topology:failover_loss", Class: "Topology", Signature: "topo:failover_loss(db) -> {semi_sync=, text=}",
		Summary: "What promoting db (the most advanced replica after a drain) may lose of what the dead primary " +
			"acknowledged: semi_sync is true when its replicas had semi-sync on; text says so, or from which GTID " +
			"writes may be lost under asynchronous replication.",
		Params: []APIField{p("db", "Server|string", "")}, Returns: []APIField{p("", "table", "")}},
	{Name: "topology:errant", Class: "Topology", Signature: "topo:errant(db, against) -> {gtids=, reasons=}|nil",
		Summary: "Nil when db could follow against; otherwise the errant GTIDs and why.",
		Params:  []APIField{p("db", "Server", ""), p("against", "Server", "")}, Returns: []APIField{p("", "{gtids: Gtid, reasons: string[]}?", "")}},
	{Name: "topology:recovery", Class: "Topology", Signature: "topo:recovery(fenced?) -> {action=, server=, name=, reason=, gone=}",
		Summary: "How an outage with no writable server ends, decided once in Go: action \"unfence\" (the fenced " +
			"primary takes writes again), \"promote\" (server, ahead of it, has every reachable server's " +
			"transactions and the servers in gone are dead), or nil with the reason recover must not act. " +
			"fenced names the fenced primary when it replicates from no one and the tree's primary is a dead candidate.",
		Params:  []APIField{p("fenced", "Server|string?", "the primary a switchover fenced, when it is not the tree's primary")},
		Returns: []APIField{p("", "{action: string?, server: Server?, name: string?, reason: string, gone: string[]}", "")}},
	{Name: "topology:falling_behind", Class: "Topology", Signature: "topo:falling_behind(earlier) -> problems",
		Summary: "Replicas whose lag grew since an earlier topology, as problems.",
		Params:  []APIField{p("earlier", "Topology", "")}, Returns: []APIField{p("", "table[]", "")}},

	// Config.
	{Name: "config:get", Class: "Config", Signature: "cfg:get(key) or cfg:get(group, key) -> value|true|nil",
		Summary: "An option's value as the server would read it, true for a flag without a value, or nil.",
		Params:  []APIField{p("group_or_key", "string", "the server's own group (mysqld) when only a key is given"), p("key", "string?", "")}, Returns: []APIField{p("", "string|true|nil", "")}},
	{Name: "config:set", Class: "Config", Signature: "cfg:set(key, value) or cfg:set(group, key, value)",
		Summary: "Sets an option, where the line that wins is (an included file too).", Params: []APIField{p("key", "string", ""), p("value", "any", "")}},
	{Name: "config:set_flag", Class: "Config", Signature: "cfg:set_flag(key) or cfg:set_flag(group, key)",
		Summary: "Sets an option without a value (log-slave-updates).", Params: []APIField{p("key", "string", "")}},
	{Name: "config:remove", Class: "Config", Signature: "cfg:remove(key) or cfg:remove(group, key) -> removed", Summary: "Removes an option; true when it was there.",
		Params: []APIField{p("key", "string", "")}, Returns: []APIField{p("", "boolean", "")}},
	{Name: "config:save", Class: "Config", Signature: "cfg:save()",
		Summary: "Writes the file back (atomically, over ssh too); an untouched file is written byte for byte."},
	{Name: "config:path", Class: "Config", Signature: "cfg:path() -> string", Summary: "The option file's path.", Returns: []APIField{p("", "string", "")}},
	{Name: "config:text", Class: "Config", Signature: "cfg:text() -> string", Summary: "The file's text as it would be saved.", Returns: []APIField{p("", "string", "")}},

	// Values.
	{Name: "gtid:contains", Class: "Gtid", Signature: "g:contains(other) -> boolean", Summary: "Whether every transaction of other is in g.",
		Params: []APIField{p("other", "Gtid|string", "")}, Returns: []APIField{p("", "boolean", "")}},
	{Name: "gtid:union", Class: "Gtid", Signature: "g:union(other) -> Gtid", Summary: "The set of both.", Params: []APIField{p("other", "Gtid|string", "")}, Returns: []APIField{p("", "Gtid", "")}},
	{Name: "gtid:subtract", Class: "Gtid", Signature: "g:subtract(other) -> Gtid", Summary: "g without other's transactions.", Params: []APIField{p("other", "Gtid|string", "")}, Returns: []APIField{p("", "Gtid", "")}},
	{Name: "gtid:is_empty", Class: "Gtid", Signature: "g:is_empty() -> boolean", Summary: "Whether the set has no transaction.", Returns: []APIField{p("", "boolean", "")}},
	{Name: "gtid:flavor", Class: "Gtid", Signature: "g:flavor() -> \"mysql\"|\"mariadb\"", Summary: "The set's flavor.", Returns: []APIField{p("", "string", "")}},
	{Name: "position.file", Class: "Position", Signature: "pos.file", Summary: "The binary log file name; positions compare with == and < (same log only)."},
	{Name: "position.pos", Class: "Position", Signature: "pos.pos", Summary: "The offset in the file."},
	{Name: "binlog_events:next", Class: "BinlogEvents", Signature: "events:next() -> event|nil", Summary: "The next event, as the iterator returns it.", Returns: []APIField{p("", "table?", "")}},
	{Name: "binlog_events:close", Class: "BinlogEvents", Signature: "events:close()", Summary: "Ends the iteration after a break."},

	// Topics.
	{Name: "errors", Signature: "err.kind, err.message, ...", Summary: "Failures raise an error object; branch on its kind, catch it with pcall or rep.try.",
		Text: "tostring(err) reads \"playbook.lua:14: db2 (127.0.0.1:3307): sql: Error 1064 (42000): ...\".\n" +
			"Kinds: server (the server answered with an error), connection (not reached), timeout (deadline or cancel),\n" +
			"usage (the script asked for something impossible), auth (login refused: it runs, the credentials are wrong),\n" +
			"no_machine (no machine or option file for the server), not_primary (no binary log), not_replica\n" +
			"(no source configured), replication_stopped (the applier stopped or failed during a wait).",
		Fields: errorFields},
	{Name: "procedure-options", Signature: "require(\"replicant.switchover\").run{...}, failover's too",
		Summary: "The main options switchover and failover take from Lua, hooks included; doc procedure-options lists every procedure's, from their declarations.",
		Fields: []APIField{
			p("to", "string", "switchover: the new primary"), p("expect_primary", "string", "switchover: refuse unless this server is the primary"),
			p("max_lag", durationType, "switchover: refuse a candidate lagging more"), p("wait_timeout", durationType, "how long to wait for the candidate to catch up"),
			p("lock_wait", durationType, "switchover: how long to keep trying to fence the primary (read_only, FTWRL) behind long statements"),
			p("on_step", "fun(name: string)", "switchover: called before each step, for progress"),
			p("before_promote", "fun(ctx: table)", "called before the new primary takes writes (ctx.primary, ctx.candidate)"),
			p("after_promote", "fun(ctx: table)", "called once the new primary takes writes"),
			p("skip", "string[]", "switchover: servers to leave alone"), p("dead", "string", "failover: the dead primary"),
			p("candidates", "string[]", "failover: allowed candidates"), p("force", "boolean", "failover: go on without a dead verdict")}},
}

// LookupAPI finds an entry by its name; "replicant." and "db:" are
// accepted for "rep." and "server:".
func LookupAPI(name string) (APIEntry, bool) {
	name = strings.Replace(name, "replicant.", "rep.", 1)
	for _, prefix := range [][2]string{{"db:", "server:"}, {"topo:", "topology:"}, {"cfg:", "config:"}, {"g:", "gtid:"}, {"server.", "server:"}} {
		if rest, ok := strings.CutPrefix(name, prefix[0]); ok {
			name = prefix[1] + rest
		}
	}
	for _, e := range APIEntries {
		if e.Name == name {
			return e, true
		}
	}
	return APIEntry{}, false
}

// APINames is every entry's name, sorted.
func APINames() []string {
	out := make([]string, len(APIEntries))
	for i, e := range APIEntries {
		out[i] = e.Name
	}
	sort.Strings(out)
	return out
}
