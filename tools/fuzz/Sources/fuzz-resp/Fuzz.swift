import FuzzEntryPoints

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzEntry.resp(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
