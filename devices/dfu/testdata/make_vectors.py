#!/usr/bin/env python3
"""Builds the DFU file vectors in this folder field by field from the
layouts of ST's UM0391 (DfuSe file format) and DFU 1.1 appendix B (suffix),
independently of trustforge's writer. The CRC is zlib's CRC-32 with its
final inversion undone, as the suffix's dwCRC is defined."""
import struct, zlib

def suffix(body, bcd_device, pid, vid, bcd_dfu):
    s = struct.pack('<HHHH', bcd_device, pid, vid, bcd_dfu) + b'UFD' + bytes([16])
    crc = zlib.crc32(body + s) ^ 0xffffffff
    return body + s + struct.pack('<I', crc)

def target(alt, name, elements):
    els = b''.join(struct.pack('<II', a, len(d)) + d for a, d in elements)
    named = 1 if name is not None else 0
    nm = (name or '').encode().ljust(255, b'\0')
    return b'Target' + bytes([alt]) + struct.pack('<I', named) + nm + struct.pack('<II', len(els), len(elements)) + els

def dfuse(targets):
    body = b''.join(targets)
    size = 11 + len(body)
    return b'DfuSe' + bytes([1]) + struct.pack('<I', size) + bytes([len(targets)]) + body

# Two targets: flash with two elements (vector table, then a block further
# on) and option bytes, as an STM32F4 project ships them.
flash = target(0, 'ST...', [(0x08000000, bytes(range(256)) * 2), (0x08004000, b'\xde\xad\xbe\xef' * 8)])
opts = target(1, None, [(0x1FFFC000, bytes([0xec, 0x55, 0x13, 0x55]) + b'\xff' * 4 + bytes([0xff, 0x0f, 0, 0xf0]) + b'\0' * 4)])
open('stm32f4-two-targets.dfu', 'wb').write(suffix(dfuse([flash, opts]), 0x2200, 0xdf11, 0x0483, 0x011a))

# A plain DFU 1.0 file: firmware with a suffix, as dfu-suffix -a makes it.
fw = bytes((i * 7) & 0xff for i in range(1000))
open('plain-suffix.dfu', 'wb').write(suffix(fw, 0xffff, 0xffff, 0x2fe3, 0x0100))
