import BridgeCore
import Testing

@Suite struct JSONWriterTests {
    /// Byte-by-byte escaping, the rule the run-copying writer must reproduce exactly.
    static func referenceString(_ s: String) -> [UInt8] {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [0x22]
        for b in s.utf8 {
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x00..<0x20: out += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: out.append(b)
            }
        }
        out.append(0x22)
        return out
    }

    @Test("strings: every byte that needs an escape, at the start, middle and end, in runs, and none")
    func stringEscapes() throws {
        var cases = ["", "plain", "ünïcödé ✓ 𝄞", String(repeating: "long run ", count: 500)]
        for b in UInt8(0)..<0x80 {
            let c = String(UnicodeScalar(b))
            cases += [c, c + "abc", "abc" + c, "ab" + c + "cd", c + c + c, "\u{00E9}" + c + "\u{1F600}"]
        }
        cases.append("\"\\\n\r\t\u{0}\u{1F}x\u{7F}\"")
        for s in cases {
            var out: [UInt8] = [0x2A]  // appending keeps what is already there
            JSONWriter.writeString(s, into: &out)
            #expect(out == [0x2A] + Self.referenceString(s), "\(s.debugDescription)")
            #expect(try JSONParser.parse(JSONWriter.bytes(.string(s))) == .string(s))
        }
    }

    @Test("objects keep member order unless sorted; arrays and nesting; pretty output")
    func objectsAndArrays() throws {
        let v: JSONValue = ["b": 1, "a": ["x\"y", .null, true, 2.5], "c": ["z": [:], "y": []]]
        #expect(JSONWriter.string(v) == #"{"b":1,"a":["x\"y",null,true,2.5],"c":{"z":{},"y":[]}}"#)
        #expect(JSONWriter.string(v, sortedKeys: true) == #"{"a":["x\"y",null,true,2.5],"b":1,"c":{"y":[],"z":{}}}"#)
        #expect(JSONWriter.string(["k": [1]], pretty: true) == "{\n  \"k\": [\n    1\n  ]\n}")
        #expect(try JSONParser.parse(JSONWriter.string(v)) == v)
    }
}
