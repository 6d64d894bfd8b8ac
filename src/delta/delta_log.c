/*
 * delta: finding and reading the log — _last_checkpoint (a hint, with a
 * fallback to a full listing when it is missing, empty or wrong), listing
 * _delta_log, choosing the newest complete checkpoint not newer than the
 * wanted version (classic, multi-part, UUID-named V2 in JSON or Parquet, with
 * sidecars), then replaying the JSON commits after it.
 *
 * Files in _delta_log that are not commits or checkpoints (.crc, compacted
 * logs, .s3-optimization-*, temp files) are ignored: log compaction files are
 * optional for readers (PROTOCOL.md, Log Compaction Files).
 */
#include "delta_int.h"

#include <stdio.h>
#include <stdlib.h>

/* Per-line DOM arena: a line can be DC_JSONL_MAX_LINE bytes; its DOM is a
 * small multiple of that. */
#define LINE_ARENA_MAX ((size_t)4 * DC_JSONL_MAX_LINE)
/* DOM bytes kept across lines before the arena is reset. */
#define LINE_ARENA_KEEP ((size_t)4 * 1024 * 1024)

typedef struct log_file {
    log_name ln;                 /* what the name says */
    const dc_storage_entry *e;   /* the listing entry (name, size, mtime) */
} log_file;

/* The log files we understand, in name order (= version order). */
typedef struct segment {
    dc_storage_list list;        /* owns the entries */
    size_t n;
    log_file *files;             /* ours only */
} segment;

/* A checkpoint chosen for loading. */
typedef struct checkpoint {
    int64_t version;             /* -1: none */
    size_t index;                /* single file: files[index] */
    uint32_t parts;              /* multi-part: its number of parts; 0 for single files */
} checkpoint;

typedef dc_delta_action_fn action_fn;

static void segment_dispose(segment *g)
{
    dc_storage_list_dispose(&g->list);
    dc_free(g->files);
    g->files = NULL;
    g->n = 0;
}

static int list_log(segment *g, dc_storage *s, int64_t after_version, dc_err *err)
{
    char start[32];
    if (after_version >= 0) snprintf(start, sizeof start, "%020lld", (long long)after_version);
    dc_storage_list_init(&g->list);
    g->n = 0;
    g->files = NULL;
    int rc = dc_storage_list_dir(s, "_delta_log", after_version >= 0 ? start : NULL, &g->list, err);
    if (rc == DC_ENOTFOUND)
        return dc_err_set(err, DC_ENOTFOUND, "%s: not a Delta table (no _delta_log directory)",
                          s->root);
    if (rc < 0) return rc;
    g->files = dc_malloc((g->list.n ? g->list.n : 1) * sizeof *g->files);
    if (!g->files) return dc_err_set(err, DC_ENOMEM, "out of memory");
    for (size_t i = 0; i < g->list.n; i++) {
        const dc_storage_entry *e = &g->list.entries[i];
        if (e->is_dir) continue;
        log_name ln = dc_delta_log_classify(e->name);
        if (ln.kind == LOG_OTHER) continue;
        g->files[g->n].ln = ln;
        g->files[g->n].e = e;
        g->n++;
    }
    return 0;
}

static int64_t latest_version(const segment *g)
{
    int64_t v = -1;
    for (size_t i = 0; i < g->n; i++)
        if (g->files[i].ln.version > v) v = g->files[i].ln.version;
    return v;
}

static bool is_part_of(const log_name *ln, int64_t version, uint32_t parts)
{
    return ln->kind == LOG_CHECKPOINT_PART && ln->version == version && ln->parts == parts;
}

/* A multi-part checkpoint is complete when every part 1..parts is listed
 * (readers must ignore incomplete ones). Matching names sort by part. */
