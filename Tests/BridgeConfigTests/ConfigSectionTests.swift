import BridgeConfig
import Testing

@Suite struct ConfigSectionTests {
    func node(_ yaml: String) throws -> ConfigNode {
        try #require(YAMLLoader.parse(yaml, file: "c.yaml").0)
    }

    @Test("keys asked for are known, present or not; the rest are reported with a suggestion")
    func unknownKeys() throws {
        var section = ConfigSection(try node("url: x\ntimout: 3\n"))
        #expect(section["url"]?.scalar == "x")
        #expect(section["timeout"] == nil)
        var d = Diagnostics()
        #expect(!section.reportUnknown(&d))
        #expect(d.items.count == 1)
        #expect(d.items.first?.message.contains("unknown key 'timout'; did you mean 'timeout'?") == true, "\(d.items)")
        #expect(d.items.first?.location.map { "\($0.line):\($0.column)" } == "2:1")
    }

    @Test("two readers of one section: keys read by either are known")
    func twoReaders() throws {
        var section = ConfigSection(try node("url: x\nretry: {}\n"))
        _ = section["url"]
        var d = Diagnostics()
        #expect(!section.reportUnknown(&d))
        _ = section["retry"]
        d = Diagnostics()
        #expect(section.reportUnknown(&d) && d.items.isEmpty)
    }

    @Test func notAMapping() throws {
        let section = ConfigSection(try node("- a\n- b\n"))
        var d = Diagnostics()
        #expect(!section.reportUnknown(&d))
        #expect(d.items.first?.message.contains("expected a mapping") == true)
    }
}
