// Polling for a condition that another process (or thread) makes true in its own time.
import Foundation

/// Polls `condition` every `interval` seconds for up to `timeout` seconds; true as soon as it holds,
/// false when it still does not after the last try at the deadline.
@discardableResult
public func waitFor(timeout: Double, every interval: Double = 0.1, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(useconds_t(interval * 1_000_000))
    }
    return try condition()
}

/// Polls `condition` every `interval` seconds until it holds; throws "timed out waiting for `what`"
/// after `timeout` seconds.
public func waitFor(_ what: String, timeout: Double, every interval: Double = 0.02, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(useconds_t(interval * 1_000_000))
    }
    throw TestFailure(description: "timed out waiting for \(what)")
}
