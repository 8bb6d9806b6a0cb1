/// A structural check of protobuf bytes against the ONNX schema, run before protobuf-c sees them.
///
/// protobuf-c decodes nested messages recursively with no depth limit and reports failure as a bare
/// NULL. This scan walks the bytes iteratively and rejects, with the offset and the field path:
/// malformed varints, lengths past the end, wire types that are invalid or wrong for a known field,
/// groups, field number zero, and nesting deeper than the limit. Unknown fields are skipped.
struct WireScan {
    /// How a known field is encoded.
    enum FieldKind {
        case varint, fixed32, fixed64, bytes
        case message(Message)
        /// A repeated scalar: either unpacked elements or one length-delimited packed run.
        case repeatedVarint, repeatedFixed32, repeatedFixed64
    }

    enum Message: String {
        case ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, Segment, SparseTensorProto
        case TypeProto, TypeTensor, TypeSequence, TypeMap, TypeOptional, TypeSparseTensor
        case TensorShapeProto, Dimension, ValueInfoProto, StringStringEntryProto, OperatorSetIdProto
        case TensorAnnotation, TrainingInfoProto, FunctionProto

        // Field numbers and encodings from schemas/onnx.proto.
        func field(_ number: UInt64) -> FieldKind? {
            switch self {
            case .ModelProto:
                switch number {
                case 1, 5: return .varint
                case 2, 3, 4, 6: return .bytes
                case 7: return .message(.GraphProto)
                case 8: return .message(.OperatorSetIdProto)
                case 14: return .message(.StringStringEntryProto)
                case 20: return .message(.TrainingInfoProto)
                case 25: return .message(.FunctionProto)
                default: return nil
                }
            case .GraphProto:
                switch number {
                case 1: return .message(.NodeProto)
                case 2, 10: return .bytes
                case 5: return .message(.TensorProto)
                case 11, 12, 13: return .message(.ValueInfoProto)
                case 14: return .message(.TensorAnnotation)
                case 15: return .message(.SparseTensorProto)
                case 16: return .message(.StringStringEntryProto)
                default: return nil
                }
            case .NodeProto:
                switch number {
                case 1, 2, 3, 4, 6, 7, 8: return .bytes
                case 5: return .message(.AttributeProto)
                case 9: return .message(.StringStringEntryProto)
                default: return nil
                }
            case .AttributeProto:
                switch number {
                case 1, 4, 9, 13, 21: return .bytes
                case 2: return .fixed32
                case 3, 20: return .varint
                case 5, 10: return .message(.TensorProto)
                case 6, 11: return .message(.GraphProto)
                case 7: return .repeatedFixed32
                case 8: return .repeatedVarint
                case 14, 15: return .message(.TypeProto)
                case 22, 23: return .message(.SparseTensorProto)
                default: return nil
                }
            case .TensorProto:
                switch number {
                case 1, 5, 7, 11: return .repeatedVarint
                case 2, 14: return .varint
                case 3: return .message(.Segment)
                case 4: return .repeatedFixed32
                case 6, 8, 9, 12: return .bytes
                case 10: return .repeatedFixed64
                case 13, 16: return .message(.StringStringEntryProto)
                default: return nil
                }
            case .Segment:
                return number == 1 || number == 2 ? .varint : nil
            case .SparseTensorProto:
                switch number {
                case 1, 2: return .message(.TensorProto)
                case 3: return .repeatedVarint
                default: return nil
                }
            case .TypeProto:
                switch number {
                case 1: return .message(.TypeTensor)
                case 4: return .message(.TypeSequence)
                case 5: return .message(.TypeMap)
                case 6: return .bytes
                case 8: return .message(.TypeSparseTensor)
                case 9: return .message(.TypeOptional)
                default: return nil
                }
            case .TypeTensor, .TypeSparseTensor:
                switch number {
                case 1: return .varint
                case 2: return .message(.TensorShapeProto)
                default: return nil
                }
            case .TypeSequence, .TypeOptional:
                return number == 1 ? .message(.TypeProto) : nil
            case .TypeMap:
                switch number {
                case 1: return .varint
                case 2: return .message(.TypeProto)
                default: return nil
                }
            case .TensorShapeProto:
                return number == 1 ? .message(.Dimension) : nil
            case .Dimension:
                switch number {
                case 1: return .varint
                case 2, 3: return .bytes
                default: return nil
                }
            case .ValueInfoProto:
                switch number {
                case 1, 3: return .bytes
                case 2: return .message(.TypeProto)
                case 4: return .message(.StringStringEntryProto)
                default: return nil
                }
            case .StringStringEntryProto:
                return number == 1 || number == 2 ? .bytes : nil
            case .OperatorSetIdProto:
                switch number {
                case 1: return .bytes
                case 2: return .varint
                default: return nil
                }
            case .TensorAnnotation:
                switch number {
                case 1: return .bytes
                case 2: return .message(.StringStringEntryProto)
                default: return nil
                }
            case .TrainingInfoProto:
                switch number {
                case 1, 2: return .message(.GraphProto)
                case 3, 4: return .message(.StringStringEntryProto)
                default: return nil
                }
            case .FunctionProto:
                switch number {
                case 1, 4, 5, 6, 8, 10, 13: return .bytes
                case 7: return .message(.NodeProto)
                case 9: return .message(.OperatorSetIdProto)
                case 11: return .message(.AttributeProto)
                case 12: return .message(.ValueInfoProto)
                case 14: return .message(.StringStringEntryProto)
                default: return nil
                }
            }
        }
    }

