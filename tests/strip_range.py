"""strip_range.py IN OUT - writes IN without its calibrated output range (the
"output.range" tensor), as files converted before the range existed are:
the entry leaves the tensor directory, whose section CRC and the header's
CRC are recomputed (docs/FORMAT.md); the tensor's bytes stay, unreferenced."""
import struct
import sys
import zlib

data = bytearray(open(sys.argv[1], "rb").read())
header_size, n_sections = struct.unpack_from("<II", data, 8)
for s in range(n_sections):
    at = 32 + 24 * s
    kind, _, off, size = struct.unpack_from("<IIQQ", data, at)
    if kind != 4:  # TENSORS
        continue
    count, entry = struct.unpack_from("<II", data, off)
    names = [bytes(data[off + 16 + i * entry:off + 16 + i * entry + 64]).rstrip(b"\0") for i in range(count)]
    i = names.index(b"output.range")
    body = data[off + 16:off + 16 + count * entry]
    del body[i * entry:(i + 1) * entry]
    data[off:off + size] = bytes(size)
    struct.pack_into("<II", data, off, count - 1, entry)
    data[off + 16:off + 16 + len(body)] = body
    size -= entry
    struct.pack_into("<IIQQ", data, at, kind, zlib.crc32(bytes(data[off:off + size])), off, size)
struct.pack_into("<I", data, 28, 0)
struct.pack_into("<I", data, 28, zlib.crc32(bytes(data[:header_size])))
open(sys.argv[2], "wb").write(bytes(data))
