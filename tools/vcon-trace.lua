-- vcon-trace.lua: a Wireshark/tshark dissector for vcon traces.
--
-- A vcon trace (docs/trace-format.md) is a pcap file of link type
-- LINKTYPE_USER0 (147), one packet per event, usually zstd-compressed
-- (.pcap.zst, which Wireshark 4.0 reads directly). This script decodes every
-- event kind of format version 1:
--
--   tshark -r run.pcap.zst -X lua_script:tools/vcon-trace.lua -V
--   tshark -r run.pcap.zst -X lua_script:tools/vcon-trace.lua -Y 'vcon.kind == 3'
--   wireshark -X lua_script:tools/vcon-trace.lua run.pcap.zst
--
-- or copy it to Wireshark's personal Lua plugins folder. The script takes
-- over the whole USER0 encapsulation (the "DLT User" preferences no longer
-- apply to it). Field names are listed in docs/vcon-trace.md.

local vcon = Proto("vcon", "vcon trace event")

local kind_names = {
    [0] = "META", [1] = "END", [2] = "REG_READ", [3] = "REG_WRITE",
    [4] = "MEM_READ", [5] = "MEM_WRITE", [6] = "GUEST_MEM_WRITE", [7] = "KICK",
    [8] = "IRQ_LEVEL", [9] = "MSI", [10] = "BACKEND_READ", [11] = "BACKEND_WRITE",
    [12] = "BACKEND_EVENT", [13] = "TIME_STEP", [14] = "TIMER_FIRE", [15] = "HOTPLUG",
    [16] = "RESIZE", [17] = "RESET", [18] = "MARK", [19] = "READ_RESULT",
    [20] = "UART_LINE_ERROR", [21] = "MODEM_LINES",
}
-- Role of each kind (docs/trace-format.md, "Kinds").
local kind_roles = {
    [0] = "label", [1] = "label", [2] = "input", [3] = "input", [4] = "input",
    [5] = "output", [6] = "input", [7] = "label", [8] = "output", [9] = "output",
    [10] = "input", [11] = "output", [12] = "input", [13] = "input", [14] = "input",
    [15] = "input", [16] = "input", [17] = "input", [18] = "label", [19] = "output",
    [20] = "input", [21] = "input",
}
local space_names = { [0] = "pio", [1] = "mmio", [2] = "pcicfg" }
local what_names = { [0] = "ready", [1] = "connect", [2] = "disconnect", [3] = "eof" }
local yes_no = { [0] = "no", [1] = "yes" }

