/* fuzz_json_requests.c -- libFuzzer target for the API's request decoders: a whole request
 * (method, path with query, Content-Type, body) goes through api_dispatch, so the router, the
 * query parsers and every JSON body decoder (dataset upload, job spec, model import, predict)
 * run as in the daemon, against a real store in a temporary file with no training workers.
 * libmicrohttpd's connection and response calls are replaced here by recorders.
 * Input: "METHOD PATH\nCONTENT-TYPE\nBODY"; "@D", "@J", "@M", "@C" in the path and the body become
 * the ids of a stored dataset, job, model and classification model. Oracles: exactly one response per
 * request, never a 5xx, and a 4xx leaves the store's row counts (aliases included) unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sqlite3.h>
#include <unistd.h>

#include "api.h"
#include "body.h"
#include "model_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- libmicrohttpd replaced: one fake connection, responses recorded -------------------- */

struct MHD_Response { size_t len; void *owned; };

static struct {
    const char *ctype;
    char query[2048];           /* "k=v&k=v" (split in place into keys/values) */
    const char *keys[32], *vals[32];
    int nargs;
    int queued;
    unsigned status;
} fake;

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *key) {
    (void)c;
    if (kind == MHD_GET_ARGUMENT_KIND) {
        for (int i = 0; i < fake.nargs; i++) if (strcmp(fake.keys[i], key) == 0) return fake.vals[i];
        return NULL;
    }
    if (kind == MHD_HEADER_KIND && strcasecmp(key, "Content-Type") == 0) return fake.ctype;
    return NULL;
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer, enum MHD_ResponseMemoryMode mode) {
    struct MHD_Response *r = malloc(sizeof *r);
    if (!r) return NULL;
    r->len = size;
    if (size && buffer) { volatile char last = ((char *)buffer)[size - 1]; (void)last; }  /* readable */
    r->owned = mode == MHD_RESPMEM_MUST_FREE ? buffer : NULL;   /* freed with the response, as MHD does */
    return r;
}

/* A streamed answer (the dataset export) is read to its end at once, as a client reading it all
 * would, and its state freed; the event stream, whose reader waits for news, is not fuzzed. */
struct MHD_Response *MHD_create_response_from_callback(uint64_t size, size_t block, MHD_ContentReaderCallback crc,
                                                       void *cls, MHD_ContentReaderFreeCallback crfc) {
    (void)size;
    char *buf = malloc(block);
    uint64_t pos = 0;
    ssize_t n = 0;
    while (buf && (n = crc(cls, pos, buf, block)) > 0) {
        if ((size_t)n > block) abort();   /* wrote past the block */
        pos += (uint64_t)n;
    }
    if (n == 0) abort();                   /* a finite stream never answers "nothing yet" */
    free(buf);
    if (crfc) crfc(cls);
    return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r, const char *h, const char *v) {
    (void)r;
    if (!h || !v || strpbrk(v, "\r\n")) abort();   /* header injection */
    return MHD_YES;
}

void MHD_destroy_response(struct MHD_Response *r) {
    if (r) free(r->owned);
    free(r);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c, unsigned int status, struct MHD_Response *r) {
    (void)c; (void)r;
    if (fake.queued++) abort();                   /* two responses to one request */
    fake.status = status;
    return MHD_YES;
}

/* ---- the server: store in a temporary file, hub, model cache, a pool without workers ---- */

static api_server srv;
static config cfg;
static sqlite3 *side;           /* a second connection that counts rows */
static char id_ds[STORE_ID_MAX], id_job[STORE_ID_MAX], id_model[STORE_ID_MAX], id_cmodel[STORE_ID_MAX];

/* The rows of each table (and the cancelled jobs), as "datasets/jobs/models/aliases/cancelled". */
static void row_counts(char out[96]) {
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(side, "SELECT (SELECT count(*) FROM datasets) || '/' || (SELECT count(*) FROM jobs) || '/' || "
                                 "(SELECT count(*) FROM models) || '/' || (SELECT count(*) FROM model_aliases) || '/' || "
                                 "(SELECT count(*) FROM jobs WHERE status = 'cancelled')", -1, &s, NULL) != SQLITE_OK)
        abort();
    if (sqlite3_step(s) != SQLITE_ROW) abort();
    snprintf(out, 96, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

static void id_of(cJSON *res, char out[STORE_ID_MAX]) {
    cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "id");
    if (!cJSON_IsString(id)) abort();
    snprintf(out, STORE_ID_MAX, "%s", id->valuestring);
    cJSON_Delete(res);
}

