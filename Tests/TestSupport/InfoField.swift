// Reading one field of INFO's "name:value" lines.

/// The value of field `name` in INFO text (the reply's raw text will do: its "$n" line matches no
/// field), nil when the field is absent.
public func infoField(_ info: String, _ name: String) -> String? {
    for line in info.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) where line.hasPrefix(name + ":") {
        return String(line.dropFirst(name.count + 1))
    }
    return nil
}

extension RawClient {
    /// Field `name` of `INFO <section>` (of plain `INFO` when `section` is empty), nil when absent.
    public func infoField(_ section: String, _ name: String) throws -> String? {
        TestSupport.infoField(try send(section.isEmpty ? "INFO" : "INFO \(section)"), name)
    }
}

extension RawClient {
    /// Field `name` of `INFO <section>` (of plain `INFO` when `section` is empty) as an integer, -1
    /// when it is absent or not an integer.
    public func infoInteger(_ section: String, _ name: String) throws -> Int {
        Int(try infoField(section, name) ?? "") ?? -1
    }
}

extension RawClient {
    /// True when one `INFO persistence` reply shows no AOF rewrite running or scheduled (and, with
    /// `andSave`, no BGSAVE running). One reply, so a scheduled rewrite that starts between two
    /// queries cannot look finished.
    public func persistenceIdle(andSave: Bool = false) throws -> Bool {
        let info = try send("INFO persistence")
        return TestSupport.infoField(info, "aof_rewrite_in_progress") == "0"
            && TestSupport.infoField(info, "aof_rewrite_scheduled") == "0"
            && (!andSave || TestSupport.infoField(info, "rdb_bgsave_in_progress") == "0")
    }
}
