import BridgeConfig
import BridgeCore
import Foundation
import Testing

@Suite struct ConfigNodeTests {
    @Test func positionsAndPaths() throws {
        let (root, diags) = YAMLLoader.parse("a:\n  b:\n    - x\n    - { c: 1 }\n", file: "f.yaml")
        #expect(diags.isEmpty)
        let c = try #require(root?["a"]?["b"]?.sequence?[1]["c"])
        #expect(c.location == SourceLocation(file: "f.yaml", line: 4, column: 12))
        #expect(c.path == "a.b[1].c")
        #expect(c.json == .int(1))
    }

    @Test func plainScalarsAreTypedQuotedAreStrings() throws {
        let (root, _) = YAMLLoader.parse("a: 1\nb: '1'\nc: true\nd: ~\ne: 2.5\nf: 1e3\ng: yes\n", file: "f")
        let r = try #require(root)
        #expect(r["a"]?.json == .int(1))
        #expect(r["b"]?.json == .string("1"))
        #expect(r["c"]?.json == .bool(true))
        #expect(r["d"]?.json == .null)
        #expect(r["e"]?.json == .double(2.5))
        #expect(r["f"]?.json == .double(1000))
        #expect(r["g"]?.json == .string("yes"))  // YAML 1.2 core schema: not a boolean
    }

    @Test func duplicateKeysAreErrors() {
        let (_, diags) = YAMLLoader.parse("a: 1\nb: 2\na: 3\n", file: "f.yaml")
        #expect(diags.contains { $0.description.hasPrefix("f.yaml:") && $0.message == "duplicate key 'a'" })
    }

    @Test func aliasesResolveButAliasBombsAreRefused() {
        let (root, diags) = YAMLLoader.parse("a: &x { k: 1 }\nb: *x\n", file: "f")
        #expect(diags.isEmpty)
        #expect(root?["b"]?.json == ["k": 1])
        var bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...8 { bomb += "l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let (_, bombDiags) = YAMLLoader.parse(bomb, file: "f", maxNodes: 10_000)
        #expect(bombDiags.contains { $0.message.contains("document too large") })
    }

    @Test func typedReadsRecordErrors() throws {
        let (root, _) = YAMLLoader.parse("n: abc\nd: 5 minutes\nb: maybe\nl: { a: 1 }\n", file: "f")
        let r = try #require(root)
        var diags = Diagnostics()
        #expect(r["n"]?.int(&diags) == nil)
        #expect(r["d"]?.duration(&diags) == nil)
        #expect(r["b"]?.bool(&diags) == nil)
        #expect(r["l"]?.stringList(&diags) == nil)
        #expect(diags.items.count == 4)
        #expect(diags.items[0].description == "f:1:4: error: expected a whole number, found 'abc' (at n)")
    }
}

@Suite struct SecretResolverTests {
    @Test func resolvesEnvAndFileAndNeverPrintsValues() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try "s3cr3t\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = SecretResolver(environment: ["TOKEN": "abc"])
        let s = try r.resolve("${env:TOKEN}")
        #expect(s.value == "abc")
        #expect("\(s)" == "<redacted>")
        #expect(try r.resolve("${file:\(path)}").value == "s3cr3t")
        #expect(try r.resolve("Bearer ${env:TOKEN}").value == "Bearer abc")
    }

    @Test(arguments: [
        ("${env:MISSING}", "environment variable MISSING is not set"),
        ("${file:/nonexistent/x}", "secret file /nonexistent/x cannot be read"),
        ("${vault:x}", "unknown reference"),
        ("${env:X", "unterminated"),
    ])
    func errorsSayWhatToFix(text: String, message: String) {
        do {
            _ = try SecretResolver(environment: [:]).resolve(text)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains(message))
        }
    }
}

@Suite struct DidYouMeanTests {
    @Test func suggestsClosest() {
        #expect(didYouMean("prefx", ["prefix", "suffix", "numeric"]) == "prefix")
        #expect(didYouMean("zzzzzz", ["prefix", "suffix"]) == nil)
    }
}
