import BridgeCore
import Foundation
import Testing

@testable import BridgeRules

/// 2024-05-01T12:00:00Z, the clock of every test context.
let templateTestNow = Date(timeIntervalSince1970: 1_714_564_800)

/// The Pub/Sub message inside the fixture body, before base64.
let pubSubPayload = #"{"order":{"id":42,"tags":["a","b"]},"note":"café"}"#

/// A realistic envelope: a GCS-like body with odd keys, a Pub/Sub push message, headers, Kafka and CloudEvent data.
func templateTestEvent(kafka: Bool = true) -> Event {
    let data = Data(pubSubPayload.utf8).base64EncodedString()
    let urlSafe = data.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
    let body: JSONValue = [
        "bucket": "raw-landing",
        "name": "incoming/2024/05/01/Report Q1.csv",
        "size": "1024",
        "count": 7,
        "ratio": 0.25,
        "flag": true,
        "nothing": nil,
        "metadata": ["team": "data", "tier": 2],
        "items": [["id": "a1", "qty": 2], ["id": "b2", "qty": 5]],
        "odd key": "spaces",
        "dash-key": "dashed",
        "unicode": "Café Münchën 日本",
        "title": "  Hello World \n",
        "created": 1_714_564_800,
        "created_ms": 1_714_564_800_123,
        "when": "2024-02-29T23:59:58.5+02:00",
        "message": ["data": .string(data), "messageId": "123"],
        "urlsafe": .string(urlSafe),
        "num_text": "3.75",
        "empty": "",
    ]
    return Event(
        id: "evt-1", source: "gcs-events", receivedAt: templateTestNow,
        headers: ["X-GitHub-Event": "push", "Content-Type": "application/json"],
        rawBody: [], body: body,
        kafka: kafka ? Event.KafkaMetadata(topic: "orders", partition: 3, offset: 42, key: "order-42", timestamp: 1_714_564_800_123) : nil,
        cloudEvent: JSONObject([("type", "google.cloud.storage.object.v1.finalized"), ("id", "ce-9"), ("time", "2024-05-01T11:59:00Z")]))
}

func templateTestContext(kafka: Bool = true) -> RenderContext {
    RenderContext(envelope: templateTestEvent(kafka: kafka).envelope, rule: "gcs-landing", now: templateTestNow)
}

/// The JSON type with integers and doubles told apart.
func jsonCase(_ v: JSONValue) -> String {
    switch v {
    case .int: return "int"
    case .double: return "double"
    default: return v.typeName
    }
}

/// Compiles and renders, failing the test with the compile error if any.
func render(_ text: String, _ ctx: RenderContext = templateTestContext()) throws -> JSONValue {
    try Template(text).render(ctx)
}

/// The render error of a template that must compile but fail to render.
func renderError(_ text: String, _ ctx: RenderContext = templateTestContext()) throws -> RenderError? {
    let t = try Template(text)
    do {
        _ = try t.render(ctx)
        return nil
    } catch {
        return error
    }
}