    private struct Frame {
        var message: Message
        var end: Int
        var fieldName: String
    }

    /// Checks `bytes` as a serialized `root` message. Throws an `OnnxError` naming the offset and path.
    static func check(_ bytes: UnsafeRawBufferPointer, root: Message = .ModelProto, maxDepth: Int) throws {
        var stack = [Frame(message: root, end: bytes.count, fieldName: root.rawValue)]
        var offset = 0

        func path() -> String { stack.map(\.fieldName).joined(separator: ".") }
        func fail(_ what: String) -> OnnxError {
            OnnxError("invalid protobuf at byte \(offset) in \(path()): \(what)")
        }
        func readVarint(limit: Int) throws -> UInt64 {
            // Errors point at the varint's first byte.
            let start = offset
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < limit else { offset = start; throw fail("truncated varint") }
                let byte = bytes[offset]
                offset += 1
                if shift == 63 && byte > 1 { offset = start; throw fail("varint longer than 64 bits") }
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        func skip(_ count: UInt64, limit: Int, what: String) throws {
            guard count <= UInt64(limit - offset) else {
                throw fail("\(what) of \(count) bytes runs past the end of its message (\(limit - offset) bytes left)")
            }
            offset += Int(count)
        }

        while let frame = stack.last {
            if offset == frame.end {
                stack.removeLast()
                continue
            }
            let tagStart = offset
            let tag = try readVarint(limit: frame.end)
            let number = tag >> 3
            let wireType = Int(tag & 7)
            guard number != 0 else { offset = tagStart; throw fail("field number 0") }
            guard number < (1 << 29) else { offset = tagStart; throw fail("field number \(number) out of range") }
            let kind = frame.message.field(number)
            let fieldLabel = "\(frame.message.rawValue) field \(number)"

            switch wireType {
            case 0:
                switch kind {
                case nil, .varint?, .repeatedVarint?: _ = try readVarint(limit: frame.end)
                default: offset = tagStart; throw fail("\(fieldLabel) has wire type varint, which does not match its type")
                }
            case 1:
                switch kind {
                case nil, .fixed64?, .repeatedFixed64?: try skip(8, limit: frame.end, what: "fixed64 value")
                default: offset = tagStart; throw fail("\(fieldLabel) has wire type fixed64, which does not match its type")
                }
            case 5:
                switch kind {
                case nil, .fixed32?, .repeatedFixed32?: try skip(4, limit: frame.end, what: "fixed32 value")
                default: offset = tagStart; throw fail("\(fieldLabel) has wire type fixed32, which does not match its type")
                }
            case 2:
                let length = try readVarint(limit: frame.end)
                guard length <= UInt64(frame.end - offset) else {
                    let left = frame.end - offset
                    offset = tagStart
                    throw fail("length \(length) of \(fieldLabel) runs past the end (\(left) bytes left)")
                }
                let end = offset + Int(length)
                switch kind {
                case .message(let child)?:
                    guard stack.count < maxDepth else {
                        throw fail("messages nested deeper than \(maxDepth) levels")
                    }
                    stack.append(Frame(message: child, end: end, fieldName: "\(child.rawValue)#\(number)"))
                case .repeatedVarint?:
                    while offset < end { _ = try readVarint(limit: end) }
                case .repeatedFixed32?:
                    guard length % 4 == 0 else { offset = tagStart; throw fail("packed \(fieldLabel) length \(length) is not a multiple of 4") }
                    offset = end
                case .repeatedFixed64?:
                    guard length % 8 == 0 else { offset = tagStart; throw fail("packed \(fieldLabel) length \(length) is not a multiple of 8") }
                    offset = end
                case nil, .bytes?:
                    offset = end
                case .varint?, .fixed32?, .fixed64?:
                    offset = tagStart
                    throw fail("\(fieldLabel) has wire type length-delimited, which does not match its type")
                }
            case 3, 4:
                offset = tagStart
                throw fail("groups (wire type \(wireType)) are not used by ONNX")
            default:
                offset = tagStart
                throw fail("invalid wire type \(wireType)")
            }
        }
    }
}