static bool multipart_complete(const segment *g, int64_t version, uint32_t parts)
{
    uint32_t want = 1;
    for (size_t k = 0; k < g->n; k++) {
        if (!is_part_of(&g->files[k].ln, version, parts)) continue;
        if (g->files[k].ln.part != want) return false;
        want++;
    }
    return want == parts + 1;
}

/* Newest complete checkpoint with version <= target; at one version a
 * classic file is preferred to a UUID-named one, and both to multi-part. */
static checkpoint pick_checkpoint(const segment *g, int64_t target)
{
    checkpoint best = {-1, 0, 0};
    int best_rank = 0;
    for (size_t i = 0; i < g->n; i++) {
        const log_name *ln = &g->files[i].ln;
        if (ln->kind == LOG_COMMIT || ln->version > target || ln->version < best.version) continue;
        int rank = ln->kind == LOG_CHECKPOINT ? 3 : ln->kind == LOG_CHECKPOINT_UUID ? 2 : 1;
        if (ln->version == best.version && rank <= best_rank) continue;
        if (ln->kind == LOG_CHECKPOINT_PART && !multipart_complete(g, ln->version, ln->parts))
            continue;
        best.version = ln->version;
        best.index = i;
        best.parts = ln->kind == LOG_CHECKPOINT_PART ? ln->parts : 0;
        best_rank = rank;
    }
    return best;
}

/* ------------------------------------------------------- reading files */

/* Parses the lines of a JSON file, calling fn per action. With reset, the
 * arena is reset every few lines (fn must copy what it keeps). */
