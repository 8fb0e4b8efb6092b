/*
 * fuzz_torch.c - libFuzzer target for the PyTorch checkpoint reader: any
 * bytes as a pytorch_model.bin (zip directory, deflate, the restricted
 * pickle reader, tensor views), checked as fuzz_checkpoint.h says.
 */
#include "fuzz_checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_checkpoint(pt_open, 1, data, size); }
