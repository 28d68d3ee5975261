import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway certificate authority and the certificates a TLS test needs, made by
/// `openssl` in a temporary folder: the server's (for 127.0.0.1), a client's signed by
/// the CA, and a client's signed by nobody we trust.
public struct TestCertificates: Sendable {
    public let folder: URL
    public var caCertificate: String { path("ca.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var serverKey: String { path("server.key") }
    public var clientCertificate: String { path("client.pem") }
    public var clientKey: String { path("client.key") }
    public var strangerCertificate: String { path("stranger.pem") }
    public var strangerKey: String { path("stranger.key") }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    public static func make() async throws -> TestCertificates {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("snpd-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let d = folder.path
        // The server's names. Written here, not by a shell step: every step's output goes to
        // /dev/null, which would take the place of a `> file` redirection (the file was
        // left empty, and the server certificate had no subjectAltName).
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
            to: folder.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        // EC keys: fast to make. Each step is checked; a failure names it.
        let steps = [
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=snpd-test-CA -keyout \(d)/ca.key -out \(d)/ca.pem",
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 -keyout \(d)/server.key -out \(d)/server.csr",
            "openssl x509 -req -in \(d)/server.csr -CA \(d)/ca.pem -CAkey \(d)/ca.key -CAcreateserial -days 2 -extfile \(d)/server.ext -out \(d)/server.pem",
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=sas-platform -keyout \(d)/client.key -out \(d)/client.csr",
            "openssl x509 -req -in \(d)/client.csr -CA \(d)/ca.pem -CAkey \(d)/ca.key -CAcreateserial -days 2 -out \(d)/client.pem",
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=stranger -keyout \(d)/stranger.key -out \(d)/stranger.pem",
        ]
        // Through `Subprocess`: `system` would block a thread the other tests need.
        for step in steps {
            let (status, output) = try await Subprocess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", step])
            guard status == 0 else {
                throw ClientError("making test certificates failed (is openssl installed?): \(step)\n\(output)")
            }
        }
        return TestCertificates(folder: folder)
    }

    public func remove() { try? FileManager.default.removeItem(at: folder) }
}
