/* Scripted backends: a queue of input items played to the device in order,
 * and a buffer of everything the device wrote. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "harness/script_backend.h"
#include "vcon/host.h"

enum item_kind {
    ITEM_BYTES,
    ITEM_PAUSE,
    ITEM_EOF,
};

struct script_item {
    struct script_item *next;
    enum item_kind kind;
    size_t len;  /* ITEM_BYTES: bytes in data */
    size_t done; /* ITEM_BYTES: bytes already read */
    uint8_t data[];
};

struct vcon_script_backend {
    struct script_item *head;
    struct script_item *tail;
    size_t pending_bytes;
    bool connected;
    size_t write_budget; /* SIZE_MAX: unlimited */
    uint8_t *out;
    size_t out_len;
    size_t out_capacity;
};

struct vcon_script_backend *vcon_script_backend_create(void)
{
    struct vcon_script_backend *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->connected = true;
    b->write_budget = SIZE_MAX;
    return b;
}

static void pop_head(struct vcon_script_backend *b)
{
    struct script_item *item = b->head;
    b->head = item->next;
    if (b->head == NULL)
        b->tail = NULL;
    free(item);
}

void vcon_script_reset(struct vcon_script_backend *b)
{
    while (b->head != NULL)
        pop_head(b);
    b->pending_bytes = 0;
    b->connected = true;
    b->write_budget = SIZE_MAX;
    b->out_len = 0;
}

void vcon_script_backend_destroy(struct vcon_script_backend *b)
{
    if (b == NULL)
        return;
    while (b->head != NULL)
        pop_head(b);
    free(b->out);
    free(b);
}

static int push_item(struct vcon_script_backend *b, enum item_kind kind, const void *bytes,
                     size_t len)
{
    if (len > SIZE_MAX - sizeof(struct script_item))
        return -ENOMEM;
    struct script_item *item = malloc(sizeof(*item) + len);
    if (item == NULL)
        return -ENOMEM;
    item->next = NULL;
    item->kind = kind;
    item->len = len;
    item->done = 0;
    if (len > 0)
        memcpy(item->data, bytes, len);
    if (b->tail != NULL)
        b->tail->next = item;
    else
        b->head = item;
    b->tail = item;
    return 0;
}

int vcon_script_input(struct vcon_script_backend *b, const void *bytes, size_t len)
{
    if (b == NULL || (bytes == NULL && len > 0))
        return -EINVAL;
    /* An empty chunk would only make one read answer "no data" by accident;
     * vcon_script_input_pause says that on purpose. */
    if (len == 0)
        return 0;
    if (len > SIZE_MAX - b->pending_bytes)
        return -ENOMEM;
    const int rc = push_item(b, ITEM_BYTES, bytes, len);
    if (rc == 0)
        b->pending_bytes += len;
    return rc;
}

int vcon_script_input_pause(struct vcon_script_backend *b)
{
    if (b == NULL)
        return -EINVAL;
    return push_item(b, ITEM_PAUSE, NULL, 0);
}

int vcon_script_input_eof(struct vcon_script_backend *b)
{
    if (b == NULL)
        return -EINVAL;
    return push_item(b, ITEM_EOF, NULL, 0);
}

void vcon_script_disconnect(struct vcon_script_backend *b)
{
    b->connected = false;
}

void vcon_script_connect(struct vcon_script_backend *b)
{
    b->connected = true;
    /* The EOF ended the previous connection; a new one starts after it. */
    if (b->head != NULL && b->head->kind == ITEM_EOF)
        pop_head(b);
}

bool vcon_script_connected(const struct vcon_script_backend *b)
{
    return b->connected;
}

size_t vcon_script_pending_input(const struct vcon_script_backend *b)
{
    return b->pending_bytes;
}

void vcon_script_set_write_budget(struct vcon_script_backend *b, size_t bytes)
{
    b->write_budget = bytes;
}

const uint8_t *vcon_script_output(const struct vcon_script_backend *b, size_t *len)
{
    /* Never NULL, so a caller can memcmp against it even before any write. */
    static const uint8_t empty[1];
    if (len != NULL)
        *len = b->out_len;
    return b->out != NULL ? b->out : empty;
}

void vcon_script_clear_output(struct vcon_script_backend *b)
{
    b->out_len = 0;
}

int vcon_script_read(struct vcon_script_backend *b, void *buf, size_t len)
{
    if (b == NULL || !b->connected)
        return VCON_BACKEND_CLOSED;
    /* Closed wins over an empty request: the peer being gone is the fact a
     * device needs to learn, whatever it asked for. */
    if (b->head != NULL && b->head->kind == ITEM_EOF)
        return VCON_BACKEND_CLOSED;
    if (len == 0 || buf == NULL || b->head == NULL)
        return VCON_BACKEND_NO_DATA;

    struct script_item *item = b->head;
    if (item->kind == ITEM_PAUSE) {
        pop_head(b);
        return VCON_BACKEND_NO_DATA;
    }
    /* One read never crosses a chunk boundary: each chunk is one arrival,
     * which lets a script control how input is split. */
    size_t n = item->len - item->done;
    if (n > len)
        n = len;
    if (n > INT_MAX)
        n = INT_MAX;
    memcpy(buf, item->data + item->done, n);
    item->done += n;
    b->pending_bytes -= n;
    if (item->done == item->len)
        pop_head(b);
    return (int)n;
}

static bool reserve_output(struct vcon_script_backend *b, size_t more)
{
    if (more <= b->out_capacity - b->out_len)
        return true;
    if (more > SIZE_MAX - b->out_len)
        return false;
    const size_t needed = b->out_len + more;
    size_t capacity = b->out_capacity ? b->out_capacity : 64;
    while (capacity < needed)
        capacity = capacity > SIZE_MAX / 2 ? needed : capacity * 2;
    uint8_t *grown = realloc(b->out, capacity);
    if (grown == NULL)
        return false;
    b->out = grown;
    b->out_capacity = capacity;
    return true;
}

int vcon_script_write(struct vcon_script_backend *b, const void *buf, size_t len)
{
    if (b == NULL || !b->connected)
        return VCON_BACKEND_CLOSED;
    if (len == 0)
        return 0;
    if (buf == NULL || b->write_budget == 0)
        return VCON_BACKEND_WOULD_BLOCK;

    size_t n = len;
    if (n > b->write_budget)
        n = b->write_budget;
    if (n > INT_MAX)
        n = INT_MAX;
    /* Out of memory looks like a full peer: nothing is accepted. */
    if (!reserve_output(b, n))
        return VCON_BACKEND_WOULD_BLOCK;
    memcpy(b->out + b->out_len, buf, n);
    b->out_len += n;
    if (b->write_budget != SIZE_MAX)
        b->write_budget -= n;
    return (int)n;
}
