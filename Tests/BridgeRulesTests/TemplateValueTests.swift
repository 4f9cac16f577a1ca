import BridgeConfig
import BridgeCore
import Testing

@testable import BridgeRules

@Suite("ValueTemplate (conf trees)")
struct TemplateValueTests {
    /// The `conf` node of a small rule file.
    func confNode(_ yaml: String) throws -> ConfigNode {
        let (root, diags) = YAMLLoader.parse(yaml, file: "rules/test.yaml")
        #expect(diags.isEmpty, "\(diags)")
        return try #require(root?["conf"])
    }

    @Test("a YAML conf renders typed leaves, interpolated strings and untouched constants in order")
    func yamlConf() throws {
        let node = try confNode(
            """
            conf:
              bucket: "{{ body.bucket }}"
              size: "{{ body.size | int }}"
              labels: "{{ body.metadata | default({}) }}"
              missing_labels: '{{ body.nope | default({}) }}'
              key: "{{ body.name | slug }}"
              path: gs://{{ body.bucket }}/{{ body.name }}
              fixed: 42
              ratio: 0.5
              flag: true
              nothing: null
              quoted_number: "42"
              "{{ not.a.template }}": key stays as written
              list: ["a", "{{ body.count }}", 3]
              nested: {a: {b: x}}
            """)
        var diags = Diagnostics()
        let template = try #require(ValueTemplate.compile(node, diagnostics: &diags))
        #expect(diags.items.isEmpty)
        let value = try template.render(templateTestContext())
        let expected = json(
            #"""
            {"bucket":"raw-landing","size":1024,"labels":{"team":"data","tier":2},"missing_labels":{},
             "key":"incoming_2024_05_01_Report_Q1.csv","path":"gs://raw-landing/incoming/2024/05/01/Report Q1.csv",
             "fixed":42,"ratio":0.5,"flag":true,"nothing":null,"quoted_number":"42",
             "{{ not.a.template }}":"key stays as written","list":["a",7,3],"nested":{"a":{"b":"x"}}}
            """#)
        #expect(value == expected)
        // Order is kept, as people read it.
        #expect(value.objectValue?.keys == expected.objectValue?.keys)
        #expect(template.referencedPaths == ["body.bucket", "body.size", "body.metadata", "body.nope", "body.name", "body.count"])
        #expect(!template.isConstant)
    }

    @Test("every bad template in a tree is reported with file:line:col and key path")
    func diagnostics() throws {
        let node = try confNode(
            """
            conf:
              a: "{{ body.x | lowr }}"
              b: plain {{ bdy.x }}
              c: ok
              d:
                - "{{ body.x"
                - fine
            """)
        var diags = Diagnostics()
        #expect(ValueTemplate.compile(node, diagnostics: &diags) == nil)
        let items = diags.items
        #expect(items.count == 3)
        guard items.count == 3 else { return }
        // Quoted scalar: the scalar's own position; the message points into it.
        #expect(items[0].location == SourceLocation(file: "rules/test.yaml", line: 2, column: 6))
        #expect(items[0].keyPath == "conf.a")
        #expect(items[0].message.contains("did you mean 'lower'?"))
        #expect(items[0].message.contains("near 'lowr }}'"))
        // Plain one-line scalar: the column of the problem itself ('bdy' is 9 characters in).
        #expect(items[1].location == SourceLocation(file: "rules/test.yaml", line: 3, column: 15))
        #expect(items[1].keyPath == "conf.b")
        #expect(items[1].message.contains("unknown name 'bdy'"))
        #expect(items[2].location?.line == 6)
        #expect(items[2].keyPath == "conf.d[0]")
        #expect(items[2].message.contains("not closed"))
        #expect(items[0].description.hasPrefix("rules/test.yaml:2:6: error: bad template: unknown filter 'lowr'"))
    }

    @Test("a tree without expressions is one constant")
    func constantTree() throws {
        let node = try confNode("conf: {a: [1, 'x'], b: {c: null}}")
        var diags = Diagnostics()
        let template = try #require(ValueTemplate.compile(node, diagnostics: &diags))
        #expect(template.isConstant)
        #expect(try template.render(templateTestContext()) == json(#"{"a":[1,"x"],"b":{"c":null}}"#))
        #expect(template.referencedPaths.isEmpty)
    }

    @Test("init(json:) templates string values, not keys, and throws the first bad one")
    func fromJSON() throws {
        let template = try ValueTemplate(json: json(#"{"{{ id }}": "{{ id }}", "n": [1, "{{ body.count | string }}"], "t": true}"#))
        #expect(try template.render(templateTestContext()) == json(#"{"{{ id }}":"evt-1","n":[1,"7"],"t":true}"#))
        #expect(try ValueTemplate(json: "{{ source }}").render(templateTestContext()) == "gcs-events")
        #expect(throws: TemplateError.self) { try ValueTemplate(json: json(#"{"a": ["{{ body.x | nope }}"]}"#)) }
    }

    @Test("a conf with many keys renders to an object whose members are all found")
    func manyKeys() throws {
        let members = (0..<40).map { ("key\($0)", JSONValue.string($0 % 2 == 0 ? "{{ body.count }}" : "c\($0)")) }
        let template = try ValueTemplate(json: .object(JSONObject(members)))
        let object = try #require(try template.render(templateTestContext()).objectValue)
        #expect(object.count == 40)
        #expect(object["key0"] == 7)
        #expect(object["key39"] == "c39")
        #expect(object.keys == members.map(\.0))
    }

    @Test("a render error inside a tree names the path")
    func renderErrorInTree() throws {
        let template = try ValueTemplate(json: json(#"{"a": {"b": ["{{ body.nope }}"]}}"#))
        #expect(throws: RenderError(message: "body.nope is missing in {{ body.nope }} (add | default(...) to allow that)", path: "body.nope")) {
            try template.render(templateTestContext())
        }
    }
}
