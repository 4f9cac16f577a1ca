@testable import BridgeAirflow
import BridgeCore
import BridgeHTTP
import Testing

@Suite("AWS SigV4")
struct SigV4Tests {
    /// The AWS SigV4 test suite's credentials, scope and time (20150830T123600Z).
    static let suite = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    static let suiteDate = "20150830T123600Z"

    /// AWS's published expected signatures (aws-sig-v4-test-suite) for the cases that apply to header signing.
    @Test(arguments: [
        ("get-vanilla", "GET", "https://example.amazonaws.com/", [(String, String)](), "", "host;x-amz-date",
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", [], "", "host;x-amz-date",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ("post-vanilla", "POST", "https://example.amazonaws.com/", [], "", "host;x-amz-date",
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        ("post-vanilla-query", "POST", "https://example.amazonaws.com/?Param1=value1", [], "", "host;x-amz-date",
         "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
        ("post-x-www-form-urlencoded", "POST", "https://example.amazonaws.com/", [("Content-Type", "application/x-www-form-urlencoded")], "Param1=value1",
         "content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
        ("get-header-value-trim", "GET", "https://example.amazonaws.com/", [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")], "",
         "host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    ])
    func awsTestSuite(name: String, method: String, url: String, headers: [(String, String)], body: String, signed: String, signature: String) {
        var request = HTTPRequest(method: HTTPMethod(method), url: url, headers: headers.map { ($0.0, $0.1) }, body: Array(body.utf8))
        request.headers.append(("X-Amz-Date", Self.suiteDate))
        let auth = Self.suite.authorization(for: request, amzDate: Self.suiteDate)
        #expect(
            auth == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(signed), Signature=\(signature)",
            "\(name)")
    }

    @Test func amzDateFormatting() {
        #expect(SigV4Signer.amzDate(1_440_938_160) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(951_782_400) == "20000229T000000Z")
    }

    /// The MWAA InvokeRestApi request signed here equals botocore's `SigV4Auth` for the same inputs.
    @Test(arguments: [nil, "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"])
    func matchesBotocore(sessionToken: String?) throws {
        let creds = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: sessionToken)
        let body = #"{"Path":"/dags/my dag/dagRuns","Method":"POST","Body":{"dag_run_id":"r:1+2","conf":{"x":[1,2,"ü"]}}}"#
        let url = "https://env.airflow.eu-west-1.amazonaws.com/restapi/my-env"
        let time = 1_767_225_600.0  // 2026-01-01T00:00:00Z
        var request = HTTPRequest(method: .post, url: url, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
        SigV4Signer(credentials: creds, region: "eu-west-1", service: "airflow").sign(&request, date: time)
        let ours = try #require(request.headers.first { $0.name == "Authorization" }?.value)

        let script = """
            import sys, json
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            a = json.load(sys.stdin)
            headers = {"Content-Type": "application/json", "X-Amz-Date": a["date"]}
            if a["token"]: headers["X-Amz-Security-Token"] = a["token"]
            req = AWSRequest(method="POST", url=a["url"], data=a["body"].encode(), headers=headers)
            req.context["timestamp"] = a["date"]
            s = SigV4Auth(Credentials(a["key"], a["secret"], a["token"]), "airflow", "eu-west-1")
            cr = s.canonical_request(req)
            sig = s.signature(s.string_to_sign(req, cr), req)
            print(s.signed_headers(s.headers_to_sign(req)) + " " + sig)
            """
        var input = JSONObject()
        input["date"] = "20260101T000000Z"
        input["token"] = sessionToken.map(JSONValue.string) ?? .null
        input["url"] = .string(url)
        input["body"] = .string(body)
        input["key"] = .string(creds.accessKeyID)
        input["secret"] = .string(creds.secretAccessKey)
        let out = try run(["python3", "-c", script], stdin: JSONWriter.string(.object(input))).trimmingSpaces
        let parts = out.split(separator: " ")
        #expect(parts.count == 2)
        #expect(ours.hasSuffix("Signature=\(parts.last ?? "")"), "ours: \(ours)\nbotocore: \(out)")
        #expect(ours.contains("SignedHeaders=\(parts.first ?? "")"), "ours: \(ours)\nbotocore: \(out)")
        #expect(ours.contains("Credential=AKIAIOSFODNN7EXAMPLE/20260101/eu-west-1/airflow/aws4_request"))
    }

    @Test func credentialsDoNotPrintSecrets() {
        let c = AWSCredentials(accessKeyID: "AKIDX", secretAccessKey: "very-secret", sessionToken: "tok-secret")
        for text in ["\(c)", String(reflecting: c), "\([c])"] {
            #expect(text.contains("AKIDX") && !text.contains("very-secret") && !text.contains("tok-secret"), "\(text)")
        }
    }

    @Test func profileFileParsing() {
        let text = """
            [default]
            aws_access_key_id = AKID1
            aws_secret_access_key = S1

            [profile prod]
            aws_access_key_id=AKID2
            aws_secret_access_key=S2
            aws_session_token = T2
            """
        let d = AWSCredentialChain.parseProfile(text, profile: "default")
        #expect(d?.accessKeyID == "AKID1" && d?.secretAccessKey == "S1" && d?.sessionToken == nil)
        let p = AWSCredentialChain.parseProfile(text, profile: "prod")
        #expect(p?.accessKeyID == "AKID2" && p?.sessionToken == "T2")
        #expect(AWSCredentialChain.parseProfile(text, profile: "missing") == nil)
    }
}
