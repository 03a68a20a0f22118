// CRC64 as Redis uses it: Jones polynomial, reflected in and out, init 0, no final xor
// ("CRC-64/REDIS"; check value crc64("123456789") == 0xe9c6d914c4b8d9ca). Table-driven, slicing-by-8.
// STUB: the codecs helper replaces the body.

public enum CRC64 {
    /// Continues a running checksum `crc` over `bytes`. Start with 0.
    public static func update(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 { fatalError("stub") }

    /// The checksum of `bytes` from 0.
    public static func checksum<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 { fatalError("stub") }
}
