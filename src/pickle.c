/*
 * pickle.c - the restricted pickle reader (see pickle.h).
 *
 * A pickle is a program for a stack machine: opcodes push values, build
 * containers from the values above a mark, remember values in a memo, and
 * call globals (REDUCE). This machine knows the opcodes of protocols 2 to 5
 * that build data, and "calls" only the names in `allowed`, each of which it
 * interprets (an empty OrderedDict, a tensor from a storage, ...). Values
 * live in an arena freed at once; its size is bounded by the input's, so a
 * small file cannot make it allocate without end.
 */
#include "pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) uint8_t data[];
} chunk;

struct pk_arena {
    chunk *head;
    size_t total, limit;
};

enum { G_ORDERED_DICT, G_REBUILD_V2, G_REBUILD, G_PARAMETER, G_STORAGE_TYPE /* + pk_dtype */ };

static const struct {
    const char *module, *name;
    int what;
} allowed[] = {
    {"collections", "OrderedDict", G_ORDERED_DICT},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_V2},
    {"torch._utils", "_rebuild_tensor", G_REBUILD},
    {"torch._utils", "_rebuild_parameter", G_PARAMETER},
    {"torch._utils", "_rebuild_parameter_with_state", G_PARAMETER},
    {"torch", "DoubleStorage", G_STORAGE_TYPE + PK_F64},
    {"torch", "FloatStorage", G_STORAGE_TYPE + PK_F32},
    {"torch", "HalfStorage", G_STORAGE_TYPE + PK_F16},
    {"torch", "BFloat16Storage", G_STORAGE_TYPE + PK_BF16},
    {"torch", "LongStorage", G_STORAGE_TYPE + PK_I64},
    {"torch", "IntStorage", G_STORAGE_TYPE + PK_I32},
    {"torch", "ShortStorage", G_STORAGE_TYPE + PK_I16},
    {"torch", "CharStorage", G_STORAGE_TYPE + PK_I8},
    {"torch", "ByteStorage", G_STORAGE_TYPE + PK_U8},
    {"torch", "BoolStorage", G_STORAGE_TYPE + PK_BOOL_T},
};

size_t pk_dtype_size(pk_dtype t) {
    static const size_t sizes[] = {8, 4, 2, 2, 8, 4, 2, 1, 1, 1};
    return sizes[t];
}

typedef struct parser {
    const uint8_t *p;
    size_t len, pos;
    pk_arena *a;
    pk_value **stack;
    size_t sp, stack_cap;
    pk_value **memo;
    size_t memo_cap, memo_count; /* slots, slots in use */
    te_error *err;
    int failed;
} parser;

static int fail(parser *ps, te_status code, const char *fmt, const char *arg) {
    if (!ps->failed) {
        char msg[400];
        snprintf(msg, sizeof msg, fmt, arg);
        te_fail(ps->err, code, "pickle, byte %zu: %s", ps->pos, msg);
    }
    ps->failed = 1;
    return -1;
}

static void *alloc(parser *ps, size_t n) {
    n = (n + 15) & ~(size_t)15;
    chunk *c = ps->a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (ps->a->total + cap > ps->a->limit) {
            fail(ps, TE_ERR_FORMAT, "%s", "it builds more values than its size allows");
            return NULL;
        }
        if (!(c = malloc(sizeof *c + cap))) {
            fail(ps, TE_ERR_NOMEM, "%s", "out of memory");
            return NULL;
        }
        c->next = ps->a->head, c->used = 0, c->cap = cap;
        ps->a->head = c;
        ps->a->total += cap;
    }
    void *r = c->data + c->used;
    c->used += n;
    memset(r, 0, n);
    return r;
}

static pk_value *new_value(parser *ps, pk_kind kind) {
    pk_value *v = alloc(ps, sizeof *v);
    if (v) v->kind = kind;
    return v;
}

static int push(parser *ps, pk_value *v) {
    if (!v) return -1;
    if (ps->sp == ps->stack_cap) {
        size_t cap = ps->stack_cap ? 2 * ps->stack_cap : 64;
        pk_value **s = realloc(ps->stack, cap * sizeof *s);
        if (!s) return fail(ps, TE_ERR_NOMEM, "%s", "out of memory");
        ps->stack = s, ps->stack_cap = cap;
    }
    ps->stack[ps->sp++] = v;
    return 1;
}

static pk_value *pop(parser *ps) {
    if (ps->sp == 0 || ps->stack[ps->sp - 1]->kind == PK_MARK) {
        fail(ps, TE_ERR_FORMAT, "%s", "the stack is empty");
        return NULL;
    }
    return ps->stack[--ps->sp];
}

