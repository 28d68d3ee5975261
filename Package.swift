// swift-tools-version:6.1
import PackageDescription

/// snpd: matches unscheduled-care requests (soins non programmés) to volunteer slots.
///
/// Layers, each a module whose name says which:
/// - `SNPCore`: the domain and the matching engine, pure (no I/O, injected clock).
/// - `SNPProtocol`: the line protocol: parsing, the command table, reply formatting.
/// - `SNPStore`: PostgreSQL through PostgresNIO: migrations, loading, group commit, tokens.
/// - `SNPServer`: SwiftNIO listener, sessions, roles, dispatch, `WATCH` events.
/// - `SNPHTTP`: the HTTP listener on Hummingbird: FHIR for the SAS platform, metrics, health.
/// - `SNPReport`: the nightly ACI indicators (§5) from PostgreSQL, as JSON, CSV and HTML.
/// - `SNPFHIR`: the FHIR R4 resources, query parsing and Bundle building of the SAS slot
///   search (§7.2), pure (no I/O): docs/FHIR.md.
/// - `SNPTesting`: test support (a throwaway PostgreSQL, a line client).
/// - `snpd`, `snpctl`: thin executables.
let package = Package(
    name: "snpd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "snpd", targets: ["snpd"]),
        .executable(name: "snpctl", targets: ["snpctl"]),
        .executable(name: "snp-sim", targets: ["snp-sim"]),
        .executable(name: "snpd-bench", targets: ["snpd-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Already a dependency of PostgresNIO; used here for token hashing (SHA-256).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        // The optional TLS listener, with optional client certificates (mutual TLS).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // The HTTP listener (FHIR for the SAS platform, /metrics, /health): SPEC §7. Without
        // its default traits: snpd reads no swift-configuration files through it.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        // Metrics (SPEC §7.3): the ecosystem's API, exposed in Prometheus's text format.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Latency percentiles in the benchmark (docs/PERFORMANCE.md).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // The SAS appointment feed (SPEC §8): HTTPS with a client certificate, on the same SwiftNIO.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .target(name: "SNPCore"),
        .target(name: "SNPProtocol", dependencies: ["SNPCore"]),
        .target(name: "SNPFHIR", dependencies: ["SNPCore"]),
        .target(
            name: "SNPStore",
            dependencies: [
                "SNPCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "SNPReport",
            dependencies: [
                "SNPCore", "SNPStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .target(
            name: "SNPServer",
            dependencies: [
                "SNPCore", "SNPProtocol", "SNPStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "SNPFHIR",
            ]
        ),
        .target(
            name: "SNPHTTP",
            dependencies: [
                "SNPCore", "SNPServer", "SNPStore", "SNPFHIR",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SNPTesting",
            dependencies: [
                "SNPServer", "SNPStore", "SNPHTTP",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),  // the fake SAS platform (FakeSAS)
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "snpd",
            dependencies: [
                "SNPServer", "SNPStore", "SNPReport", "SNPHTTP",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "snpctl",
            dependencies: [
                "SNPProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The benchmark against a running snpd, PostgreSQL (pgbench) and Redis (docs/PERFORMANCE.md).
        .executableTarget(
            name: "snpd-bench",
            dependencies: [
                "SNPCore", "SNPProtocol", "SNPSimulation", "SNPTesting",  // its seeded generator; a free port
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // A simulated SAS week against the engine, and the offline oracle (docs/MATCHING.md).
        .target(name: "SNPSimulation", dependencies: ["SNPCore"]),
        .executableTarget(name: "snp-sim", dependencies: ["SNPCore", "SNPSimulation"]),
        .testTarget(name: "SNPSimulationTests", dependencies: ["SNPCore", "SNPSimulation"]),
        .testTarget(name: "SNPCoreTests", dependencies: ["SNPCore", "SNPSimulation"]),  // SNPSimulation: seeded generator
        .testTarget(name: "SNPProtocolTests", dependencies: ["SNPProtocol", "SNPTesting"]),  // SNPTesting: Subprocess
        .testTarget(name: "SNPFHIRTests", dependencies: ["SNPFHIR", "SNPCore", "SNPTesting"]),  // SNPTesting: Subprocess
        .testTarget(
            name: "SNPServerTests",
            dependencies: [
                "SNPServer", "SNPTesting", "SNPSimulation",  // SNPSimulation: the fuzzer's seeded generator
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "SNPReportTests", dependencies: ["SNPReport", "SNPTesting"]),
    ],
    swiftLanguageModes: [.v6]
)
