-- vmbridge: Dovecot push_notification Lua driver script (Dovecot 2.3 and 2.4, Lua 5.3/5.4).
-- Collects each mail transaction's events and hands them to vmbridge as ONE JSON batch. Never
-- makes Dovecot fail an operation: every error is caught and every wait is bounded. Each batch
-- carries an id unique to this Lua state (`proc`: random bytes, so no two states, processes or
-- Dovecot restarts share one) and an increasing sequence number, so the bridge sees a gap (a
-- batch lost while it was down) and recounts.
--
-- The key (the ingest token) never leaves Dovecot: every line and POST carries an HMAC-SHA256
-- over its exact bytes, which include `proc`, `seq` and a timestamp `ts`. Whoever holds the
-- ingest address while vmbridge is down learns the events, never the key, and cannot replay
-- what it saw (vmbridge refuses stale timestamps and MACs it has seen).
--
-- Transports (vmbridge_url):
--   tcp://127.0.0.1:8025 or unix:/path/to/ingest.sock  (default; needs Debian's lua-socket)
--       one connection per session, a signed hello line, then one signed JSON line per batch.
--       Nothing is waited for: the batch goes into the kernel's socket buffer and the mail
--       operation goes on (bench/dovecot-cost.md has the figures that chose this).
--   http://127.0.0.1:8025/events  (no extra package) a synchronous POST per transaction; Dovecot
--       waits for the 204, which costs every IMAP command and LMTP delivery a round trip.
--
-- Settings: Dovecot 2.3 reads them from the plugin { } block (conf.d/95-vmbridge.conf, asked per
-- user with user:plugin_getenv); Dovecot 2.4 hands `push_notification lua { lua_settings { } }`
-- to script_init() as a table (conf.d/95-vmbridge-2.4.conf). Detected by what arrives, not by version:
--   vmbridge_url            see above
--   vmbridge_key            the ingest token (from the 0640 file `vmbridge dovecot-config` names with
--                           !include_try; doveconf -n hides *_key settings)
--   vmbridge_hmac           lua: use the pure Lua SHA-256 even when lua-luaossl is installed
--   vmbridge_timeout_msecs  longest wait per transaction: connect, or a full socket buffer (default 20)
--   vmbridge_retry_msecs    after a failed connect, batches are dropped (and counted by seq) for this long (default 1000)

local settings, client, conn, retry_at, proc, socket, unix, init_args
local seq = 0

-- 2.4 calls script_init(lua_settings) (return value ignored); 2.3 calls script_init() and wants 0.
function script_init(args)
  if type(args) == "table" then init_args = args end
  return 0
end

local function getenv(user, key)
  if init_args then return init_args[key] end
  return user:plugin_getenv(key)
end

