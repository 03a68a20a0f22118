// Hex text for bytes and bytes from hex literals, for readable fixtures and failure messages.
import StorageFormat

/// Lowercase hex of `bytes`, two digits a byte, no separators.
public func hex(_ bytes: [UInt8]) -> String { ByteText.hex(bytes) }

/// Bytes from a hex literal such as "15 00 FF" or "0a0b": spaces and other non-hex characters
/// ignored, either case. Traps on an odd number of digits (a typo in a test's literal).
public func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var pending: UInt8? = nil
    for c in hex.unicodeScalars {
        let v: UInt8
        switch c {
        case "0"..."9": v = UInt8(c.value - 48)
        case "a"..."f": v = UInt8(c.value - 87)
        case "A"..."F": v = UInt8(c.value - 55)
        default: continue
        }
        if let hi = pending { out.append(hi << 4 | v); pending = nil } else { pending = v }
    }
    precondition(pending == nil, "odd number of hex digits")
    return out
}
