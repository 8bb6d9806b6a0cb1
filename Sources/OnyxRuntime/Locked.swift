import Foundation

/// A value behind a lock. NSLock (a pthread mutex) rather than Synchronization.Mutex, whose futex-based
/// locking on Linux is invisible to the thread sanitizer and reads as data races there.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
