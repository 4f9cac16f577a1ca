// swift-tools-version:6.1
import PackageDescription

/// One settings list for every target: Swift 6 mode and the upcoming features
/// that keep imports and existentials explicit.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

var package = Package(
    name: "dagbridge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dagbridge", targets: ["dagbridge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // The operations console's server-rendered pages (logic-less templates, escaped by default).
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // C shims: only the wrapper module imports them.
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CRdKafka",
            path: "Sources/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),

        .target(name: "BridgeCore"),
        .target(name: "BridgeConfig", dependencies: [
            "BridgeCore",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "BridgeRules", dependencies: [
            "BridgeCore", "BridgeConfig",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "BridgeHTTP", dependencies: [
            "CCurl",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "BridgeAirflow", dependencies: [
            "BridgeCore", "BridgeConfig", "BridgeHTTP",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "BridgeStore", dependencies: [
            "BridgeCore", "BridgeConfig",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // A throwaway PostgreSQL cluster for tests and benchmarks (scripts/pg-testbed.sh): never linked into the product.
        .target(name: "BridgeStoreTesting", dependencies: ["BridgeCore"]),
        .target(name: "BridgeKafka", dependencies: [
            "BridgeCore", "BridgeConfig", "CRdKafka",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The Kafka test kit (mock cluster, producer, inspector): never linked into the product.
        .target(name: "BridgeKafkaTesting", dependencies: ["BridgeKafka", "BridgeCore", "CRdKafka"]),
        // The data path, one module per stage: source → intake (rules → journal) → dispatch → Airflow.
        .target(name: "BridgeIntake", dependencies: [
            "BridgeCore", "BridgeConfig", "BridgeRules", "BridgeKafka",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        .target(name: "BridgeWebhooks", dependencies: [
            "BridgeCore", "BridgeConfig", "BridgeRules", "BridgeIntake",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "BridgeDispatch", dependencies: [
            "BridgeCore", "BridgeConfig", "BridgeStore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // The app: service assembly, routes, observability.
        .target(name: "BridgeServer", dependencies: [
            "BridgeKafka", "BridgeCore", "BridgeConfig", "BridgeRules", "BridgeHTTP", "BridgeAirflow", "BridgeStore",
            "BridgeIntake", "BridgeWebhooks", "BridgeDispatch",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "dagbridge", dependencies: [
            "BridgeCore", "BridgeConfig", "BridgeRules", "BridgeHTTP", "BridgeAirflow", "BridgeStore", "BridgeDispatch", "BridgeIntake", "BridgeServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Benchmarks: separate executables, run with `swift run -c release <name>`.
        .executableTarget(name: "bench-rules", dependencies: ["BridgeCore", "BridgeRules"], path: "Benchmarks/bench-rules"),
        .executableTarget(name: "bench-http", dependencies: ["BridgeHTTP"], path: "Benchmarks/bench-http"),
        .executableTarget(name: "bench-store", dependencies: ["BridgeCore", "BridgeStore", "BridgeStoreTesting", "BridgeDispatch", "BridgeAirflow", "BridgeHTTP"], path: "Benchmarks/bench-store"),
        .executableTarget(name: "bench-kafka", dependencies: ["BridgeCore", "BridgeKafka", "BridgeKafkaTesting", "BridgeStore", "BridgeIntake", "BridgeServer", "BridgeRules",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Benchmarks/bench-kafka"),
        .executableTarget(name: "bench-console", dependencies: ["BridgeCore", "BridgeStore", "BridgeRules", "BridgeIntake", "BridgeServer",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Benchmarks/bench-console"),

        .testTarget(name: "BridgeCoreTests", dependencies: ["BridgeCore"]),
        .testTarget(name: "BridgeConfigTests", dependencies: ["BridgeConfig"]),
        .testTarget(name: "BridgeRulesTests", dependencies: ["BridgeRules", "BridgeCore", "BridgeConfig"]),
        .testTarget(name: "BridgeHTTPTests", dependencies: ["BridgeHTTP"]),
        .testTarget(name: "BridgeAirflowTests", dependencies: ["BridgeAirflow", "BridgeHTTP", "BridgeCore", "BridgeConfig", "BridgeDispatch", "BridgeStore"]),
        .testTarget(name: "BridgeStoreTests", dependencies: ["BridgeStore", "BridgeStoreTesting", "BridgeCore", "BridgeConfig"]),
        .testTarget(name: "BridgeKafkaTests", dependencies: [
            "BridgeKafka", "BridgeKafkaTesting", "BridgeCore", "BridgeConfig",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "BridgeServerTests", dependencies: [
            "BridgeServer", "BridgeKafka", "BridgeStore", "BridgeAirflow", "BridgeHTTP", "BridgeCore", "BridgeRules", "BridgeConfig",
            "BridgeIntake", "BridgeWebhooks", "BridgeDispatch", "BridgeKafkaTesting", "BridgeStoreTesting",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "BridgeDispatchTests", dependencies: ["BridgeDispatch", "BridgeStore", "BridgeCore", "BridgeConfig"]),
        .testTarget(name: "BridgeWebhooksTests", dependencies: ["BridgeWebhooks", "BridgeCore"]),
        .testTarget(name: "dagbridgeTests", dependencies: ["BridgeCore"]),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
