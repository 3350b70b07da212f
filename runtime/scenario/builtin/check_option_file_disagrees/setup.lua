-- db3's option file loses read-only = 1: a restart would make it writable.
local cfg = replicant.server("db3"):config()
cfg:remove("read-only")
cfg:save()
