import OnnxFormat

/// `Constant`: one of value, value_float(s), value_int(s), value_string(s) becomes a constant value.
enum ConstantLowering {
    static func value(_ c: inout LoweringContext) throws -> Tensor {
        if let t = try c.tensor("value") { return t }
        if c.has("value_float") { return .scalar(try c.float("value_float", 0)) }
        if let v = try c.floats("value_floats") { return Tensor(shape: [v.count], v) }
        if c.has("value_int") { return .scalar(Int64(try c.int("value_int", 0))) }
        if let v = try c.ints("value_ints") { return Tensor(shape: [v.count], v.map(Int64.init)) }
        if c.has("value_string") { return .scalar(try c.string("value_string", "")) }
        if c.has("sparse_value") { throw c.error("sparse constants are not supported") }
        throw c.error("has no value attribute")
    }
}
