-- vmbridge: Dovecot push_notification Lua driver script (Dovecot 2.3, Lua 5.4).
-- Collects each mail transaction's events and posts them to vmbridge's ingest endpoint as ONE
-- JSON batch. Never makes Dovecot fail an operation: every error is caught, the request has a
-- short timeout and a single attempt. Each batch carries a per-session id and an increasing
-- sequence number, so the bridge sees a gap (a batch lost while it was down) and recounts.
--
-- Settings (plugin { } block, see conf.d/95-vmbridge.conf):
--   vmbridge_url            http://127.0.0.1:8025/events
--   vmbridge_token          the ingest token
--   vmbridge_timeout_msecs  request timeout (default 500)

local settings, client
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

local function setup(user)
  if settings then return end
  settings = {
    url = user:plugin_getenv("vmbridge_url") or "http://127.0.0.1:8025/events",
    token = user:plugin_getenv("vmbridge_token") or "",
    timeout = tonumber(user:plugin_getenv("vmbridge_timeout_msecs") or "") or 500,
  }
  -- One client per session: connections are kept alive between transactions. Every wait is
  -- bounded and nothing is retried: a late event is worth less than a prompt mail operation.
  local t = settings.timeout
  client = dovecot.http.client({
    request_absolute_timeout_msecs = t, request_timeout_msecs = t, connect_timeout_msecs = t,
    max_attempts = 1, max_connect_attempts = 1, no_auto_retry = true, max_redirects = 0,
    max_idle_time_msecs = 60000,
  })
end

function dovecot_lua_notify_begin_txn(user)
  pcall(setup, user)
  return { user = user.username, session = user.session_id, events = {} }
end

local function add(ctx, name, ev, extra)
  local e = { name = name, mailbox = ev.mailbox, uid = ev.uid, uid_validity = ev.uid_validity }
  if extra then extra(e, ev) end
  ctx.events[#ctx.events + 1] = e
end

local function message(e, ev)
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

local function post(body)
  local req = client:request({ url = settings.url, method = "POST" })
  req:add_header("Content-Type", "application/json")
  req:add_header("X-Vmbridge-Token", settings.token)
  req:set_payload(body)
  req:submit()
end

function dovecot_lua_notify_end_txn(ctx)
  if #ctx.events == 0 or not client then return end
  seq = seq + 1
  pcall(post, json({ proc = proc, seq = seq, user = ctx.user, session = ctx.session, events = ctx.events }))
end
