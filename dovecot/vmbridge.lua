-- vmbridge: Dovecot push_notification Lua driver script (Dovecot 2.3, Lua 5.4).
-- Collects each mail transaction's events and hands them to vmbridge as ONE JSON batch. Never
-- makes Dovecot fail an operation: every error is caught and every wait is bounded. Each batch
-- carries a per-session id and an increasing sequence number, so the bridge sees a gap (a batch
-- lost while it was down) and recounts.
--
-- Transports (vmbridge_url):
--   tcp://127.0.0.1:8025 or unix:/path/to/ingest.sock  (default; needs Debian's lua-socket)
--       one connection per session, a hello line with the token, then one JSON line per batch.
--       Nothing is waited for: the batch goes into the kernel's socket buffer and the mail
--       operation goes on (bench/dovecot-cost.md has the figures that chose this).
--   http://127.0.0.1:8025/events  (no extra package) a synchronous POST per transaction; Dovecot
--       waits for the 204, which costs every IMAP command and LMTP delivery a round trip.
--
-- Settings (plugin { } block, see conf.d/95-vmbridge.conf):
--   vmbridge_url            see above
--   vmbridge_token          the ingest token
--   vmbridge_timeout_msecs  longest wait per transaction: connect, or a full socket buffer (default 20)
--   vmbridge_retry_msecs    after a failed connect, batches are dropped (and counted by seq) for this long (default 1000)

local settings, client, conn, retry_at
local proc = string.format("%x-%x", os.time(), math.random(0, 0x7fffffff))
local seq = 0

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

-- ---- transport: HTTP POST, Dovecot waits for the reply ----
local function http_client()
  -- One client per session: connections are kept alive between transactions. Nothing is retried.
  local t = settings.timeout
  return dovecot.http.client({
    request_absolute_timeout_msecs = t, request_timeout_msecs = t, connect_timeout_msecs = t,
    max_attempts = 1, max_connect_attempts = 1, no_auto_retry = true, max_redirects = 0,
    max_idle_time_msecs = 60000,
  })
end

local function http_send(body)
  local req = client:request({ url = settings.url, method = "POST" })
  req:add_header("Content-Type", "application/json")
  req:add_header("X-Vmbridge-Token", settings.token)
  req:set_payload(body)
  req:submit()
end

-- ---- transport: stream socket (TCP or unix), nothing waited for ----
local socket, unix

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
  if ok then ok = s:send(json({ vmbridge = 1, token = settings.token, proc = proc, user = user }) .. "\n") end
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
  local url = user:plugin_getenv("vmbridge_url") or "tcp://127.0.0.1:8025"
  settings = {
    url = url,
    token = user:plugin_getenv("vmbridge_token") or "",
    timeout = tonumber(user:plugin_getenv("vmbridge_timeout_msecs") or "") or 20,
    retry = tonumber(user:plugin_getenv("vmbridge_retry_msecs") or "") or 1000,
  }
  if url:match("^https?://") then
    client = http_client()
    settings.send = http_send
    return
  end
  -- The script, and all it requires, is loaded afresh for every LMTP recipient's session, and
  -- closing that Lua state dlclose()s lua-socket: measured 0.4 ms per delivery to map it again.
  -- So: the C core alone (no socket.lua), and dropped from the state's list of libraries to
  -- unload, which keeps it mapped for the process's life (the next dlopen() is a refcount).
  socket = require("socket.core")
  unix = url:match("^unix:") and require("socket.unix")
  local clibs = debug and debug.getregistry()._CLIBS
  if clibs then for i = #clibs, 1, -1 do clibs[i] = nil end end
  settings.path = url:match("^unix:(.+)$")
  if not settings.path then
    settings.host, settings.port = url:match("^tcp://%[?([^%]]+)%]?:(%d+)$")
    settings.port = tonumber(settings.port)
    assert(settings.host and settings.port, "vmbridge_url: expected tcp://host:port, unix:/path or http://...")
  end
  settings.send = function(body, u) stream_send(body .. "\n", u) end
end

function dovecot_lua_notify_begin_txn(user)
  local ok, err = pcall(setup, user)
  if not ok then settings = nil; error(err) end
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
  pcall(settings.send, json({ proc = proc, seq = seq, user = ctx.user, session = ctx.session, events = ctx.events }), ctx.user)
end
