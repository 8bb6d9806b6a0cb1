import OnnxFormat

/// ONNX operator name -> its lowering. Each family's file registers its operators here.
enum OpTable {
    typealias Lowering = @Sendable (inout LoweringContext) throws -> Op

    static let lowerings: [String: Lowering] = {
        var table: [String: Lowering] = [:]
        for family in [ConvLowering.table, PoolLowering.table, ElementwiseLowering.table, NormalizationLowering.table,
                       MatrixLowering.table, ShapeLowering.table, DataMovementLowering.table, ResizeLowering.table,
                       ReduceLowering.table] {
            table.merge(family) { first, _ in first }
        }
        return table
    }()

    /// Every ONNX operator name the importer accepts (Constant included).
    public static var supportedOperators: [String] { (Array(lowerings.keys) + ["Constant"]).sorted() }
}

extension Importer {
    public static var supportedOperators: [String] { OpTable.supportedOperators }
}