static void fixture_model(store *st, int classify, char out[STORE_ID_MAX]) {
    oig_model *m = oig_model_new(2, 2, classify ? 2 : 1);
    if (!m) abort();
    for (int i = 0; i < 2 * 3; i++) m->w[i] = 0.1 * (i + 1);
    for (int i = 0; i < m->m * 3; i++) m->woi[i] = 0.05 * (i + 1);
    for (int i = 0; i < m->m * 2; i++) m->woh[i] = -0.2 * (i + 1);
    for (int i = 0; i < 2; i++) { m->in_mean[i] = 0; m->in_scale[i] = 1; }
    m->bypass = 1;
    m->algorithm = OIG_ALG_OIG_HWO;
    snprintf(m->summary.stop_reason, sizeof m->summary.stop_reason, "max_iterations");
    if (classify) {
        m->task = OIG_CLASSIFICATION;
        m->nclasses = 2;
        m->labels = calloc(2, sizeof *m->labels);
        m->labels[0] = strdup("no");
        m->labels[1] = strdup("yes");
    }
    char *doc = model_doc_write(m, NULL);
    cJSON *res = NULL;
    if (!doc || store_model_insert(st, NULL, m, doc, &res) != STORE_OK) abort();
    id_of(res, out);
    free(doc);
    oig_model_free(m);
}

static void fixtures(void);
static char dir[] = "/tmp/oigd-fuzz-XXXXXX";

