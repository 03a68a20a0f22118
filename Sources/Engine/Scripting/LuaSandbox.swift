// The Lua source that turns a fresh state into Redis 7.0's script environment, run once after the
// libraries and the `redis` table are in place. It installs the error handler EVAL runs scripts
// under (it adds the script's source and line to an error table), removes what scripts may not use
// (print, dofile, loadfile, getfenv, setfenv, newproxy, debug), and makes the globals and every
// library table read-only. Stock Lua 5.1 has no read-only tables (Redis patches its Lua for them),
// so each protected table is replaced by an empty proxy that reads through to it and refuses writes;
// `setmetatable` and `rawset` refuse the proxies too. Reading a global that does not exist is an
// error. The prelude takes the C helpers (refusal, missing global, guard maker) as arguments and
// returns the proxy of the globals, which becomes the state's globals table, and the real table.

enum LuaSandbox {
    static let prelude = """
    local deny, missing, make_guard = ...
    local G = _G
    local rawset_, setmetatable_, type_, tostring_ = rawset, setmetatable, type, tostring
    local getinfo = debug.getinfo
    local readonly = {}

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
    rawset_(G, 'setmetatable', make_guard(readonly, setmetatable_))
    rawset_(G, 'rawset', make_guard(readonly, rawset_))

    local function freeze(t)
      local meta = {__index = t, __newindex = deny}
      local metaView = setmetatable_({}, {__index = meta, __newindex = deny, __metatable = false})
      meta.__metatable = metaView
      local view = setmetatable_({}, meta)
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
    return globals, G
    """
}