-- Bytes of fixed fields after the 12-byte header, and whether a u32-length
-- payload follows (META's strings are handled apart).
local layout = {
    [0] = { 20, false }, [1] = { 8, false }, [2] = { 14, false }, [3] = { 14, false },
    [4] = { 16, true }, [5] = { 12, true }, [6] = { 8, true }, [7] = { 2, false },
    [8] = { 5, false }, [9] = { 12, false }, [10] = { 10, true }, [11] = { 6, true },
    [12] = { 3, false }, [13] = { 8, false }, [14] = { 4, false }, [15] = { 4, true },
    [16] = { 6, false }, [17] = { 0, false }, [18] = { 0, true }, [19] = { 4, false },
    [20] = { 2, false }, [21] = { 1, false },
}

local F = {
    seq = ProtoField.uint64("vcon.seq", "Sequence number", base.DEC),
    kind = ProtoField.uint16("vcon.kind", "Kind", base.DEC, kind_names),
    role = ProtoField.string("vcon.role", "Role"),
    device = ProtoField.uint8("vcon.device", "Device", base.DEC),
    reserved = ProtoField.uint8("vcon.reserved", "Reserved", base.DEC),

    version_major = ProtoField.uint16("vcon.meta.version_major", "Version major", base.DEC),
    version_minor = ProtoField.uint16("vcon.meta.version_minor", "Version minor", base.DEC),
    seed = ProtoField.uint64("vcon.meta.seed", "Seed", base.DEC),
    ram_size = ProtoField.uint64("vcon.meta.ram_size", "Guest RAM size", base.HEX),
    build_id_len = ProtoField.uint16("vcon.meta.build_id_len", "Build id length", base.DEC),
    build_id = ProtoField.string("vcon.meta.build_id", "Build id"),
    config_len = ProtoField.uint16("vcon.meta.config_len", "Configuration length", base.DEC),
    config = ProtoField.string("vcon.meta.config", "Configuration"),

    end_count = ProtoField.uint64("vcon.end.count", "Event count", base.DEC),

    reg_space = ProtoField.uint8("vcon.reg.space", "Space", base.DEC, space_names),
    reg_size = ProtoField.uint8("vcon.reg.size", "Size", base.DEC),
    reg_address = ProtoField.uint64("vcon.reg.address", "Address", base.HEX),
    reg_value = ProtoField.uint32("vcon.reg.value", "Value", base.HEX),

    mem_gpa = ProtoField.uint64("vcon.mem.gpa", "Guest physical address", base.HEX),
    mem_length = ProtoField.uint32("vcon.mem.length", "Length", base.DEC),
    mem_result = ProtoField.int32("vcon.mem.result", "Result", base.DEC),

    kick_queue = ProtoField.uint16("vcon.kick.queue", "Queue", base.DEC),

    irq_line = ProtoField.uint32("vcon.irq.line", "Line", base.DEC),
    irq_level = ProtoField.uint8("vcon.irq.level", "Level", base.DEC),

    msi_address = ProtoField.uint64("vcon.msi.address", "Address", base.HEX),
    msi_data = ProtoField.uint32("vcon.msi.data", "Data", base.HEX),

    port = ProtoField.uint16("vcon.port", "Port", base.DEC),
    requested = ProtoField.uint32("vcon.backend.requested", "Requested", base.DEC),
    backend_result = ProtoField.int32("vcon.backend.result", "Result", base.DEC),
    what = ProtoField.uint8("vcon.backend.what", "What", base.DEC, what_names),

    time_step_ns = ProtoField.uint64("vcon.time_step.ns", "Nanoseconds advanced", base.DEC),
    timer_index = ProtoField.uint32("vcon.timer.index", "Timer index", base.DEC),

    hotplug_add = ProtoField.uint8("vcon.hotplug.add", "Add", base.DEC, yes_no),
    hotplug_console = ProtoField.uint8("vcon.hotplug.is_console", "Is console", base.DEC, yes_no),
    hotplug_name = ProtoField.string("vcon.hotplug.name", "Port name"),

    cols = ProtoField.uint16("vcon.resize.cols", "Columns", base.DEC),
    rows = ProtoField.uint16("vcon.resize.rows", "Rows", base.DEC),

    mark_text = ProtoField.string("vcon.mark.text", "Text"),

    read_result = ProtoField.uint32("vcon.read_result.value", "Value", base.HEX),

    line_char = ProtoField.uint8("vcon.line_error.char", "Character", base.HEX),
    line_errors = ProtoField.uint8("vcon.line_error.errors", "LSR error bits", base.HEX),
    line_pe = ProtoField.bool("vcon.line_error.pe", "Parity error", 8, nil, 0x04),
    line_fe = ProtoField.bool("vcon.line_error.fe", "Framing error", 8, nil, 0x08),
    line_bi = ProtoField.bool("vcon.line_error.bi", "Break", 8, nil, 0x10),

    modem_lines = ProtoField.uint8("vcon.modem.lines", "MSR line bits", base.HEX),
    modem_cts = ProtoField.bool("vcon.modem.cts", "CTS", 8, nil, 0x10),
    modem_dsr = ProtoField.bool("vcon.modem.dsr", "DSR", 8, nil, 0x20),
    modem_ri = ProtoField.bool("vcon.modem.ri", "RI", 8, nil, 0x40),
    modem_dcd = ProtoField.bool("vcon.modem.dcd", "DCD", 8, nil, 0x80),

    payload_len = ProtoField.uint32("vcon.payload_len", "Payload length", base.DEC),
    payload = ProtoField.bytes("vcon.payload", "Payload"),
}
local field_list = {}
for _, f in pairs(F) do
    field_list[#field_list + 1] = f
end
vcon.fields = field_list

local ef_malformed = ProtoExpert.new("vcon.malformed", "Malformed vcon event",
                                     expert.group.MALFORMED, expert.severity.ERROR)
vcon.experts = { ef_malformed }

-- "0x3f8" for a UInt64 or a number.
local function hex(v)
    if type(v) == "number" then
        return string.format("0x%x", v)
    end
    local digits = v:tohex():gsub("^0+", "")
    return "0x" .. (digits == "" and "0" or digits)
end

-- A byte string as vcon-trace dump quotes it: C escapes, \xHH for the rest.
local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function quote(bytes)
    return '"' .. bytes:gsub('[%z\1-\31"\\\127-\255]', function(c)
        return escapes[c] or string.format("\\x%02x", c:byte())
    end) .. '"'
end

local function bit_names(value, names)
    local out = {}
    for _, pair in ipairs(names) do
        if math.floor(value / pair[1]) % 2 == 1 then
            out[#out + 1] = pair[2]
        end
    end
    return table.concat(out, " ")
end

-- Adds the payload (u32 length, bytes) at off and returns its range and
-- length, or nil after flagging a malformed body.
local function add_payload(tvb, tree, off)
    local len = tvb(off, 4):le_uint()
    tree:add_le(F.payload_len, tvb(off, 4))
    if off + 4 + len ~= tvb:len() then
        tree:add_proto_expert_info(ef_malformed, string.format(
            "payload length %d does not match the body (%d bytes left)", len, tvb:len() - off - 4))
        return nil, len
    end
    if len == 0 then
        return nil, 0
    end
    local r = tvb(off + 4, len)
    tree:add(F.payload, r)
    return r, len
end

-- The kind-specific fields; returns the summary for the Info column.
local function dissect_fields(kind, tvb, tree)
    local o = 12
    if kind == 0 then
        tree:add_le(F.version_major, tvb(o, 2))
        tree:add_le(F.version_minor, tvb(o + 2, 2))
        tree:add_le(F.seed, tvb(o + 4, 8))
        tree:add_le(F.ram_size, tvb(o + 12, 8))
        local blen = tvb(o + 20, 2):le_uint()
        tree:add_le(F.build_id_len, tvb(o + 20, 2))
        if o + 22 + blen + 2 > tvb:len() then
            tree:add_proto_expert_info(ef_malformed, "META build id runs past the body")
            return "META (malformed)"
        end
        local build = ""
        if blen > 0 then
            build = tvb(o + 22, blen):raw()
            tree:add(F.build_id, tvb(o + 22, blen))
        end
        local coff = o + 22 + blen
        local clen = tvb(coff, 2):le_uint()
        tree:add_le(F.config_len, tvb(coff, 2))
        if coff + 2 + clen ~= tvb:len() then
            tree:add_proto_expert_info(ef_malformed, "META strings do not match the body")
            return "META (malformed)"
        end
        local config = ""
        if clen > 0 then
            config = tvb(coff + 2, clen):raw()
            tree:add(F.config, tvb(coff + 2, clen))
        end
        return string.format("version=%d.%d seed=%s ram=%s build_id=%s config=%s",
                             tvb(o, 2):le_uint(), tvb(o + 2, 2):le_uint(),
                             tostring(tvb(o + 4, 8):le_uint64()), hex(tvb(o + 12, 8):le_uint64()),
                             quote(build), quote(config))
    elseif kind == 1 then
        tree:add_le(F.end_count, tvb(o, 8))
        return "count=" .. tostring(tvb(o, 8):le_uint64())
    elseif kind == 2 or kind == 3 then
        tree:add_le(F.reg_space, tvb(o, 1))
        tree:add_le(F.reg_size, tvb(o + 1, 1))
        tree:add_le(F.reg_address, tvb(o + 2, 8))
        tree:add_le(F.reg_value, tvb(o + 10, 4))
        local s = string.format("%s %s/%d", space_names[tvb(o, 1):uint()] or "space?",
                                hex(tvb(o + 2, 8):le_uint64()), tvb(o + 1, 1):uint())
        if kind == 3 then
            s = s .. " = " .. hex(tvb(o + 10, 4):le_uint())
        end
        return s
    elseif kind == 4 then
        tree:add_le(F.mem_gpa, tvb(o, 8))
        tree:add_le(F.mem_length, tvb(o + 8, 4))
        tree:add_le(F.mem_result, tvb(o + 12, 4))
        add_payload(tvb, tree, o + 16)
        return string.format("gpa=%s len=%d result=%d", hex(tvb(o, 8):le_uint64()),
                             tvb(o + 8, 4):le_uint(), tvb(o + 12, 4):le_int())
    elseif kind == 5 then
        tree:add_le(F.mem_gpa, tvb(o, 8))
        tree:add_le(F.mem_result, tvb(o + 8, 4))
        local _, len = add_payload(tvb, tree, o + 12)
        return string.format("gpa=%s result=%d len=%d", hex(tvb(o, 8):le_uint64()),
                             tvb(o + 8, 4):le_int(), len)
    elseif kind == 6 then
        tree:add_le(F.mem_gpa, tvb(o, 8))
        local _, len = add_payload(tvb, tree, o + 8)
        return string.format("gpa=%s len=%d", hex(tvb(o, 8):le_uint64()), len)
    elseif kind == 7 then
        tree:add_le(F.kick_queue, tvb(o, 2))
        return "queue=" .. tvb(o, 2):le_uint()
    elseif kind == 8 then
        tree:add_le(F.irq_line, tvb(o, 4))
        tree:add_le(F.irq_level, tvb(o + 4, 1))
        return string.format("line=%d level=%d", tvb(o, 4):le_uint(), tvb(o + 4, 1):uint())
    elseif kind == 9 then
        tree:add_le(F.msi_address, tvb(o, 8))
        tree:add_le(F.msi_data, tvb(o + 8, 4))
        return string.format("address=%s data=%s", hex(tvb(o, 8):le_uint64()),
                             hex(tvb(o + 8, 4):le_uint()))
    elseif kind == 10 then
        tree:add_le(F.port, tvb(o, 2))
        tree:add_le(F.requested, tvb(o + 2, 4))
        tree:add_le(F.backend_result, tvb(o + 6, 4))
        add_payload(tvb, tree, o + 10)
        return string.format("port=%d requested=%d result=%d", tvb(o, 2):le_uint(),
                             tvb(o + 2, 4):le_uint(), tvb(o + 6, 4):le_int())
    elseif kind == 11 then
        tree:add_le(F.port, tvb(o, 2))
        tree:add_le(F.backend_result, tvb(o + 2, 4))
        local _, len = add_payload(tvb, tree, o + 6)
        return string.format("port=%d result=%d len=%d", tvb(o, 2):le_uint(),
                             tvb(o + 2, 4):le_int(), len)
    elseif kind == 12 then
        tree:add_le(F.port, tvb(o, 2))
        tree:add_le(F.what, tvb(o + 2, 1))
        return string.format("port=%d what=%s", tvb(o, 2):le_uint(),
                             what_names[tvb(o + 2, 1):uint()] or "unknown")
    elseif kind == 13 then
        tree:add_le(F.time_step_ns, tvb(o, 8))
        return "ns=" .. tostring(tvb(o, 8):le_uint64())
    elseif kind == 14 then
        tree:add_le(F.timer_index, tvb(o, 4))
        return "index=" .. tvb(o, 4):le_uint()
    elseif kind == 15 then
        tree:add_le(F.port, tvb(o, 2))
        tree:add_le(F.hotplug_add, tvb(o + 2, 1))
        tree:add_le(F.hotplug_console, tvb(o + 3, 1))
        local r = add_payload(tvb, tree, o + 4)
        local name = ""
        if r then
            name = r:raw()
            tree:add(F.hotplug_name, r)
        end
        return string.format("port=%d add=%d console=%d name=%s", tvb(o, 2):le_uint(),
                             tvb(o + 2, 1):uint(), tvb(o + 3, 1):uint(), quote(name))
    elseif kind == 16 then
        tree:add_le(F.port, tvb(o, 2))
        tree:add_le(F.cols, tvb(o + 2, 2))
        tree:add_le(F.rows, tvb(o + 4, 2))
        return string.format("port=%d cols=%d rows=%d", tvb(o, 2):le_uint(),
                             tvb(o + 2, 2):le_uint(), tvb(o + 4, 2):le_uint())
    elseif kind == 17 then
        return ""
    elseif kind == 18 then
        local r = add_payload(tvb, tree, o)
        local text = ""
        if r then
            text = r:raw()
            tree:add(F.mark_text, r)
        end
        return quote(text)
    elseif kind == 19 then
        tree:add_le(F.read_result, tvb(o, 4))
        return "= " .. hex(tvb(o, 4):le_uint())
    elseif kind == 20 then
        tree:add_le(F.line_char, tvb(o, 1))
        local errors = tree:add_le(F.line_errors, tvb(o + 1, 1))
        errors:add(F.line_pe, tvb(o + 1, 1))
        errors:add(F.line_fe, tvb(o + 1, 1))
        errors:add(F.line_bi, tvb(o + 1, 1))
        local bits = tvb(o + 1, 1):uint()
        return string.format("char=0x%02x errors=0x%02x (%s)", tvb(o, 1):uint(), bits,
                             bit_names(bits, { { 4, "PE" }, { 8, "FE" }, { 16, "BI" } }))
    elseif kind == 21 then
        local lines = tree:add_le(F.modem_lines, tvb(o, 1))
        lines:add(F.modem_cts, tvb(o, 1))
        lines:add(F.modem_dsr, tvb(o, 1))
        lines:add(F.modem_ri, tvb(o, 1))
        lines:add(F.modem_dcd, tvb(o, 1))
        local bits = tvb(o, 1):uint()
        return string.format("lines=0x%02x (%s)", bits, bit_names(bits,
            { { 16, "CTS" }, { 32, "DSR" }, { 64, "RI" }, { 128, "DCD" } }))
    end
    return ""
end

function vcon.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = "VCON"
    local len = tvb:len()
    local root = tree:add(vcon, tvb(), "vcon trace event")
    if len < 12 then
        root:add_proto_expert_info(ef_malformed, string.format(
            "body is %d bytes, shorter than the 12-byte event header", len))
        pinfo.cols.info = "malformed vcon event"
        return len
    end
    local seq = tvb(0, 8):le_uint64()
    local kind = tvb(8, 2):le_uint()
    local device = tvb(10, 1):uint()
    local name = kind_names[kind] or "UNKNOWN"
    root:add_le(F.seq, tvb(0, 8))
    root:add_le(F.kind, tvb(8, 2))
    root:add(F.role, kind_roles[kind] or "unknown"):set_generated()
    root:add_le(F.device, tvb(10, 1))
    root:add_le(F.reserved, tvb(11, 1))
    root:append_text(string.format(", #%s %s", tostring(seq), name))

    local shape = layout[kind]
    local summary
    if not shape then
        root:add_proto_expert_info(ef_malformed, "unknown event kind " .. kind)
        summary = "(unknown kind " .. kind .. ")"
    else
        local need = 12 + shape[1] + (shape[2] and 4 or 0) + (kind == 0 and 4 or 0)
        if len < need or (not shape[2] and kind ~= 0 and len ~= need) then
            root:add_proto_expert_info(ef_malformed, string.format(
                "%s body is %d bytes, expected %s%d", name, len,
                (shape[2] or kind == 0) and "at least " or "", need))
            summary = "(malformed)"
        else
            summary = dissect_fields(kind, tvb, root)
        end
    end
    local info = string.format("#%s dev=%d %s", tostring(seq), device, name)
    if summary ~= "" then
        info = info .. " " .. summary
    end
    pinfo.cols.info = info
    return len
end

DissectorTable.get("wtap_encap"):add(wtap.USER0, vcon)
