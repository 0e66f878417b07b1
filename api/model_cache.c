/* model_cache.c -- a few parsed models kept for predict, so a call does not re-read and re-parse
 * the model document. Entries are reference counted; the mutex guards the table and the counts.
 * A model in use is never freed under a caller: eviction and drop only free at zero refs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "model_doc.h"

typedef struct {
    char id[STORE_ID_MAX];      /* "" when the slot is free or dropped */
    oig_model *m;
    int refs;
    unsigned long used;
} cache_entry;

struct api_model_cache {
    pthread_mutex_t mu;         /* guards all */
    cache_entry *e;
    int n;
    unsigned long tick;
    /* models handed out while every slot was busy, freed by put */
    oig_model **loose;
    int nloose;
};

api_model_cache *api_model_cache_create(int capacity) {
    api_model_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n = capacity > 0 ? capacity : 1;
    c->e = calloc((size_t)c->n, sizeof *c->e);
    if (!c->e) { free(c); return NULL; }
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void api_model_cache_destroy(api_model_cache *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) oig_model_free(c->e[i].m);
    for (int i = 0; i < c->nloose; i++) oig_model_free(c->loose[i]);
    free(c->loose);
    free(c->e);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static cache_entry *find(api_model_cache *c, const char *id) {
    for (int i = 0; i < c->n; i++)
        if (c->e[i].m && c->e[i].id[0] && strcmp(c->e[i].id, id) == 0) return &c->e[i];
    return NULL;
}

const oig_model *api_model_cache_get(api_model_cache *c, store *st, const char *id, store_status *status) {
    *status = STORE_OK;
    pthread_mutex_lock(&c->mu);
    cache_entry *e = find(c, id);
    if (e) {
        e->refs++;
        e->used = ++c->tick;
        pthread_mutex_unlock(&c->mu);
        return e->m;
    }
    pthread_mutex_unlock(&c->mu);

    /* a miss: read and parse outside the lock */
    char *doc = NULL;
    *status = st ? store_model_doc(st, id, &doc) : STORE_ERROR;
    if (*status != STORE_OK) return NULL;
    oig_model *m = NULL;
    oig_error err;
    oig_status os = model_doc_read(doc, strlen(doc), &m, &err);
    free(doc);
    if (os != OIG_OK) { *status = STORE_ERROR; return NULL; }

    pthread_mutex_lock(&c->mu);
    if ((e = find(c, id))) {            /* another thread loaded it meanwhile */
        e->refs++;
        e->used = ++c->tick;
        pthread_mutex_unlock(&c->mu);
        oig_model_free(m);
        return e->m;
    }
    cache_entry *victim = NULL;
    for (int i = 0; i < c->n; i++) {
        cache_entry *x = &c->e[i];
        if (x->refs > 0) continue;
        if (!victim || !x->m || (victim->m && x->used < victim->used)) victim = x;
        if (!x->m) break;
    }
    if (victim) {
        oig_model_free(victim->m);
        victim->m = m;
        snprintf(victim->id, sizeof victim->id, "%s", id);
        victim->refs = 1;
        victim->used = ++c->tick;
    } else {
        oig_model **l = realloc(c->loose, (size_t)(c->nloose + 1) * sizeof *l);
        if (!l) { pthread_mutex_unlock(&c->mu); oig_model_free(m); *status = STORE_ERROR; return NULL; }
        c->loose = l;
        c->loose[c->nloose++] = m;
    }
    pthread_mutex_unlock(&c->mu);
    return m;
}

void api_model_cache_put(api_model_cache *c, const oig_model *m) {
    if (!m) return;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < c->n; i++) {
        cache_entry *e = &c->e[i];
        if (e->m != m) continue;
        e->refs--;
        if (e->refs == 0 && !e->id[0]) {    /* dropped while in use */
            oig_model_free(e->m);
            e->m = NULL;
        }
        pthread_mutex_unlock(&c->mu);
        return;
    }
    for (int i = 0; i < c->nloose; i++) {
        if (c->loose[i] != m) continue;
        oig_model_free(c->loose[i]);
        c->loose[i] = c->loose[--c->nloose];
        break;
    }
    pthread_mutex_unlock(&c->mu);
}

void api_model_cache_drop(api_model_cache *c, const char *id) {
    pthread_mutex_lock(&c->mu);
    cache_entry *e = find(c, id);
    if (e) {
        e->id[0] = 0;
        if (e->refs == 0) { oig_model_free(e->m); e->m = NULL; }
    }
    pthread_mutex_unlock(&c->mu);
}
