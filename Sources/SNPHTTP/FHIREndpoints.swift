import Foundation
import Hummingbird
import NIOCore
import NIOSSL
import SNPCore
import SNPFHIR
import SNPServer
import SNPStore

/// `/fhir` (SPEC §7.2): the SAS platform's slot search and the CapabilityStatement.
/// Translates HTTP to the engine and back; every rule about which slot may be offered is the
/// engine's (`MatchingEngine.bookableSlots`), every rule about the answer's form is
/// `SNPFHIR`'s.
struct FHIREndpoints: Sendable {
    let service: HTTPService
    /// Whether this is the HTTPS listener (client certificates, `SNPD_FHIR_CLIENT_NAMES`).
    let tls: Bool

    static let contentType = "application/fhir+json"
    /// What the SAS platform and FHIR clients send in `Accept` (the IG mixes them).
    static let acceptable = ["application/fhir+json", "application/json+fhir", "application/json", "*/*", "application/*"]

    func metadata(_ request: Request, _ context: SNPRequestContext) async -> Response {
        if let refusal = Self.refusedFormat(request) { return Self.failure(refusal) }
        let statement = FHIRCapabilityStatement.snpd(
            baseURL: base(request), softwareVersion: Daemon.version, cpts: service.settings.cptsFiness != nil)
        return Self.json(.ok, FHIRJSON.encode(statement))
    }

    func searchSlots(_ request: Request, _ context: SNPRequestContext) async -> Response {
        do {
            if let refusal = Self.refusedFormat(request) { throw refusal }
            try await authorize(request, context)
            guard service.isReady else { throw FHIRError.unavailable(service.notReadyReason + "; retry later") }
            var parsed = try SlotSearchQuery.parse(Self.queryItems(request.uri.query ?? ""))
            // Every Slot names its Schedule, which must resolve inside the Bundle (§7.2):
            // the Schedule and its actors come along even when a client left out `_include`.
            parsed.includes.formUnion([.schedule, .actor])
            let query = parsed
            let found = await service.daemon.service.inspect { engine, now in
                FHIRSearchInput(engine: engine, query: query, now: now)
            }
            for rpps in found.incomplete {
                service.logger.notice(
                    "a professional without a complete contact is left out of FHIR answers (PRO PUT address= city= postcode= phone= given= family=)",
                    metadata: ["pro": "\(rpps.value)"])
            }
            var bundle = ByteBuffer()
            SlotBundleBuilder.write(
                query: query, slots: found.slots, practitioners: found.practitioners, config: try config(request),
                cache: service.includedEntries, into: &bundle)
            return Self.json(.ok, bundle)
        } catch let error as FHIRError {
            return Self.failure(error)
        } catch {
            return Self.failure(.unavailable("the search failed: \(error); retry later"))
        }
    }

    func notFound(_ request: Request, _ context: SNPRequestContext) async -> Response {
        Self.failure(.notFound("no such FHIR resource or operation: \(request.method) \(request.uri.path); this server answers GET /fhir/Slot and GET /fhir/metadata"))
    }

    // MARK: Access (SPEC §7.1)

