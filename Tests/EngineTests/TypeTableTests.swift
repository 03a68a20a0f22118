// The type table (Types/TypeTable.swift) walked row by row: for every type, sample values built
// through its commands (small and large, so both encodings show) are checked through StoredType:
// TYPE and OBJECT ENCODING against the row, DUMP → RESTORE equal by DEBUG DIGEST-VALUE, the
// snapshot child's in-place walk → RDB file → loader's EngineValueBuilder equal by digest, and
// MEMORY USAGE positive and growing with the value. A type added without its row, its conformance
// or a sample here fails.
import Testing
@testable import Engine
import StorageFormat

@Suite struct TypeTableTests {
    /// For each TYPE name: the commands that build a value of about `n` elements under `key`.
    static let samples: [String: @Sendable (_ key: String, _ n: Int) -> [[String]]] = [
        "string": { k, n in [["SET", k, String(repeating: "x", count: n)]] },
        "list": { k, n in [["RPUSH", k] + (0 ..< n).map { "element-\($0)" }] },
        "set": { k, n in [["SADD", k] + (0 ..< n).map { "\($0)" }] },
        "zset": { k, n in [["ZADD", k] + (0 ..< n).flatMap { ["\(Double($0) / 4)", "member-\($0)"] }] },
        "hash": { k, n in [["HSET", k] + (0 ..< n).flatMap { ["field-\($0)", "value-\($0)"] }] },
        "stream": { k, n in (1 ... n).map { ["XADD", k, "\($0)-1", "field", "value-\($0)", "n", "\($0)"] } + [["XGROUP", "CREATE", k, "g", "0"]] },
    ]
    /// Small enough for every compact encoding, large enough to leave all of them.
    static let sizes = [3, 700]

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// The payload of a bulk-string reply, nil for anything else.
    func bulk(_ reply: [UInt8]) -> [UInt8]? {
        guard reply.first == UInt8(ascii: "$"), let nl = reply.firstIndex(of: 10),
              let n = Int(String(decoding: reply[1 ..< nl - 1], as: UTF8.self)), n >= 0 else { return nil }
        return Array(reply[(nl + 1) ..< (nl + 1 + n)])
    }

    /// Builds `key` through the row's sample commands; the value stored, or nil (recorded).
    func build(_ h: EngineHarness, _ row: TypeTableRow, key: String, n: Int) -> RedisValue? {
        guard let sample = Self.samples[row.name] else {
            Issue.record("type table row '\(row.name)' has no sample in TypeTableTests.samples")
            return nil
        }
        for command in sample(key, n) {
            let reply = h.run(command.map(bytes))
            #expect(reply.first != UInt8(ascii: "-"), "\(command.first!): \(String(decoding: reply, as: UTF8.self))")
        }
        return h.engine.databases[0].keys[ByteString(bytes(key))]
    }

    @Test func everyTypeIDHasItsRow() {
        #expect(TypeTable.rows.count == StoredTypeID.allCases.count)
        for id in StoredTypeID.allCases {
            let row = TypeTable.row(id)
            #expect(row.id == id)
            #expect(TypeTable.row(named: row.name) === row)
            #expect(row.type.row === row, "\(row.name)'s conformance names another row")
            #expect(!row.encodings.isEmpty && !row.rdbTypesWritten.isEmpty && !row.folder.isEmpty)
            // What the engine writes it must read back.
            #expect(Set(row.rdbTypesWritten).isSubset(of: Set(row.rdbTypesRead)), "\(row.name)")
        }
        // Every RDB type code StorageFormat names after an engine type is read as that type, and no other.
        for code in 0 ... 255 {
            let expected = TypeTable.row(named: RDBType.typeName(UInt8(code)))?.id
            #expect(TypeTable.byRDBType[code] == expected, "RDB type \(code)")
        }
    }

