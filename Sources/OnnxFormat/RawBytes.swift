#if canImport(Glibc)
import Glibc
#endif

/// A tensor's `raw_data`: either owned bytes, or a range of the model's bytes as read (see
/// `LiftedRawData`) or of protobuf-c's decoded tree, which `owner` keeps alive. Decoding borrows, so a
/// model's weights are copied once, from the file's buffer into the runtime's typed arrays.
/// Sendable: borrowed bytes are never written after decoding, and `owner` is kept with them.
public struct RawBytes: @unchecked Sendable, Equatable {
    private let owned: [UInt8]
    private let borrowed: UnsafeRawBufferPointer?
    private let owner: (any AnyObject & Sendable)?

    public init(_ bytes: [UInt8]) {
        owned = bytes
        borrowed = nil
        owner = nil
    }

    /// Borrows `bytes`, which stay valid while `owner` lives and are never written.
    init(borrowing bytes: UnsafeRawBufferPointer, owner: any AnyObject & Sendable) {
        owned = []
        borrowed = bytes
        self.owner = owner
    }

    public var count: Int { borrowed?.count ?? owned.count }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let borrowed { return try withExtendedLifetime(owner) { try body(borrowed) } }
        return try owned.withUnsafeBytes(body)
    }

    /// The bytes as an array (a copy when borrowed).
    public var array: [UInt8] {
        borrowed == nil ? owned : withUnsafeBytes { Array($0) }
    }

    public static func == (a: RawBytes, b: RawBytes) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }
}
