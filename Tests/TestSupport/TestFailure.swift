// The error the test helpers throw: a sentence saying what went wrong (and usually a server's log).
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
    public init(_ description: String) { self.description = description }
}
