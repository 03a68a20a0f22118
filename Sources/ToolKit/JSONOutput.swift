// JSONOutput: writes JSON to a FileOutput without building a document in memory.
// Byte strings are written binary-safe the way rdbtools does: printable ASCII as is, `"` and `\`
// escaped, control bytes and every byte >= 0x80 as \u00XX (one escape per byte).
import StorageFormat

extension FileOutput {
    /// A JSON string holding `bytes`, one \u00XX escape per non-printable byte.
    @inline(__always)
    public func writeJSONString(_ bytes: UnsafeRawBufferPointer) {
        append(UInt8(ascii: "\""))
        let hex: StaticString = "0123456789abcdef"
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                append(UInt8(ascii: "\\")); append(b)
            case 0x20 ... 0x7e:
                append(b)
            case 0x0a: append(UInt8(ascii: "\\")); append(UInt8(ascii: "n"))
            case 0x0d: append(UInt8(ascii: "\\")); append(UInt8(ascii: "r"))
            case 0x09: append(UInt8(ascii: "\\")); append(UInt8(ascii: "t"))
            default:
                for c in [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")] { append(c) }
                hex.withUTF8Buffer { h in
                    append(h[Int(b >> 4)])
                    append(h[Int(b & 15)])
                }
            }
        }
        append(UInt8(ascii: "\""))
    }

    public func writeJSONString(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeJSONString($0) }
    }

    /// A JSON number for a double; non-finite values (which JSON cannot hold) as the strings "inf", "-inf", "nan".
    public func writeJSONNumber(_ d: Double) throws {
        if d.isNaN { try write("\"nan\"") } else if d == .infinity { try write("\"inf\"") } else if d == -.infinity { try write("\"-inf\"") } else if d == d.rounded(), abs(d) < 1e15 {
            try write(String(Int64(d)))
        } else {
            try write(String(d))
        }
    }

    @inline(__always) public func writeASCII(_ s: StaticString) {
        s.withUTF8Buffer { for b in $0 { append(b) } }
    }
}
