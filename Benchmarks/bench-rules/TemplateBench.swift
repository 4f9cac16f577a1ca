import BridgeCore
import BridgeRules
import Foundation

/// Measures template rendering on one core: a typical `conf` (six fields: plain
/// paths, `int`, `slug`, `default({})`, an interpolated string) and the Pub/Sub
/// push decode chain. Prints renders per second (best of several rounds).
func runTemplateBenchmarks() {
    let event = benchGCSEvent()
    let ctx = RenderContext(envelope: event.envelope, rule: "gcs-landing", now: Date(timeIntervalSince1970: 1_714_564_800))
    let envelopeBytes = JSONWriter.bytes(event.envelope).count

    let conf: JSONValue = [
        "bucket": "{{ body.bucket }}",
        "object": "{{ body.name }}",
        "size": "{{ body.size | int }}",
        "labels": "{{ body.metadata | default({}) }}",
        "dag_key": "{{ body.bucket | slug }}",
        "uri": "gs://{{ body.bucket }}/{{ body.name }} ({{ cloudevent.type }})",
    ]
    let confTemplate: ValueTemplate
    let dagID: Template
    let pubSub: Template
    do {
        confTemplate = try ValueTemplate(json: conf)
        dagID = try Template("ingest_{{ body.bucket | slug }}")
        pubSub = try Template("{{ body.message.data | b64decode | fromjson }}")
    } catch {
        fatalError("benchmark templates do not compile: \(error)")
    }

    print("templates (envelope \(envelopeBytes) bytes; thread CPU time, best of 5 rounds)")
    bench("typical conf (6 fields)", iterations: 500_000) { try confTemplate.render(ctx) }
    bench("dag_id 'ingest_{{ body.bucket | slug }}'", iterations: 2_000_000) { try dagID.render(ctx) }
    bench("Pub/Sub data | b64decode | fromjson", iterations: 500_000) { try pubSub.render(ctx) }
    bench("compile + render the typical conf", iterations: 50_000) { try ValueTemplate(json: conf).render(ctx) }
    print("  per field of the typical conf:")
    for case .string(let text) in conf.objectValue?.values ?? [] {
        guard let t = try? Template(text) else { continue }
        bench("    " + text, iterations: 1_000_000) { try t.render(ctx) }
    }
}

/// Runs `body` `iterations` times per round and prints the best rate.
///
/// Time is the thread's CPU time, so rounds where the shared machine takes
/// the core away do not count; the rate is per core.
/// Set `TEMPLATE_BENCH=<text>` to run only the benchmarks whose name contains it (for profiling).
private func bench(_ name: String, iterations: Int, _ body: () throws -> JSONValue) {
    if let only = ProcessInfo.processInfo.environment["TEMPLATE_BENCH"], !name.contains(only) { return }
    var best = Double.infinity
    var sink = 0
    for _ in 0..<5 {
        let start = threadCPUSeconds()
        for _ in 0..<iterations {
            do {
                let v = try body()
                if case .object(let o) = v { sink &+= o.count } else { sink &+= 1 }
            } catch {
                fatalError("\(name): \(error)")
            }
        }
        best = min(best, threadCPUSeconds() - start)
    }
    let rate = Double(iterations) / best
    let perOp = best / Double(iterations) * 1e9
    let label = name.padding(toLength: 44, withPad: " ", startingAt: 0)
    print("  \(label) \(String(format: "%12.0f", rate)) renders/s  \(String(format: "%7.0f", perOp)) ns/render  (\(sink % 2))")
}

/// CPU time of the calling thread, in seconds.
private func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A ~1 KB GCS object-finalized CloudEvent with a Pub/Sub-style message inside the body.
private func benchGCSEvent() -> Event {
    let data = Data(#"{"order":{"id":42,"customer":"c-981","lines":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]},"source":"shop"}"#.utf8)
        .base64EncodedString()
    let body: JSONValue = [
        "kind": "storage#object",
        "id": "raw-landing/incoming/2024/05/01/orders-0001.csv/1714564800123456",
        "selfLink": "https://www.googleapis.com/storage/v1/b/raw-landing/o/incoming%2F2024%2F05%2F01%2Forders-0001.csv",
        "name": "incoming/2024/05/01/orders-0001.csv",
        "bucket": "raw-landing",
        "generation": "1714564800123456",
        "metageneration": "1",
        "contentType": "text/csv",
        "timeCreated": "2024-05-01T12:00:00.123Z",
        "updated": "2024-05-01T12:00:00.123Z",
        "storageClass": "STANDARD",
        "timeStorageClassUpdated": "2024-05-01T12:00:00.123Z",
        "size": "52340",
        "md5Hash": "kE6sOyTn3gQm6e2UVCkWPQ==",
        "mediaLink": "https://storage.googleapis.com/download/storage/v1/b/raw-landing/o/incoming%2F2024%2F05%2F01%2Forders-0001.csv?generation=1714564800123456&alt=media",
        "crc32c": "yZRlqg==",
        "etag": "CICc7pzJ6oUDEAE=",
        "metadata": ["team": "data-eng", "pipeline": "orders", "tier": 2],
        "message": ["data": .string(data), "messageId": "9876543210", "publishTime": "2024-05-01T12:00:00.456Z"],
    ]
    return Event(
        id: "ce-5b4b6a1e", source: "gcs-events", receivedAt: Date(timeIntervalSince1970: 1_714_564_801),
        headers: ["Content-Type": "application/json", "Ce-Type": "google.cloud.storage.object.v1.finalized"],
        rawBody: [], body: body,
        cloudEvent: JSONObject([
            ("type", "google.cloud.storage.object.v1.finalized"), ("id", "ce-5b4b6a1e"),
            ("source", "//storage.googleapis.com/projects/_/buckets/raw-landing"),
            ("subject", "objects/incoming/2024/05/01/orders-0001.csv"), ("time", "2024-05-01T12:00:00.123Z"),
        ]))
}
