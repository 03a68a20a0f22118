// CRC16/XMODEM (poly 0x1021, init 0) as Redis Cluster uses it for key slots.
// STUB: the codecs helper replaces the body.

public enum CRC16 {
    /// crc16("123456789") == 0x31c3.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 { fatalError("stub") }
    public static func checksum(_ bytes: [UInt8]) -> UInt16 { fatalError("stub") }
    /// The cluster slot (0..<16384) of `key`, honouring `{hash tags}` as Redis does.
    public static func keySlot(_ key: [UInt8]) -> Int { fatalError("stub") }
}