-- Dovecot's Lua has no JSON encoder; this one covers what the events carry.
local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local function json(v)
  local t = type(v)
  if t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return escapes[c] or string.format("\\u%04x", c:byte()) end) .. '"'
  elseif t == "number" then
    local i = math.tointeger(v) -- Dovecot hands uids over as floats
    return i and tostring(i) or string.format("%.17g", v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "table" then
    local out = {}
    if #v > 0 or next(v) == nil then
      for _, x in ipairs(v) do out[#out + 1] = json(x) end
      return "[" .. table.concat(out, ",") .. "]"
    end
    for k, x in pairs(v) do out[#out + 1] = json(tostring(k)) .. ":" .. json(x) end
    return "{" .. table.concat(out, ",") .. "}"
  end
  return "null"
end

-- ---- HMAC-SHA256: the token never leaves Dovecot, each batch carries a MAC over itself ----
-- Debian's lua-luaossl when installed (C, ~µs per batch); else this pure Lua 5.4 SHA-256.
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local M32 = 0xffffffff
local function rotr(x, n) return ((x >> n) | (x << (32 - n))) & M32 end

local function sha256(msg)
  local h0, h1, h2, h3 = 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a
  local h4, h5, h6, h7 = 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
  local len = #msg
  msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64) .. string.pack(">I8", len * 8)
  local w = {}
  for i = 1, #msg, 64 do
    for j = 1, 16 do w[j] = (string.unpack(">I4", msg, i + (j - 1) * 4)) end
    for j = 17, 64 do
      local a, b = w[j - 15], w[j - 2]
      local s0 = rotr(a, 7) ~ rotr(a, 18) ~ (a >> 3)
      local s1 = rotr(b, 17) ~ rotr(b, 19) ~ (b >> 10)
      w[j] = (w[j - 16] + s0 + w[j - 7] + s1) & M32
    end
    local a, b, c, d, e, f, g, h = h0, h1, h2, h3, h4, h5, h6, h7
    for j = 1, 64 do
      local t1 = (h + (rotr(e, 6) ~ rotr(e, 11) ~ rotr(e, 25)) + ((e & f) ~ (~e & g)) + K[j] + w[j]) & M32
      local t2 = ((rotr(a, 2) ~ rotr(a, 13) ~ rotr(a, 22)) + ((a & b) ~ (a & c) ~ (b & c))) & M32
      h, g, f, e, d, c, b, a = g, f, e, (d + t1) & M32, c, b, a, (t1 + t2) & M32
    end
    h0, h1, h2, h3 = (h0 + a) & M32, (h1 + b) & M32, (h2 + c) & M32, (h3 + d) & M32
    h4, h5, h6, h7 = (h4 + e) & M32, (h5 + f) & M32, (h6 + g) & M32, (h7 + h) & M32
  end
  return string.pack(">I4I4I4I4I4I4I4I4", h0, h1, h2, h3, h4, h5, h6, h7)
end

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

-- Returns mac(data) → lowercase hex HMAC-SHA256 under `key`; impl "lua" forces the pure Lua one.
local function hmac_with(key, impl)
  local ok, ossl = false, nil
  if impl ~= "lua" then ok, ossl = pcall(require, "openssl.hmac") end
  if ok then return function(data) return hex(ossl.new(key, "sha256"):final(data)) end end
  if #key > 64 then key = sha256(key) end
  key = key .. string.rep("\0", 64 - #key)
  local ikey = key:gsub(".", function(c) return string.char(c:byte() ~ 0x36) end)
  local okey = key:gsub(".", function(c) return string.char(c:byte() ~ 0x5c) end)
  return function(data) return hex(sha256(okey .. sha256(ikey .. data))) end
end

-- 128 random bits: unique across Lua states (one per LMTP recipient), processes and restarts.
local function new_proc(user)
  local f = io.open("/dev/urandom", "rb")
  local r = f and f:read(16)
  if f then f:close() end
  if r and #r == 16 then return hex(r) end
  -- No /dev/urandom (a chroot): the session id is unique per Dovecot session; the table's
  -- address and the clocks tell apart states within one.
  return string.format("%s-%s-%x-%s", user.session_id or "", tostring({}):match("0x(%x+)") or "", os.time(), os.clock())
end

-- `{"mac":"<hex>",` + the rest of the JSON object whose exact bytes the MAC covers.
local function signed(body)
  return '{"mac":"' .. settings.mac(body) .. '",' .. body:sub(2)
end

-- Seconds since the epoch for `ts`: lua-socket's clock when loaded (sub-second), else os.time().
local function epoch()
  return socket and socket.gettime() or os.time()
end

-- ---- transport: HTTP POST, Dovecot waits for the reply ----
local function http_client()
  -- One client per session: connections are kept alive between transactions. Nothing is retried.
  local t = settings.timeout
  -- 2.3 reads these names and ignores others; 2.4 refuses them and wants its http_client_*
  -- setting names (without the prefix) as strings: the error tells the two apart.
  local ok, c = pcall(dovecot.http.client, {
    request_absolute_timeout_msecs = t, request_timeout_msecs = t, connect_timeout_msecs = t,
    max_attempts = 1, max_connect_attempts = 1, no_auto_retry = true, max_redirects = 0,
    max_idle_time_msecs = 60000,
  })
  if ok then return c end
  local ms = tostring(math.tointeger(t) or t) .. "ms"
  return dovecot.http.client({
    request_absolute_timeout = ms, request_timeout = ms, connect_timeout = ms,
    request_max_attempts = "1", max_connect_attempts = "1", auto_retry = "no", request_max_redirects = "0",
  })
end

local function http_send(body)
  local req = client:request({ url = settings.url, method = "POST" })
  req:add_header("Content-Type", "application/json")
  req:add_header("X-Vmbridge-Mac", settings.mac(body))
  req:set_payload(body)
  req:submit()
end

-- ---- transport: stream socket (TCP or unix), nothing waited for ----

local function stream_connect(user)
  local now = socket.gettime()
  if retry_at and now < retry_at then return nil end
  local s, ok
  if settings.path then
    s = unix.stream()
    s:settimeout(settings.timeout / 1000)
    ok = s:connect(settings.path)
  else
    s = socket.tcp()
    s:settimeout(settings.timeout / 1000)
    ok = s:connect(settings.host, settings.port)
    if ok then s:setoption("tcp-nodelay", true) end
  end
  if ok then ok = s:send(signed(json({ vmbridge = 2, proc = proc, user = user, ts = epoch() })) .. "\n") end
  if not ok then
    s:close()
    retry_at = now + settings.retry / 1000
    return nil
  end
  retry_at = nil
  return s
end

-- The bridge never writes to us: anything readable means it closed (restart), so reconnect
-- before writing rather than lose a batch into a dead connection.
local function alive(s)
  s:settimeout(0)
  local _, err = s:receive(1)
  s:settimeout(settings.timeout / 1000, "t")
  return err == "timeout"
end

local function stream_send(line, user)
  if conn and not alive(conn) then conn:close(); conn = nil end
  conn = conn or stream_connect(user)
  if not conn then return end
  local done, _, sent = conn:send(line)
  if not done then
    -- Bridge gone or stalled past the timeout: drop this batch (seq shows the gap), and close so
    -- a partly written line never runs into the next one.
    conn:close()
    conn = nil
    if (sent or 0) == 0 then retry_at = socket.gettime() + settings.retry / 1000 end
  end
end

local function setup(user)
  if settings then return end
  local url = getenv(user, "vmbridge_url") or "tcp://127.0.0.1:8025"
  settings = {
    url = url,
    mac = hmac_with(getenv(user, "vmbridge_key") or "", getenv(user, "vmbridge_hmac")),
    timeout = tonumber(getenv(user, "vmbridge_timeout_msecs") or "") or 20,
    retry = tonumber(getenv(user, "vmbridge_retry_msecs") or "") or 1000,
  }
  -- The script, and all it requires, is loaded afresh for every LMTP recipient's session, and
  -- closing that Lua state dlclose()s lua-socket and luaossl: measured 0.4 ms per delivery to map
  -- lua-socket again. So: the C cores alone (no socket.lua), dropped from the state's list of
  -- libraries to unload, which keeps them mapped for the process's life (the next dlopen() is a
  -- refcount).
  local clibs = debug and debug.getregistry()._CLIBS
  if clibs then for i = #clibs, 1, -1 do clibs[i] = nil end end
  if url:match("^https?://") then
    client = http_client()
    settings.send = http_send
    return
  end
  socket = require("socket.core")
  unix = url:match("^unix:") and require("socket.unix")
  if clibs then for i = #clibs, 1, -1 do clibs[i] = nil end end
  settings.path = url:match("^unix:(.+)$")
  if not settings.path then
    settings.host, settings.port = url:match("^tcp://%[?([^%]]+)%]?:(%d+)$")
    settings.port = tonumber(settings.port)
    assert(settings.host and settings.port, "vmbridge_url: expected tcp://host:port, unix:/path or http://...")
  end
  settings.send = function(body, u) stream_send(signed(body) .. "\n", u) end
end

function dovecot_lua_notify_begin_txn(user)
  local ok, err = pcall(setup, user)
  if not ok then settings = nil; error(err) end
  proc = proc or new_proc(user)
  return { user = user.username, session = user.session_id, events = {}, mail_user = user }
end

-- What OpenChange's Dovecot plugin sends as folder and separator: mailbox_get_name() (the storage
-- name: namespace prefix cut, the list's separator, mUTF-7 unless the layout stores UTF-8) and
-- mailbox_list_get_hierarchy_sep(). Lua offers the first as mailbox.name, not the second: a child
-- probed with '/' and '.' shows the list separator where that is not also the namespace one
-- (e.g. Maildir++ under `separator = /`); otherwise (list separator = namespace separator) it is
-- left out and vmbridge takes the namespace separator from IMAP NAMESPACE. Per mailbox, cached.
local storage_names = {}
local function storage_name(user, vname)
  local box = user:mailbox(vname)
  local name = box.name
  box:free()
  return name
end
local function storage_of(user, vname)
  if not user or not vname then return nil end
  local key = user.username .. "\0" .. vname
  local hit = storage_names[key]
  if hit then return hit end
  local ok, st = pcall(function()
    -- Two allocations (never opened): each part is converted on its own, so a probe's storage
    -- name is the mailbox's own plus <separator or literal>x.
    local slash, dot = storage_name(user, vname .. "/x"), storage_name(user, vname .. ".x")
    local name = slash:sub(-1) == "x" and slash:sub(1, -3) or storage_name(user, vname)
    local after_slash = slash:sub(#name + 1, #name + 1)
    local after_dot = dot:sub(#name + 1, #name + 1)
    local sep
    if #after_slash == 1 and after_slash ~= "/" then sep = after_slash
    elseif #after_dot == 1 and after_dot ~= "." then sep = after_dot end
    return { name = name, sep = sep }
  end)
  if not ok then return nil end
  storage_names[key] = st
  return st
end

local function add(ctx, name, ev, extra)
  local e = { name = name, mailbox = ev.mailbox, uid = ev.uid, uid_validity = ev.uid_validity }
  if extra then extra(e, ev, ctx) end
  ctx.events[#ctx.events + 1] = e
end

local function message(e, ev, ctx)
  local st = storage_of(ctx.mail_user, ev.mailbox)
  if st then e.storage_name = st.name; e.storage_sep = st.sep end
  e.message_id = ev.message_id
  e.flags = ev.flags
  e.keywords = ev.keywords
end

local function flags(e, ev)
  e.flags = ev.flags
  e.keywords = ev.keywords
end

function dovecot_lua_notify_event_message_new(ctx, ev) add(ctx, "MessageNew", ev, message) end
function dovecot_lua_notify_event_message_append(ctx, ev) add(ctx, "MessageAppend", ev, message) end
function dovecot_lua_notify_event_message_expunge(ctx, ev) add(ctx, "MessageExpunge", ev) end
function dovecot_lua_notify_event_message_read(ctx, ev) add(ctx, "MessageRead", ev) end
function dovecot_lua_notify_event_message_trash(ctx, ev) add(ctx, "MessageTrash", ev) end
function dovecot_lua_notify_event_flags_set(ctx, ev) add(ctx, "FlagsSet", ev, flags) end
function dovecot_lua_notify_event_flags_clear(ctx, ev) add(ctx, "FlagsClear", ev, flags) end

function dovecot_lua_notify_end_txn(ctx)
  if #ctx.events == 0 or not settings then return end
  seq = seq + 1
  pcall(settings.send, json({ proc = proc, seq = seq, ts = epoch(), user = ctx.user, session = ctx.session, events = ctx.events }), ctx.user)
end
