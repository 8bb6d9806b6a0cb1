/// Resource limits applied while reading a model. The defaults accept every real model we know of
/// and refuse files built to exhaust memory or the stack.
public struct LoadLimits: Sendable, Equatable {
    /// Largest model file read into memory (protobuf itself cannot address more than 2 GiB).
    public var maxFileBytes: Int = 2 << 30
    /// Deepest nesting of protobuf messages; each nested subgraph costs four levels
    /// (graph, node, attribute, graph).
    public var maxMessageDepth: Int = 100
    /// Most nodes over the main graph and all subgraphs.
    public var maxNodes: Int = 1_000_000
    /// Largest total of tensor bytes (initializers, constants, external data) a model may declare.
    public var maxTensorBytes: Int = 16 << 30
    /// Most elements any one tensor computed at load or at run may have (1 << 30 is 4 GiB of
    /// float32): a ConstantOfShape, Expand, Tile, Resize or Pad built to exhaust memory fails with
    /// a message naming its node instead of allocating.
    public var maxTensorElements: Int = 1 << 30

    public init() {}
    public static let `default` = LoadLimits()
}
