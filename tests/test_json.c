/* test_json.c - the JSON reader: values, escapes, numbers, and specific errors. */
#include "harness.h"
#include "json.h"

static json_doc *parse(const char *s, te_error *err) { return json_parse(s, strlen(s), err); }

TEST(parses_nested_values) {
    te_error err;
    json_doc *d = parse(" {\"a\": [1, -2, 3.5, true, false, null], \"b\": {\"c\": \"x\"}, \"a\": 7} ", &err);
    CHECK_MSG(d, "parse failed: %s", err.msg);
    const json_value *r = json_root(d);
    CHECK_EQ_INT(r->type, JSON_OBJECT);
    int64_t v;
    CHECK_EQ_INT(json_get_int(r, "a", &v), 1); /* the last of a repeated key wins */
    CHECK_EQ_INT(v, 7);
    const json_value *a = r->members[0].value;
    CHECK_EQ_INT(a->len, 6);
    CHECK_EQ_INT(a->items[1]->i, -2);
    CHECK(a->items[2]->num == 3.5 && !a->items[2]->is_int);
    CHECK_EQ_INT(a->items[3]->type, JSON_TRUE);
    CHECK_EQ_INT(a->items[5]->type, JSON_NULL);
    const char *s;
    CHECK_EQ_INT(json_get_str(json_get(r, "b"), "c", &s), 1);
    CHECK_STR_EQ(s, "x");
    CHECK_EQ_INT(json_get_str(r, "b", &s), -1); /* wrong type */
    CHECK_EQ_INT(json_get_str(r, "zz", &s), 0); /* absent */
    json_free(d);
}

TEST(decodes_escapes_and_surrogates) {
    te_error err;
    json_doc *d = parse("[\"a\\\"b\\\\c\\/\\n\\t\\u00e9\\u4e2d\\ud83d\\ude00\", \"\\u0000z\"]", &err);
    CHECK_MSG(d, "parse failed: %s", err.msg);
    const json_value *r = json_root(d);
    CHECK_STR_EQ(r->items[0]->str, "a\"b\\c/\n\t\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
    CHECK_EQ_INT(r->items[1]->len, 2); /* embedded NUL kept, length says so */
    CHECK(r->items[1]->str[0] == '\0' && r->items[1]->str[1] == 'z');
    json_free(d);
}

TEST(numbers_are_exact_and_locale_free) {
    te_error err;
    json_doc *d = parse("[1e-12, 0.1, 9007199254740993, -9223372036854775808, 1.5E+3, 0, -0.0, 123456789012345678901234]", &err);
    CHECK_MSG(d, "parse failed: %s", err.msg);
    const json_value *r = json_root(d);
    CHECK(r->items[0]->num == 1e-12);
    CHECK(r->items[1]->num == 0.1);
    CHECK(r->items[2]->is_int && r->items[2]->i == 9007199254740993LL);
    CHECK(r->items[3]->is_int && r->items[3]->i == INT64_MIN);
    CHECK(r->items[4]->num == 1500.0 && !r->items[4]->is_int);
    CHECK(r->items[5]->is_int && r->items[5]->i == 0);
    CHECK(r->items[7]->num == 123456789012345678901234.0 && !r->items[7]->is_int);
    CHECK(r->items[6]->num == 0.0 && signbit(r->items[6]->num));
    json_free(d);
}

/* Each malformed input must fail with TE_ERR_FORMAT and a message that says where and what. */
TEST(reports_position_and_cause) {
    static const struct { const char *text, *want; } cases[] = {
        {"{\"a\": 1,\n \"b\" 2}", "line 2, column 6: expected ':'"},
        {"[1, 2", "expected ',' or ']' but found end of input"},
        {"{\"a\": 1 \"b\": 2}", "expected ',' or '}' but found '\"'"},
        {"[01]", "leading zero"},
        {"[1.]", "digit expected after '.'"},
        {"[\"abc", "unterminated string"},
        {"[\"a\x01\"]", "control character U+0001"},
        {"[\"\\x\"]", "invalid escape '\\x'"},
        {"[\"\\ud800\"]", "unpaired high surrogate"},
        {"[\"\\udc00\"]", "unpaired low surrogate"},
        {"[\"\xC3\x28\"]", "invalid UTF-8"},
        {"[\"\xED\xA0\x80\"]", "invalid UTF-8"},
        {"[tru]", "invalid literal"},
        {"{} x", "unexpected data after the JSON value"},
        {"", "unexpected end of input"},
        {"[1e999]", "number out of range"},
        {"{1: 2}", "expected a string key but found '1'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        te_error err;
        json_doc *d = parse(cases[i].text, &err);
        CHECK_MSG(!d, "case %zu parsed but should not", i);
        CHECK_EQ_INT(err.code, TE_ERR_FORMAT);
        CHECK_HAS(err.msg, cases[i].want);
    }
}

TEST(deep_nesting_is_refused_not_overflowed) {
    size_t n = 100000;
    char *s = malloc(n + 1);
    memset(s, '[', n);
    s[n] = '\0';
    te_error err;
    json_doc *d = json_parse(s, n, &err);
    CHECK(!d);
    CHECK_HAS(err.msg, "nesting deeper than");
    free(s);
}

TEST(byte_order_mark_is_tolerated) {
    te_error err;
    json_doc *d = parse("\xEF\xBB\xBF{\"k\": true}", &err);
    CHECK(d);
    int b;
    CHECK_EQ_INT(json_get_bool(json_root(d), "k", &b), 1);
    CHECK(b == 1);
    json_free(d);
}

int main(void) {
    RUN(parses_nested_values);
    RUN(decodes_escapes_and_surrogates);
    RUN(numbers_are_exact_and_locale_free);
    RUN(reports_position_and_cause);
    RUN(deep_nesting_is_refused_not_overflowed);
    RUN(byte_order_mark_is_tolerated);
    return th_done();
}