static int each_line(const char *text, size_t n, const char *file, dc_arena *arena, bool reset,
                     action_fn fn, void *ctx, dc_err *err)
{
    uint64_t line = 0;
    size_t pos = 0;
    int rc = 0;
    while (rc == 0 && pos < n) {
        const char *nl = memchr(text + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
        line++;
        if (len > DC_JSONL_MAX_LINE) {
            rc = dc_err_set(err, DC_ELIMIT, "%s:%llu: line of %zu bytes exceeds the limit", file,
                            (unsigned long long)line, len);
            break;
        }
        dc_delta_action a;
        rc = dc_delta_action_parse(&a, arena, text + pos, len, file, line, err);
        if (rc == 0 && a.type != DC_DELTA_ACTION_NONE) rc = fn(ctx, &a, err);
        /* Resetting frees the arena's chunks: do it once a few lines'
         * DOMs have accumulated rather than after every line. */
        if (reset && arena->used > LINE_ARENA_KEEP) dc_arena_reset(arena);
        pos += len + (nl ? 1 : 0);
    }
    return rc;
}

static int read_json_file(dc_storage *s, const char *path, action_fn fn, void *ctx, dc_err *err)
{
    dc_buf b;
    dc_arena arena;
    dc_buf_init(&b, DC_MAX_SMALL_FILE);
    dc_arena_init(&arena, LINE_ARENA_MAX);
    int rc = dc_storage_read(s, path, &b, err);
    if (rc == 0) rc = each_line((const char *)b.data, b.len, path, &arena, true, fn, ctx, err);
    dc_arena_dispose(&arena);
    dc_buf_dispose(&b);
    return rc;
}

/* A checkpoint row with no action is "{"a":null,"b":null}": no '{' after
 * the first byte. Such rows are most rows when non-file actions are read
 * apart from the file actions. */
static bool all_null_row(const char *line, size_t n)
{
    return n > 0 && !memchr(line + 1, '{', n - 1);
}

/* Lines of rows_json, all-null rows skipped. */
static int each_row_line(const char *text, size_t n, const char *file, dc_arena *arena,
                         action_fn fn, void *ctx, dc_err *err)
{
    uint64_t row = 0;
    for (size_t pos = 0; pos < n;) {
        const char *line = text + pos, *nl = memchr(line, '\n', n - pos);
        const size_t len = nl ? (size_t)(nl - line) : n - pos;
        row++;
        if (!all_null_row(line, len)) {
            dc_delta_action a;
            DC_TRY(dc_delta_action_parse(&a, arena, line, len, file, row, err));
            if (a.type != DC_DELTA_ACTION_NONE) DC_TRY(fn(ctx, &a, err));
            if (arena->used > LINE_ARENA_KEEP) dc_arena_reset(arena);
        }
        pos += len + 1;
    }
    return 0;
}

/* Sets project[] for the root columns named in want (minus skip); true if any. */
static bool project_columns(bool *project, const dc_pq_schema *sc, const char *const *want,
                            bool skip_files)
{
    bool any = false;
    for (uint32_t i = 0; i < sc->root.n_children; i++) {
        const char *name = sc->root.children[i].name;
        project[i] = false;
        if (skip_files && (strcmp(name, "add") == 0 || strcmp(name, "remove") == 0)) continue;
        for (const char *const *w = want; *w; w++)
            if (strcmp(name, *w) == 0) project[i] = any = true;
    }
    return any;
}

/* Reads the action columns named in `want` of a checkpoint or sidecar: add
 * and remove column by column (delta_checkpoint.c) when their layout is the
 * protocol's, everything else as JSON rows. */
static int read_parquet_actions(dc_storage *s, const char *path, uint64_t size,
                                const char *const *want, action_fn fn, void *ctx, dc_err *err)
{
    dc_pq_reader *r = NULL;
    dc_buf hold, rows;
    dc_arena arena;
    bool *project = NULL;
    dc_buf_init(&hold, DC_MAX_SMALL_FILE);
    dc_buf_init(&rows, DC_PQ_MAX_CHUNK_BYTES);
    dc_arena_init(&arena, LINE_ARENA_MAX);
    int rc = dc_delta_pq_open(&r, &hold, s, path, size, err);
    if (rc < 0) goto out;
    const dc_pq_schema *sc = dc_pq_reader_schema(r);
    const pq_file_meta *meta = dc_pq_reader_meta(r);
    dc_err fast_err;
    const int fast = dc_delta_cp_files(r, path, fn, ctx, &fast_err);
    if (fast < 0 && fast != DC_EUNSUPPORTED) {
        rc = fast;
        *err = fast_err;
        goto out;
    }
    if (fast == DC_EUNSUPPORTED)
        DC_LOG(DC_LOG_DEBUG, "delta", "%s: reading add/remove as JSON rows: %s", path,
               fast_err.msg);
    project = dc_calloc(sc->root.n_children ? sc->root.n_children : 1, sizeof *project);
    if (!project) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        goto out;
    }
    if (!project_columns(project, sc, want, fast == 0)) goto out;
    for (uint32_t rg = 0; rc == 0 && rg < meta->n_row_groups; rg++) {
        dc_buf_reset(&rows);
        rc = dc_pq_reader_rows_json(&rows, r, rg, project, err);
        if (rc == 0) rc = each_row_line((const char *)rows.data, rows.len, path, &arena, fn, ctx, err);
    }
out:
    if (rc < 0) dc_err_prefix(err, "reading checkpoint %s", path);
    dc_free(project);
    dc_pq_reader_free(r);
    dc_arena_dispose(&arena);
    dc_buf_dispose(&rows);
    dc_buf_dispose(&hold);
    return rc;
}

/* ------------------------------------------------------------ replay */

typedef struct replay {
    dc_delta_snapshot *snap;
    bool in_checkpoint;          /* sidecar/checkpointMetadata allowed */
    size_t n_sidecars, cap_sidecars;
    char **sidecars;             /* paths of sidecar files to read (owned) */
} replay;

