import CCurl
import Glibc

/// How one transfer ended, as the curl loop saw it. The driver turns it into a result or a
/// `DriverError` in the reference's words.
enum TransferOutcome: Sendable {
    /// A complete response. For a status of 400-599 `body` is only the first 512 bytes (the
    /// loop stops reading there); otherwise it is the whole body.
    case response(status: Int, contentType: String?, body: [UInt8])
    /// The body passed `maxResponseBytes`; reading stopped at once.
    case tooLarge
    /// No byte arrived for the inactivity timeout (or the connection was not made in time).
    case timedOut
    /// Any other transport failure: libcurl's code and its message.
    case failed(code: CURLcode, message: String)
    /// The awaiting task was cancelled (or the driver shut down); the transfer was removed.
    case cancelled
}

/// Per-transfer limits and TLS material.
struct TransferOptions: Sendable {
    var timeoutSeconds: Double
    var maxResponseBytes: Int?
    var tls: HTTPTLSFiles
}

/// One libcurl easy handle and what its callbacks accumulate. Built on the calling task,
/// then owned by the loop thread alone from `CurlMultiLoop.submit` until it is finished,
/// which is why the unchecked `Sendable` is sound: there is exactly one owner at a time.
final class CurlTransfer: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    let idleNanoseconds: UInt64
    let maxResponseBytes: Int?
    var continuation: CheckedContinuation<TransferOutcome, Never>?

    /// The body and its read limits (HTTPResponse.swift).
    private var response: HTTPResponseBody
    private(set) var status = 0
    /// Monotonic time of the last byte seen (headers or body); drives the inactivity timeout.
    var lastActivity: UInt64

    /// Nil when libcurl cannot allocate a handle or refuses an option.
    init?(_ request: HTTPRequest, _ options: TransferOptions) {
        CurlGlobal.ensureInitialized()
        guard let easy = curl_easy_init() else { return nil }
        self.easy = easy
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        let seconds = options.timeoutSeconds.isFinite ? max(options.timeoutSeconds, 0.001) : 1e9
        idleNanoseconds = UInt64(min(seconds, 1e9) * 1e9)
        maxResponseBytes = options.maxResponseBytes
        response = HTTPResponseBody(maxResponseBytes: options.maxResponseBytes)
        lastActivity = MonotonicClock.now()
        guard configure(request, options, timeoutMilliseconds: Int(min(seconds, 1e9) * 1000)) else {
            release()
            return nil
        }
    }

    private func configure(_ request: HTTPRequest, _ options: TransferOptions, timeoutMilliseconds: Int) -> Bool {
        var ok = true
        func set(_ o: CURLoption, _ v: Int) { ok = ok && capgate_curl_easy_setopt_long(easy, o, v) == CURLE_OK }
        func set(_ o: CURLoption, _ v: String) { ok = ok && capgate_curl_easy_setopt_string(easy, o, v) == CURLE_OK }
        let me = Unmanaged.passUnretained(self).toOpaque()

        set(CURLOPT_URL, request.url)
        // Operator URLs only, and only HTTP(S): no file://, gopher:// or other scheme curl knows.
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        // The reference never follows redirects; a 3xx is the answer.
        set(CURLOPT_FOLLOWLOCATION, 0)
        // Threads of ours run curl: no SIGALRM-based DNS timeouts.
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_CONNECTTIMEOUT_MS, max(timeoutMilliseconds, 1))
        set(CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2)
        // HTTP/2 over TLS multiplexes; wait for a connection being set up rather than open another.
        set(CURLOPT_PIPEWAIT, 1)
        set(CURLOPT_ACCEPT_ENCODING, "gzip, deflate")
        ok = ok && capgate_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer) == CURLE_OK
        ok = ok && capgate_curl_easy_setopt_data_fn(easy, CURLOPT_WRITEFUNCTION, curlWrite) == CURLE_OK
        ok = ok && capgate_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me) == CURLE_OK
        ok = ok && capgate_curl_easy_setopt_data_fn(easy, CURLOPT_HEADERFUNCTION, curlHeader) == CURLE_OK
        ok = ok && capgate_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me) == CURLE_OK
        if let ca = options.tls.caFile { set(CURLOPT_CAINFO, ca) }
        if let cert = options.tls.clientCertificate, let key = options.tls.clientPrivateKey {
            set(CURLOPT_SSLCERTTYPE, "PEM")
            set(CURLOPT_SSLCERT, cert)
            set(CURLOPT_SSLKEY, key)
        }

        switch request.method {
        case "GET": set(CURLOPT_HTTPGET, 1)
        case "HEAD": set(CURLOPT_NOBODY, 1)
        default: set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if let body = request.body, request.method != "HEAD" {
            ok = ok && capgate_curl_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)) == CURLE_OK
            // COPYPOSTFIELDS: curl keeps its own copy, so the array's lifetime does not matter.
            ok = ok && body.withUnsafeBufferPointer { buf in
                buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buf.count, 1)) {
                    capgate_curl_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, $0) == CURLE_OK
                }
            }
        }

        // `Name:` would tell curl to drop the header; `Name;` is its spelling of an empty value.
        var lines = request.headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        // curl would send `Expect: 100-continue` for large bodies and wait; the reference does not.
        lines.append("Expect:")
        if !request.headers.contains(where: { HTTPRequest.sameName($0.name, "user-agent") }) {
            set(CURLOPT_USERAGENT, "capgate")
        }
        for line in lines {
            guard let appended = curl_slist_append(headerList, line) else { return false }
            headerList = appended
        }
        ok = ok && capgate_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList) == CURLE_OK
        return ok
    }

    /// Body bytes; see `CurlTransfer` for the limits applied here, while reading.
    fileprivate func receive(_ bytes: UnsafeRawBufferPointer) -> Int {
        lastActivity = MonotonicClock.now()
        if status == 0 {
            var code = 0
            _ = capgate_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
            status = code
        }
        return response.append(bytes, status: status) ? bytes.count : 0
    }

    fileprivate func sawHeader() { lastActivity = MonotonicClock.now() }

    /// Classifies the finished transfer; call once, on the loop thread, before `release`.
    func outcome(_ result: CURLcode) -> TransferOutcome {
        if response.tooLarge { return .tooLarge }
        var code = 0
        _ = capgate_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
        let finalStatus = status != 0 ? status : code
        if result == CURLE_OK || (result == CURLE_WRITE_ERROR && response.snippetComplete) {
            var ct: UnsafeMutablePointer<CChar>?
            _ = capgate_curl_easy_getinfo_string(easy, CURLINFO_CONTENT_TYPE, &ct)
            return .response(status: finalStatus, contentType: ct.map { String(cString: $0) }, body: response.bytes)
        }
        if result == CURLE_OPERATION_TIMEDOUT { return .timedOut }
        let detail = String(cString: errorBuffer)
        return .failed(code: result, message: detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail)
    }

    /// Frees the easy handle and what it points at (the loop has removed it from the multi).
    func release() {
        curl_easy_cleanup(easy)
        if let list = headerList { curl_slist_free_all(list) }
        headerList = nil
        errorBuffer.deallocate()
    }
}

private let curlWrite: capgate_curl_data_fn = { ptr, size, count, user in
    guard let user else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    return transfer.receive(UnsafeRawBufferPointer(start: ptr, count: size * count))
}

private let curlHeader: capgate_curl_data_fn = { _, size, count, user in
    guard let user else { return 0 }
    Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue().sawHeader()
    return size * count
}

/// `curl_global_init` must run once before any other libcurl call, from one thread.
enum CurlGlobal {
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    static func ensureInitialized() { _ = initialized }
}

/// CLOCK_MONOTONIC in nanoseconds: immune to wall-clock steps.
enum MonotonicClock {
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
