#!/usr/bin/env python3
"""Random tokenizer inputs for tests/data/tokenizer_ref.jsonl: one JSON string per line.

    python3 tests/data/gen_tokenizer_cases.py SEED COUNT

Mixes code points from the ranges where tokenizers go wrong (controls, combining
marks, Hangul, CJK and compatibility ideographs, scripts added after Unicode 8,
unassigned and private-use planes) with special tokens and awkward words.
"""
import json, random, sys
random.seed(int(sys.argv[1]))
ranges=[(0x20,0x7E),(0x00,0x1F),(0x7F,0x9F),(0xA0,0x24F),(0x300,0x36F),(0x370,0x3FF),(0x400,0x4FF),(0x590,0x6FF),(0x900,0x97F),
 (0xE00,0xE7F),(0x1100,0x11FF),(0x1BF0,0x1BFF),(0x1C80,0x1CBF),(0x1E00,0x1FFF),(0x2000,0x206F),(0x20A0,0x20CF),(0x2100,0x218F),(0x2460,0x24FF),(0x3000,0x30FF),(0x3040,0x309F),
 (0x3400,0x4DBF),(0x4E00,0x9FFF),(0xA640,0xA69F),(0xAB70,0xABBF),(0xAC00,0xD7A3),(0xF900,0xFAFF),(0xFB00,0xFB4F),(0xFE00,0xFFFF),(0x10400,0x1044F),(0x1D160,0x1D17F),
 (0x1E900,0x1E94F),(0x1F300,0x1F6FF),(0x1F900,0x1F9FF),(0x20000,0x2A6DF),(0x2B920,0x2CEAF),(0x2F800,0x2FA1F),(0x30000,0x3134F),(0xE0000,0xE007F),(0xF0000,0xF00FF)]
specials=["[CLS]","[SEP]","[MASK]","[PAD]","[UNK]","[cls]","[SEP","##","###"]
words=["hello","world","unbelievably","Größe","naïve","İstanbul","ΣΑΣ","中文","한국어","x"*99,"y"*100,"z"*101,"e\u0301","a\u302e\u1bf2","a\u302e\u034f\u1bf2"]
for i in range(int(sys.argv[2])):
    parts=[]
    for c in range(random.randrange(0,60)):
        r=random.random()
        if r<0.05: parts.append(random.choice(specials))
        elif r<0.15: parts.append(random.choice(words))
        elif r<0.3: parts.append(" ")
        else:
            a,b=random.choice(ranges); cp=random.randint(a,b)
            if 0xD800<=cp<=0xDFFF: cp=0x41
            parts.append(chr(cp))
    s="".join(parts)
    print(json.dumps(s))
