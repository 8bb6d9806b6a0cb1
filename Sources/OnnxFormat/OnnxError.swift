/// An error whose text is one readable line, ready for the user.
///
/// Errors from the format layer name what is wrong; `OnnxFile` prefixes them with the file's path.
public struct OnnxError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// The same error with a context prefix (`file.onnx: ...`, `tensor 'w': ...`).
    public func prefixed(_ context: String) -> OnnxError { OnnxError("\(context): \(message)") }
}
