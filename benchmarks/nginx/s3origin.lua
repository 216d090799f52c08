-- Read-only S3 front for the benchmark origin.
--
-- nginx serves object bodies itself (sendfile, Range, limit_rate); this module only answers
-- what plain files cannot: ListObjects(V2) XML, ETags, If-Match and CRC32 checksums from a
-- per-bucket index that the harness generates (one Lua file per bucket, rows sorted by key),
-- and S3 errors.
-- A worker reloads a bucket's index when the harness bumps its generation counter.
-- /_origin/ping answers this start's token (so the harness knows whose nginx answers) and
-- /_origin/check/<bucket> proves a worker can load the index and read every object file.

local M = {}

local gens = ngx.shared.s3gen
local index_dir = nil
local token = ""
local cache = {}

local XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
local HIGH = "\255"

function M.init(dir, start_token)
    index_dir = dir
    token = start_token
end

-- A bucket's index as tab-separated rows, sorted by key (not a Lua chunk: one holds at
-- most 65536 constants, far fewer than 100,000 keys); the first line of a listing-only
-- index marks it index_only.
local function read_rows(path)
    local f, err = io.open(path, "r")
    if not f then
        return nil, err
    end
    local rows = {}
    for line in f:lines() do
        if line == "#index_only" then
            rows.index_only = true
        else
            local key, size, md5, stamp, crc = line:match("^([^\t]*)\t(%d+)\t(%x+)\t([^\t]+)\t([^\t]*)$")
            rows[#rows + 1] = { key, tonumber(size), md5, stamp, crc }
        end
    end
    f:close()
    return rows
end

-- Returns the bucket's index, loading it again if the harness changed it since last time.
local function load_index(bucket)
    local gen = gens:get(bucket) or 0
    local entry = cache[bucket]
    if entry and entry.gen == gen then
        return entry
    end
    local rows, err = read_rows(index_dir .. "/" .. bucket .. ".tsv")
    if not rows then
        ngx.log(ngx.ERR, "bucket index not loaded: ", err)
        return nil, err
    end
    local by_key = {}
    for i = 1, #rows do
        by_key[rows[i][1]] = rows[i]
    end
    entry = { gen = gen, rows = rows, by_key = by_key }
    cache[bucket] = entry
    -- A large index is millions of objects that every garbage collection cycle marks
    -- again: a cycle in the middle of a listing held pages back by up to 250 ms. The
    -- next cycle starts only once the heap is four times what is live after loading.
    collectgarbage("collect")
    collectgarbage("setpause", 400)
    return entry
end

local function xml_escape(s)
    return (s:gsub("[&<>\"']", {
        ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;",
    }))
end

local function send(status, content_type, body)
    ngx.status = status
    ngx.header["Content-Type"] = content_type
    ngx.header["Content-Length"] = #body
    ngx.send_headers()
    if ngx.req.get_method() ~= "HEAD" then
        ngx.print(body)
    end
    return ngx.exit(ngx.HTTP_OK)
end

local function s3_error(status, code, message, resource)
    local body = table.concat({
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>', code, "</Code><Message>",
        xml_escape(message), "</Message><Resource>", xml_escape(resource or ""),
        "</Resource><RequestId>bench</RequestId></Error>",
    })
    return send(status, "application/xml", body)
end

-- First position in rows whose key is >= s (strict: > s).
local function bound(rows, s, strict)
    local lo, hi = 1, #rows + 1
    while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        local k = rows[mid][1]
        if k < s or (strict and k == s) then
            lo = mid + 1
        else
            hi = mid
        end
    end
    return lo
end

local function starts_with(s, p)
    return p == "" or s:sub(1, #p) == p
end

-- Parsed listing parameters, common to ListObjects (v1) and ListObjectsV2.
local function list_params(args)
    local p = {
        v2 = args["list-type"] == "2",
        prefix = type(args.prefix) == "string" and args.prefix or "",
        delim = type(args.delimiter) == "string" and args.delimiter ~= "" and args.delimiter or nil,
        max_keys = math.max(0, math.min(1000, tonumber(args["max-keys"]) or 1000)),
        url = args["encoding-type"] == "url",
        token = args["continuation-token"],
        start_after = args["start-after"],
        marker = args.marker,
    }
    if p.v2 then
        if type(p.token) == "string" then
            p.after = ngx.decode_base64(p.token)
            if not p.after then
                return nil
            end
        elseif type(p.start_after) == "string" then
            p.after = p.start_after
        end
    elseif type(p.marker) == "string" then
        p.after = p.marker
    end
    return p
end

-- Walks the sorted rows: returns keys, common prefixes, truncation and the last item returned.
local function collect(rows, p)
    local i = bound(rows, p.prefix, false)
    if p.after and p.after >= p.prefix then
        i = bound(rows, p.after, true)
        if p.delim and p.after:sub(-#p.delim) == p.delim then
            i = bound(rows, p.after .. HIGH, false)
        end
    end
    local keys, prefixes, last, truncated = {}, {}, nil, false
    while i <= #rows and starts_with(rows[i][1], p.prefix) do
        if #keys + #prefixes >= p.max_keys then
            truncated = true
            break
        end
        local key = rows[i][1]
        local pos = p.delim and key:find(p.delim, #p.prefix + 1, true)
        if pos then
            last = key:sub(1, pos + #p.delim - 1)
            prefixes[#prefixes + 1] = last
            i = bound(rows, last .. HIGH, false)
        else
            last = key
            keys[#keys + 1] = rows[i]
            i = i + 1
        end
    end
    return keys, prefixes, truncated, last
end

local function list_objects(bucket, index, args)
    local p = list_params(args)
    if not p then
        return s3_error(400, "InvalidArgument", "The continuation token provided is incorrect", bucket)
    end
    local keys, prefixes, truncated, last = collect(index.rows, p)
    -- S3 leaves "/" as it is in a url-encoded listing; ngx.escape_uri would send %2F
    local enc = p.url and function(s) return (ngx.escape_uri(s):gsub("%%2F", "/")) end
        or xml_escape
    local out = {
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="', XMLNS, '">',
        "<Name>", bucket, "</Name><Prefix>", enc(p.prefix), "</Prefix>",
        "<MaxKeys>", p.max_keys, "</MaxKeys><IsTruncated>", tostring(truncated), "</IsTruncated>",
    }
    local function add(...)
        for _, v in ipairs({ ... }) do
            out[#out + 1] = v
        end
    end
    if p.delim then add("<Delimiter>", enc(p.delim), "</Delimiter>") end
    if p.url then add("<EncodingType>url</EncodingType>") end
    if p.v2 then
        add("<KeyCount>", #keys + #prefixes, "</KeyCount>")
        if type(p.token) == "string" then add("<ContinuationToken>", xml_escape(p.token), "</ContinuationToken>") end
        if type(p.start_after) == "string" then add("<StartAfter>", enc(p.start_after), "</StartAfter>") end
        if truncated then add("<NextContinuationToken>", ngx.encode_base64(last), "</NextContinuationToken>") end
    else
        add("<Marker>", enc(type(p.marker) == "string" and p.marker or ""), "</Marker>")
        if truncated then add("<NextMarker>", enc(last), "</NextMarker>") end
    end
    for _, row in ipairs(keys) do
        add("<Contents><Key>", enc(row[1]), "</Key><LastModified>", row[4],
            "</LastModified><ETag>&quot;", row[3], "&quot;</ETag><Size>", row[2],
            "</Size><StorageClass>STANDARD</StorageClass></Contents>")
    end
    for _, cp in ipairs(prefixes) do
        add("<CommonPrefixes><Prefix>", enc(cp), "</Prefix></CommonPrefixes>")
    end
    add("</ListBucketResult>")
    return send(200, "application/xml", table.concat(out))
end

-- True when an If-Match / If-None-Match header value names this ETag (or is "*").
local function etag_matches(header, etag)
    for item in header:gmatch("[^,]+") do
        item = item:gsub("^%s*W/", ""):gsub("^%s+", ""):gsub("%s+$", ""):gsub('"', "")
        if item == "*" or item == etag then
            return true
        end
    end
    return false
end

-- Checks preconditions from the index, sets the ETag, then lets nginx's static handler
-- send the file (Range and limit_rate included).
local function object(bucket, index, key)
    local row = index.by_key[key]
    if not row then
        return s3_error(404, "NoSuchKey", "The specified key does not exist.", "/" .. bucket .. "/" .. key)
    end
    local etag = row[3]
    local headers = ngx.req.get_headers()
    local if_match = headers["If-Match"]
    if type(if_match) == "string" and not etag_matches(if_match, etag) then
        return s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
            "If-Match")
    end
    ngx.header["ETag"] = '"' .. etag .. '"'
    local if_none = headers["If-None-Match"]
    if type(if_none) == "string" and etag_matches(if_none, etag) then
        return ngx.exit(ngx.HTTP_NOT_MODIFIED)
    end
    local if_range = headers["If-Range"]
    if type(if_range) == "string" and if_range:find('"', 1, true) then
        if not etag_matches(if_range, etag) then
            ngx.req.clear_header("Range")
        end
        ngx.req.clear_header("If-Range")
    end
    ngx.req.clear_header("If-Match")
    ngx.req.clear_header("If-None-Match")
    -- As S3: the object's checksum when asked for, on a HEAD or a GET of the whole object.
    local crc = row[5]
    if crc and headers["x-amz-checksum-mode"] == "ENABLED" and not headers["Range"] then
        ngx.header["x-amz-checksum-crc32"] = crc
        ngx.header["x-amz-checksum-type"] = "FULL_OBJECT"
    end
end

-- "ok <rows>" once the index loads and every row's file opens with the indexed size (a
-- listing-only index, marked index_only, has no files behind it).
local function check(bucket)
    local index, err = load_index(bucket)
    if not index then
        return send(503, "text/plain", "index: " .. tostring(err) .. "\n")
    end
    if index.rows.index_only then
        return send(200, "text/plain", "ok " .. #index.rows .. "\n")
    end
    for _, row in ipairs(index.rows) do
        local f, ferr = io.open(ngx.var.document_root .. "/" .. bucket .. "/" .. row[1], "rb")
        local size = f and f:seek("end")
        if f then f:close() end
        if size ~= row[2] then
            local why = ferr or ("size " .. tostring(size) .. ", index says " .. row[2])
            return send(503, "text/plain", row[1] .. ": " .. why .. "\n")
        end
    end
    return send(200, "text/plain", "ok " .. #index.rows .. "\n")
end

local function admin(rest)
    local bucket = rest:match("^reload/([%w%.%-]+)$")
    if bucket then
        gens:incr(bucket, 1, 0)
        return send(200, "text/plain", "reloaded " .. bucket .. "\n")
    end
    bucket = rest:match("^check/([%w%.%-]+)$")
    if bucket then
        return check(bucket)
    end
    if rest == "ping" then
        return send(200, "text/plain", "pong " .. token .. " " .. ngx.worker.pid() .. "\n")
    end
    return send(404, "text/plain", "unknown admin call\n")
end

-- Entry point (access phase). ttfb: seconds to wait before answering (S3-like shaping).
function M.handle(ttfb)
    local bucket, key = ngx.var.uri:match("^/([^/]+)/?(.*)$")
    if bucket == "_origin" then
        return admin(key)
    end
    if ttfb > 0 then
        ngx.sleep(ttfb)
    end
    if not bucket then
        return s3_error(400, "InvalidRequest", "Path-style bucket addressing is required", "/")
    end
    local method = ngx.req.get_method()
    if method ~= "GET" and method ~= "HEAD" then
        return s3_error(501, "NotImplemented", "This origin is read-only", ngx.var.uri)
    end
    local index = bucket:match("^[a-z0-9][a-z0-9.-]+$") and load_index(bucket)
    if not index then
        return s3_error(404, "NoSuchBucket", "The specified bucket does not exist", bucket)
    end
    if key ~= "" then
        return object(bucket, index, key)
    end
    local args = ngx.req.get_uri_args(100)
    if args.location ~= nil then
        return send(200, "application/xml", '<?xml version="1.0" encoding="UTF-8"?>\n'
            .. '<LocationConstraint xmlns="' .. XMLNS .. '"></LocationConstraint>')
    end
    if method == "HEAD" then
        return send(200, "application/xml", "")
    end
    return list_objects(bucket, index, args)
end

return M
