public import BridgeConfig
import BridgeCore
import Foundation

extension KafkaSourceConfig {
    /// Parses the `sources.kafka` list.
    public static func parseList(_ node: ConfigNode, resolver: SecretResolver, diagnostics diags: inout Diagnostics) -> [KafkaSourceConfig] {
        guard let items = node.sequence else {
            diags.error("'kafka' must be a list of sources, found \(node.describeValue)", at: node)
            return []
        }
        var out: [KafkaSourceConfig] = []
        var names: [String: SourceLocation] = [:]
        for item in items {
            guard let source = parse(item, resolver: resolver, diagnostics: &diags) else { continue }
            if let first = names[source.name] {
                diags.error("duplicate source name '\(source.name)' (first defined at \(first))", at: item["name"])
                continue
            }
            names[source.name] = item.location
            out.append(source)
        }
        return out
    }

    /// Parses one source; records every problem found.
    public static func parse(_ node: ConfigNode, resolver: SecretResolver, diagnostics diags: inout Diagnostics) -> KafkaSourceConfig? {
        guard node.mapping != nil else {
            diags.error("a Kafka source must be a mapping with name, brokers, topics and group_id, found \(node.describeValue)", at: node)
            return nil
        }
        let before = diags.items.count
        var section = ConfigSection(node)
        func required(_ key: String, _ what: String) -> ConfigNode? {
            guard let n = section[key] else {
                diags.error("missing '\(key)': \(what)", at: node)
                return nil
            }
            return n
        }
        let name = required("name", "the source name rules refer to")?.string(&diags) ?? ""
        var brokers: [String] = []
        if let b = required("brokers", "bootstrap servers, e.g. 'kafka-1:9092,kafka-2:9092'") {
            if b.sequence != nil {
                brokers = b.stringList(&diags) ?? []
            } else if let s = b.string(&diags) {
                brokers = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            if brokers.isEmpty && diags.items.count == before { diags.error("'brokers' is empty: list at least one host:port", at: b) }
        }
        var topics: [String] = []
        if let t = required("topics", "a list of topic names or ^regex patterns") {
            topics = (t.sequence != nil ? t.stringList(&diags) : t.string(&diags).map { [$0] }) ?? []
            if topics.isEmpty { diags.error("'topics' is empty: list at least one topic", at: t) }
            for topic in topics where topic.isEmpty { diags.error("empty topic name", at: t) }
        }
        let group = required("group_id", "the consumer group, e.g. 'dagbridge'")?.string(&diags) ?? ""
        var config = KafkaSourceConfig(name: name, brokers: brokers, topics: topics, groupID: group)
        if let e = section["event_id"], let text = e.string(&diags) {
            if let v = EventID(text) { config.eventID = v } else {
                diags.error("event_id '\(text)' must be coordinates, header:NAME or body:PATH", at: e)
            }
        }
        if let f = section["format"], let text = f.string(&diags) {
            if let v = Format(rawValue: text) { config.format = v } else { diags.error("format must be json, string or bytes-base64", at: f) }
        }
        if let s = section["start"], let text = s.string(&diags) {
            switch text {
            case "earliest": config.startLatest = false
            case "latest": config.startLatest = true
            default: diags.error("start must be earliest or latest", at: s)
            }
        }
        if let d = section["dlq_topic"], let text = d.string(&diags) {
            if text.isEmpty { diags.error("dlq_topic is empty: remove it or name a topic", at: d) } else { config.dlqTopic = text }
        }
        if let c = section["commit_interval"], let v = c.duration(&diags) {
            if v < 0.1 { diags.error("commit_interval must be at least 100ms", at: c) } else { config.commitInterval = v }
        }
        if let b = section["batch_size"], let v = b.int(&diags, in: 1...100_000) { config.batchSize = v }
        if let l = section["librdkafka"] {
            if let map = l.mapping {
                for (k, v) in map {
                    guard let key = k.string(&diags) else { continue }
                    if let why = ownedProperties[key] {
                        diags.error("librdkafka property '\(key)' is set by dagbridge: \(why)", at: k)
                        continue
                    }
                    guard let secret = resolver.resolve(v, &diags) else { continue }
                    config.properties.append((key, secret))
                }
            } else {
                diags.error("'librdkafka' must be a mapping of librdkafka properties, found \(l.describeValue)", at: l)
            }
        }
        section.reportUnknown(&diags)
        if diags.items.count == before || !diags.hasErrors {
            // librdkafka knows its own properties: check names and values now, not at startup.
            if let problem = config.librdkafkaProblem() { diags.error(problem, at: node["librdkafka"] ?? node) }
        }
        return diags.items.count == before ? config : nil
    }
}
