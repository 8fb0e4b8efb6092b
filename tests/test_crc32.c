/* test_crc32.c - the CRC-32 table and known answers (zlib-compatible). */
#include "crc32.h"
#include "harness.h"

TEST(table_matches_polynomial) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        CHECK_MSG(te_crc32_table[n] == c, "entry %u: %08x != %08x", n, te_crc32_table[n], c);
    }
}

TEST(known_answers) {
    CHECK_EQ_INT(te_crc32_update(0, "123456789", 9), 0xCBF43926u);
    CHECK_EQ_INT(te_crc32_update(0, "", 0), 0);
    CHECK_EQ_INT(te_crc32_update(0, "The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
}

TEST(incremental_equals_one_shot) {
    const char *s = "tinyembed checks every tensor";
    size_t n = strlen(s);
    uint32_t whole = te_crc32_update(0, s, n);
    for (size_t cut = 0; cut <= n; cut++)
        CHECK_EQ_INT(te_crc32_update(te_crc32_update(0, s, cut), s + cut, n - cut), whole);
}

int main(void) {
    RUN(table_matches_polynomial);
    RUN(known_answers);
    RUN(incremental_equals_one_shot);
    return th_done();
}