/* The temporary database goes when the fuzzer exits (libFuzzer ends with exit()). */
static void remove_dir(void) {
    static const char *const files[] = {"oigd.db", "oigd.db-wal", "oigd.db-shm"};
    char p[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void setup(void) {
    if (!mkdtemp(dir)) abort();
    atexit(remove_dir);
    char db[128], err[256];
    snprintf(db, sizeof db, "%s/oigd.db", dir);
    char *argv[] = {"oigd", "--db", db, "--workers", "1", NULL};
    if (config_load(&cfg, 5, argv, err, sizeof err) != 0) { fprintf(stderr, "config: %s\n", err); abort(); }
    srv.cfg = &cfg;
    if (store_set_open(db, &srv.stores, err, sizeof err) != STORE_OK) { fprintf(stderr, "store: %s\n", err); abort(); }
    srv.hub = hub_create(8, 15);
    srv.models = api_model_cache_create(4);
    pool_options popt = { .workers = 0, .checkpoint_seconds = 1.0 };   /* jobs stay queued */
    srv.pool = pool_create(srv.stores, srv.hub, &popt);
    if (!srv.hub || !srv.models || !srv.pool) abort();
    fixtures();
    if (sqlite3_open_v2(db, &side, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) abort();
    sqlite3_busy_timeout(side, 5000);
}

static void fixtures(void) {
    store *st = store_set_get(srv.stores);
    const char csv[] = "a,b,y\n1,2,3\n4,5,6\n7,8,10\n";
    oig_parse_opts o;
    oig_parse_opts_init(&o);
    oig_data *d = NULL;
    oig_error e;
    if (oig_data_parse(csv, sizeof csv - 1, &o, &d, &e) != OIG_OK) abort();
    cJSON *res = NULL;
    if (store_dataset_insert(st, "fixture", d, "0", &res) != STORE_OK) abort();
    oig_data_free(d);
    id_of(res, id_ds);
    const char params[] = "{}";
    if (store_job_insert(st, id_ds, params, "oig-hwo", 2, 5, &res) != STORE_OK) abort();
    id_of(res, id_job);
    fixture_model(st, 0, id_model);
    fixture_model(st, 1, id_cmodel);
}

/* Put the store back to the fixtures: after a delete or a cancel (which may have removed or
 * finished one), and every 500 runs so that what successful requests added does not pile up. */
static void reset(int now) {
    static long runs;
    if (!now && ++runs % 500) return;
    sqlite3 *w;
    if (sqlite3_open_v2(cfg.db, &w, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) abort();
    sqlite3_busy_timeout(w, 5000);
    if (sqlite3_exec(w, "DELETE FROM metrics; DELETE FROM checkpoints; DELETE FROM jobs; "
                        "DELETE FROM model_aliases; DELETE FROM models; DELETE FROM dataset_payloads; DELETE FROM datasets;",
                     NULL, NULL, NULL) != SQLITE_OK) abort();
    sqlite3_close(w);
    api_model_cache_drop(srv.models, id_model);
    api_model_cache_drop(srv.models, id_cmodel);
    fixtures();
}

/* Copy s (n bytes) into out, replacing the fixture placeholders, NUL-terminated; *olen (when not
 * NULL) receives the length. 0 when it does not fit. */
static int expand(const char *s, size_t n, char *out, size_t cap, size_t *olen) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        if (s[i] == '@' && i + 1 < n) {
            switch (s[i + 1]) {
            case 'D': rep = id_ds; break;
            case 'J': rep = id_job; break;
            case 'M': rep = id_model; break;
            case 'C': rep = id_cmodel; break;
            }
        }
        if (rep) {
            size_t k = strlen(rep);
            if (o + k >= cap) return 0;
            memcpy(out + o, rep, k);
            o += k;
            i++;
        } else {
            if (o + 1 >= cap) return 0;
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    if (olen) *olen = o;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!srv.stores) setup();
    const char *p = (const char *)data, *end = p + size;
    const char *nl1 = memchr(p, '\n', size);
    if (!nl1) return 0;
    const char *nl2 = memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1));
    if (!nl2) return 0;
    const char *sp = memchr(p, ' ', (size_t)(nl1 - p));
    if (!sp || sp - p >= 16 || memchr(p, 0, (size_t)(nl2 - p))) return 0;

    api_req *rq = calloc(1, sizeof *rq);
    if (!rq) return 0;
    rq->srv = &srv;
    rq->conn = NULL;
    memcpy(rq->method, p, (size_t)(sp - p));
    char target[1024];
    if (!expand(sp + 1, (size_t)(nl1 - sp - 1), target, sizeof target, NULL)) { free(rq); return 0; }
    /* the path as MHD hands it over: without the query, which becomes GET arguments */
    memset(&fake, 0, sizeof fake);
    char *q = strchr(target, '?');
    if (q) {
        *q = 0;
        snprintf(fake.query, sizeof fake.query, "%s", q + 1);
        for (char *tok = strtok(fake.query, "&"); tok && fake.nargs < 32; tok = strtok(NULL, "&")) {
            char *eq = strchr(tok, '=');
            fake.keys[fake.nargs] = tok;
            fake.vals[fake.nargs] = eq ? (*eq = 0, eq + 1) : "";
            fake.nargs++;
        }
    }
    if (strstr(target, "/events")) { free(rq); return 0; }   /* streams: covered by the e2e tests */
    snprintf(rq->path, sizeof rq->path, "%s", target);
    char ctype[128];
    size_t cl = (size_t)(nl2 - nl1 - 1);
    if (cl >= sizeof ctype) { free(rq); return 0; }
    memcpy(ctype, nl1 + 1, cl);
    ctype[cl] = 0;
    fake.ctype = cl ? ctype : NULL;
    /* the body, its placeholders expanded (an id is at most STORE_ID_MAX - 1 bytes for two), as
     * the daemon takes it in (body.c), hashed as an upload's is */
    size_t blen = (size_t)(end - nl2 - 1), bcap = blen * (STORE_ID_MAX / 2) + 1;
    char *body = malloc(bcap);
    if (!body || !expand(nl2 + 1, blen, body, bcap, &blen)) { free(body); free(rq); return 0; }
    int fed = api_body_begin(rq, NULL, 1) == 0 && api_body_feed(rq, body, blen) == 0 && api_body_end(rq) == API_BODY_OK;
    free(body);
    if (!fed) {
        api_body_free(rq);
        free(rq);
        return 0;
    }

    char before[96], after[96];
    row_counts(before);
    api_dispatch(rq);
    row_counts(after);
    if (fake.queued != 1 || !rq->replied) abort();
    if (fake.status >= 500) {
        fprintf(stderr, "status %u for %s %s\n", fake.status, rq->method, rq->path);
        abort();
    }
    if (fake.status >= 400 && strcmp(before, after) != 0) {
        fprintf(stderr, "rejected request (%u) changed the store: %s -> %s\n", fake.status, before, after);
        abort();
    }
    int changed = fake.status == 204 || (fake.status == 202 && strstr(rq->path, "/cancel"));
    api_body_free(rq);
    free(rq);
    reset(changed);
    return 0;
}
