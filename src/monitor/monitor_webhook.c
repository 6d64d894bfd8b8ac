/* monitor: alerts to a webhook — a JSON POST through libcurl with a timeout
 * and retries with backoff. Called on the monitor's own thread, never the
 * ingest loop's, so a webhook that hangs or refuses holds up no batch. */
#include "monitor.h"

#include <curl/curl.h>
#include <time.h>

/* First retry after this long, doubling, at most BACKOFF_MAX_MS. */
#define BACKOFF_MS 500
#define BACKOFF_MAX_MS 8000

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* One POST: 0 on a 2xx answer. */
static int post_once(CURL *c, long *status, char *errbuf)
{
    errbuf[0] = 0;
    const CURLcode e = curl_easy_perform(c);
    if (e != CURLE_OK) {
        if (!errbuf[0]) snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(e));
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (*status < 200 || *status > 299) {
        snprintf(errbuf, CURL_ERROR_SIZE, "HTTP status %ld", *status);
        return -1;
    }
    return 0;
}

int dc_monitor_webhook_post(const char *url, const char *body, size_t n, int timeout_ms,
                            int retries, dc_err *err)
{
    CURL *c = curl_easy_init();
    if (!c) return dc_err_set(err, DC_ENOMEM, "webhook: curl_easy_init failed");
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE];
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)n);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    long status = 0, backoff = BACKOFF_MS;
    int rc = -1;
    for (int attempt = 0; attempt <= retries; attempt++) {
        if (attempt) {
            dc_sleep_ms(backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        }
        if ((rc = post_once(c, &status, errbuf)) == 0) break;
        DC_LOG(DC_LOG_WARN, "monitor", "webhook: attempt %d of %d: %s", attempt + 1, retries + 1,
               errbuf);
    }
    if (rc < 0)
        rc = dc_err_set_retriable(err, DC_EIO, "webhook: %d attempts failed, the last: %s",
                                  retries + 1, errbuf);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}