static int on_action(void *ctx, const dc_delta_action *a, dc_err *err)
{
    replay *rp = ctx;
    if (a->type == DC_DELTA_ACTION_SIDECAR && rp->in_checkpoint) {
        if (rp->n_sidecars == rp->cap_sidecars) {
            size_t cap = rp->cap_sidecars ? rp->cap_sidecars * 2 : 8;
            char **v = dc_realloc(rp->sidecars, cap * sizeof *v);
            if (!v) return dc_err_set(err, DC_ENOMEM, "out of memory");
            rp->sidecars = v;
            rp->cap_sidecars = cap;
        }
        char *p = dc_strdup(a->u.sidecar.path);
        if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory");
        rp->sidecars[rp->n_sidecars++] = p;
        return 0;
    }
    return dc_delta_snap_apply(rp->snap, a, err);
}

/* Only file actions count in sidecars. */
static int on_file_action(void *ctx, const dc_delta_action *a, dc_err *err)
{
    if (a->type != DC_DELTA_ACTION_ADD && a->type != DC_DELTA_ACTION_REMOVE) return 0;
    return dc_delta_snap_apply(((replay *)ctx)->snap, a, err);
}

static const char *const cp_columns[] = {"add", "remove", "metaData", "protocol", "txn",
                                         "domainMetadata", "checkpointMetadata", "sidecar", NULL};
static const char *const file_columns[] = {"add", "remove", NULL};

/* Storage path of a sidecar: a bare name lives in _delta_log/_sidecars/. */
static int sidecar_path(dc_buf *out, const char *p, dc_err *err)
{
    if (!strchr(p, '/') && !strchr(p, ':')) DC_TRY(dc_buf_puts(out, "_delta_log/_sidecars/", err));
    DC_TRY(dc_delta_path_to_storage(out, p, err));
    return dc_buf_putc(out, '\0', err);
}

static int read_checkpoint(replay *rp, const segment *g, const checkpoint *cp, dc_err *err)
{
    dc_storage *s = rp->snap->storage;
    char path[512];
    int rc = 0;
    rp->in_checkpoint = true;
    for (size_t i = cp->parts ? 0 : cp->index; rc == 0 && i < g->n; i++) {
        const log_file *f = &g->files[i];
        if (cp->parts && !is_part_of(&f->ln, cp->version, cp->parts)) continue;
        snprintf(path, sizeof path, "_delta_log/%s", f->e->name);
        if (f->ln.kind == LOG_CHECKPOINT_UUID && f->ln.json)
            rc = read_json_file(s, path, on_action, rp, err);
        else
            rc = read_parquet_actions(s, path, f->e->size, cp_columns, on_action, rp, err);
        if (!cp->parts) break;
    }
    for (size_t i = 0; rc == 0 && i < rp->n_sidecars; i++) {
        dc_buf sp;
        dc_buf_init(&sp, 1 << 20);
        rc = sidecar_path(&sp, rp->sidecars[i], err);
        if (rc == 0)
            rc = read_parquet_actions(s, (const char *)sp.data, 0, file_columns,
                                      on_file_action, rp, err);
        dc_buf_dispose(&sp);
    }
    rp->in_checkpoint = false;
    rp->snap->checkpoint_version = cp->version;
    return rc;
}

static void replay_dispose(replay *rp)
{
    for (size_t i = 0; i < rp->n_sidecars; i++) dc_free(rp->sidecars[i]);
    dc_free(rp->sidecars);
}

/* Index in g of the commit for `version`, or -1. Files are in version order. */
static long find_commit(const segment *g, int64_t version)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->files[mid].ln.version < version) lo = mid + 1;
        else hi = mid;
    }
    for (; lo < g->n && g->files[lo].ln.version == version; lo++)
        if (g->files[lo].ln.kind == LOG_COMMIT) return (long)lo;
    return -1;
}

