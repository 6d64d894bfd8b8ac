/*
 * Conflict rules of Delta's optimistic concurrency, applied when another
 * writer created the commit file we wanted. Our transaction read version r;
 * winners r+1..w are checked one by one, in order; when none conflicts our
 * actions mean the same at w+1 and are committed there.
 *
 * The rules follow Delta's ConflictChecker at the WriteSerializable
 * isolation level (the default):
 *  - a winner's protocol change conflicts (we may not know its features,
 *    and our actions were built for the old protocol);
 *  - a winner's metaData change conflicts (our files follow the old schema);
 *  - a winner's txn for an appId we set or depend on conflicts: that
 *    application's progress moved under us (exactly-once);
 *  - a winner's domainMetadata for a domain we write conflicts;
 *  - when we read the table (not a blind append), files the winner added in
 *    a commit that is not a blind append conflict (we should have seen them);
 *    blind appends are ignored at WriteSerializable;
 *  - when we read the table, a file the winner removed with dataChange
 *    conflicts (we based our change on it);
 *  - a file we remove that the winner also removed conflicts (both deleted
 *    it: our delete or rewrite would apply twice).
 * Every conflict is retriable: reload the snapshot and redo the work.
 */
#include "delta.h"

#include <inttypes.h>

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && s && strcmp(list[i], s) == 0) return true;
    return false;
}

/* Paths as in the log may escape differently across writers: compare them
 * as written, then decoded. */
static bool same_path(const char *a, const char *b)
{
    if (strcmp(a, b) == 0) return true;
    dc_buf x, y;
    dc_buf_init(&x, 65536);
    dc_buf_init(&y, 65536);
    const bool eq = dc_delta_path_to_storage(&x, a, NULL) == 0 &&
                    dc_delta_path_to_storage(&y, b, NULL) == 0 && x.len == y.len &&
                    (x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
    dc_buf_dispose(&x);
    dc_buf_dispose(&y);
    return eq;
}

static bool in_paths(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && s && same_path(list[i], s)) return true;
    return false;
}

/* commitInfo.isBlindAppend of a winning commit (false when absent). */
static bool winner_blind_append(const dc_delta_commit *w)
{
    bool blind = false;
    dc_arena arena;
    dc_arena_init(&arena, DC_JSON_MAX_DOC_BYTES);
    for (size_t i = 0; i < w->n_actions; i++) {
        const dc_delta_action *a = &w->actions[i];
        if (a->type != DC_DELTA_ACTION_COMMIT_INFO) continue;
        dc_json *doc = NULL;
        if (dc_json_parse(&doc, &arena, a->u.commit_info.json, a->u.commit_info.len, NULL) < 0)
            break;
        const dc_json *ci = dc_json_get(doc, "commitInfo");
        const dc_json *b = dc_json_get(ci ? ci : doc, "isBlindAppend");
        blind = b && b->type == DC_JSON_TRUE;
        break;
    }
    dc_arena_dispose(&arena);
    return blind;
}

static int conflict(dc_err *err, const dc_delta_commit *w, const char *rule, const char *what)
{
    return dc_err_set_retriable(err, DC_ECONFLICT,
                                "commit conflict with version %" PRId64 ": %s%s%s%s (retry "
                                "after reloading the table)",
                                w->version, rule, what ? " '" : "", what ? what : "",
                                what ? "'" : "");
}

static int check_protocol(const dc_delta_tx_info *tx, const dc_delta_commit *w,
                          const dc_delta_protocol *p, dc_err *err)
{
    dc_err tmp;
    dc_err_clear(&tmp);
    if (dc_delta_protocol_check_read(p, &tmp) < 0)
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "commit conflict with version %" PRId64
                          ": it set a protocol we can not use: %s",
                          w->version, tmp.msg);
    (void)tx;
    return conflict(err, w, "ProtocolChanged: the winner changed the protocol", NULL);
}

/* Non-file actions: protocol, metadata, txn, domains. */
static int check_table_actions(const dc_delta_tx_info *tx, const dc_delta_commit *w,
                               dc_err *err)
{
    for (size_t i = 0; i < w->n_actions; i++) {
        const dc_delta_action *a = &w->actions[i];
        switch (a->type) {
        case DC_DELTA_ACTION_PROTOCOL:
            return check_protocol(tx, w, &a->u.protocol, err);
        case DC_DELTA_ACTION_METADATA:
            return conflict(err, w, "MetadataChanged: the winner changed the table metadata",
                            NULL);
        case DC_DELTA_ACTION_TXN:
            if (in_list(tx->app_ids, tx->n_app_ids, a->u.txn.app_id))
                return conflict(err, w,
                                "ConcurrentTransaction: the winner advanced the application "
                                "transaction", a->u.txn.app_id);
            break;
        case DC_DELTA_ACTION_DOMAIN_METADATA:
            if (in_list(tx->domains, tx->n_domains, a->u.domain.domain))
                return conflict(err, w, "ConcurrentDomainMetadata: the winner changed domain",
                                a->u.domain.domain);
            break;
        default:
            break;
        }
    }
    return 0;
}

static int check_files(const dc_delta_tx_info *tx, const dc_delta_commit *w, dc_err *err)
{
    const bool winner_blind = winner_blind_append(w);
    for (size_t i = 0; i < w->n_actions; i++) {
        const dc_delta_action *a = &w->actions[i];
        if (a->type == DC_DELTA_ACTION_ADD) {
            if (tx->read_all && !tx->blind_append && !winner_blind && a->u.add.data_change)
                return conflict(err, w,
                                "ConcurrentAppend: the winner added a file this transaction "
                                "should have read", a->u.add.path);
        } else if (a->type == DC_DELTA_ACTION_REMOVE) {
            const char *path = a->u.remove.path;
            if (in_paths(tx->removed, tx->n_removed, path))
                return conflict(err, w,
                                "ConcurrentDeleteDelete: the winner also removed the file",
                                path);
            if (tx->read_all && !tx->blind_append && a->u.remove.data_change)
                return conflict(err, w,
                                "ConcurrentDeleteRead: the winner removed a file this "
                                "transaction read", path);
        }
    }
    return 0;
}

int dc_delta_conflict_check(const dc_delta_tx_info *tx, const dc_delta_commit *winner,
                            dc_err *err)
{
    DC_ASSERT(tx && winner);
    DC_TRY(check_table_actions(tx, winner, err));
    return check_files(tx, winner, err);
}
