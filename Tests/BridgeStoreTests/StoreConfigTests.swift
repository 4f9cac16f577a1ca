import BridgeConfig
import BridgeStore
import Testing

@Suite("store: configuration section")
struct StoreConfigTests {
    func parse(_ yaml: String) -> (StoreConfig?, [String]) {
        let (root, problems) = YAMLLoader.parse(yaml, file: "dagbridge.yaml")
        var d = Diagnostics()
        d.append(contentsOf: problems)
        let c = StoreConfig.parse(root?["store"], diagnostics: &d)
        return (c, d.items.map(\.description))
    }

    @Test("defaults when the section is missing")
    func defaults() {
        let (c, problems) = parse("server: {}\n")
        #expect(problems.isEmpty)
        #expect(c == StoreConfig())
        #expect(c?.path == "./var/dagbridge.sqlite")
        #expect(c?.durability == .full)
        #expect(c?.retention == Double(604_800))
        #expect(c?.highWater == 10_000)
        #expect(c?.lowWater == 8_000)
    }

    @Test("every key is read")
    func values() {
        let (c, problems) = parse(
            """
            store:
              path: /data/j.sqlite
              durability: normal
              retention: 2d
              high_water: 500
              low_water: 100
              busy_timeout: 2s
            """)
        #expect(problems.isEmpty)
        #expect(c == StoreConfig(path: "/data/j.sqlite", durability: .normal, retention: 2 * 86400, highWater: 500, lowWater: 100, busyTimeout: 2))
    }

    @Test(
        "bad values are reported with the place and what to do",
        arguments: [
            ("store:\n  durabilty: full\n", "dagbridge.yaml:2:3: error: unknown key 'durabilty'; did you mean 'durability'?"),
            ("store:\n  durability: always\n", "durability must be 'full' or 'normal', found 'always'"),
            ("store:\n  retention: soon\n", "expected a duration like 30s, 5m, 24h or 7d, found 'soon'"),
            ("store:\n  high_water: 10\n  low_water: 20\n", "low_water (20) must not be above high_water (10)"),
            ("store:\n  high_water: -1\n", "is out of range"),
            ("store: [a]\n", "expected a mapping"),
            ("store:\n  path: ''\n", "store path must not be empty"),
        ])
    func problems(yaml: String, expected: String) {
        let (c, problems) = parse(yaml)
        #expect(c == nil)
        #expect(problems.contains { $0.contains(expected) }, "\(problems)")
    }

    @Test("a relative path is taken from the config file's folder; absolute paths and a config in the working directory keep it")
    func resolvingPath() {
        #expect(StoreConfig(path: "var/j.sqlite").resolvingPath(relativeTo: "/etc/dagbridge/dagbridge.yaml").path == "/etc/dagbridge/var/j.sqlite")
        #expect(StoreConfig(path: "/data/j.sqlite").resolvingPath(relativeTo: "/etc/dagbridge/dagbridge.yaml").path == "/data/j.sqlite")
        #expect(StoreConfig(path: "j.sqlite").resolvingPath(relativeTo: "dagbridge.yaml").path == "j.sqlite")
        #expect(StoreConfig(path: "j.sqlite").resolvingPath(relativeTo: "conf/d.yaml").path == "conf/j.sqlite")
    }
}