/* Checks commits from..to are all present (messages say which is missing). */
static int check_commits(const segment *g, dc_storage *s, int64_t from, int64_t to, bool have_cp,
                         dc_err *err)
{
    for (int64_t v = from; v <= to; v++) {
        if (find_commit(g, v) >= 0) continue;
        if (v == from && !have_cp) {
            int64_t first = -1;
            for (size_t i = 0; i < g->n && first < 0; i++)
                if (g->files[i].ln.kind == LOG_COMMIT) first = g->files[i].ln.version;
            return dc_err_set(err, DC_ENOTFOUND,
                              "%s: version %lld can not be reconstructed: the log starts at "
                              "version %lld and has no checkpoint at or before it",
                              s->root, (long long)to, (long long)first);
        }
        return dc_err_set(err, DC_ECORRUPT, "%s: the log has a gap: version %lld is missing",
                          s->root, (long long)v);
    }
    return 0;
}

static int replay_commits(replay *rp, int64_t from, int64_t to, dc_err *err)
{
    char path[64];
    int rc = 0;
    for (int64_t v = from; rc == 0 && v <= to; v++) {
        dc_delta_commit_name(path, v);
        rc = read_json_file(rp->snap->storage, path, on_action, rp, err);
    }
    return rc;
}

/* ---------------------------------------------------- _last_checkpoint */

int64_t dc_delta_last_checkpoint(dc_storage *s)
{
    dc_err err;
    dc_buf b;
    dc_arena arena;
    dc_json *doc = NULL;
    int64_t v = -1;
    dc_buf_init(&b, DC_DELTA_MAX_LAST_CHECKPOINT);
    dc_arena_init(&arena, 4 * DC_DELTA_MAX_LAST_CHECKPOINT);
    int rc = dc_storage_read(s, "_delta_log/_last_checkpoint", &b, &err);
    if (rc == 0) rc = dc_json_parse(&doc, &arena, (const char *)b.data, b.len, &err);
    if (rc == 0) rc = dc_json_i64(&v, dc_json_get(doc, "version"), "version", &err);
    if (rc == 0 && v < 0) rc = dc_err_set(&err, DC_ECORRUPT, "negative version");
    if (rc < 0) {
        if (rc != DC_ENOTFOUND)
            DC_LOG(DC_LOG_WARN, "delta", "%s: ignoring _delta_log/_last_checkpoint: %s", s->root,
                   err.msg);
        v = -1;
    }
    dc_arena_dispose(&arena);
    dc_buf_dispose(&b);
    return v;
}

/* ------------------------------------------------------------- loading */

static int snapshot_new(dc_delta_snapshot **out, dc_storage *s, dc_err *err)
{
    dc_delta_snapshot *snap = dc_calloc(1, sizeof *snap);
    if (!snap) return dc_err_set(err, DC_ENOMEM, "out of memory");
    snap->storage = s;
    snap->version = -1;
    snap->checkpoint_version = -1;
    snap->known_checkpoint = -1;
    dc_arena_init(&snap->arena, DC_MAX_SMALL_FILE);
    dc_delta_ft_init(&snap->files);
    *out = snap;
    return 0;
}

/* Lists the log, using the _last_checkpoint hint when it helps and is right. */
static int list_for(segment *g, dc_storage *s, int64_t version, dc_err *err)
{
    int64_t hint = dc_delta_last_checkpoint(s);
    if (hint >= 0 && (version < 0 || hint <= version)) {
        DC_TRY(list_log(g, s, hint, err));
        checkpoint cp = pick_checkpoint(g, hint);
        if (cp.version == hint) return 0;
        DC_LOG(DC_LOG_WARN, "delta", "%s: _last_checkpoint names version %lld but no complete "
               "checkpoint is there; listing the whole log", s->root, (long long)hint);
        segment_dispose(g);
    }
    return list_log(g, s, -1, err);
}

static int finish_load(dc_delta_snapshot *snap, dc_err *err)
{
    if (!snap->has_protocol || !snap->has_metadata)
        return dc_err_set(err, DC_ECORRUPT, "%s: version %lld has no %s action", snap->storage->root,
                          (long long)snap->version, snap->has_protocol ? "metaData" : "protocol");
    DC_TRY(dc_delta_protocol_check_read(&snap->protocol, err));
    return dc_delta_snap_finish(snap, err);
}

