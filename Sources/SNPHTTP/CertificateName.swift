/// The subject common name (CN) of an X.509 certificate, read from its DER bytes: enough of
/// DER to walk to the subject and find its last CN (the most significant, as TLS libraries
/// take it). swift-nio-ssl keeps its own reader internal; this saves a dependency.
enum CertificateName {
    /// One DER element: its tag and the range of its contents in the bytes.
    struct Element {
        var tag: UInt8
        var contents: Range<Int>
    }

    /// The element starting at `at`, or `nil` if the bytes are not DER there.
    static func element(_ der: [UInt8], at: Int) -> Element? {
        guard at + 2 <= der.count else { return nil }
        let tag = der[at]
        var length = Int(der[at + 1])
        var start = at + 2
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard (1...4).contains(count), start + count <= der.count else { return nil }
            length = 0
            for b in der[start..<start + count] { length = length << 8 | Int(b) }
            start += count
        }
        guard start + length <= der.count else { return nil }
        return Element(tag: tag, contents: start..<start + length)
    }

    /// The elements directly inside `range`.
    static func children(_ der: [UInt8], _ range: Range<Int>) -> [Element] {
        var out: [Element] = []
        var at = range.lowerBound
        while at < range.upperBound, let e = element(der, at: at) {
            out.append(e)
            at = e.contents.upperBound
        }
        return out
    }

    static func commonName(der: [UInt8]) -> String? {
        guard let certificate = element(der, at: 0), certificate.tag == 0x30,
            let tbs = children(der, certificate.contents).first, tbs.tag == 0x30
        else { return nil }
        var fields = children(der, tbs.contents)
        if fields.first?.tag == 0xA0 { fields.removeFirst() }  // [0] version
        // serial, signature algorithm, issuer, validity, subject
        guard fields.count >= 5, fields[4].tag == 0x30 else { return nil }
        var name: String?
        for set in children(der, fields[4].contents) where set.tag == 0x31 {
            for attribute in children(der, set.contents) where attribute.tag == 0x30 {
                let parts = children(der, attribute.contents)
                guard parts.count == 2, parts[0].tag == 0x06, Array(der[parts[0].contents]) == [0x55, 0x04, 0x03] else {
                    continue
                }
                name = String(decoding: der[parts[1].contents], as: UTF8.self)
            }
        }
        return name
    }
}
