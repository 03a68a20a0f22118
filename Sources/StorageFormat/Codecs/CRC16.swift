// CRC16/XMODEM (poly 0x1021, init 0, not reflected, no final xor) as Redis Cluster uses it for key slots.
// crc16("123456789") == 0x31c3. A key's slot is crc16 & 16383, hashing only the bytes between the first
// '{' and the first '}' after it when at least one byte lies between them (a "hash tag").

public enum CRC16 {
    /// The 256-entry table for one byte of input, most significant bit first.
    static let table: [UInt16] = (0..<256).map { (b: Int) -> UInt16 in
        var crc = UInt16(b) << 8
        for _ in 0..<8 {
            crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }

    /// crc16("123456789") == 0x31c3.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        table.withUnsafeBufferPointer { t in
            var crc: UInt16 = 0
            for b in bytes {
                crc = (crc << 8) ^ t[Int(truncatingIfNeeded: (crc >> 8) ^ UInt16(b))]
            }
            return crc
        }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The cluster slot (0..<16384) of `key`, honouring `{hash tags}` as Redis does.
    public static func keySlot(_ key: [UInt8]) -> Int {
        key.withUnsafeBytes { all -> Int in
            var hashed = all
            if let open = all.firstIndex(of: UInt8(ascii: "{")),
               let close = all[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
               close > open + 1 {
                hashed = UnsafeRawBufferPointer(rebasing: all[(open + 1)..<close])
            }
            return Int(checksum(hashed) & 0x3fff)
        }
    }
}