/* A replay error on a table we could not read anyway is reported as that. */
static int explain(dc_delta_snapshot *snap, int rc, dc_err *err)
{
    dc_err perr;
    if (rc < 0 && rc != DC_ENOMEM && snap->has_protocol &&
        dc_delta_protocol_check_read(&snap->protocol, &perr) < 0 && err) {
        *err = perr;
        return perr.code;
    }
    return rc;
}

int dc_delta_snapshot_load(dc_delta_snapshot **out, dc_storage *s, int64_t version, dc_err *err)
{
    *out = NULL;
    dc_delta_snapshot *snap = NULL;
    segment g = {0};
    replay rp = {0};
    int rc = snapshot_new(&snap, s, err);
    if (rc == 0) rc = list_for(&g, s, version, err);
    if (rc < 0) goto out;
    const int64_t latest = latest_version(&g);
    if (latest < 0) {
        rc = dc_err_set(err, DC_ENOTFOUND, "%s: not a Delta table (no commit in _delta_log)", s->root);
        goto out;
    }
    if (version > latest) {
        rc = dc_err_set(err, DC_ENOTFOUND, "%s: version %lld does not exist (latest is %lld)",
                        s->root, (long long)version, (long long)latest);
        goto out;
    }
    const int64_t target = version < 0 ? latest : version;
    const checkpoint cp = pick_checkpoint(&g, target);
    if ((rc = check_commits(&g, s, cp.version + 1, target, cp.version >= 0, err)) < 0) goto out;
    rp.snap = snap;
    snap->version = target;
    if (cp.version >= 0 && (rc = read_checkpoint(&rp, &g, &cp, err)) < 0) goto out;
    if ((rc = replay_commits(&rp, cp.version + 1, target, err)) < 0) goto out;
    rc = finish_load(snap, err);
    snap->seq_at_checkpoint = snap->seq; /* changes are counted from here on */
out:
    if (snap) rc = explain(snap, rc, err);
    replay_dispose(&rp);
    segment_dispose(&g);
    if (rc < 0) {
        dc_delta_snapshot_free(snap);
        return rc;
    }
    *out = snap;
    return 0;
}

/* --------------------------------------------------- updates, history */

typedef struct collect {
    dc_delta_commit *c;
    size_t cap;
} collect;

static int keep_action(void *ctx, const dc_delta_action *a, dc_err *err)
{
    collect *k = ctx;
    if (k->c->n_actions == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        dc_delta_action *v = dc_realloc(k->c->actions, cap * sizeof *v);
        if (!v) return dc_err_set(err, DC_ENOMEM, "out of memory");
        k->c->actions = v;
        k->cap = cap;
    }
    k->c->actions[k->c->n_actions++] = *a;
    return 0;
}

