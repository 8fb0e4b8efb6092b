/*
 * regex.c - the tokenizers' regular expressions (regex.h).
 *
 * A pattern compiles to nodes linked in sequences (`next`); alternation,
 * repetition and lookahead nodes point at the sequences they hold. The
 * matcher walks a sequence and, at its end, pops a continuation: what
 * follows the group it was in. A repeated single-character set (the
 * common case: \p{L}+, \s*) is matched in a loop, backing off one
 * character at a time; other repetitions recurse.
 */
#include "regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "unicode.h"

#define RX_MAX_NODES 4096
#define RX_MAX_DEPTH 200      /* nesting of groups */
#define RX_INF 0x7FFFFFFF

enum { N_SET, N_ALT, N_REPEAT, N_LOOK, N_BOL, N_EOL };
enum { P_SPACE = 1, P_WORD = 2, P_DIGIT = 4, P_LETTER = 8, P_NUMBER = 16 };

typedef struct rx_set {
    uint32_t (*ranges)[2];    /* [lo, hi] code point ranges */
    int n_ranges;
    unsigned props, not_props; /* classes in, classes whose complement is in */
    int negated, icase;
} rx_set;

typedef struct rx_node {
    int type, next;           /* next: the following node of its sequence, -1 at the end */
    int body, n_alts;         /* ALT: alts[body .. body + n_alts); REPEAT, LOOK: the body's head */
    int min, max, greedy;     /* REPEAT */
    int negative;             /* LOOK */
    int set;                  /* SET */
} rx_node;

struct te_regex {
    rx_node nodes[RX_MAX_NODES];
    int n_nodes, head;
    rx_set *sets;
    int n_sets;
    int *alts;
    int n_alts;
};

typedef struct parser {
    te_regex *re;
    const char *p, *end, *pattern;
    size_t len;
    int icase, depth;
    te_error *err;
    int failed;
} parser;

static int fail(parser *ps, const char *what) {
    if (!ps->failed)
        te_fail(ps->err, TE_ERR_UNSUPPORTED, "regex '%.*s': %s at offset %d", (int)(ps->len > 200 ? 200 : ps->len),
                ps->pattern, what, (int)(ps->p - ps->pattern));
    ps->failed = 1;
    return -1;
}

static int new_node(parser *ps, int type) {
    if (ps->re->n_nodes == RX_MAX_NODES) return fail(ps, "the pattern is too long");
    int i = ps->re->n_nodes++;
    memset(&ps->re->nodes[i], 0, sizeof ps->re->nodes[i]);
    ps->re->nodes[i].type = type;
    ps->re->nodes[i].next = -1;
    ps->re->nodes[i].body = -1;
    return i;
}

static uint32_t next_cp(parser *ps) {
    uint32_t cp;
    ps->p += te_utf8_decode((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), &cp);
    return cp;
}

/* ---- character sets -------------------------------------------------------- */

static int new_set(parser *ps) {
    rx_set *s = realloc(ps->re->sets, ((size_t)ps->re->n_sets + 1) * sizeof *s);
    if (!s) return fail(ps, "out of memory");
    ps->re->sets = s;
    memset(&s[ps->re->n_sets], 0, sizeof *s);
    s[ps->re->n_sets].icase = ps->icase;
    return ps->re->n_sets++;
}

static void add_range(parser *ps, int set, uint32_t lo, uint32_t hi) {
    rx_set *s = &ps->re->sets[set];
    uint32_t(*r)[2] = realloc(s->ranges, ((size_t)s->n_ranges + 1) * sizeof *r);
    if (!r) {
        fail(ps, "out of memory");
        return;
    }
    s->ranges = r;
    r[s->n_ranges][0] = lo;
    r[s->n_ranges++][1] = hi;
}