    /// A client certificate (HTTPS with a client CA; its CN in `SNPD_FHIR_CLIENT_NAMES` when
    /// that is set), or a bearer token of a regulator, coordinator or admin.
    func authorize(_ request: Request, _ context: SNPRequestContext) async throws {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw FHIRError.unauthorized("Authorization must be: Bearer <token>")
            }
            let principal: Principal?
            do {
                principal = try await service.tokens.authenticate(secret: String(parts[1]), store: service.daemon.store)
            } catch {
                throw FHIRError.unavailable("cannot check the token: the database is unavailable; retry later")
            }
            guard let principal else { throw FHIRError.unauthorized("unknown or revoked token") }
            guard [.regulator, .coordinator, .admin].contains(principal.role) else {
                throw FHIRError.forbidden("a \(principal.role.rawValue) token may not search slots over FHIR")
            }
            return
        }
        guard tls, service.settings.clientCAPath != nil, let name = await Self.clientCommonName(context.channel) else {
            throw FHIRError.unauthorized()
        }
        let allowed = service.settings.fhirClientNames
        guard allowed.isEmpty || allowed.contains(name) else {
            throw FHIRError.forbidden("the client certificate \(name) is not allowed to call /fhir (SNPD_FHIR_CLIENT_NAMES)")
        }
    }

    /// The subject CN of the connection's verified client certificate.
    static func clientCommonName(_ channel: any Channel) async -> String? {
        let der: [UInt8]? = try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate?.toDERBytes()
        }.get()
        return der.flatMap(CertificateName.commonName(der:))
    }

    // MARK: Form

    /// `nil` if `Accept` allows FHIR JSON (or says nothing), else why not (`406`).
    static func refusedFormat(_ request: Request) -> FHIRError? {
        guard let accept = request.headers[.accept], !accept.isEmpty else { return nil }
        let types = accept.split(separator: ",").map {
            $0.split(separator: ";")[0].trimmedWhitespace().lowercased()
        }
        if types.contains(where: { acceptable.contains($0) }) { return nil }
        return FHIRError(status: 406, message: "this server answers application/fhir+json (or application/json); Accept was \(accept)")
    }

    /// The query's items, percent-decoded, with `+` kept as a plus (it is the offset sign of
    /// an instant, which clients often leave unencoded), not read as a space.
    ///
    /// Split on the bytes of `&` and `=`, not on characters: splitting the search's
    /// 1 600-byte query by `Character` (grapheme breaking) was 4 % of a search
    /// (docs/PERFORMANCE.md). Both are ASCII, so every cut is between two characters.
    static func queryItems(_ query: String) -> [(name: String, value: String)] {
        query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring.UTF8View) in Substring(s).percentDecoded() ?? String(Substring(s)) }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// `SNPD_PUBLIC_URL` + `/fhir`, else the request's own scheme and `Host`.
    func base(_ request: Request) -> String {
        if let url = service.settings.publicURL { return url + "/fhir" }
        let host = request.head.authority ?? "localhost"
        return (tls ? "https://" : "http://") + host + "/fhir"
    }

    func config(_ request: Request) throws(FHIRError) -> FHIRConfig {
        let s = service.settings
        let cpts = try s.cptsFiness.map { finess throws(FHIRError) in try FHIRConfig.CPTS(finess: finess, name: s.cptsName ?? "CPTS") }
        return FHIRConfig(baseURL: base(request), bookingURLTemplate: s.bookingURL, cpts: cpts)
    }

    /// One buffer, written in one piece (Hummingbird sets `Content-Length` from it).
    static func json(_ status: HTTPResponse.Status, _ body: some Sequence<UInt8>) -> Response {
        json(status, ByteBuffer(bytes: body))
    }

    static func json(_ status: HTTPResponse.Status, _ body: ByteBuffer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    static func failure(_ error: FHIRError) -> Response {
        json(HTTPResponse.Status(code: error.status), error.body)
    }
}

/// The search's answer is written straight into the response's buffer
/// (`SlotBundleBuilder.write`), not into an array copied into it.
extension ByteBuffer: JSONOutput {
    public mutating func append(upTo maximum: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: maximum) { write($0) }
    }

    public mutating func reserve(_ count: Int) { reserveCapacity(minimumWritableBytes: count) }
}

/// What the engine gives a search: the named professionals that can be shown, and their
/// bookable slots; read in one pass under the engine's read lock.
struct FHIRSearchInput: Sendable {
    var practitioners: [PractitionerInfo] = []
    var slots: [SlotInfo] = []
    /// Named, known, but without the contact FHIR needs: left out, and logged.
    var incomplete: [RPPS] = []

    init(engine: MatchingEngine, query: SlotSearchQuery, now: Date) {
        var shown: [RPPS] = []
        for rpps in query.practitioners {
            guard let p = engine.professional(rpps), p.active else { continue }
            let c = p.contact
            guard c.isComplete, let address = c.address, let city = c.city, let postcode = c.postcode,
                let phone = c.phone, let given = c.given, let family = c.family
            else {
                incomplete.append(rpps)
                continue
            }
            shown.append(rpps)
            practitioners.append(
                PractitionerInfo(
                    rpps: rpps, profession: p.profession, given: given, family: family, addressLine: address, city: city,
                    postalCode: postcode, phone: phone, location: p.location, structure: c.structure))
        }
        for rpps in shown {
            engine.forEachBookableSlot(of: rpps, from: query.from, to: query.to, now: now) {
                slots.append(SlotInfo(id: $0.id.description, rpps: $0.pro, start: $0.start, end: $0.end, mode: $0.mode))
            }
        }
    }
}
