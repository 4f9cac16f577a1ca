import BridgeHTTP
import Foundation
import Testing

@Suite("HTTPClient failures: timeouts, resets, caps, cancellation, shutdown", .timeLimit(.minutes(2)))
struct HTTPClientFailureTests {
    @Test func totalTimeoutOnAServerThatNeverAnswers() async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient(configuration: .init(timeout: 30))
        defer { client.shutdown() }
        let start = ContinuousClock.now
        let error = await expectHTTPError {
            try await client.execute(HTTPRequest(method: .post, url: server.url("/hang"), body: [1, 2, 3], timeout: 0.5))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .timeout)
        #expect(error?.isRetriable == true)
        #expect(error?.requestMayHaveBeenSent == true)
        #expect(error?.message.contains("0.5s") == true, "\(error?.message ?? "")")
        // The 0.5 s request timeout, not the client's 30 s: the message names it, and the call ends
        // well before 30 s (the upper bound is loose: on a loaded 2-core CI machine the test task
        // itself may resume seconds after the client answered).
        #expect(elapsed >= .milliseconds(450) && elapsed < .seconds(20))
    }

    @Test func configuredTimeoutAppliesWithoutPerRequestOverride() async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient(configuration: .init(timeout: 0.3))
        defer { client.shutdown() }
        let error = await expectHTTPError { try await client.execute(HTTPRequest(url: server.url("/delay?ms=3000"))) }
        #expect(error?.code == .timeout)
        // A request with its own longer timeout is not cut by the default (30 s: the shared stub
        // server can be slow to answer while the whole suite loads the machine).
        let response = try await client.execute(HTTPRequest(url: server.url("/delay?ms=400"), timeout: 30))
        #expect(response.text == "done")
    }

    @Test func connectErrorOnAPortWithNoListener() async throws {
        let port = try closedPort()
        let client = try HTTPClient(configuration: .init(connectTimeout: 2))
        defer { client.shutdown() }
        let error = await expectHTTPError { try await client.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/x")) }
        #expect(error?.code == .connect)
        #expect(error?.isRetriable == true)
        #expect(error?.requestMayHaveBeenSent == false)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true, "\(error?.message ?? "")")
    }

    @Test func unresolvableHost() async throws {
        let client = try HTTPClient(configuration: .init(connectTimeout: 5))
        defer { client.shutdown() }
        let error = await expectHTTPError { try await client.execute(HTTPRequest(url: "http://no-such-host.invalid/x")) }
        #expect(error?.code == .resolve)
        #expect(error?.message.contains("no-such-host.invalid") == true)
    }

    @Test(arguments: ["/bytes?n=5000", "/bytes?n=5000&chunked=1"])
    func responseLargerThanTheCapIsAborted(path: String) async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient(configuration: .init(maxResponseBytes: 1000))
        defer { client.shutdown() }
        let error = await expectHTTPError { try await client.execute(HTTPRequest(url: server.url(path))) }
        #expect(error?.code == .tooLarge)
        #expect(error?.isRetriable == false)
        #expect(error?.message.contains("max_response_bytes (1000 bytes)") == true, "\(error?.message ?? "")")
        // Exactly at the cap is fine, with or without Content-Length.
        let exact = path.replacingOccurrences(of: "5000", with: "1000")
        let response = try await client.execute(HTTPRequest(url: server.url(exact)))
        #expect(response.body.count == 1000)
    }

    @Test(arguments: ["/reset", "/close"])
    func connectionResetByTheServerIsRetriable(path: String) async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient()
        defer { client.shutdown() }
        let error = await expectHTTPError { try await client.execute(HTTPRequest(method: .post, url: server.url(path), body: Array("{}".utf8))) }
        #expect(error?.code == .recvFailed)
        #expect(error?.isRetriable == true)
        #expect(error?.requestMayHaveBeenSent == true)
        // The client recovers on a fresh connection.
        let response = try await client.execute(HTTPRequest(url: server.url("/echo")))
        #expect(response.status == 200)
    }

    @Test func cancellingAnInFlightRequestReturnsPromptly() async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient()
        defer { client.shutdown() }
        let task = Task { try await client.execute(HTTPRequest(url: server.url("/delay?ms=10000"))) }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        task.cancel()
        let result = await task.result
        // The server would answer after 10 s; returning within 7 s (under a loaded, parallel test
        // run) shows the transfer was removed, not waited for.
        #expect(ContinuousClock.now - start < .seconds(7))
        switch result {
        case .success(let response): Issue.record("expected cancellation, got \(response.status)")
        case .failure(let error):
            #expect((error as? HTTPClientError)?.code == .cancelled, "\(error)")
        }
        // The client keeps working.
        let response = try await client.execute(HTTPRequest(url: server.url("/echo")))
        #expect(response.status == 200)
    }

    @Test func aTaskCancelledBeforeCallingNeverSends() async throws {
        let server = try await StubServer.start()
        defer { server.stop() }
        let client = try HTTPClient()
        defer { client.shutdown() }
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.execute(HTTPRequest(url: server.url("/echo")))
        }
        let result = await task.result
        #expect((result.failureError as? HTTPClientError)?.code == .cancelled)
        let count = try await client.execute(HTTPRequest(url: server.url("/connections")))
        #expect(count.json["connections"] as? Int == 1)  // only this request's connection
    }

    @Test func manyCancellationsLeaveNothingBehind() async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient()
        defer { client.shutdown() }
        let tasks = (0..<50).map { _ in Task { try await client.execute(HTTPRequest(url: server.url("/delay?ms=5000"))) } }
        try await Task.sleep(for: .milliseconds(100))
        for task in tasks { task.cancel() }
        for task in tasks {
            let code = (await task.result.failureError as? HTTPClientError)?.code
            #expect(code == .cancelled)
        }
        let response = try await client.execute(HTTPRequest(url: server.url("/echo")))
        #expect(response.status == 200)
    }

    @Test func shutdownFailsInFlightAndLaterRequests() async throws {
        let server = try await SharedServer.get()
        let client = try HTTPClient()
        let tasks = (0..<3).map { _ in Task { try await client.execute(HTTPRequest(url: server.url("/hang"))) } }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        await client.shutdownAndWait()
        for task in tasks {
            let error = await task.result.failureError as? HTTPClientError
            #expect(error?.code == .shutdown)
        }
        #expect(ContinuousClock.now - start < .seconds(10))  // "/hang" never answers
        let error = await expectHTTPError { try await client.execute(HTTPRequest(url: server.url("/echo"))) }
        #expect(error?.code == .shutdown)
        client.shutdown()  // idempotent
        await client.shutdownAndWait()
    }

    @Test func clientsComeAndGoWithoutLeaks() async throws {
        let server = try await SharedServer.get()
        for _ in 0..<20 {
            let client = try HTTPClient()
            let response = try await client.execute(HTTPRequest(url: server.url("/echo")))
            #expect(response.status == 200)
            // Dropped without shutdown(): deinit stops the thread.
        }
    }
}

extension Result {
    var failureError: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