int dc_delta_commit_read(dc_delta_commit **out, dc_storage *s, int64_t version, dc_err *err)
{
    *out = NULL;
    char path[64];
    dc_delta_commit_name(path, version);
    dc_delta_commit *c = dc_calloc(1, sizeof *c);
    if (!c) return dc_err_set(err, DC_ENOMEM, "out of memory");
    dc_arena_init(&c->arena, DC_MAX_SMALL_FILE * 4);
    c->version = version;
    dc_buf b;
    dc_buf_init(&b, DC_MAX_SMALL_FILE);
    collect k = {c, 0};
    int rc = dc_storage_read(s, path, &b, err);
    if (rc == 0)
        rc = each_line((const char *)b.data, b.len, path, &c->arena, false, keep_action, &k, err);
    dc_buf_dispose(&b);
    if (rc < 0) {
        dc_delta_commit_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void dc_delta_commit_free(dc_delta_commit *c)
{
    if (!c) return;
    dc_free(c->actions);
    dc_arena_dispose(&c->arena);
    dc_free(c);
}

int dc_delta_log_versions(dc_delta_versions *out, dc_storage *s, dc_err *err)
{
    memset(out, 0, sizeof *out);
    segment g = {0};
    int rc = list_log(&g, s, -1, err);
    size_t n = 0;
    if (rc == 0) {
        out->versions = dc_malloc((g.n ? g.n : 1) * sizeof *out->versions);
        out->mtimes_ms = dc_malloc((g.n ? g.n : 1) * sizeof *out->mtimes_ms);
        if (!out->versions || !out->mtimes_ms) rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < g.n; i++) {
        if (g.files[i].ln.kind != LOG_COMMIT) continue;
        out->versions[n] = g.files[i].ln.version;
        out->mtimes_ms[n] = g.files[i].e->mtime_ms;
        n++;
    }
    out->n = n;
    segment_dispose(&g);
    if (rc < 0) dc_delta_versions_dispose(out);
    return rc;
}

void dc_delta_versions_dispose(dc_delta_versions *v)
{
    dc_free(v->versions);
    dc_free(v->mtimes_ms);
    memset(v, 0, sizeof *v);
}

int dc_delta_snapshot_update(dc_delta_snapshot *snap, int64_t version, dc_err *err)
{
    if (snap->broken)
        return dc_err_set(err, DC_EINTERNAL,
                          "delta: snapshot %lld is unusable after a failed update; load it again",
                          (long long)snap->version);
    if (version >= 0 && version < snap->version)
        return dc_err_set(err, DC_EINVAL, "delta: can not update snapshot %lld back to %lld",
                          (long long)snap->version, (long long)version);
    dc_delta_commit **commits = NULL;
    int64_t target = version, n = 0, cap = 0;
    int rc = 0;
    /* The latest version: the next commits are read by name until one is
     * missing, as a given version's are, so following the log costs one
     * read per new commit plus one miss, never a listing (a LIST of the log
     * on every batch is the dearest request on an object store, and a local
     * listing reads the whole directory). Commit files appear whole (put-if-
     * absent), and log cleanup only removes old ones, so no gap can hide a
     * newer commit. Read and parse everything first: a bad commit leaves
     * the snapshot as it was. */
    const bool latest = target < 0;
    for (int64_t v = snap->version + 1; rc == 0 && (latest || v <= target); v++, n++) {
        if (n == cap) {
            const int64_t want = latest ? (cap ? cap * 2 : 4) : target - snap->version;
            dc_delta_commit **grown = dc_realloc(commits, (size_t)want * sizeof *commits);
            if (!grown) {
                rc = dc_err_set(err, DC_ENOMEM, "out of memory");
                break;
            }
            commits = grown;
            cap = want;
        }
        commits[n] = dc_delta_ccache_take(snap->storage->root, v);
        if (!commits[n]) rc = dc_delta_commit_read(&commits[n], snap->storage, v, err);
        if (rc == DC_ENOTFOUND && latest) {
            dc_err_clear(err);
            rc = 0;
            break;
        }
        if (rc == DC_ENOTFOUND)
            rc = dc_err_set(err, DC_ENOTFOUND, "%s: version %lld does not exist (updating "
                            "snapshot %lld to %lld)", snap->storage->root, (long long)v,
                            (long long)snap->version, (long long)target);
    }
    if (latest) target = snap->version + n;
    bool applying = rc == 0 && n > 0;
    for (int64_t i = 0; rc == 0 && i < n; i++)
        for (size_t k = 0; rc == 0 && k < commits[i]->n_actions; k++)
            rc = dc_delta_snap_apply(snap, &commits[i]->actions[k], err);
    if (rc == 0 && n > 0) {
        snap->version = target;
        rc = finish_load(snap, err);
    }
    if (applying && rc < 0) snap->broken = true; /* never half-updated and looking whole */
    for (int64_t i = 0; i < n; i++) dc_delta_commit_free(commits[i]);
    dc_free(commits);
    return rc;
}