/* \p{L} or \p{N} (and the one-letter forms \pL \pN); the property's bit, or -1. */
static int property(parser *ps) {
    char name[16];
    size_t n = 0;
    if (ps->p < ps->end && *ps->p == '{') {
        ps->p++;
        while (ps->p < ps->end && *ps->p != '}' && n < sizeof name - 1) name[n++] = *ps->p++;
        if (ps->p == ps->end || *ps->p != '}') return fail(ps, "unterminated \\p{...}");
        ps->p++;
    } else if (ps->p < ps->end) {
        name[n++] = *ps->p++;
    }
    name[n] = '\0';
    if (!strcmp(name, "L") || !strcmp(name, "Letter")) return P_LETTER;
    if (!strcmp(name, "N") || !strcmp(name, "Number")) return P_NUMBER;
    char what[96];
    snprintf(what, sizeof what, "the property \\p{%s} is not supported (only L and N)", name);
    return fail(ps, what);
}

/* An escape after '\\' into `set`: a class, a property or one character. */
static void escape(parser *ps, int set) {
    if (ps->p == ps->end) {
        fail(ps, "a trailing backslash");
        return;
    }
    char c = *ps->p++;
    rx_set *s = &ps->re->sets[set];
    switch (c) {
    case 's': s->props |= P_SPACE; return;
    case 'S': s->not_props |= P_SPACE; return;
    case 'w': s->props |= P_WORD; return;
    case 'W': s->not_props |= P_WORD; return;
    case 'd': s->props |= P_DIGIT; return;
    case 'D': s->not_props |= P_DIGIT; return;
    case 'p':
    case 'P': {
        int bit = property(ps);
        if (bit < 0) return;
        if (c == 'p') ps->re->sets[set].props |= (unsigned)bit;
        else ps->re->sets[set].not_props |= (unsigned)bit;
        return;
    }
    case 'n': add_range(ps, set, '\n', '\n'); return;
    case 'r': add_range(ps, set, '\r', '\r'); return;
    case 't': add_range(ps, set, '\t', '\t'); return;
    case 'f': add_range(ps, set, '\f', '\f'); return;
    case 'v': add_range(ps, set, '\v', '\v'); return;
    default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            char what[48];
            snprintf(what, sizeof what, "the escape \\%c is not supported", c);
            fail(ps, what);
            return;
        }
        ps->p--;
        uint32_t cp = next_cp(ps);
        add_range(ps, set, cp, cp);
    }
}

/* [...] after its '['. */
static int parse_class(parser *ps) {
    int set = new_set(ps);
    if (set < 0) return -1;
    if (ps->p < ps->end && *ps->p == '^') {
        ps->re->sets[set].negated = 1;
        ps->p++;
    }
    int first = 1;
    while (!ps->failed) {
        if (ps->p == ps->end) return fail(ps, "unterminated [...]");
        if (*ps->p == ']' && !first) break;
        first = 0;
        if (*ps->p == '[') return fail(ps, "nested classes [[...]] are not supported");
        if (*ps->p == '\\') {
            ps->p++;
            escape(ps, set);
            continue;
        }
        uint32_t lo = next_cp(ps), hi = lo;
        if (ps->p + 1 < ps->end && *ps->p == '-' && ps->p[1] != ']') {
            ps->p++;
            if (*ps->p == '\\') return fail(ps, "an escape as a range's end is not supported");
            hi = next_cp(ps);
            if (hi < lo) return fail(ps, "a range out of order");
        }
        add_range(ps, set, lo, hi);
    }
    ps->p++;
    return ps->failed ? -1 : set;
}

static int set_node(parser *ps, int set) {
    int n = set < 0 ? -1 : new_node(ps, N_SET);
    if (n >= 0) ps->re->nodes[n].set = set;
    return n;
}

/* ---- structure ------------------------------------------------------------- */

typedef struct frag {
    int head, tail;           /* -1, -1: empty */
} frag;

static void append(parser *ps, frag *f, frag g) {
    if (g.head < 0) return;
    if (f->head < 0) *f = g;
    else {
        ps->re->nodes[f->tail].next = g.head;
        f->tail = g.tail;
    }
}

static int parse_alt(parser *ps);

