// TFRecord framing, as TensorFlow writes event files: each record is
//   u64 length (little-endian) | u32 masked CRC-32C of those 8 bytes | data | u32 masked CRC-32C of data
// with mask(crc) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32). Both CRCs are checked. The
// file is read through a buffer in blocks, so a large event file is never held in memory at once.
import fs from 'node:fs';
import CRC32C from 'crc-32/crc32c.js';

const MASK_DELTA = 0xa282ead8;
/** A record longer than this is taken as damage (TensorFlow's own records are far smaller). */
export const MAX_RECORD_BYTES = 1 << 30;
const BLOCK = 4 << 20;

export function maskedCrc32c(data: Uint8Array): number {
  const crc = CRC32C.buf(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** Why reading stopped before the end of the file. 'truncated': the file ends inside a record (a
 * live run's writer mid-record, or a copy cut short); 'corrupt': a checksum or a record that does not
 * decode, at `offset`, the start of that record. */
export interface TfRecordProblem {
  kind: 'truncated' | 'corrupt';
  offset: number;
  message: string;
}

export interface TfRecordScan {
  records: number;
  /** Bytes read up to the end of the last good record. */
  goodBytes: number;
  fileBytes: number;
  problem: TfRecordProblem | null;
}

/** Calls `onRecord` with each record's data in order, until the end of the file or the first
 * damaged record. `onRecord` may return a message to say the data is not a valid record (it does not
 * decode): reading stops there, as for a checksum mismatch. */
export function readTfRecords(file: string, onRecord: (data: Buffer, offset: number) => string | void): TfRecordScan {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    let buf = Buffer.alloc(BLOCK);
    let bufStart = 0; // file offset of buf[0]
    let bufLen = 0;
    /** bytes [offset, offset + n) of the file, or null when the file ends before */
    const bytes = (offset: number, n: number): Buffer | null => {
      if (offset + n > size) return null;
      if (offset < bufStart || offset + n > bufStart + bufLen) {
        if (n > buf.length) buf = Buffer.alloc(n);
        bufStart = offset;
        bufLen = 0;
        const want = Math.min(buf.length, size - offset);
        while (bufLen < want) {
          const got = fs.readSync(fd, buf, bufLen, want - bufLen, offset + bufLen);
          if (got === 0) break;
          bufLen += got;
        }
        if (bufLen < n) return null;
      }
      return buf.subarray(offset - bufStart, offset - bufStart + n);
    };
    let offset = 0;
    let records = 0;
    const done = (problem: TfRecordProblem | null): TfRecordScan => ({ records, goodBytes: offset, fileBytes: size, problem });
    while (offset < size) {
      const head = bytes(offset, 12);
      if (!head) return done({ kind: 'truncated', offset, message: `the file ends inside a record's header (${size - offset} of 12 bytes)` });
      if (head.readUInt32LE(8) !== maskedCrc32c(head.subarray(0, 8))) {
        return done({ kind: 'corrupt', offset, message: "the CRC-32C of the record's length does not match" });
      }
      const length = Number(head.readBigUInt64LE(0));
      if (length > MAX_RECORD_BYTES) return done({ kind: 'corrupt', offset, message: `a record of ${length} bytes (more than ${MAX_RECORD_BYTES})` });
      if (offset + 12 + length + 4 > size) {
        return done({ kind: 'truncated', offset, message: `the file ends inside a record of ${length} bytes (${size - offset - 12} bytes of ${length + 4} there)` });
      }
      const body = bytes(offset + 12, length + 4)!;
      const data = body.subarray(0, length);
      if (body.readUInt32LE(length) !== maskedCrc32c(data)) {
        return done({ kind: 'corrupt', offset, message: "the CRC-32C of the record's data does not match" });
      }
      const bad = onRecord(Buffer.from(data), offset);
      if (typeof bad === 'string') return done({ kind: 'corrupt', offset, message: bad });
      offset += 12 + length + 4;
      records++;
    }
    return done(null);
  } finally {
    fs.closeSync(fd);
  }
}
