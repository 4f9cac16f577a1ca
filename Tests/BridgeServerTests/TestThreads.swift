import Foundation
import Testing

/// A task executor with threads of its own, for test bodies that block.
///
/// The suites that drive real processes (the CLI, `dagbridge serve`, Kafka brokers, recording
/// targets, Airflow) block their thread while a child starts, answers or exits. On the cooperative
/// pool (two threads on a 2-core machine) that stalls every other test and the product's own actors
/// in the same test process: a one-second timeout then measures ten, a watcher polls late. Run
/// there, those bodies wait on these threads instead and leave the pool to the code under test.
final class TestThreads: TaskExecutor, @unchecked Sendable {  // the queue is guarded by `ready`
    static let shared = TestThreads(count: 16)

    private let ready = NSCondition()
    private var jobs: [UnownedJob] = []

    private init(count: Int) {
        for i in 0..<count {
            let thread = Thread { [unowned self] in work() }
            thread.name = "test-thread-\(i)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        ready.lock()
        jobs.append(job)
        ready.signal()
        ready.unlock()
    }

    private func work() {
        while true {
            ready.lock()
            while jobs.isEmpty { ready.wait() }
            let job = jobs.removeFirst()
            ready.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Runs a suite's tests (and the tasks they start) with ``TestThreads`` as their executor preference.
struct OnTestThreads: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(TestThreads.shared) { try await function() }
    }
}

extension Trait where Self == OnTestThreads {
    /// Test bodies that block on child processes run on threads of their own (see ``TestThreads``).
    static var onTestThreads: Self { Self() }
}
