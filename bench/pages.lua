-- wrk script of bench/run.py's load runs: each thread (one keep-alive connection) asks its share
-- of a request list, following 303 redirects as part of the page, and writes its figures to
-- OUT/thread-N.json once it has asked its share of the LIMIT pages.
--
--   wrk -tN -cN -dSECONDSs -s pages.lua URL -- REQUESTS N LIMIT OUT
--
-- REQUESTS holds one "path<TAB>accept" line per request; thread i takes lines i, i+N, ... (all
-- of them when the list is shorter than N). wrk's own duration and latency figures cannot serve:
-- it always runs for the whole -d, and counts a 303 and the page it leads to as two requests.
-- The figures are written by the threads themselves so that the caller can stop wrk as soon as
-- all are in; done() writes them again at the -d limit for threads that had not finished. Each
-- page answered 200 is written with its latency and the time it was answered, so that the
-- caller can take the figures of the time all N connections were still asking.

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } timespec;
int clock_gettime(int clk_id, timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Per thread (each wrk thread has its own Lua state); done() reads the globals.
local requests, share = {}, 0
local index, pending, current, started = 0, nil, nil, 0
out, answered, ok, first, last, latencies, ends, finished = nil, 0, 0, 0, 0, {}, {}, false

local function read_requests(path, nthreads, only_mine)
  local list, i = {}, 0
  for line in io.lines(path) do
    if not only_mine or i % nthreads == id then
      local target, accept = line:match("^([^\t]*)\t(.*)$")
      table.insert(list, {target, accept})
    end
    i = i + 1
  end
  return list
end

function init(args)
  local nthreads = tonumber(args[2])
  requests = read_requests(args[1], nthreads, true)
  if #requests == 0 then
    requests = read_requests(args[1], nthreads, false)
  end
  share = math.floor(tonumber(args[3]) / nthreads)
  out = args[4]
end

local function write_file(path, text)
  local file = assert(io.open(path .. ".part", "w"))
  file:write(text)
  file:close()
  assert(os.rename(path .. ".part", path))  -- the caller never reads half a file
end

local function numbers(values)
  local parts = {}
  for i, value in ipairs(values) do parts[i] = string.format("%.0f", value) end
  return table.concat(parts, ",")
end

local function write_figures(dir, thread_id, pages, ok_pages, t_first, t_last, times, t_ends)
  write_file(string.format("%s/thread-%d.json", dir, thread_id), string.format(
    '{"pages": %d, "ok": %d, "first_us": %.0f, "last_us": %.0f, "latencies_us": [%s], '
    .. '"ends_us": [%s]}\n',
    pages, ok_pages, t_first, t_last, numbers(times), numbers(t_ends)))
end

-- wrk calls request() once more than it sends, to check the script: pages are therefore
-- counted, and timed from their first answer on, in response().
function request()
  if pending then
    return wrk.format("GET", pending[1], {["Accept"] = pending[2]})
  end
  current = requests[(index % #requests) + 1]
  index = index + 1
  started = now_us()
  return wrk.format("GET", current[1], {["Accept"] = current[2]})
end

function response(status, headers, body)
  if status == 303 and not pending then
    local location = headers["Location"] or headers["location"] or ""
    pending = {location:gsub("^https?://[^/]+", ""), current[2]}
    return
  end
  pending = nil
  last = now_us()
  if first == 0 then first = started end
  answered = answered + 1
  if status == 200 then
    ok = ok + 1
    table.insert(latencies, last - started)
    table.insert(ends, last)
  end
  if answered >= share and not finished then
    finished = true
    write_figures(out, id, answered, ok, first, last, latencies, ends)
    wrk.thread:stop()
  end
end

-- At the -d limit, or when the caller interrupts wrk once every thread has finished.
function done(summary, latency, requests)
  local dir = threads[1]:get("out")
  for _, thread in ipairs(threads) do
    if not thread:get("finished") then
      write_figures(dir, thread:get("id"), thread:get("answered"), thread:get("ok"),
                    thread:get("first"), thread:get("last"), thread:get("latencies"),
                    thread:get("ends"))
    end
  end
  local e = summary.errors
  write_file(dir .. "/summary.json", string.format(
    '{"socket_errors": %d, "timeouts": %d}\n', e.connect + e.read + e.write, e.timeout))
end
