import BridgeCore
import CRdKafka
import Foundation
import Logging
import Synchronization

/// The consumer thread's state. Everything mutable here is touched only on the consumer thread
/// (librdkafka calls the rebalance callback from inside `rd_kafka_consumer_poll` on that thread);
/// the log and error callbacks, which librdkafka calls from its own threads, read only `logger`.
final class ConsumerLoop: @unchecked Sendable {
    let owner: KafkaConsumer
    /// Runs the sink's work for this consumer's batches, off the global executor.
    let sinkExecutor: SinkExecutor
    let config: KafkaSourceConfig
    let logger: Logger
    private var rk: OpaquePointer!
    private var dlq: DLQProducer?
    private var batch: [KafkaMessage] = []
    private var retryAt: ContinuousClock.Instant?
    private var paused = false
    private var assignmentChanged = false
    private var lastCommit = ContinuousClock.now
    private var lastLag = ContinuousClock.now
    private var uncommitted = false
    /// The current assignment as "topic/partition", kept here because `rd_kafka_assignment` must not
    /// be called from the rebalance callback (inside `rd_kafka_consumer_close` it waits forever).
    private var assignment: Set<String> = []

    init(owner: KafkaConsumer) throws(KafkaError) {
        self.owner = owner
        self.config = owner.config
        self.logger = owner.logger
        self.sinkExecutor = SinkExecutor(label: "dagbridge.kafka.\(owner.config.name)")
        let conf = try config.makeConf(forProducer: false)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf, consumerRebalanceCallback)
        rd_kafka_conf_set_log_cb(conf, consumerLogCallback)
        rd_kafka_conf_set_error_cb(conf, consumerErrorCallback)
        var errbuf = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errbuf, errbuf.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.client, "cannot create the Kafka consumer: \(errorText(errbuf))")
        }
        rk = handle
        rd_kafka_poll_set_consumer(rk)
        let topics = rd_kafka_topic_partition_list_new(Int32(config.topics.count))
        defer { rd_kafka_topic_partition_list_destroy(topics) }
        for t in config.topics { rd_kafka_topic_partition_list_add(topics, t, crdkafka_partition_unassigned()) }
        let err = rd_kafka_subscribe(rk, topics)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_destroy(rk)
            throw KafkaError(.subscribe, "cannot subscribe to \(config.topics.joined(separator: ", ")): \(String(cString: rd_kafka_err2str(err)))")
        }
        if let topic = config.dlqTopic {
            do {
                dlq = try DLQProducer(config: config, topic: topic, logger: logger)
            } catch {
                rd_kafka_consumer_close(rk)
                rd_kafka_destroy(rk)
                throw error
            }
        }
        logger.info("kafka consumer started", metadata: ["topics": "\(config.topics.joined(separator: ","))", "group": "\(config.groupID)"])
        owner.observer.paused(source: config.name, partitions: 0)  // the gauge exists (at 0) before any pause
    }

    deinit {
        // Normally run() already closed and destroyed the consumer (after flushing the DLQ producer).
        if let rk { rd_kafka_destroy(rk) }
    }

    var stopping: Bool { owner.stopping.load(ordering: .relaxed) }

    func run() {
        while !stopping {
            updatePause()
            let failing = retryAt != nil
            let before = batch.count
            poll(first: (batch.isEmpty && pending.isEmpty) || failing ? 100 : 0, max: failing ? 0 : config.batchSize - batch.count)
            // Up to two batches are with the sink while the next is read and screened, so one batch's
            // rules and journal write overlap the other's. They complete in order: a batch's offsets
            // are stored only once it and every earlier batch are durable. Wait for the oldest when
            // both slots are taken, or when there is nothing more to read.
            while let p = pending.first, p.isDone || (pending.count >= Self.inFlightBatches && batch.count >= config.batchSize)
                || (batch.count == before && (batch.isEmpty || pending.count >= Self.inFlightBatches))
            {
                if complete(p) { retryAt = nil } else { break }
            }
            if pending.count < Self.inFlightBatches, !batch.isEmpty, retryAt.map({ ContinuousClock.now >= $0 }) ?? true {
                submit()
            }
            let now = ContinuousClock.now
            if uncommitted, now - lastCommit >= .milliseconds(Int64(config.commitInterval * 1000)) {
                commit(sync: true)
            }
            if now - lastLag >= .seconds(1) {
                lastLag = now
                reportLag()
            }
        }
        // Shutdown: finish what was read (if the sink works), commit synchronously, leave the group
        // (which revokes, and the revoke callback commits once more).
        if !pending.isEmpty || (!batch.isEmpty && retryAt == nil) { _ = process() }
        commit(sync: true)
        let err = rd_kafka_consumer_close(rk)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { logger.warning("consumer close: \(String(cString: rd_kafka_err2str(err)))") }
        dlq?.flush()
        dlq = nil
        rd_kafka_destroy(rk)
        rk = nil
        logger.info("kafka consumer stopped")
    }

    /// Takes up to `max` messages: the first wait is `first` ms, then only what is already fetched.
    private func poll(first: Int32, max: Int) {
        var timeout = first
        var taken = 0
        var counts: [String: Int] = [:]
        // Messages the sink can make nothing of are screened out here, on the C message: their values
        // are never copied, parsed or built into events (most of the cost of a message).
        let screener = owner.sink.screener()
        let fields = screener?.fields ?? []
        let stamp = screener == nil ? "" : ISO8601.format(Date())
        repeat {
            guard let m = rd_kafka_consumer_poll(rk, timeout) else { break }
            timeout = 0
            defer { rd_kafka_message_destroy(m) }
            let err = m.pointee.err
            if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("consume error: \(String(cString: rd_kafka_err2str(err)))")
                continue
            }
            var msg = KafkaMessage(m, copyValue: screener == nil)
            if let screener {
                let raw = KafkaMessage.payload(m) ?? UnsafeRawBufferPointer(start: nil, count: 0)
                if let base = msg.envelopeBase(config: config, receivedAt: stamp, fields: fields),
                    !screener.mayProduce(rawBody: raw, envelopeBase: base, source: config.name)
                {
                    msg.screenedOut = true
                } else {
                    msg.value = Array(raw)
                }
            }
            counts[msg.topic, default: 0] += 1
            batch.append(msg)
            taken += 1
        } while taken < max
        if taken > 0 {
            for (topic, n) in counts { owner.observer.consumed(source: config.name, topic: topic, count: n) }
            owner.state.withLock { $0.consumed += taken }
        }
    }

    /// A batch handed to the sink whose write has not been waited for.
    private final class Pending: Sendable {
        let messages: [KafkaMessage]
        /// The positions in `messages` of the records handed to the sink (the rest were screened out).
        let positions: [Int]
        private let done = DispatchSemaphore(value: 0)
        private let result = Mutex<Result<[(index: Int, reason: String)], any Error>?>(nil)

        init(messages: [KafkaMessage], records: [KafkaRecord], positions: [Int], sink: any KafkaEventSink, executor: SinkExecutor) {
            self.messages = messages
            self.positions = positions
            if records.isEmpty {
                result.withLock { $0 = .success([]) }
                done.signal()
                return
            }
            Task(executorPreference: executor) { [self] in
                let r: Result<[(index: Int, reason: String)], any Error>
                do { r = .success(try await sink.accept(records)) } catch { r = .failure(error) }
                result.withLock { $0 = r }
                done.signal()
            }
        }

        var isDone: Bool { result.withLock { $0 != nil } }

        func wait() -> Result<[(index: Int, reason: String)], any Error> {
            done.wait()
            done.signal()  // later waits return at once
            return result.withLock { $0! }
        }
    }

    /// Batches with the sink, oldest first (at most ``inFlightBatches``).
    private var pending: [Pending] = []
    static let inFlightBatches = 2

    /// Builds the events of `batch` (all but the screened-out messages) and hands them to the sink
    /// without waiting; `batch` starts empty for the next messages.
    private func submit() {
        let now = Date()
        var records: [KafkaRecord] = []
        var positions: [Int] = []
        for (i, m) in batch.enumerated() where !m.screenedOut {
            records.append(m.record(config: config, now: now))
            positions.append(i)
        }
        pending.append(Pending(messages: batch, records: records, positions: positions, sink: owner.sink, executor: sinkExecutor))
        batch = []
    }

    /// Waits for the oldest pending batch `p`. When it is durable (and its dead letters are on
    /// `dlq_topic`), stores every partition's next offset. Otherwise waits for the later pending
    /// batches too and puts all their messages back in front of `batch`, in order, to be retried in a
    /// second (no offset moves; the journal ignores events it already has), and returns `false`.
    private func complete(_ p: Pending) -> Bool {
        pending.removeFirst()
        func retry() -> Bool {
            let later = pending
            pending = []
            for q in later { _ = q.wait() }
            batch = p.messages + later.flatMap(\.messages) + batch
            retryAt = ContinuousClock.now + .seconds(1)
            return false
        }
        let dead: [(index: Int, reason: String)]
        switch p.wait() {
        case .success(let d): dead = d.map { (p.positions[$0.index], $0.reason) }
        case .failure(let error):
            logger.error("journal write failed; the batch will be retried and no offset is stored", metadata: ["error": "\(error)", "messages": "\(p.messages.count)"])
            return retry()
        }
        if let dlq, !dead.isEmpty {
            for d in dead { dlq.produce(p.messages[d.index], reason: d.reason, source: config.name) }
            guard dlq.flush() else {
                logger.error("dead-letter topic write failed; the batch will be retried")
                return retry()
            }
        }
        if !dead.isEmpty { owner.state.withLock { $0.deadLetters += dead.count } }
        if p.positions.count < p.messages.count { owner.sink.screenedOut(p.messages.count - p.positions.count, source: config.name) }
        storeOffsets(p.messages)
        return true
    }

    /// Hands the batch to the sink and waits: on success every partition's next offset is stored.
    private func process() -> Bool {
        while let p = pending.first {
            guard complete(p) else { return false }
        }
        if !batch.isEmpty {
            submit()
            guard let p = pending.first, complete(p) else { return false }
        }
        retryAt = nil
        return true
    }

    private struct TopicPartition: Hashable {
        var topic: String
        var partition: Int32
    }

    private func storeOffsets(_ messages: [KafkaMessage]) {
        var next: [TopicPartition: Int64] = [:]
        for m in messages {
            let k = TopicPartition(topic: m.topic, partition: m.partition)
            if let cur = next[k], cur > m.offset + 1 { continue }
            next[k] = m.offset + 1
        }
        let list = rd_kafka_topic_partition_list_new(Int32(next.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (k, offset) in next { rd_kafka_topic_partition_list_add(list, k.topic, k.partition).pointee.offset = offset }
        let err = rd_kafka_offsets_store(rk, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            // Partitions revoked meanwhile refuse the store: their new owner re-reads those messages,
            // and the deterministic run ids make that a duplicate at Airflow, never a second run.
            logger.debug("offsets not stored for some partitions: \(String(cString: rd_kafka_err2str(err)))")
        }
        uncommitted = true
        owner.state.withLock { s in for (k, offset) in next { s.stored["\(k.topic)/\(k.partition)"] = offset } }
    }

    private func commit(sync: Bool) {
        lastCommit = ContinuousClock.now
        let err = rd_kafka_commit(rk, nil, sync ? 0 : 1)
        if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET {
            uncommitted = false
        } else {
            logger.warning("offset commit failed (retried on the next interval): \(String(cString: rd_kafka_err2str(err)))")
        }
    }

    /// Pauses the assignment while the sink is backpressured or failing; resumes once it is not.
    private func updatePause() {
        let want = retryAt != nil || owner.sink.isBackpressured
        guard want != paused || (want && assignmentChanged) else { return }
        assignmentChanged = false
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(rk, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let n = Int(list.pointee.cnt)
        if want {
            rd_kafka_pause_partitions(rk, list)
            if !paused { logger.notice("journal above high water: pausing \(n) partition(s), still polling to keep the group membership") }
        } else {
            rd_kafka_resume_partitions(rk, list)
            logger.notice("journal below low water: resuming \(n) partition(s)")
        }
        paused = want
        owner.observer.paused(source: config.name, partitions: want ? n : 0)
        owner.state.withLock { $0.paused = want ? n : 0 }
    }

    private func reportLag() {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(rk, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard list.pointee.cnt > 0 else { return }
        rd_kafka_position(rk, list)
        for i in 0..<list.pointee.cnt {
            let tp = crdkafka_tpl_elem(list, i)!.pointee
            var low: Int64 = 0
            var high: Int64 = 0
            guard rd_kafka_get_watermark_offsets(rk, tp.topic, tp.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { continue }
            let position = tp.offset >= 0 ? tp.offset : low
            owner.observer.lag(source: config.name, topic: String(cString: tp.topic), partition: tp.partition, lag: max(0, high - position))
        }
    }

    // MARK: Callbacks (on the consumer thread, inside poll)

    func rebalance(_ err: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        var names: [String] = []
        for i in 0..<partitions.pointee.cnt {
            let tp = crdkafka_tpl_elem(partitions, i)!.pointee
            names.append("\(String(cString: tp.topic))/\(tp.partition)")
        }
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let e = rd_kafka_incremental_assign(rk, partitions) {
                    logger.error("incremental assign failed: \(String(cString: rd_kafka_error_string(e)))")
                    rd_kafka_error_destroy(e)
                }
                assignment.formUnion(names)
            } else {
                rd_kafka_assign(rk, partitions)
                assignment = Set(names)
            }
            assignmentChanged = true
            owner.observer.rebalance(source: config.name, kind: "assign")
            logger.info("partitions assigned", metadata: ["partitions": "\(names.joined(separator: ","))", "protocol": "\(cooperative ? "cooperative" : "eager")"])
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            // Make what was read durable and commit it before another member takes the partitions,
            // so a graceful hand-over re-reads nothing. If the journal refuses, the revoked
            // partitions' messages are dropped from the batch unstored: their new owner reads them.
            let revoked = Set(names)
            if (!pending.isEmpty || !batch.isEmpty) && !process() {
                batch.removeAll { revoked.contains("\($0.topic)/\($0.partition)") }
            }
            commit(sync: true)
            if cooperative {
                if let e = rd_kafka_incremental_unassign(rk, partitions) {
                    logger.error("incremental unassign failed: \(String(cString: rd_kafka_error_string(e)))")
                    rd_kafka_error_destroy(e)
                }
                assignment.subtract(revoked)
            } else {
                rd_kafka_assign(rk, nil)
                assignment = []
            }
            for i in 0..<partitions.pointee.cnt {
                let tp = crdkafka_tpl_elem(partitions, i)!.pointee
                owner.observer.unassigned(source: config.name, topic: String(cString: tp.topic), partition: tp.partition)
            }
            assignmentChanged = true
            owner.observer.rebalance(source: config.name, kind: "revoke")
            logger.info("partitions revoked", metadata: ["partitions": "\(names.joined(separator: ","))"])
        default:
            logger.error("rebalance error: \(String(cString: rd_kafka_err2str(err)))")
            rd_kafka_assign(rk, nil)
            assignment = []
        }
        let assigned = assignment.count
        owner.state.withLock {
            $0.assigned = assigned
            $0.rebalances += 1
        }
    }
}

private func loop(_ rk: OpaquePointer?) -> ConsumerLoop? {
    guard let rk, let opaque = rd_kafka_opaque(rk) else { return nil }
    return Unmanaged<ConsumerLoop>.fromOpaque(opaque).takeUnretainedValue()
}

private func consumerRebalanceCallback(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    _ opaque: UnsafeMutableRawPointer?
) {
    guard let opaque, let partitions else { return }
    Unmanaged<ConsumerLoop>.fromOpaque(opaque).takeUnretainedValue().rebalance(err, partitions)
}

/// librdkafka's syslog levels into swift-log levels.
func logLevel(_ level: Int32) -> Logger.Level {
    switch level {
    case ...2: return .critical
    case 3: return .error
    case 4: return .warning
    case 5: return .notice
    case 6: return .info
    default: return .debug
    }
}

private func consumerLogCallback(_ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?) {
    guard let l = loop(rk), let message else { return }
    l.logger.log(level: logLevel(level), "librdkafka: \(String(cString: message))", metadata: ["facility": "\(facility.map { String(cString: $0) } ?? "")"])
}

private func consumerErrorCallback(_ rk: OpaquePointer?, _ err: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    let l = Unmanaged<ConsumerLoop>.fromOpaque(opaque).takeUnretainedValue()
    let text = reason.map { String(cString: $0) } ?? ""
    // Transport errors (broker down, all brokers down) are retried by librdkafka itself.
    l.logger.warning("kafka: \(text)", metadata: ["code": "\(String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(err))))"])
}