/* (...) after its '(': a group, (?:...), (?i:...), (?=...) or (?!...). */
static frag parse_group(parser *ps) {
    frag f = {-1, -1};
    int look = -1, saved_icase = ps->icase;
    if (ps->p < ps->end && *ps->p == '?') {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '=' || *ps->p == '!')) look = *ps->p++ == '!';
        else if (ps->p + 1 < ps->end && ps->p[0] == 'i' && ps->p[1] == ':') ps->icase = 1, ps->p += 2;
        else if (ps->p < ps->end && *ps->p == ':') ps->p++;
        else {
            fail(ps, "this kind of group (?...) is not supported");
            return f;
        }
    }
    if (++ps->depth > RX_MAX_DEPTH) {
        fail(ps, "groups nested too deep");
        return f;
    }
    int body = parse_alt(ps);
    ps->depth--;
    ps->icase = saved_icase;
    if (ps->failed) return f;
    if (ps->p == ps->end || *ps->p != ')') {
        fail(ps, "a '(' without its ')'");
        return f;
    }
    ps->p++;
    int n = new_node(ps, look >= 0 ? N_LOOK : N_ALT);
    if (n < 0) return f;
    if (look >= 0) {
        ps->re->nodes[n].body = body;
        ps->re->nodes[n].negative = look;
    } else { /* one alternative: the group's sequence */
        int *a = realloc(ps->re->alts, ((size_t)ps->re->n_alts + 1) * sizeof *a);
        if (!a) {
            fail(ps, "out of memory");
            return f;
        }
        ps->re->alts = a;
        a[ps->re->n_alts] = body;
        ps->re->nodes[n].body = ps->re->n_alts++;
        ps->re->nodes[n].n_alts = 1;
    }
    f.head = f.tail = n;
    return f;
}

static frag parse_atom(parser *ps) {
    frag f = {-1, -1};
    char c = *ps->p;
    int n = -1;
    if (c == '(') {
        ps->p++;
        return parse_group(ps);
    } else if (c == '[') {
        ps->p++;
        n = set_node(ps, parse_class(ps));
    } else if (c == '.') {
        ps->p++;
        int set = new_set(ps);
        if (set >= 0) {
            ps->re->sets[set].negated = 1;
            add_range(ps, set, '\n', '\n');
        }
        n = set_node(ps, set);
    } else if (c == '^' || c == '$') {
        ps->p++;
        n = new_node(ps, c == '^' ? N_BOL : N_EOL);
    } else if (c == '\\') {
        ps->p++;
        int set = new_set(ps);
        if (set >= 0) escape(ps, set);
        n = set_node(ps, set);
    } else if (c == '*' || c == '+' || c == '?' || c == '{' || c == ')') {
        fail(ps, "a quantifier or ')' with nothing before it");
    } else {
        int set = new_set(ps);
        if (set >= 0) {
            uint32_t cp = next_cp(ps);
            add_range(ps, set, cp, cp);
        }
        n = set_node(ps, set);
    }
    if (n >= 0 && !ps->failed) f.head = f.tail = n;
    return f;
}

/* {n}, {n,} or {n,m} after its '{'; 0 if it is not one (then '{' is a literal). */
static int parse_braces(parser *ps, int *min, int *max) {
    const char *p = ps->p;
    long a = 0, b = -1;
    if (p == ps->end || *p < '0' || *p > '9') return 0;
    while (p < ps->end && *p >= '0' && *p <= '9' && a < 100000) a = a * 10 + (*p++ - '0');
    if (p < ps->end && *p == ',') {
        p++;
        if (p < ps->end && *p >= '0' && *p <= '9') {
            b = 0;
            while (p < ps->end && *p >= '0' && *p <= '9' && b < 100000) b = b * 10 + (*p++ - '0');
        } else {
            b = RX_INF;
        }
    } else {
        b = a;
    }
    if (p == ps->end || *p != '}' || b < a) return 0;
    ps->p = p + 1;
    *min = (int)a;
    *max = (int)b;
    return 1;
}

static frag parse_quantified(parser *ps) {
    frag f = parse_atom(ps);
    while (!ps->failed && f.head >= 0 && ps->p < ps->end) {
        int min, max;
        char c = *ps->p;
        if (c == '*') min = 0, max = RX_INF, ps->p++;
        else if (c == '+') min = 1, max = RX_INF, ps->p++;
        else if (c == '?') min = 0, max = 1, ps->p++;
        else if (c == '{') {
            ps->p++;
            if (!parse_braces(ps, &min, &max)) {
                ps->p--;
                break;
            }
        } else break;
        int greedy = 1;
        if (ps->p < ps->end && *ps->p == '?') greedy = 0, ps->p++;
        else if (ps->p < ps->end && *ps->p == '+') {
            fail(ps, "possessive quantifiers are not supported");
            break;
        }
        int n = new_node(ps, N_REPEAT);
        if (n < 0) break;
        rx_node *r = &ps->re->nodes[n];
        r->body = f.head;
        r->min = min;
        r->max = max;
        r->greedy = greedy;
        f.head = f.tail = n;
    }
    return f;
}

