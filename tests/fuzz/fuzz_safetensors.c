/*
 * fuzz_safetensors.c - libFuzzer target for the safetensors reader: any
 * bytes as a model.safetensors, checked as fuzz_checkpoint.h says.
 */
#include "fuzz_checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_checkpoint(st_open, 0, data, size); }
