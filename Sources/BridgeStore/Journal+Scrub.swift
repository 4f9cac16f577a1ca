import BridgeCore
import Foundation
import GRDB

/// What `dagbridge store scrub` changed.
public struct ScrubReport: Sendable, Equatable {
    /// Events whose stored headers held credentials.
    public var events = 0
    /// Jobs whose conf, note or last reason held a copy of one (a template rendered it).
    public var jobs = 0
    /// Attempts whose answer or reason held one (Airflow echoes a run's conf).
    public var attempts = 0

    public init() {}
}

extension Journal {
    /// Removes credentials from rows written before intake replaced them (``CredentialHeaders``):
    /// each stored header of `headerNames` becomes the marker, and every copy of its secret parts
    /// in the event, its jobs and their attempts is replaced too. Then the file is rewritten
    /// (`VACUUM`, WAL truncated), so the old bytes are gone from the disk file, not only unlinked.
    /// Takes the write lock for the rewrite: run it while the service is stopped or quiet.
    public func scrubCredentials(headerNames: Set<String>) async throws -> ScrubReport {
        let names = headerNames.map { $0.lowercased() }.sorted()
        // Candidates by text first (the envelope is JSON), confirmed on the parsed headers below.
        let like = names.map { _ in "envelope LIKE ?" }.joined(separator: " OR ")
        let patterns = names.map { "%\"\($0)\"%" }
        let candidates: [(Int64, String)] = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, envelope FROM events WHERE \(like)", arguments: StatementArguments(patterns)).map { ($0[0], $0[1]) }
        }
        var report = ScrubReport()
        let nameSet = Set(names)
        for (id, text) in candidates {
            guard let envelope = try? JSONParser.parse(text), let headers = envelope["headers"]?.objectValue else { continue }
            var plain: [String: String] = [:]
            for (k, v) in zip(headers.keys, headers.values) { if let s = v.stringValue { plain[k] = s } }
            let removed = CredentialHeaders.scrub(&plain, names: nameSet)
            guard !removed.isEmpty else { continue }
            // Each secret part as it appears raw and inside JSON text, longest first.
            var forms: [String] = []
            for part in removed.flatMap(CredentialHeaders.secretParts(of:)) {
                forms.append(part)
                let quoted = JSONWriter.string(.string(part))
                forms.append(String(quoted.dropFirst().dropLast()))
            }
            let secrets = Array(Set(forms)).sorted { $0.utf8.count > $1.utf8.count }
            let clean: @Sendable (String?) -> String? = { Self.replacing(secrets, in: $0) }
            var values = headers.values
            for (i, k) in headers.keys.enumerated() where plain[k] == CredentialHeaders.marker { values[i] = .string(CredentialHeaders.marker) }
            var object = envelope.objectValue!
            object["headers"] = .object(JSONObject(uniqueKeys: headers.keys, values: values))
            let newEnvelope = clean(JSONWriter.string(.object(object)))!
            let changed = try await writer.submit { db -> (Int, Int) in
                try db.execute(sql: "PRAGMA secure_delete = ON")
                try db.execute(sql: "UPDATE events SET envelope = ? WHERE id = ?", arguments: [newEnvelope, id])
                var jobs = 0
                var attempts = 0
                for row in try Row.fetchAll(db, sql: "SELECT id, conf, note, last_reason FROM jobs WHERE event_ref = ?", arguments: [id]) {
                    let job: Int64 = row[0]
                    let (conf, note, reason): (String, String?, String?) = (row[1], row[2], row[3])
                    if clean(conf) != conf || clean(note) != note || clean(reason) != reason {
                        try db.execute(
                            sql: "UPDATE jobs SET conf = ?, note = ?, last_reason = ? WHERE id = ?",
                            arguments: [clean(conf), clean(note), clean(reason), job])
                        jobs += 1
                    }
                    for a in try Row.fetchAll(db, sql: "SELECT id, answer, reason FROM attempts WHERE job_id = ?", arguments: [job]) {
                        let (answer, why): (String, String) = (a[1], a[2])
                        if clean(answer) != answer || clean(why) != why {
                            try db.execute(sql: "UPDATE attempts SET answer = ?, reason = ? WHERE id = ?", arguments: [clean(answer), clean(why), a[0] as Int64])
                            attempts += 1
                        }
                    }
                }
                return (jobs, attempts)
            }
            report.events += 1
            report.jobs += changed.0
            report.attempts += changed.1
        }
        if report.events > 0 {
            // Unlinked pages and WAL frames still hold the old text: rewrite the file and empty the WAL.
            try await pool.writeWithoutTransaction { db in
                _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                try db.execute(sql: "VACUUM")
                _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
        return report
    }

    /// `text` with every one of `secrets` replaced by the marker.
    static func replacing(_ secrets: [String], in text: String?) -> String? {
        guard var text else { return nil }
        for f in secrets where text.contains(f) { text = text.replacingOccurrences(of: f, with: CredentialHeaders.marker) }
        return text
    }
}
