// libcurl for the HTTP driver (Sources/CapgateDrivers). curl_easy_setopt, curl_multi_setopt
// and curl_easy_getinfo are variadic, which Swift cannot call: these typed one-line wrappers
// pass exactly one argument of the type each option documents.
#ifndef CAPGATE_CCURL_SHIM_H
#define CAPGATE_CCURL_SHIM_H
#include <curl/curl.h>

typedef size_t (*capgate_curl_data_fn)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode capgate_curl_easy_setopt_long(CURL *h, CURLoption o, long v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode capgate_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode capgate_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode capgate_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode capgate_curl_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode capgate_curl_easy_setopt_data_fn(CURL *h, CURLoption o, capgate_curl_data_fn v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLMcode capgate_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) {
    return curl_multi_setopt(m, o, v);
}
static inline CURLcode capgate_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode capgate_curl_easy_getinfo_string(CURL *h, CURLINFO i, char **out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode capgate_curl_easy_getinfo_pointer(CURL *h, CURLINFO i, void **out) {
    return curl_easy_getinfo(h, i, out);
}
/// CURLMsg.data is a union; the result code of a CURLMSG_DONE message.
static inline CURLcode capgate_curl_msg_result(const CURLMsg *m) { return m->data.result; }
#endif
