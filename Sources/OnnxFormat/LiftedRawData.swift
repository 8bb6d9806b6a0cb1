/// A model's bytes with its initializers' `raw_data` taken out, for protobuf-c to decode the rest.
///
/// protobuf-c copies every bytes field into its decoded tree. For a model's weights that is a second
/// copy of most of the file, in fresh memory: 100 MB of ResNet-50's load, where fresh pages are the
/// dearest part (see `PageBuffer`). Lifted out, the weights stay in the buffer the file was read
/// into, and the initializers borrow them from there.
///
/// Only the top-level graph's initializers are lifted (`ModelProto.graph.initializer.raw_data`), where
/// exports keep their weights. The two enclosing messages shrink, so their lengths are rewritten as
/// five-byte varints (padded with continuation bits, which protobuf decoders accept): written before
/// the content, patched after it.
struct LiftedRawData {
    /// The bytes without the lifted fields.
    let rest: [UInt8]
    /// Where each initializer's raw data is in the original bytes, in the order protobuf-c decodes the
    /// initializers; nil for one without raw data.
    let payloads: [Range<Int>?]

    /// nil when lifting does not pay (raw data is under half the bytes, as in models that keep their
    /// weights in typed fields) or the graph is stored in more than one field, which decoders merge.
    init?(_ bytes: UnsafeRawBufferPointer) {
        var plan = Lifter(bytes: bytes, emitting: false)
        guard plan.model(), plan.graphs == 1, plan.liftedBytes >= bytes.count / 2 else { return nil }
        var lifter = Lifter(bytes: bytes, emitting: true)
        lifter.out.reserveCapacity(bytes.count - plan.liftedBytes + Lifter.lengthBytes * (plan.payloads.count + 1))
        guard lifter.model() else { return nil }
        rest = lifter.out
        payloads = lifter.payloads
    }
}

/// One walk over the fields that enclose the lifted ones; the rest is copied whole (when emitting).
private struct Lifter {
    let bytes: UnsafeRawBufferPointer
    let emitting: Bool
    var out: [UInt8] = []
    var payloads: [Range<Int>?] = []
    var graphs = 0
    var liftedBytes = 0

    static let lengthBytes = 5

    private struct Field {
        let number: UInt64
        /// Tag through payload.
        let whole: Range<Int>
        /// Where the tag ends.
        let tagEnd: Int
        /// The payload of a length-delimited field (empty for others).
        let payload: Range<Int>
        let lengthDelimited: Bool
    }

    /// The ModelProto's fields; false when the bytes are malformed (WireScan has normally refused them).
    mutating func model() -> Bool {
        fields(in: 0 ..< bytes.count) { lifter, field in
            guard field.number == 7 && field.lengthDelimited else { return lifter.copy(field.whole) }
            lifter.graphs += 1
            return lifter.enclose(field) { $0.graph(field.payload) }
        }
    }

    private mutating func graph(_ range: Range<Int>) -> Bool {
        fields(in: range) { lifter, field in
            guard field.number == 5 && field.lengthDelimited else { return lifter.copy(field.whole) }
            lifter.payloads.append(nil)
            return lifter.enclose(field) { $0.tensor(field.payload) }
        }
    }

    private mutating func tensor(_ range: Range<Int>) -> Bool {
        fields(in: range) { lifter, field in
            guard field.number == 9 && field.lengthDelimited else { return lifter.copy(field.whole) }
            // Every occurrence is taken out; the last one is the value, as in decoders.
            lifter.liftedBytes += field.whole.count
            lifter.payloads[lifter.payloads.count - 1] = field.payload
            return true
        }
    }

    /// Copies the field's tag, then its content as `body` writes it, under a padded length.
    private mutating func enclose(_ field: Field, _ body: (inout Lifter) -> Bool) -> Bool {
        copy(field.whole.lowerBound ..< field.tagEnd)
        let mark = out.count
        if emitting { out.append(contentsOf: repeatElement(0, count: Self.lengthBytes)) }
        guard body(&self) else { return false }
        if emitting {
            var length = out.count - mark - Self.lengthBytes
            guard length < 1 << (7 * Self.lengthBytes) else { return false }
            for i in 0 ..< Self.lengthBytes {
                out[mark + i] = UInt8(length & 0x7f) | (i < Self.lengthBytes - 1 ? 0x80 : 0)
                length >>= 7
            }
        }
        return true
    }

    @discardableResult
    private mutating func copy(_ range: Range<Int>) -> Bool {
        if emitting { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range])) }
        return true
    }

    /// Calls `body` for each field in `range`, stopping at the first that returns false.
    private mutating func fields(in range: Range<Int>, _ body: (inout Lifter, Field) -> Bool) -> Bool {
        var offset = range.lowerBound
        while offset < range.upperBound {
            let start = offset
            guard let tag = varint(&offset, limit: range.upperBound) else { return false }
            let tagEnd = offset
            var payload = offset ..< offset
            switch tag & 7 {
            case 0: guard varint(&offset, limit: range.upperBound) != nil else { return false }
            case 1: offset += 8
            case 5: offset += 4
            case 2:
                guard let length = varint(&offset, limit: range.upperBound), length <= UInt64(range.upperBound - offset) else { return false }
                payload = offset ..< offset + Int(length)
                offset = payload.upperBound
            default: return false
            }
            guard offset <= range.upperBound else { return false }
            let field = Field(number: tag >> 3, whole: start ..< offset, tagEnd: tagEnd, payload: payload, lengthDelimited: tag & 7 == 2)
            guard body(&self, field) else { return false }
        }
        return true
    }

    private func varint(_ offset: inout Int, limit: Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < limit && shift < 64 {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }
}