    @Test func everyTypeThroughItsCommandsAndTheProtocol() throws {
        for row in TypeTable.rows {
            let h = EngineHarness()
            var estimates: [Int] = []
            for n in Self.sizes {
                let key = "\(row.name)-\(n)"
                guard let value = build(h, row, key: key, n: n) else { break }
                // The table's row and the protocol's conformance agree with the value.
                #expect(value.typeRow === row)
                #expect(ObjectIdentifier(type(of: value.stored)) == ObjectIdentifier(row.type))
                // TYPE and OBJECT ENCODING.
                #expect(h.run("TYPE \(key)") == "+\(row.name)\r\n")
                let encoding = bulk(h.run(["OBJECT", "ENCODING", key].map(bytes))).map { String(decoding: $0, as: UTF8.self) }
                #expect(encoding == value.encodingName)
                #expect(row.encodings.contains(value.encodingName), "\(row.name): \(value.encodingName) not in its row")

                // DUMP → RESTORE: the same value by DEBUG DIGEST-VALUE, written with one of the row's codes.
                let payload = try #require(bulk(h.run(["DUMP", key].map(bytes))), "DUMP \(key)")
                #expect(row.rdbTypesWritten.contains(payload[0]), "\(row.name): DUMP wrote type \(payload[0])")
                #expect(h.run([bytes("RESTORE"), bytes(key + "-copy"), bytes("0"), payload]) == bytes("+OK\r\n"))
                let digests = h.run("DEBUG DIGEST-VALUE \(key) \(key)-copy")
                let lines = digests.split(separator: "\r\n")
                #expect(lines.count == 3 && lines[1] == lines[2] && lines[1] != "+" + String(repeating: "0", count: 40), "\(digests)")
                // Through the protocol: the model round trip, and a copy, digest the same.
                let original = valueDigest(value, expiresAt: nil)
                #expect(valueDigest(try RedisValue(rdb: value.rdbValue, config: h.engine.config), expiresAt: nil) == original)
                #expect(valueDigest(value.deepCopy(), expiresAt: nil) == original)

                // The snapshot child's path (in place for aggregates) into an RDB file, loaded back by
                // the loader's builder: the same value.
                #expect(try loadedBack(value, key: key, config: h.engine.config).map { valueDigest($0, expiresAt: nil) } == original,
                        "\(row.name) (\(value.encodingName)) through the snapshot walk and the loader")

                // MEMORY USAGE: positive, the table's estimate.
                let usage = h.run("MEMORY USAGE \(key)")
                let estimate = ConnectionCommands.estimateMemory(ByteString(bytes(key)), value)
                #expect(estimate > 0 && usage == ":\(estimate)\r\n", "\(row.name): \(usage)")
                estimates.append(value.stored.memoryEstimate)
            }
            if estimates.count == Self.sizes.count {
                #expect(estimates.first! < estimates.last!, "\(row.name): the memory estimate does not grow (\(estimates))")
            }
        }
    }

    /// Writes `value` as the snapshot child does (in place: an aggregate by its type's walk, a string by
    /// StringValue.writeInPlace) and reads the file back through RDBDecoder and EngineValueBuilder.
    func loadedBack(_ value: RedisValue, key: String, config: EngineConfig) throws -> RedisValue? {
        var file: [UInt8] = []
        var options = RDBWriterOptions(version: 10)
        value.pinEncoding(&options, config: config)
        let w = try RDBWriter(options: options) { file.append(contentsOf: $0) }
        try w.writeHeader()
        try w.writeSelectDB(0)
        var stored = value
        let walked = try bytes(key).withUnsafeBytes { k in
            try withUnsafePointer(to: &stored) { p -> Bool in
                guard let layout = BorrowedValue.layout, let kind = BorrowedValue.kind(p, layout) else { return false }
                if kind == .int || kind == .smallString || kind == .largeString {
                    try StringValue.writeInPlace(p, kind, layout, key: k, to: w, expiresAt: nil, idle: nil, freq: nil)
                    return true
                }
                return try BorrowedValue.writeAggregate(p, kind, layout, key: k, to: w, expiresAt: nil, idle: nil, freq: nil)
            }
        }
        #expect(walked || BorrowedValue.layout == nil, "\(value.typeName): no in-place walk")
        if !walked { try w.writeEntry(key: bytes(key), value: value.rdbValue) }
        try w.finish()

        let decoder = try RDBDecoder(bytes: file)
        let builder = EngineValueBuilder(config: config)
        var loaded: RedisValue? = nil
        while let record = try decoder.next(into: builder) {
            if case .key = record { loaded = builder.takeValue() }
        }
        return loaded
    }
}