static int parse_seq(parser *ps) {
    frag f = {-1, -1};
    while (!ps->failed && ps->p < ps->end && *ps->p != '|' && *ps->p != ')') append(ps, &f, parse_quantified(ps));
    return f.head;
}

/* Alternatives up to ')' or the end; the head of their sequence (an ALT
 * node when there are several). */
static int parse_alt(parser *ps) {
    int heads[256], n = 0;
    heads[n++] = parse_seq(ps);
    while (!ps->failed && ps->p < ps->end && *ps->p == '|') {
        ps->p++;
        if (n == 256) return fail(ps, "more than 256 alternatives");
        heads[n++] = parse_seq(ps);
    }
    if (ps->failed || n == 1) return heads[0];
    int node = new_node(ps, N_ALT);
    int *a = node < 0 ? NULL : realloc(ps->re->alts, ((size_t)ps->re->n_alts + (size_t)n) * sizeof *a);
    if (!a) return fail(ps, "out of memory");
    ps->re->alts = a;
    memcpy(a + ps->re->n_alts, heads, (size_t)n * sizeof *heads);
    ps->re->nodes[node].body = ps->re->n_alts;
    ps->re->nodes[node].n_alts = n;
    ps->re->n_alts += n;
    return node;
}

te_regex *te_regex_compile(const char *pattern, size_t len, te_error *err) {
    te_regex *re = calloc(1, sizeof *re);
    if (!re) {
        te_fail(err, TE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    parser ps = {re, pattern, pattern + len, pattern, len, 0, 0, err, 0};
    re->head = parse_alt(&ps);
    if (!ps.failed && ps.p != ps.end) fail(&ps, "a ')' without its '('");
    if (ps.failed) {
        te_regex_free(re);
        return NULL;
    }
    return re;
}

void te_regex_free(te_regex *re) {
    if (!re) return;
    for (int i = 0; i < re->n_sets; i++) free(re->sets[i].ranges);
    free(re->sets);
    free(re->alts);
    free(re);
}

/* ---- matching -------------------------------------------------------------- */

static unsigned props_of(uint32_t cp) {
    unsigned f = te_uc_flags(cp), p = te_uc_props(cp), out = 0;
    if (f & TE_UC_SPACE) out |= P_SPACE;
    if (f & TE_UC_WORD) out |= P_WORD;
    if (cp >= '0' && cp <= '9') out |= P_DIGIT;
    if (p & TE_UC_LETTER) out |= P_LETTER;
    if (p & TE_UC_NUMBER) out |= P_NUMBER;
    return out;
}

static int in_ranges(const rx_set *s, uint32_t cp) {
    for (int i = 0; i < s->n_ranges; i++)
        if (cp >= s->ranges[i][0] && cp <= s->ranges[i][1]) return 1;
    return 0;
}

static int set_has(const rx_set *s, uint32_t cp) {
    unsigned p = (s->props | s->not_props) ? props_of(cp) : 0;
    int in = (p & s->props) || (~p & s->not_props) || in_ranges(s, cp);
    if (!in && s->icase) { /* the other case of an ASCII letter, or a lowercase mapping */
        uint32_t low[TE_UC_MAX_LOWER];
        if ((cp | 0x20) - 'a' < 26u) in = in_ranges(s, cp ^ 0x20);
        else if (te_uc_lowercase(cp, low) == 1 && low[0] != cp) in = in_ranges(s, low[0]);
    }
    return in != s->negated;
}

typedef struct mstate {
    const te_regex *re;
    const unsigned char *s;
    size_t n;
    long budget;              /* steps left: pathological patterns give up rather than hang */
} mstate;

typedef struct cont {
    int node;                 /* continue with this sequence ... */
    int repeat, count;        /* ... or, repeat >= 0: another iteration of that REPEAT (count done) */
    size_t start;             /* where that iteration began (an empty one ends the loop) */
    const struct cont *next;
} cont;

static int match(mstate *st, int node, size_t pos, const cont *k, size_t *end);

/* One character of `set` at pos: its length, or 0. */
static size_t one(mstate *st, int set, size_t pos) {
    if (pos >= st->n) return 0;
    uint32_t cp;
    size_t len = te_utf8_decode(st->s + pos, st->n - pos, &cp);
    return set_has(&st->re->sets[set], cp) ? len : 0;
}

/* A repeated single-character set: as many as allowed, then fewer (greedy),
 * or as few, then more (lazy). */
static int repeat_set(mstate *st, const rx_node *r, size_t pos, const cont *k, size_t *end) {
    int set = st->re->nodes[r->body].set;
    size_t at = pos;
    int count = 0;
    if (!r->greedy) {
        for (;;) {
            if (count >= r->min && match(st, r->next, at, k, end)) return 1;
            size_t len = count < r->max ? one(st, set, at) : 0;
            if (!len) return 0;
            at += len;
            count++;
        }
    }
    for (size_t len; count < r->max && (len = one(st, set, at)) > 0; count++) at += len;
    for (; count >= r->min; count--) {
        if (match(st, r->next, at, k, end)) return 1;
        if (count == 0) break;
        do at--; while (at > pos && (st->s[at] & 0xC0) == 0x80);
    }
    return 0;
}

/* Iteration `count` of the REPEAT node `rep` at pos (count done so far). */
static int repeat_body(mstate *st, int rep, int count, size_t start, size_t pos, const cont *k, size_t *end) {
    const rx_node *r = &st->re->nodes[rep];
    cont again = {-1, rep, count + 1, pos, k};
    int more = count < r->max && (count == 0 || pos > start); /* an empty iteration ends the loop */
    if (count < r->min) return more && match(st, r->body, pos, &again, end);
    if (r->greedy) return (more && match(st, r->body, pos, &again, end)) || match(st, r->next, pos, k, end);
    return match(st, r->next, pos, k, end) || (more && match(st, r->body, pos, &again, end));
}

static int match(mstate *st, int node, size_t pos, const cont *k, size_t *end) {
    for (;;) {
        if (--st->budget < 0) return 0;
        if (node < 0) {
            if (!k) {
                *end = pos;
                return 1;
            }
            if (k->repeat >= 0) return repeat_body(st, k->repeat, k->count, k->start, pos, k->next, end);
            node = k->node;
            k = k->next;
            continue;
        }
        const rx_node *r = &st->re->nodes[node];
        switch (r->type) {
        case N_SET: {
            size_t len = one(st, r->set, pos);
            if (!len) return 0;
            pos += len;
            break;
        }
        case N_ALT: {
            cont after = {r->next, -1, 0, 0, k};
            for (int i = 0; i < r->n_alts; i++)
                if (match(st, st->re->alts[r->body + i], pos, &after, end)) return 1;
            return 0;
        }
        case N_REPEAT:
            if (r->body >= 0 && st->re->nodes[r->body].type == N_SET && st->re->nodes[r->body].next < 0)
                return repeat_set(st, r, pos, k, end);
            return repeat_body(st, node, 0, pos, pos, k, end);
        case N_LOOK: {
            size_t e;
            if (match(st, r->body, pos, NULL, &e) == r->negative) return 0;
            break;
        }
        case N_BOL:
            if (pos != 0) return 0;
            break;
        case N_EOL:
            if (pos != st->n) return 0;
            break;
        }
        node = r->next;
    }
}

int te_regex_search(const te_regex *re, const char *s, size_t n, size_t from, size_t *start, size_t *end) {
    mstate st = {re, (const unsigned char *)s, n, 0};
    for (size_t at = from; at <= n;) {
        st.budget = 1000000;
        if (match(&st, re->head, at, NULL, end)) {
            *start = at;
            return 1;
        }
        if (at == n) break;
        do at++; while (at < n && (st.s[at] & 0xC0) == 0x80);
    }
    return 0;
}
