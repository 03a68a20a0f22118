// The Lua source that turns a fresh state into Redis 7.0's script environment, run once after the
// libraries and the `redis` table are in place. It installs the error handler EVAL runs scripts
// under (it adds the script's source and line to an error table), removes what scripts may not use
// (print, dofile, loadfile, getfenv, setfenv, newproxy, debug), and makes the globals and every
// library table read-only. Stock Lua 5.1 has no read-only tables (Redis patches its Lua for them),
// so each protected table is replaced by an empty proxy that reads through to it and refuses writes;
// `setmetatable` and `rawset` refuse the proxies too; `pairs` and `next` iterate the table behind a
// proxy (C functions in Sources/CLua/shim.h). Reading a global that does not exist is an
// error. The prelude takes the C helpers (refusal, missing global, guard maker) as arguments and
// returns the proxy of the globals, which becomes the state's globals table, and the real table.

enum LuaSandbox {
    static let prelude = """
    local deny, missing, make_guard, functions, register = ...
    local G = _G
    local rawset_, setmetatable_, type_, tostring_ = rawset, setmetatable, type, tostring
    local getinfo = debug.getinfo
    local readonly = {}
    -- proxy -> the table behind it, where the C `pairs` and `next` look (shim.h).
    local targets = {}
    debug.getregistry().cairn_readonly_targets = targets

    rawset_(G, '__redis__err__handler', function(err)
      local where = getinfo(2, 'nSl')
      if where and where.what == 'C' then where = getinfo(3, 'nSl') end
      if type_(err) ~= 'table' then err = {err = 'ERR ' .. tostring_(err)} end
      if where then
        err['source'] = where.source
        err['line'] = where.currentline
      end
      return err
    end)

    for _, name in ipairs({'print', 'dofile', 'loadfile', 'getfenv', 'setfenv', 'newproxy', 'module', 'require', 'debug'}) do
      rawset_(G, name, nil)
    end
    -- Precompiled chunks are refused as Redis's Lua refuses them: read as (bad) source.
    local loadstring_ = loadstring
    rawset_(G, 'loadstring', function(s, name)
      if type_(s) == 'string' and s:byte(1) == 27 then return loadstring_(' ' .. s, name or s) end
      return loadstring_(s, name)
    end)
    rawset_(G, 'setmetatable', make_guard(readonly, setmetatable_))
    rawset_(G, 'rawset', make_guard(readonly, rawset_))

    local function freeze(t)
      local meta = {__index = t, __newindex = deny}
      local metaView = setmetatable_({}, {__index = meta, __newindex = deny, __metatable = false})
      meta.__metatable = metaView
      local view = setmetatable_({}, meta)
      targets[view] = t
      readonly[view] = true
      readonly[metaView] = true
      return view
    end

    for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'redis', 'cjson', 'bit', 'cmsgpack', 'struct'}) do
      if type_(G[name]) == 'table' then rawset_(G, name, freeze(G[name])) end
    end
    setmetatable_(G, {__index = missing})
    local globals = freeze(G)
    rawset_(G, '_G', globals)
    if not functions then return globals, G, nil end

    -- Function libraries run with their own globals: an empty read-only table that reads through to
    -- the API above, except while the library loads, when only redis.register_function, redis.log
    -- and the version and log-level constants are there.
    local api = G.redis
    local loadRedis = {register_function = register, log = api.log, LOG_DEBUG = api.LOG_DEBUG,
      LOG_VERBOSE = api.LOG_VERBOSE, LOG_NOTICE = api.LOG_NOTICE, LOG_WARNING = api.LOG_WARNING,
      REDIS_VERSION = api.REDIS_VERSION, REDIS_VERSION_NUM = api.REDIS_VERSION_NUM}
    setmetatable_(loadRedis, {__index = missing})
    local loadAPI = {redis = freeze(loadRedis)}
    setmetatable_(loadAPI, {__index = missing})
    local meta = {__index = globals, __newindex = deny}
    local metaView = setmetatable_({}, {__index = meta, __newindex = deny, __metatable = false})
    meta.__metatable = metaView
    readonly[metaView] = true
    local libraryGlobals = setmetatable_({}, meta)
    readonly[libraryGlobals] = true
    local function loading(on)
      if on then meta.__index = loadAPI else meta.__index = globals end
    end
    return libraryGlobals, G, loading
    """
}
