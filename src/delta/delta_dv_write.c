/*
 * Deletion vector files (PROTOCOL.md "Deletion Vector File Storage Format"):
 * byte 0 is the format version (1); then for each DV a 4-byte big-endian
 * size, the serialized RoaringBitmapArray, and a 4-byte big-endian CRC-32
 * of it. A DV's descriptor points at its size field (offset) and names the
 * file by storage type 'u': the Z85 encoding of the file's UUID, the file
 * being deletion_vector_<uuid>.bin at the table root.
 *
 * The file is built in memory and created with put-if-absent when the
 * transaction commits (before the commit file), so it is complete and
 * durable before any log entry can point at it.
 */
#include "delta_write_int.h"

#include <inttypes.h>
#include <stdio.h>

struct dc_delta_dv_writer {
    dc_storage *s;          /* borrowed */
    uint8_t uuid[16];       /* the file's UUID */
    char uuid_text[37];     /* canonical form, for the file name */
    char z85[21];           /* pathOrInlineDv of every DV in this file */
    dc_buf file;            /* the whole file so far */
    size_t n_dvs;           /* DVs appended */
    bool written;           /* finish created the file */
};

int dc_delta_dv_writer_new(dc_delta_dv_writer **out, dc_storage *s, dc_err *err)
{
    *out = NULL;
    dc_delta_dv_writer *w = dc_calloc(1, sizeof *w);
    if (!w) return dc_err_set(err, DC_ENOMEM, "deletion vector file: out of memory");
    w->s = s;
    dc_buf_init(&w->file, DC_DELTA_MAX_DV_FILE_BYTES);
    dc_buf z;
    dc_buf_init(&z, 32);
    int rc = dc_delta_w_uuid(w->uuid, w->uuid_text, err);
    if (rc == 0) rc = dc_z85_encode(&z, w->uuid, 16, err);
    if (rc == 0) {
        DC_ASSERT(z.len == 20);
        memcpy(w->z85, z.data, 20);
        w->z85[20] = '\0';
        rc = dc_buf_putc(&w->file, 1, err); /* format version */
    }
    dc_buf_dispose(&z);
    if (rc < 0) {
        dc_delta_dv_writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void dc_delta_dv_writer_free(dc_delta_dv_writer *w)
{
    if (!w) return;
    dc_buf_dispose(&w->file);
    dc_free(w);
}

size_t dc_delta_dv_writer_count(const dc_delta_dv_writer *w)
{
    return w->n_dvs;
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int dc_delta_dv_writer_add(dc_delta_dv_desc *out, dc_arena *arena, dc_delta_dv_writer *w,
                           const dc_delta_dv *dv, dc_err *err)
{
    DC_ASSERT(!w->written);
    const size_t offset = w->file.len;
    uint8_t frame[4] = {0, 0, 0, 0};
    int rc = dc_buf_append(&w->file, frame, 4, err); /* size, filled below */
    if (rc < 0) return rc;
    if ((rc = dc_delta_dv_encode(&w->file, dv, err)) < 0) goto fail;
    const size_t size = w->file.len - offset - 4;
    if (size > INT32_MAX || offset > INT32_MAX - 8 - size) {
        rc = dc_err_set(err, DC_ELIMIT, "deletion vector file: offset %zu + size %zu exceeds "
                        "2^31 bytes", offset, size);
        goto fail;
    }
    store_be32(w->file.data + offset, (uint32_t)size);
    store_be32(frame, dc_delta_crc32(w->file.data + offset + 4, size));
    if ((rc = dc_buf_append(&w->file, frame, 4, err)) < 0) goto fail;
    memset(out, 0, sizeof *out);
    out->storage_type = 'u';
    if (!(out->path_or_inline = dc_arena_strndup(arena, w->z85, 20, err))) {
        rc = DC_ENOMEM;
        goto fail;
    }
    out->has_offset = true;
    out->offset = (int32_t)offset;
    out->size_in_bytes = (int32_t)size;
    out->cardinality = (int64_t)dc_delta_dv_cardinality(dv);
    w->n_dvs++;
    return 0;
fail:
    w->file.len = offset;
    return rc;
}

int dc_delta_dv_writer_finish(dc_delta_dv_writer *w, dc_err *err)
{
    if (w->written || w->n_dvs == 0) return 0;
    char name[80];
    snprintf(name, sizeof name, "deletion_vector_%s.bin", w->uuid_text);
    /* Through a writer, like data files: its directory fsync is then shared
     * with the batch's data file (storage_local.c), one fsync less a commit. */
    dc_storage_writer *sw = NULL;
    int rc = dc_storage_writer_open(&sw, w->s, name, err);
    if (rc == 0) rc = dc_storage_writer_write(sw, w->file.data, w->file.len, err);
    if (rc < 0) {
        dc_storage_writer_abort(sw);
        return rc;
    }
    DC_TRY(dc_storage_unknown_is_failure(dc_storage_writer_commit(sw, true, err), err));
    DC_LOG(DC_LOG_DEBUG, "delta", "wrote %s: %zu deletion vectors, %zu bytes", name, w->n_dvs,
           w->file.len);
    w->written = true;
    return 0;
}