@Suite("Template rendering")
struct TemplateRenderTests {
    @Test(
        "a single expression keeps its JSON type; anything else is interpolated",
        arguments: [
            ("{{ body.count }}", JSONValue.int(7)),
            ("{{body.count}}", .int(7)),
            ("{{ \n body.count\t}}", .int(7)),
            (" {{ body.count }}", .string(" 7")),
            ("{{ body.count }} ", .string("7 ")),
            ("{{ body.count }}{{ body.count }}", .string("77")),
            ("{{ body.ratio }}", .double(0.25)),
            ("{{ body.flag }}", .bool(true)),
            ("{{ body.nothing }}", .null),
            ("x{{ body.nothing }}y", .string("xy")),
            ("{{ body.metadata }}", json(#"{"team":"data","tier":2}"#)),
            ("m={{ body.metadata }}", .string(#"m={"team":"data","tier":2}"#)),
            ("{{ body.items[0] }}", json(#"{"id":"a1","qty":2}"#)),
            ("n={{ body.items }}", .string(#"n=[{"id":"a1","qty":2},{"id":"b2","qty":5}]"#)),
            ("{{ body.size }}", .string("1024")),
            ("gs://{{ body.bucket }}/{{ body.name }}", .string("gs://raw-landing/incoming/2024/05/01/Report Q1.csv")),
            ("plain text", .string("plain text")),
            ("", .string("")),
            ("{{ '{{' }} and {{ \"}}\" }}", .string("{{ and }}")),
            ("{ single } braces", .string("{ single } braces")),
            ("{{ 42 }}", .int(42)),
            ("{{ -1.5e2 }}", .double(-150)),
            ("{{ [1, 'two', {\"k\": null}] }}", json(#"[1,"two",{"k":null}]"#)),
            ("{{ true }}/{{ null }}/{{ 2.5 }}", .string("true//2.5")),
        ])
    func typedOrInterpolated(_ text: String, _ expected: JSONValue) throws {
        let value = try render(text)
        #expect(value == expected)
        // Numeric equality crosses int/double, so check the case too.
        #expect(jsonCase(value) == jsonCase(expected))
    }

    @Test(
        "paths: dots, brackets, quotes, indices, headers, kafka, cloudevent, rule, now",
        arguments: [
            (#"{{ headers["x-github-event"] }}"#, JSONValue.string("push")),
            (#"{{ headers['X-GitHub-Event'] }}"#, "push"),
            ("{{ headers.content-type }}", "application/json"),
            (#"{{ body["odd key"] }}"#, "spaces"),
            ("{{ body.dash-key }}", "dashed"),
            ("{{ body.items[1].id }}", "b2"),
            ("{{ body.items[-1].qty }}", 5),
            ("{{ body.items[ 0 ][\"id\"] }}", "a1"),
            ("{{ body['items'][0]['qty'] }}", 2),
            ("{{ body.metadata.tier }}", 2),
            ("{{ kafka.key }}", "order-42"),
            ("{{ kafka.partition }}", 3),
            ("{{ kafka.topic }}-{{ kafka.partition }}-{{ kafka.offset }}", "orders-3-42"),
            ("{{ cloudevent.type }}", "google.cloud.storage.object.v1.finalized"),
            ("{{ cloudevent.id }}", "ce-9"),
            ("{{ id }}", "evt-1"),
            ("{{ source }}", "gcs-events"),
            ("{{ received_at }}", "2024-05-01T12:00:00.000Z"),
            ("{{ rule }}__{{ id }}", "gcs-landing__evt-1"),
            ("{{ now }}", "2024-05-01T12:00:00.000Z"),
        ])
    func paths(_ text: String, _ expected: JSONValue) throws {
        #expect(try render(text) == expected)
    }

    @Test(
        "a missing path is a render error naming the path; default replaces missing and null",
        arguments: [
            ("{{ body.nope }}", "body.nope"),
            ("{{ body.items[9].id }}", "body.items[9].id"),
            ("{{ body.items[-3] }}", "body.items[-3]"),
            ("{{ body.bucket.x }}", "body.bucket.x"),
            ("{{ body.items.id }}", "body.items.id"),
            ("{{ body.metadata[0] }}", "body.metadata[0]"),
            (#"{{ headers["X-Missing"] }}"#, "headers.x-missing"),
            (#"{{ body["odd key"].x }}"#, #"body["odd key"].x"#),
            ("a-{{ body.nope }}-b", "body.nope"),
            ("{{ body.nope | lower }}", "body.nope"),
            ("{{ body.nope | default(body.also_nope) }}", "body.also_nope"),
            ("{{ body.nope | string | default('x') }}", "body.nope"),
        ])
    func missing(_ text: String, _ path: String) throws {
        let error = try #require(try renderError(text))
        #expect(error.path == path)
        #expect(error.message.contains(path))
        #expect(error.message.contains("default"))
    }

    @Test(
        "default",
        arguments: [
            ("{{ body.nope | default('x') }}", JSONValue.string("x")),
            ("{{ body.nothing | default('x') }}", "x"),
            ("{{ body.empty | default('x') }}", ""),
            ("{{ body.count | default(0) }}", 7),
            ("{{ body.nope | default({}) }}", json("{}")),
            ("{{ body.nope | default([]) }}", json("[]")),
            ("{{ body.nope | default({'a': [1, {}], \"b\": null}) }}", json(#"{"a":[1,{}],"b":null}"#)),
            ("{{ body.metadata | default({}) }}", json(#"{"team":"data","tier":2}"#)),
            ("{{ body.nope | default(body.bucket) }}", "raw-landing"),
            ("{{ body.nope | default(null) }}", nil),
            ("{{ body.nope | default(null) | default(3) }}", 3),
            ("{{ body.nope | default('5') | int }}", 5),
            ("{{ kafka.key | default(id) }}", "order-42"),
            ("{{ body.items[7] | default(now) }}", "2024-05-01T12:00:00.000Z"),
            ("v={{ body.nope | default('') }}", "v="),
        ])
    func defaults(_ text: String, _ expected: JSONValue) throws {
        #expect(try render(text) == expected)
    }

    @Test("Kafka paths are missing for a webhook event")
    func noKafka() throws {
        let ctx = templateTestContext(kafka: false)
        #expect(try renderError("{{ kafka.key }}", ctx)?.path == "kafka.key")
        #expect(try render("{{ kafka.key | default(id) }}", ctx) == "evt-1")
    }

    @Test("a Pub/Sub push body decodes to a typed object")
    func pubSub() throws {
        let expected = try JSONParser.parse(pubSubPayload)
        #expect(try render("{{ body.message.data | b64decode | fromjson }}") == expected)
        #expect(try render("{{ body.urlsafe | b64decode | fromjson }}") == expected)
        // Interpolated, the decoded object is compact JSON.
        #expect(try render("p={{ body.message.data | b64decode | fromjson }}") == .string(#"p={"order":{"id":42,"tags":["a","b"]},"note":"café"}"#))
        #expect(try render("{{ body.message.data | b64decode }}") == .string(pubSubPayload))
    }

    @Test("renderString gives text: strings as is, null empty, others compact JSON")
    func renderString() throws {
        let ctx = templateTestContext()
        #expect(try Template("{{ body.metadata }}").renderString(ctx) == #"{"team":"data","tier":2}"#)
        #expect(try Template("{{ body.nothing }}").renderString(ctx) == "")
        #expect(try Template("{{ body.count }}").renderString(ctx) == "7")
        #expect(try Template("{{ body.bucket }}").renderString(ctx) == "raw-landing")
        #expect(try Template("{{ body.title }}").renderString(ctx) == "  Hello World \n")
        #expect(try Template("a{{ body.flag }}").renderString(ctx) == "atrue")
        #expect(try Template("const").renderString(ctx) == "const")
    }

    @Test("isConstant")
    func constant() throws {
        #expect(try Template("no expressions").isConstant)
        #expect(try Template("").isConstant)
        #expect(try !Template("{{ id }}").isConstant)
        #expect(try !Template("x {{ 'lit' }}").isConstant)
    }

    @Test(
        "referencedPaths lists envelope paths in order, once, including default arguments",
        arguments: [
            ("{{ body.bucket }}/{{ cloudevent.id }}/{{ body.bucket }}", ["body.bucket", "cloudevent.id"]),
            (#"{{ headers["X-GitHub-Event"] }}"#, ["headers.x-github-event"]),
            (#"{{ body["odd key"].x[0] }}"#, [#"body["odd key"].x[0]"#]),
            ("{{ body.a | default(kafka.key) }}-{{ rule }}-{{ now }}-{{ id }}", ["body.a", "kafka.key", "id"]),
            ("constant", []),
        ])
    func referencedPaths(_ text: String, _ expected: [String]) throws {
        #expect(try Template(text).referencedPaths == expected)
    }

    @Test("member lookup in small, medium and large objects (scan and hash paths)", arguments: [3, 20, 64, 65, 300])
    func objectSizes(_ count: Int) throws {
        var members: [(String, JSONValue)] = (0..<count).map { ("k\($0)", .int(Int64($0))) }
        members.append(("odd é key", "unicode"))
        members.append(("kk", "two"))
        let ctx = RenderContext(envelope: ["body": .object(JSONObject(members))], rule: "r", now: templateTestNow)
        #expect(try render("{{ body.k\(count - 1) }}", ctx) == .int(Int64(count - 1)))
        #expect(try render("{{ body.k0 }}", ctx) == 0)
        #expect(try render("{{ body['odd é key'] }}", ctx) == "unicode")
        #expect(try render("{{ body.kk }}", ctx) == "two")
        #expect(try renderError("{{ body.k\(count) }}", ctx)?.path == "body.k\(count)")
        #expect(try renderError("{{ body.K0 }}", ctx)?.path == "body.K0")
    }

    @Test("a non-object envelope makes every path missing")
    func nonObjectEnvelope() throws {
        let ctx = RenderContext(envelope: .string("x"), rule: "r", now: templateTestNow)
        #expect(try renderError("{{ body.a }}", ctx)?.path == "body.a")
        #expect(try render("{{ rule }}", ctx) == "r")
    }
}