/* Where the values above the topmost mark start. */
static int mark_at(parser *ps, size_t *at) {
    for (size_t i = ps->sp; i-- > 0;)
        if (ps->stack[i]->kind == PK_MARK) {
            *at = i;
            return 1;
        }
    return fail(ps, TE_ERR_FORMAT, "%s", "no mark on the stack");
}

static const uint8_t *take(parser *ps, size_t n) {
    if (n > ps->len - ps->pos) {
        fail(ps, TE_ERR_TRUNCATED, "%s", "the pickle ends early");
        return NULL;
    }
    const uint8_t *r = ps->p + ps->pos;
    ps->pos += n;
    return r;
}

static int add_item(parser *ps, pk_value *c, pk_value *v) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        pk_value **items = alloc(ps, cap * sizeof *items);
        if (!items) return -1;
        if (c->n) memcpy(items, c->items, c->n * sizeof *items);
        c->items = items, c->cap = cap;
    }
    c->items[c->n++] = v;
    return 1;
}

static pk_value *int_value(parser *ps, int64_t i) {
    pk_value *v = new_value(ps, PK_INT);
    if (v) v->i = i;
    return v;
}

static int push_str(parser *ps, size_t n) {
    const uint8_t *s = take(ps, n);
    pk_value *v = s ? new_value(ps, PK_STR) : NULL;
    char *copy = v ? alloc(ps, n + 1) : NULL;
    if (!copy) return -1;
    memcpy(copy, s, n);
    v->s = copy, v->len = n;
    return push(ps, v);
}

