/// Small queries the rewrite rules share.
extension Graph {
    public func constant(_ id: ValueID?) -> Tensor? { id.flatMap { values[$0].constant } }

    /// The fixed shape of a value, when every dimension is known.
    public func fixedShape(_ id: ValueID?) -> [Int]? {
        guard let id, let shape = values[id].shape else { return nil }
        let dims = shape.compactMap(\.value)
        return dims.count == shape.count ? dims : nil
    }

    public func rank(_ id: ValueID?) -> Int? { id.flatMap { values[$0].shape?.count } }

    /// A fresh value shaped like `id`, for intermediates a rule introduces.
    func valueLike(_ id: ValueID, suffix: String) -> Value {
        Value(name: values[id].name + "/" + suffix, dtype: values[id].dtype, shape: values[id].shape)
    }
}

extension Tensor {
    /// The per-channel values of a constant that broadcasts against a rank-`rank` tensor with `channels`
    /// channels on axis 1 only: scalar, [C], [C,1,...] or [1,C,1,...] (a [C] vector broadcasts over the
    /// last axis, so it is per-channel only when rank is 2). nil otherwise.
    func perChannel(channels: Int, rank: Int) -> [Float]? {
        guard let values = floats else { return nil }
        if count == 1 { return [Float](repeating: values[0], count: channels) }
        guard count == channels, shape.count <= rank else { return nil }
        let padded = [Int](repeating: 1, count: rank - shape.count) + shape
        guard padded.count >= 2, padded[1] == channels,
              padded.enumerated().allSatisfy({ $0.offset == 1 || $0.element == 1 }) else { return nil }
        return values
    }
}
