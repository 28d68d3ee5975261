import Foundation
import NIOSSL
import SNPServer
import SNPStore
import SNPTesting
import Testing

/// The optional TLS listener, with and without client certificates, against certificates
/// this test makes.
@Suite("TLS listener")
struct TLSTests {
    static func clientConfiguration(
        _ certs: TestCertificates, certificate: String? = nil, key: String? = nil
    ) throws -> TLSConfiguration {
        var c = TLSConfiguration.makeClientConfiguration()
        c.trustRoots = .file(certs.caCertificate)
        c.certificateVerification = .noHostnameVerification
        if let certificate, let key {
            c.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            c.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return c
    }

    /// Whether a TLS client gets an answer: `OK pong` after AUTH.
    static func served(port: Int, _ tls: TLSConfiguration) async -> Bool {
        guard let c = try? await LineClient.connect(port: port, tls: tls) else { return false }
        var answered = false
        if (try? await c.write("AUTH \(TestDaemon.adminSecret)\nPING\n")) != nil,
            let auth = try? await c.readReply(), auth.isOK,
            let pong = try? await c.readReply()
        {
            answered = pong.lines == ["OK pong"]
        }
        await c.close()
        return answered
    }

    @Test(.timeLimit(.minutes(3)))
    func mutualTLSServesOnlyClientsWithACertificateFromTheCA() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        try await withDaemon(configure: {
            var tls = TLSListenerSettings(
                certificatePath: certs.serverCertificate, keyPath: certs.serverKey, clientCAPath: certs.caCertificate)
            tls.port = 0
            $0.listener.tls = tls
        }) { d in
            let port = try #require(d.daemon.server.tlsPort)
            #expect(await Self.served(port: port, try Self.clientConfiguration(certs, certificate: certs.clientCertificate, key: certs.clientKey)))
            #expect(!(await Self.served(port: port, try Self.clientConfiguration(certs))), "no client certificate")
            #expect(
                !(await Self.served(port: port, try Self.clientConfiguration(certs, certificate: certs.strangerCertificate, key: certs.strangerKey))),
                "a certificate from another CA")
            // Plain text on the TLS port gets no answer (a TLS alert at most) and is closed.
            let plain = try await LineClient.connect(port: port)
            try? await plain.write("PING\n")
            var heard: [String] = []
            while let line = try await plain.readLine() { heard.append(line) }
            #expect(!heard.contains("OK pong"))
            // The plain listener still works beside it.
            #expect(try await d.admin().send("PING").isOK)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func tlsWithoutClientCertificatesServesAnyClientThatTrustsTheServer() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        try await withDaemon(configure: {
            var tls = TLSListenerSettings(certificatePath: certs.serverCertificate, keyPath: certs.serverKey)
            tls.port = 0
            $0.listener.tls = tls
        }) { d in
            let port = try #require(d.daemon.server.tlsPort)
            #expect(await Self.served(port: port, try Self.clientConfiguration(certs)))
            // A client that does not trust our CA refuses the server.
            var untrusting = TLSConfiguration.makeClientConfiguration()
            untrusting.trustRoots = .file(certs.strangerCertificate)
            #expect(!(await Self.served(port: port, untrusting)))
        }
    }

    @Test func tlsSettingsAreCheckedAtStart() throws {
        #expect(throws: SettingsError.self) {
            try DaemonSettings.resolve(overrides: ["SNPD_TLS_LISTEN": "127.0.0.1:7442"], environment: [:], configFile: nil)
        }
        #expect(throws: SettingsError.self) {
            try DaemonSettings.resolve(overrides: ["SNPD_TLS_CERT": "/x.pem", "SNPD_TLS_KEY": "/x.key"], environment: [:], configFile: nil)
        }
        let s = try DaemonSettings.resolve(
            overrides: ["SNPD_TLS_LISTEN": "[::1]:7443", "SNPD_TLS_CERT": "/c.pem", "SNPD_TLS_KEY": "/k.pem", "SNPD_TLS_CLIENT_CA": "/ca.pem"],
            environment: [:], configFile: nil)
        #expect(s.listener.tls?.host == "::1" && s.listener.tls?.port == 7443 && s.listener.tls?.clientCAPath == "/ca.pem")
        // Files that are not there stop the daemon with a message, not at the first handshake.
        let missing = TLSListenerSettings(certificatePath: "/nonexistent/cert.pem", keyPath: "/nonexistent/key.pem")
        #expect(throws: SettingsError.self) { try missing.makeContext() }
    }
}