/* LONG1/LONG4: a little-endian two's-complement integer of n bytes (at most 8 here). */
static int push_long(parser *ps, size_t n) {
    const uint8_t *b = take(ps, n);
    if (!b) return -1;
    if (n > 8) return fail(ps, TE_ERR_UNSUPPORTED, "%s", "an integer wider than 64 bits");
    uint64_t u = 0;
    for (size_t k = 0; k < n; k++) u |= (uint64_t)b[k] << (8 * k);
    if (n > 0 && n < 8 && (b[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
    return push(ps, int_value(ps, (int64_t)u));
}

static size_t get_len(parser *ps, int bytes) {
    const uint8_t *b = take(ps, (size_t)bytes);
    if (!b) return SIZE_MAX;
    size_t n = bytes == 1 ? b[0] : bytes == 4 ? te_le32(b) : (size_t)te_le64(b);
    return n > ps->len ? SIZE_MAX : n; /* longer than the pickle: take() refuses it below */
}

/* Opcodes that push one scalar or string. 0: not one of them. */
static int op_scalar(parser *ps, uint8_t op) {
    const uint8_t *b;
    size_t n;
    switch (op) {
    case 'N': return push(ps, new_value(ps, PK_NONE));
    case 0x88: case 0x89: {
        pk_value *v = new_value(ps, PK_BOOL);
        if (v) v->i = op == 0x88;
        return push(ps, v);
    }
    case 'J': return (b = take(ps, 4)) ? push(ps, int_value(ps, (int32_t)te_le32(b))) : -1;
    case 'K': return (b = take(ps, 1)) ? push(ps, int_value(ps, b[0])) : -1;
    case 'M': return (b = take(ps, 2)) ? push(ps, int_value(ps, te_le16(b))) : -1;
    case 0x8a: return (b = take(ps, 1)) ? push_long(ps, b[0]) : -1;
    case 0x8b: return (n = get_len(ps, 4)) == SIZE_MAX ? fail(ps, TE_ERR_FORMAT, "%s", "bad length") : push_long(ps, n);
    case 'G': {
        if (!(b = take(ps, 8))) return -1;
        uint64_t u = 0;
        for (int k = 0; k < 8; k++) u = u << 8 | b[k]; /* big-endian */
        pk_value *v = new_value(ps, PK_FLOAT);
        if (v) memcpy(&v->f, &u, 8);
        return push(ps, v);
    }
    case 'X': case 'T': case 'B': n = get_len(ps, 4); break;
    case 0x8c: case 'U': case 'C': n = get_len(ps, 1); break;
    case 0x8d: case 0x8e: n = get_len(ps, 8); break;
    default: return 0;
    }
    return n == SIZE_MAX ? fail(ps, TE_ERR_TRUNCATED, "%s", "a string runs past the end") : push_str(ps, n);
}

/* The values above the mark, as a new tuple or list; the mark removed. */
static int collect(parser *ps, pk_kind kind) {
    size_t at = 0;
    if (mark_at(ps, &at) < 0) return -1;
    pk_value *c = new_value(ps, kind);
    if (!c) return -1;
    for (size_t i = at + 1; i < ps->sp; i++)
        if (add_item(ps, c, ps->stack[i]) < 0) return -1;
    ps->sp = at;
    return push(ps, c);
}

static int tuple_of(parser *ps, int n) {
    pk_value *t = new_value(ps, PK_TUPLE);
    if (!t || (size_t)n > ps->sp) return t ? fail(ps, TE_ERR_FORMAT, "%s", "the stack is too short") : -1;
    for (size_t i = ps->sp - (size_t)n; i < ps->sp; i++) {
        if (ps->stack[i]->kind == PK_MARK) return fail(ps, TE_ERR_FORMAT, "%s", "a mark inside a tuple");
        if (add_item(ps, t, ps->stack[i]) < 0) return -1;
    }
    ps->sp -= (size_t)n;
    return push(ps, t);
}

/* APPEND(S) and SETITEM(S): the values above `from` into the container below it. */
static int fill(parser *ps, size_t from, int pairs) {
    if (from == 0) return fail(ps, TE_ERR_FORMAT, "%s", "no container to add to");
    pk_value *c = ps->stack[from - 1];
    if (c->kind != (pairs ? PK_DICT : PK_LIST)) return fail(ps, TE_ERR_FORMAT, "%s", pairs ? "SETITEM on a non-dict" : "APPEND on a non-list");
    if (pairs && (ps->sp - from) % 2) return fail(ps, TE_ERR_FORMAT, "%s", "a key without a value");
    for (size_t i = from; i < ps->sp; i++)
        if (add_item(ps, c, ps->stack[i]) < 0) return -1;
    ps->sp = from;
    return 1;
}

static int op_container(parser *ps, uint8_t op) {
    size_t at = 0;
    switch (op) {
    case '(': return push(ps, new_value(ps, PK_MARK));
    case ')': return push(ps, new_value(ps, PK_TUPLE));
    case ']': return push(ps, new_value(ps, PK_LIST));
    case '}': return push(ps, new_value(ps, PK_DICT));
    case 't': return collect(ps, PK_TUPLE);
    case 'l': return collect(ps, PK_LIST);
    case 'd': {
        if (collect(ps, PK_DICT) < 0) return -1;
        return ps->stack[ps->sp - 1]->n % 2 ? fail(ps, TE_ERR_FORMAT, "%s", "a key without a value") : 1;
    }
    case 0x85: case 0x86: case 0x87: return tuple_of(ps, op - 0x84);
    case 'a': return ps->sp < 1 ? fail(ps, TE_ERR_FORMAT, "%s", "APPEND on an empty stack") : fill(ps, ps->sp - 1, 0);
    case 's': return ps->sp < 2 ? fail(ps, TE_ERR_FORMAT, "%s", "SETITEM on a short stack") : fill(ps, ps->sp - 2, 1);
    case 'e': case 'u': /* the mark goes; the values above it join the container below it */
        if (mark_at(ps, &at) < 0) return -1;
        memmove(ps->stack + at, ps->stack + at + 1, (ps->sp - at - 1) * sizeof *ps->stack);
        ps->sp--;
        return fill(ps, at, op == 'u');
    case '0': return pop(ps) ? 1 : -1;
    case '1': return mark_at(ps, &at) < 0 ? -1 : (ps->sp = at, 1);
    case '2': return ps->sp ? push(ps, ps->stack[ps->sp - 1]) : fail(ps, TE_ERR_FORMAT, "%s", "DUP on an empty stack");
    default: return 0;
    }
}

static int memo_put(parser *ps, size_t i) {
    if (i >= (size_t)1 << 24) return fail(ps, TE_ERR_FORMAT, "%s", "a memo index past 16M");
    if (ps->sp == 0) return fail(ps, TE_ERR_FORMAT, "%s", "PUT on an empty stack");
    if (i >= ps->memo_cap) {
        size_t cap = ps->memo_cap ? ps->memo_cap : 256;
        while (cap <= i) cap *= 2;
        pk_value **m = realloc(ps->memo, cap * sizeof *m);
        if (!m) return fail(ps, TE_ERR_NOMEM, "%s", "out of memory");
        memset(m + ps->memo_cap, 0, (cap - ps->memo_cap) * sizeof *m);
        ps->memo = m, ps->memo_cap = cap;
    }
    ps->memo_count += !ps->memo[i];
    ps->memo[i] = ps->stack[ps->sp - 1];
    return 1;
}

static int op_memo(parser *ps, uint8_t op) {
    const uint8_t *b;
    size_t i;
    switch (op) {
    case 'q': case 'h': if (!(b = take(ps, 1))) return -1; i = b[0]; break;
    case 'r': case 'j': if (!(b = take(ps, 4))) return -1; i = te_le32(b); break;
    case 0x94: return memo_put(ps, ps->memo_count); /* MEMOIZE: at index len(memo), as Python's */
    default: return 0;
    }
    if (op == 'q' || op == 'r') return memo_put(ps, i);
    if (i >= ps->memo_cap || !ps->memo[i]) return fail(ps, TE_ERR_FORMAT, "%s", "GET of a memo entry never PUT");
    return push(ps, ps->memo[i]);
}

/* A global by name: one of `allowed`, else refused with its name. */
static int push_global(parser *ps, const char *module, const char *name) {
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
        if (!strcmp(module, allowed[i].module) && !strcmp(name, allowed[i].name)) {
            pk_value *v = new_value(ps, PK_GLOBAL);
            if (v) v->i = allowed[i].what;
            return push(ps, v);
        }
    char full[160];
    snprintf(full, sizeof full, "%.70s.%.70s", module, name);
    return fail(ps, TE_ERR_UNSUPPORTED, "it calls %s, which is not a tensor-rebuilding function: refused (no code from "
                "a checkpoint is run)", full);
}

/* GLOBAL: "module\nname\n" as text. */
static int op_global_text(parser *ps) {
    char parts[2][128];
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        for (;;) {
            const uint8_t *c = take(ps, 1);
            if (!c) return -1;
            if (*c == '\n') break;
            if (n == sizeof parts[k] - 1) return fail(ps, TE_ERR_FORMAT, "%s", "a global name longer than 127 bytes");
            parts[k][n++] = (char)*c;
        }
        parts[k][n] = 0;
    }
    return push_global(ps, parts[0], parts[1]);
}

static int op_stack_global(parser *ps) {
    pk_value *name = pop(ps), *module = name ? pop(ps) : NULL;
    if (!module) return -1;
    if (module->kind != PK_STR || name->kind != PK_STR) return fail(ps, TE_ERR_FORMAT, "%s", "STACK_GLOBAL of non-strings");
    return push_global(ps, module->s, name->s);
}

static int is_int(const pk_value *v) { return v->kind == PK_INT || v->kind == PK_BOOL; }

/* _rebuild_tensor(_v2)(storage, offset, size, stride, ...). */
static pk_value *rebuild_tensor(parser *ps, const pk_value *args) {
    if (args->n < 4 || args->items[0]->kind != PK_STORAGE || !is_int(args->items[1]) ||
        args->items[2]->kind != PK_TUPLE || args->items[3]->kind != PK_TUPLE ||
        args->items[2]->n != args->items[3]->n || args->items[2]->n > PK_MAX_DIMS) {
        fail(ps, TE_ERR_FORMAT, "%s", "_rebuild_tensor_v2 with arguments other than (storage, offset, size, stride, ...)");
        return NULL;
    }
    pk_value *t = new_value(ps, PK_TENSOR);
    if (!t) return NULL;
    t->storage = args->items[0];
    t->dtype = args->items[0]->dtype;
    t->offset = args->items[1]->i;
    t->n_dims = (int)args->items[2]->n;
    for (int d = 0; d < t->n_dims; d++) {
        const pk_value *sz = args->items[2]->items[d], *sd = args->items[3]->items[d];
        if (!is_int(sz) || !is_int(sd)) {
            fail(ps, TE_ERR_FORMAT, "%s", "a tensor size or stride that is not an integer");
            return NULL;
        }
        t->sizes[d] = sz->i, t->strides[d] = sd->i;
    }
    return t;
}

/* REDUCE: the accepted callables, interpreted. */
static int op_reduce(parser *ps) {
    pk_value *args = pop(ps), *fn = args ? pop(ps) : NULL, *r = NULL;
    if (!fn) return -1;
    if (fn->kind != PK_GLOBAL || args->kind != PK_TUPLE) return fail(ps, TE_ERR_FORMAT, "%s", "REDUCE of a non-callable");
    if (fn->i == G_ORDERED_DICT) {
        if (args->n) return fail(ps, TE_ERR_UNSUPPORTED, "%s", "OrderedDict called with arguments");
        r = new_value(ps, PK_DICT);
    } else if (fn->i == G_REBUILD_V2 || fn->i == G_REBUILD) {
        r = rebuild_tensor(ps, args);
    } else if (fn->i == G_PARAMETER) {
        if (args->n < 1 || args->items[0]->kind != PK_TENSOR) return fail(ps, TE_ERR_FORMAT, "%s", "_rebuild_parameter of a non-tensor");
        r = args->items[0];
    } else {
        return fail(ps, TE_ERR_FORMAT, "%s", "a storage type called as a function");
    }
    return r ? push(ps, r) : -1;
}

/* BINPERSID: ('storage', torch.XStorage, key, location, numel). */
static int op_persid(parser *ps) {
    pk_value *pid = pop(ps);
    if (!pid) return -1;
    if (pid->kind != PK_TUPLE || pid->n != 5 || pid->items[0]->kind != PK_STR || strcmp(pid->items[0]->s, "storage") ||
        pid->items[1]->kind != PK_GLOBAL || pid->items[1]->i < G_STORAGE_TYPE || pid->items[2]->kind != PK_STR ||
        !is_int(pid->items[4]) || pid->items[4]->i < 0)
        return fail(ps, TE_ERR_UNSUPPORTED, "%s", "a persistent id other than ('storage', torch.XStorage, key, location, numel)");
    pk_value *s = new_value(ps, PK_STORAGE);
    if (!s) return -1;
    s->dtype = (pk_dtype)(pid->items[1]->i - G_STORAGE_TYPE);
    s->s = pid->items[2]->s, s->len = pid->items[2]->len;
    s->i = pid->items[4]->i;
    return push(ps, s);
}

/* BUILD sets an object's state: a dict's attributes (OrderedDict's
 * _metadata) or a tensor's; neither matters to the weights. */
static int op_build(parser *ps) {
    pk_value *state = pop(ps);
    if (!state) return -1;
    if (ps->sp == 0 || (ps->stack[ps->sp - 1]->kind != PK_DICT && ps->stack[ps->sp - 1]->kind != PK_TENSOR))
        return fail(ps, TE_ERR_UNSUPPORTED, "%s", "BUILD on something other than a dict or a tensor");
    return 1;
}

static const char *opcode_name(uint8_t op) {
    static const struct { uint8_t op; const char *name; } names[] = {
        {'i', "INST"}, {'o', "OBJ"}, {0x81, "NEWOBJ"}, {0x92, "NEWOBJ_EX"}, {'P', "PERSID"}, {'I', "INT"}, {'L', "LONG"},
        {'F', "FLOAT"}, {'S', "STRING"}, {'V', "UNICODE"}, {'p', "PUT"}, {'g', "GET"}, {0x82, "EXT1"}, {0x83, "EXT2"},
        {0x84, "EXT4"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x96, "BYTEARRAY8"},
        {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i].op == op) return names[i].name;
    return NULL;
}

static int step(parser *ps, uint8_t op) {
    int r = op_scalar(ps, op);
    if (r == 0) r = op_container(ps, op);
    if (r == 0) r = op_memo(ps, op);
    if (r != 0) return r;
    switch (op) {
    case 0x80: return take(ps, 1) ? 1 : -1;      /* PROTO */
    case 0x95: return take(ps, 8) ? 1 : -1;      /* FRAME: a length hint */
    case 'c': return op_global_text(ps);
    case 0x93: return op_stack_global(ps);
    case 'R': return op_reduce(ps);
    case 'Q': return op_persid(ps);
    case 'b': return op_build(ps);
    default: {
        const char *name = opcode_name(op);
        char hex[8];
        snprintf(hex, sizeof hex, "0x%02x", op);
        return fail(ps, TE_ERR_UNSUPPORTED, "opcode %s is outside the subset torch.save writes: refused", name ? name : hex);
    }
    }
}

te_status pk_load(const uint8_t *p, size_t len, pk_value **root, pk_arena **arena, te_error *err) {
    parser ps = {.p = p, .len = len, .err = err};
    *root = NULL, *arena = NULL;
    if (!(ps.a = calloc(1, sizeof *ps.a))) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    ps.a->limit = (len < ((size_t)1 << 26) ? len : ((size_t)1 << 26)) * 64 + (1u << 20);
    while (!ps.failed) {
        const uint8_t *op = take(&ps, 1);
        if (!op) break;
        if (*op == '.') { /* STOP: the value on top is the result */
            *root = pop(&ps);
            break;
        }
        step(&ps, *op);
    }
    free(ps.stack);
    free(ps.memo);
    if (ps.failed) {
        pk_free(ps.a);
        *root = NULL;
        return err ? err->code : TE_ERR_FORMAT;
    }
    *arena = ps.a;
    return TE_OK;
}

void pk_free(pk_arena *a) {
    if (!a) return;
    for (chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}
